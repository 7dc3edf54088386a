/*
 * Embedding libsfagent: create a Case offline, sync it, print its CaseNumber.
 *
 *     cc embed.c $(pkg-config --cflags --libs sfagent) -o embed
 *     ./embed sfagent.db sfagent.ini
 *
 * The Case is durable in the local database the moment sfa_record_create() returns,
 * network or not; sfa_sync_run() sends it (exactly once) and reads back the CaseNumber
 * Salesforce assigned. Exit status: 0 with the CaseNumber on stdout, 1 with the reason on
 * stderr (offline: the Case stays queued for the next run).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sfagent.h>

static int fail(const char *what, sfa_status st, const char *message)
{
    fprintf(stderr, "embed: %s: %s (%s)\n", what, message && *message ? message : "-",
            sfa_strerror(st));
    return 1;
}

/* The Case's CaseNumber after a sync, printed; 1 when Salesforce has not assigned one. */
static int print_case_number(sfa_agent *agent, const char *local_id)
{
    sfa_record *rec = NULL;
    sfa_status st = sfa_record_get(&rec, agent, "Case", local_id);
    int rc = 0;
    if (st != SFA_OK)
        rc = fail("reading the Case back", st, sfa_agent_errmsg(agent));
    else if (!rec->case_number)
        rc = fail("no CaseNumber yet", SFA_ERETRY, "the Case is still queued");
    else
        printf("%s\n", rec->case_number);
    sfa_record_free(rec);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATABASE CONFIG\n", argv[0]);
        return 2;
    }
    sfa_status st = sfa_global_init(); /* before any thread: libcurl's global setup */
    if (st != SFA_OK)
        return fail("initialising", st, sfa_error_last()->message);
    sfa_config *cfg = NULL;
    st = sfa_config_load(&cfg, argv[2]);
    if (st != SFA_OK)
        return fail(argv[2], st, sfa_error_last()->message);

    sfa_agent *agent = NULL;
    sfa_open_options opts = SFA_OPEN_OPTIONS_INIT; /* creates the database if missing */
    char *local_id = NULL;
    int rc = 1;
    st = sfa_agent_open(&agent, argv[1], &opts);
    if (st != SFA_OK) {
        rc = fail(argv[1], st, agent ? sfa_agent_errmsg(agent) : sfa_error_last()->message);
        goto out;
    }
    /* Offline-first: stored and queued now, whatever the network does. */
    st = sfa_record_create(&local_id, agent, "Case", "{\"Subject\":\"Printer jam on floor 3\"}");
    if (st != SFA_OK) {
        rc = fail("creating the Case", st, sfa_agent_errmsg(agent));
        goto out;
    }
    sfa_sync_options sync = SFA_SYNC_OPTIONS_INIT;
    sync.push_only = true; /* this example only needs its own Case to reach Salesforce */
    sfa_sync_report report;
    st = sfa_sync_run(&report, agent, cfg, &sync);
    if (st != SFA_OK) {
        rc = fail("sync", st, report.message[0] ? report.message : sfa_agent_errmsg(agent));
        goto out;
    }
    rc = print_case_number(agent, local_id);
out:
    free(local_id);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return rc;
}
