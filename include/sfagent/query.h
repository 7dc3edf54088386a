/**
 * @file sfagent/query.h
 * @brief Local SOQL over the mirror: no network.
 *
 * The SOQL subset is the one the bundled emulator serves: field lists, COUNT(),
 * WHERE with AND/OR/NOT and parentheses, = != < > <= >= LIKE IN NOT IN, literals
 * with SOQL escapes, ORDER BY, LIMIT, OFFSET, and aggregate queries: GROUP BY, HAVING,
 * COUNT(field) with aliases, answered as Salesforce's AggregateResult records
 * ({"attributes":{"type":"AggregateResult"},"Status":"New","expr0":42}).
 */
#ifndef SFAGENT_QUERY_H
#define SFAGENT_QUERY_H

#include <stddef.h>
#include <sfagent/agent.h>
#include <sfagent/config.h>

/**
 * Run soql against the local mirror. *out_json (caller frees) is shaped like a
 * Salesforce query response: {"totalSize":N,"done":true,"records":[{"attributes":{...},...}]}.
 * Bad SOQL -> SFA_EINVAL with the parser's message on the handle.
 */
sfa_status sfa_query_local(char **out_json, sfa_agent *agent, const char *soql);

/**
 * Called once per result record, in order. record_json is one element of the response's
 * "records" array (borrowed: valid during the call only). Return 0 to go on; anything
 * else stops the query, which then returns SFA_OK.
 */
typedef int (*sfa_query_row_fn)(void *ctx, const char *record_json);

/**
 * Run soql against the local mirror, streaming: one SQLite statement does the filtering,
 * ordering and windowing, and memory stays constant whatever the number of rows.
 * *out_total (may be NULL) gets what sfa_query_local reports as totalSize: for COUNT()
 * the count (fn is not called), otherwise the number of records delivered. A field that
 * no cached record of the sObject has had and its cached describe does not list ->
 * SFA_EINVAL (the query could only answer nulls).
 */
sfa_status sfa_query_local_each(size_t *out_total, sfa_agent *agent, const char *soql,
                                sfa_query_row_fn fn, void *ctx);

/** The SQL statement soql compiles to, then SQLite's query plan for it, as text lines
 *  (*out_text: caller frees with free()). */
sfa_status sfa_query_explain(char **out_text, sfa_agent *agent, const char *soql);

/**
 * Make the mirror's declared field indexes exactly fields[0..nfields) (field API names,
 * e.g. from the configuration's `[pull.<Object>] index = ...`): create each missing one,
 * drop each declared earlier and no longer listed, in one transaction. An index serves
 * the field in every sObject. Fields indexed without declaration (Id, CaseNumber, Status,
 * OwnerId, ContactId, AccountId, LastModifiedDate, CreatedDate) are skipped. Creating an
 * index reads every cached record once. *out_created / *out_dropped (may be NULL) get the
 * counts. A name that is not a field API name -> SFA_EINVAL naming it, nothing changed.
 */
sfa_status sfa_index_apply(size_t *out_created, size_t *out_dropped, sfa_agent *agent,
                           const char *const *fields, size_t nfields);

/**
 * Make the mirror's declared field indexes match the configuration's (every
 * `[pull.<Object>] index = ...` field, sfa_config_index_field()), as sfa_index_apply()
 * does, and log each index created or dropped at info. What `sfagent index`, `sfagent
 * sync` and `sfagent run` (at start and after a reload) apply. cfg NULL -> SFA_EINVAL.
 */
sfa_status sfa_index_apply_config(size_t *out_created, size_t *out_dropped, sfa_agent *agent,
                                  const sfa_config *cfg);

/** The declared field indexes, one field name per line (*out_text: caller frees with
 *  free(); empty when none). */
sfa_status sfa_index_list(char **out_text, sfa_agent *agent);

/** Escape value as a quoted SOQL string literal ('...' with \\ escapes). The caller
 *  owns the result and frees it with free(). */
char *sfa_query_quote(const char *value);

#endif
