/* Mirror writes for pulled records (store/mirror.c), for store/ only: they run inside the
 * caller's write transaction (store/pull.c opens and commits it). */
#ifndef SFA_STORE_MIRROR_H
#define SFA_STORE_MIRROR_H

#include <cjson/cJSON.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"
#include "store/pull.h"

/* Merge one Salesforce record of sobject into the mirror (rules M1-M5 of store/mirror.c).
 * *out_local_id (may be NULL) gets the local id it landed on (caller frees). A record
 * without a valid Id or SystemModstamp is refused with SFA_ESERVER. */
sfa_status store_mirror_merge(sfa_agent *a, const char *sobject, const cJSON *rec,
                              const char *key_field, int64_t now_ms, char **out_local_id,
                              store_pull_counts *c);

/* Merge every record of a page (n records' JSON texts) with the same rules, new records entering
 * in one statement (cheaper: see store/mirror.c). store_mirror_stage_begin must have run
 * on the handle first (it creates the staging table when missing). all_new (M10): the
 * caller knows no record of the page was in the mirror when its query began, so the
 * lookups are skipped; if one is there after all, the insert fails, *dup is set and the
 * caller rolls the page back and merges it again without the hint. */
sfa_status store_mirror_stage_begin(sfa_agent *a);
sfa_status store_mirror_merge_page(sfa_agent *a, const char *sobject, const json_span *records,
                                   size_t n, const char *key_field, int64_t now_ms, bool all_new,
                                   bool *dup, store_pull_counts *c);

/* Remove the cached record of sobject whose Salesforce Id is sf_id18, unless it has an
 * open op or another record's open edit refers to it by local id (M6). *removed says
 * whether it went. No such record: SFA_OK, not removed. */
sfa_status store_mirror_drop(sfa_agent *a, const char *sobject, const char *sf_id18, bool *removed);

#endif
