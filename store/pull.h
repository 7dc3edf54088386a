/* The store side of pull (store/pull.c): the per-sObject pull state (high-water mark,
 * deletes checked up to, reconciliation owed, scope hash) and the mirror writes a pull
 * makes (merge a pulled record, drop a record Salesforce deleted, drop ghosts after a
 * full Id reconciliation). docs/sync-protocol.md#pull.
 *
 * Shared by store/ and sync/ (never by agent/ or embedders). No SQL crosses this header.
 */
#ifndef SFA_STORE_PULL_H
#define SFA_STORE_PULL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"
#include "util/json_scan.h"

/* One row of pull_state. Strings owned (NULL when unset); clear with store_pull_state_clear. */
typedef struct store_pull_state {
    bool found;            /* a row exists (the object was pulled, or reset, before) */
    char *mark_modstamp;   /* high-water mark: SystemModstamp of the last committed record */
    char *mark_id;         /* ... and its Id; both NULL before the first committed page */
    char *deletes_checked; /* deletes are known up to this time (Salesforce format) */
    bool reconcile;        /* a full Id reconciliation is owed */
    char *scope_hash;      /* the scope the mark was earned under ("" unknown) */
    int64_t last_pull_at;  /* ms, 0 never */
    /* Records that left the `where` scope are handled up to here (SystemModstamp, Id);
     * left_id NULL: from left_modstamp on; both NULL: not started. */
    char *left_modstamp;
    char *left_id;
} store_pull_state;

void store_pull_state_clear(store_pull_state *s);
sfa_status store_pull_state_get(store_pull_state *out, sfa_agent *a, const char *sobject);

/* Start over for sobject under a new scope: mark cleared, scope_hash set, deletes
 * checked up to deletes_checked and records leaving the scope followed from then on
 * (left mark := (deletes_checked, NULL)), reconcile as given (owed when records may be cached
 * under the old scope). One transaction. */
sfa_status store_pull_state_reset(sfa_agent *a, const char *sobject, const char *scope_hash,
                                  const char *deletes_checked, bool reconcile);

/* What the mirror writes did, added to by each call. */
typedef struct store_pull_counts {
    size_t pulled;  /* records received and merged */
    size_t added;   /* of which new to the mirror */
    size_t updated; /* of which already cached (merged under local edits or replaced) */
    size_t kept;    /* of which skipped: the mirror already holds a newer version */
    size_t deleted; /* records removed because Salesforce deleted them or they left scope */
} store_pull_counts;

/* Merge records (n Salesforce records of sobject, each the JSON text of one record as
 * a query page holds it, parsed here one at a time) into the mirror and move the mark
 * to the last record's (SystemModstamp, Id), in ONE transaction (I1 of store/pull.c).
 * key_field names the idempotency field (NULL: none) so a record created by this agent
 * is found by its local id when its Salesforce Id is not known yet. *all_new: the query
 * the page belongs to began with no record of sobject in the mirror
 * (store_pull_object_empty), so no record needs looking up (M10 of store/mirror.c); it is
 * cleared when one was cached after all, and the page is merged with the lookups. */
sfa_status store_pull_page(sfa_agent *a, const char *sobject, const json_span *records, size_t n,
                           const char *key_field, int64_t now_ms, bool *all_new,
                           store_pull_counts *c);

/* *empty: the mirror holds no record of sobject at all (live, deleted or not pushed). */
sfa_status store_pull_object_empty(sfa_agent *a, const char *sobject, bool *empty);

/* Merge one record fetched on demand (`get --refresh`): the same merge, its own
 * transaction, the mark untouched. *out_local_id (may be NULL) gets the record's local id. */
sfa_status store_pull_one(sfa_agent *a, const char *sobject, const cJSON *record,
                          const char *key_field, char **out_local_id, store_pull_counts *c);

/* Salesforce deleted these records (Ids, any form): remove each cached copy that has no
 * open op, and move deletes_checked to covered_until, in one transaction. */
sfa_status store_pull_deleted(sfa_agent *a, const char *sobject, const cJSON *ids,
                              const char *covered_until, store_pull_counts *c);

/* Salesforce no longer has record id (any form) of sobject (a refresh found none): remove
 * its cached copy unless it has open ops, in one transaction, the pull state untouched.
 * *removed: it was cached and is gone. */
sfa_status store_pull_gone(sfa_agent *a, const char *sobject, const char *id, bool *removed);

/* Records of sobject that left the `where` scope (n records' JSON texts with Id and
 * SystemModstamp, in (SystemModstamp, Id) order): remove each cached copy that has no
 * open op, and move the leaving mark to the last record's (SystemModstamp, Id), in one
 * transaction (I4 of store/pull.c). Removed records count as deleted. */
sfa_status store_pull_left(sfa_agent *a, const char *sobject, const json_span *records, size_t n,
                           store_pull_counts *c);
/* Follow records leaving the scope from `since` on (an object that had no leaving mark). */
sfa_status store_pull_left_start(sfa_agent *a, const char *sobject, const char *since);

/* Full Id reconciliation, in three steps on one handle: begin (an empty scratch set),
 * add (each page of Ids that exist in scope), finish (remove every cached record of
 * sobject that has a Salesforce Id not in the set and no open op; deletes_checked :=
 * covered_until; reconcile := 0; one transaction). A crash in between loses only the
 * scratch set: the reconcile flag is still set, so the next pull starts again. */
sfa_status store_pull_seen_begin(sfa_agent *a);
/* add: SFA_ESERVER (nothing of the page noted) when a record has no valid Id: left out,
 * it would look deleted at finish. */
sfa_status store_pull_seen_add(sfa_agent *a, const cJSON *records);
sfa_status store_pull_seen_finish(sfa_agent *a, const char *sobject, const char *covered_until,
                                  store_pull_counts *c);

/* Record that a pull of sobject finished at now_ms (reconcile flag as given). */
sfa_status store_pull_finished(sfa_agent *a, const char *sobject, int64_t now_ms, bool reconcile);

/* Check the pull state invariants P1-P2 of store/pull.c; false with *why (caller frees). */
bool store_pull_check_invariants(sfa_agent *a, char **why);

#endif
