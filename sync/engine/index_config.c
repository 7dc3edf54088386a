/* The configuration's declared field indexes applied to the mirror: the one step `sfagent
 * index`, `sfagent sync` (sfa_sync_options.apply_indexes) and the daemon (at start and
 * after a reload) share. The store does the work (store/indexes.c); this file turns a
 * configuration into its field list and says what changed.
 *
 * Invariants:
 *   X1. What was created and dropped is read back from the schema before and after, so
 *       the log names exactly what the committed transaction changed (store/indexes.c X3:
 *       all or nothing), not what was asked for.
 *   X2. For a sync or the daemon a failure here is a warning: the indexes only make local
 *       queries faster, and nothing pending may wait for them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/query.h"
#include "store/store.h"
#include "sync/engine/push.h"
#include "util/alloc.h"
#include "util/log.h"

static const char *next_line(const char *p)
{
    p += strcspn(p, "\n");
    return *p ? p + 1 : p;
}

static bool has_line(const char *list, const char *line, size_t n)
{
    for (const char *q = list; *q; q = next_line(q))
        if (strcspn(q, "\n") == n && strncmp(q, line, n) == 0)
            return true;
    return false;
}

/* The lines of list that are not lines of other, comma-separated (caller frees), or NULL
 * when there are none. */
static char *lines_missing_from(const char *list, const char *other)
{
    char *out = NULL;
    for (const char *p = list; *p; p = next_line(p)) {
        int n = (int)strcspn(p, "\n");
        if (has_line(other, p, (size_t)n))
            continue;
        char *grown = out ? xasprintf("%s, %.*s", out, n, p) : xasprintf("%.*s", n, p);
        free(out);
        out = grown;
    }
    return out;
}

/* X1: one info line per kind of change. */
static void log_changes(const char *before, const char *after)
{
    char *created = lines_missing_from(after, before);
    char *dropped = lines_missing_from(before, after);
    if (created)
        log_info("indexes: created the local index of %s (from [pull.*] index)", created);
    if (dropped)
        log_info("indexes: dropped the local index of %s (no longer declared)", dropped);
    free(created);
    free(dropped);
}

sfa_status sfa_index_apply_config(size_t *out_created, size_t *out_dropped, sfa_agent *agent,
                                  const sfa_config *cfg)
{
    if (out_created)
        *out_created = 0;
    if (out_dropped)
        *out_dropped = 0;
    if (!agent || !cfg)
        return agent ? store_fail(agent, SFA_EINVAL, "no configuration given") : SFA_EINVAL;
    size_t n = 0;
    while (sfa_config_index_field(cfg, n))
        n++;
    const char **fields = xcalloc(n + 1, sizeof *fields);
    for (size_t i = 0; i < n; i++)
        fields[i] = sfa_config_index_field(cfg, i);
    char *before = NULL, *after = NULL;
    sfa_status st = sfa_index_list(&before, agent);
    if (st == SFA_OK)
        st = sfa_index_apply(out_created, out_dropped, agent, fields, n);
    if (st == SFA_OK && sfa_index_list(&after, agent) == SFA_OK) /* X1 */
        log_changes(before, after);
    free(before);
    free(after);
    free(fields);
    return st;
}

void sync_index_apply_declared(sfa_agent *agent, const sfa_config *cfg)
{
    if (sfa_index_apply_config(NULL, NULL, agent, cfg) != SFA_OK) /* X2 */
        log_warn("indexes: the declared local indexes were not applied (the sync goes on;"
                 " `sfagent index` retries): %s",
                 sfa_agent_errmsg(agent));
}
