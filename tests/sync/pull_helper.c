/* pull_helper DB CONFIG: one pull-only sync run (pages of 200) in a fresh process, so
 * crash-point tests (SFA_CRASH_AT is read once per process) can stop the pull at a named
 * point and resume it in another process. Appends "<pulled> <updated> <deleted>\n" to
 * $SFA_PULL_REPORT when set. Exits 0 when the run returned SFA_OK, else minus its
 * sfa_status, or 100 at a crash point. $SFA_TEST_CLOCK_MS, when set, pins this process's
 * clock (util/timeutil.h) to the test's, for the whole-minute windows of getDeleted. */
#include <stdio.h>
#include <stdlib.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/error.h"
#include "sfagent/sync.h"
#include "util/timeutil.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pull_helper DB CONFIG\n");
        return 64;
    }
    const char *clock = getenv("SFA_TEST_CLOCK_MS");
    if (clock)
        time_set_override(strtoll(clock, NULL, 10));
    sfa_config *cfg = NULL;
    if (sfa_config_load(&cfg, argv[2]) != SFA_OK) {
        fprintf(stderr, "pull_helper: %s\n", sfa_error_last()->message);
        return 78;
    }
    sfa_agent *agent = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.create = false;
    if (sfa_agent_open(&agent, argv[1], &oo) != SFA_OK) {
        fprintf(stderr, "pull_helper: %s\n", sfa_agent_errmsg(agent));
        sfa_agent_free(agent);
        sfa_config_free(cfg);
        return 74;
    }
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.pull_only = true;
    o.pull_batch_size = 200;
    sfa_sync_report rep;
    sfa_status st = sfa_sync_run(&rep, agent, cfg, &o);
    const char *report = getenv("SFA_PULL_REPORT");
    FILE *f = report ? fopen(report, "a") : NULL;
    if (f) {
        fprintf(f, "%zu %zu %zu\n", rep.pulled, rep.updated, rep.deleted);
        fclose(f);
    }
    if (st != SFA_OK)
        fprintf(stderr, "pull_helper: %s: %s\n", sfa_strerror(st), rep.message);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return -(int)st;
}
