/* The reading record verbs (get, list) shared by case, contact and record. */
#ifndef SFAGENT_RECORD_SHOW_H
#define SFAGENT_RECORD_SHOW_H

#include "cmd.h"

/* `KIND get REF`: one record as key/value lines or a JSON object. */
int record_show_get(const record_kind *kind, cli_args *args);

/* `KIND list [--status S] [--limit N] [--order FIELD] [--desc] [--include-deleted]`. */
int record_show_list(const record_kind *kind, cli_args *args);

/* --refresh: fetch the record from Salesforce and merge it into the mirror first. On
 * failure the cached copy is shown (exit 0) with a warning that it may be stale. *ref_out:
 * the ref to read afterwards (the local id when the record was fetched; caller frees), or
 * NULL. agent/record_refresh.c in the network helper; agent/remote.c in the local program. */
void record_refresh(const record_kind *kind, const char *ref, const char *config, char **ref_out);

#endif
