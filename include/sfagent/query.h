/**
 * @file sfagent/query.h
 * @brief Local SOQL over the mirror: no network.
 *
 * The SOQL subset is the one the bundled emulator serves: field lists, COUNT(),
 * WHERE with AND/OR/NOT and parentheses, = != < > <= >= LIKE IN NOT IN, literals
 * with SOQL escapes, ORDER BY, LIMIT, OFFSET.
 */
#ifndef SFAGENT_QUERY_H
#define SFAGENT_QUERY_H

#include <sfagent/agent.h>

/**
 * Run soql against the local mirror. *out_json (caller frees) is shaped like a
 * Salesforce query response: {"totalSize":N,"done":true,"records":[{"attributes":{...},...}]}.
 * Bad SOQL -> SFA_EINVAL with the parser's message on the handle.
 */
sfa_status sfa_query_local(char **out_json, sfa_agent *agent, const char *soql);

/** Escape value as a quoted SOQL string literal ('...' with \\ escapes). The caller
 *  owns the result and frees it with free(). */
char *sfa_query_quote(const char *value);

#endif
