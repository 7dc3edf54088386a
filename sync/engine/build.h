/* Request paths and SOQL the engine sends (sync/engine/push_build.c). Pure: no I/O. */
#ifndef SFA_SYNC_ENGINE_BUILD_H
#define SFA_SYNC_ENGINE_BUILD_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util/strbuf.h"

/* Percent-encode for a URL query value (RFC 3986 unreserved kept). Caller frees. */
char *push_url_encode(const char *s);
/* "SELECT <select> FROM <sobject> WHERE <field> IN ('k1','k2',...)" with every key
 * quoted by soql_quote. Caller frees. */
char *push_soql_in(const char *select, const char *sobject, const char *field,
                   const char *const *keys, size_t n);
/* Select list that reads back a created record: Id, SystemModstamp, the key field (if
 * any) and, for Case, CaseNumber and Status. Caller frees. */
char *push_reconcile_select(const char *sobject, const char *key_field);
/* "/services/data/vNN.N/query?q=<encoded soql>". Caller frees. */
char *push_query_path(const char *api_version, const char *soql);

/* A Collections "records" array built one record at a time: each record's tree is printed
 * onto sb and freed before the next is built, so a batch of 800 never exists as trees
 * (about four times its text; docs/sync-protocol.md#memory). push_records_add takes rec;
 * push_records_item returns the array as one Raw item (printed verbatim by json_print)
 * and frees sb's buffer. */
void push_records_add(strbuf *sb, cJSON *rec);
cJSON *push_records_item(strbuf *sb);

#endif
