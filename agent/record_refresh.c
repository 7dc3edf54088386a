/*
 * `get --refresh`: the record fetched from Salesforce before it is shown. In the network
 * helper (sfagent-remote) only; the local sfagent program hands the command to it
 * (agent/remote.c).
 */
#include <stdio.h>

#include "record_show.h"
#include <sfagent/sync.h>

/* --refresh: fetch the record from Salesforce and merge it into the mirror first. On
 * failure the cached copy is shown (exit 0) with a warning that it may be stale; a ref
 * that is not cached and could not be fetched stays "not found", and so does a record
 * Salesforce no longer has (removed from the cache unless it has open ops). *ref_out: the ref to
 * read afterwards (the local id when the record was fetched; caller frees). */
void record_refresh(const record_kind *kind, const char *ref, const char *config, char **ref_out)
{
    *ref_out = NULL;
    sfa_config *cfg = NULL;
    sfa_agent *agent = NULL;
    sfa_status st = SFA_OK;
    if (cli_load_config(&cfg, config) != CLI_EXIT_OK || cli_open(&agent, false) != CLI_EXIT_OK) {
        fprintf(stderr, "warning: not refreshed; showing the cached copy\n");
    } else if ((st = sfa_sync_refresh(ref_out, agent, cfg, kind->sobject, ref)) == SFA_ENOTFOUND) {
        /* Salesforce answered: the record is gone there (and from the cache, unless it
         * has unsynced changes); the message says which. */
        fprintf(stderr, "warning: %s\n", sfa_agent_errmsg(agent));
    } else if (st != SFA_OK) {
        fprintf(stderr,
                "warning: could not refresh from Salesforce (%s); the cached copy"
                " may be stale\n",
                sfa_agent_errmsg(agent));
    }
    sfa_agent_free(agent);
    sfa_config_free(cfg);
}
