/* push_helper DB CONFIG: sync the database at DB with the configuration file CONFIG until
 * nothing is left to retry (moving the test clock over backoffs), in a fresh process, so
 * crash-point tests (SFA_CRASH_AT, read once per process) and kill tests can run the
 * engine in a child. Exits 0 when the last run returned SFA_OK, else minus its sfa_status
 * (exit codes are the program's concern, agent/), or 100 at a crash point. */
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
        fprintf(stderr, "usage: push_helper DB CONFIG\n");
        return 64;
    }
    sfa_config *cfg = NULL;
    if (sfa_config_load(&cfg, argv[2]) != SFA_OK) {
        fprintf(stderr, "push_helper: %s\n", sfa_error_last()->message);
        return 78;
    }
    sfa_agent *agent = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.create = false;
    if (sfa_agent_open(&agent, argv[1], &oo) != SFA_OK) {
        fprintf(stderr, "push_helper: %s\n", sfa_agent_errmsg(agent));
        sfa_agent_free(agent);
        sfa_config_free(cfg);
        return 74;
    }
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.push_only = true;
    o.seed = 99;
    sfa_sync_report rep;
    sfa_status st = SFA_ERETRY;
    for (int i = 0; i < 8 && (st == SFA_ERETRY || st == SFA_ELIMIT); i++) {
        st = sfa_sync_run(&rep, agent, cfg, &o);
        if (rep.next_attempt_ms > time_now_ms())
            time_set_override(rep.next_attempt_ms + 1);
    }
    if (st != SFA_OK)
        fprintf(stderr, "push_helper: %s: %s\n", sfa_strerror(st), rep.message);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return -(int)st;
}
