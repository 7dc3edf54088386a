/* `sfagent sync`, `sfagent doctor`, `sfagent outbox retry|discard`: thin CLI layers over
 * sfa_sync_run(), sfa_doctor_run() and sfa_outbox_retry()/discard(). Uses only the public API.
 * Exit codes come from the one table in cli.c (cli_exit_code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include <sfagent/sync.h>

/* A progress bar on stderr, only on a terminal (never in logs or pipes): records done of
 * the run's total, the rate so far and an estimate of the time left. */
typedef struct progress_state {
    int64_t shown;
    struct timespec start;
} progress_state;

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(size_t done, size_t total, void *vctx)
{
    progress_state *p = vctx;
    if (total < 1000 || (int64_t)done - p->shown < 200)
        return; /* short runs need no bar */
    p->shown = (int64_t)done;
    int width = 30, filled = (int)((double)width * (double)done / (double)total);
    if (filled > width)
        filled = width;
    double secs = seconds_since(&p->start);
    double rate = secs > 0 ? (double)done / secs : 0;
    double left = rate > 0 && total > done ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu records, %.0f/s, ~%.0f s left  ", filled,
            "##############################", width - filled, "", done, total, rate, left);
    fflush(stderr);
}

static void print_report(const sfa_sync_report *r, sfa_status st)
{
    if (cli_json()) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", st == SFA_OK ? "ok" : sfa_strerror(st));
        cJSON_AddNumberToObject(j, "exitCode", cli_exit_code(st));
        cJSON_AddNumberToObject(j, "sent", (double)r->sent);
        cJSON_AddNumberToObject(j, "done", (double)r->done);
        cJSON_AddNumberToObject(j, "retried", (double)r->retried);
        cJSON_AddNumberToObject(j, "dead", (double)r->dead);
        cJSON_AddNumberToObject(j, "conflict", (double)r->conflict);
        cJSON_AddNumberToObject(j, "conflictsLogged", (double)r->conflicts_logged);
        cJSON_AddNumberToObject(j, "parked", (double)r->parked);
        cJSON_AddNumberToObject(j, "resolved", (double)r->resolved);
        cJSON_AddNumberToObject(j, "apiCalls", (double)r->api_calls);
        cJSON_AddNumberToObject(j, "elapsedMs", (double)r->elapsed_ms);
        cJSON_AddNumberToObject(j, "pending", (double)r->pending_left);
        cJSON_AddNumberToObject(j, "inflight", (double)r->inflight_left);
        cJSON_AddNumberToObject(j, "deadTotal", (double)r->dead_total);
        cJSON_AddNumberToObject(j, "conflictTotal", (double)r->conflict_total);
        cJSON_AddNumberToObject(j, "nextAttemptMs", (double)r->next_attempt_ms);
        cJSON_AddNumberToObject(j, "pulled", (double)r->pulled);
        cJSON_AddNumberToObject(j, "updated", (double)r->updated);
        cJSON_AddNumberToObject(j, "deleted", (double)r->deleted);
        cJSON_AddNumberToObject(j, "bytesSent", (double)r->bytes_sent);
        cJSON_AddNumberToObject(j, "bytesReceived", (double)r->bytes_received);
        cJSON_AddBoolToObject(j, "timeLimited", r->time_limited);
        cJSON_AddStringToObject(j, "message", r->message);
        cli_print_json(j);
        return;
    }
    printf("sync: %zu sent, %zu done, %zu retried, %zu dead, %zu conflict, %zu parked;"
           " %zu pulled, %zu updated, %zu deleted; %ld API calls; %.1f s;"
           " %llu bytes sent, %llu received\n",
           r->sent, r->done, r->retried, r->dead, r->conflict, r->parked, r->pulled, r->updated,
           r->deleted, r->api_calls, (double)r->elapsed_ms / 1000.0,
           (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received);
    if (r->pending_left || r->inflight_left || r->dead_total || r->conflict_total)
        printf("outbox: %zu pending, %zu unresolved, %zu dead, %zu in conflict\n", r->pending_left,
               r->inflight_left, r->dead_total, r->conflict_total);
    if (r->message[0])
        printf("%s: %s\n", r->time_limited ? "time limit" : "stopped", r->message);
}

int cmd_sync(int argc, char **argv)
{
    sfa_sync_options opts = SFA_SYNC_OPTIONS_INIT;
    opts.apply_indexes = true; /* [pull.*] index, as `sfagent index` would */
    const char *config = NULL, *max = NULL, *max_s = NULL;
    int rc = CLI_EXIT_OK;
    cli_args args = {argc, argv, 1};
    while (args.i < argc && rc == CLI_EXIT_OK) {
        if (cli_take_flag(&args, "--push-only"))
            opts.push_only = true;
        else if (cli_take_flag(&args, "--pull-only"))
            opts.pull_only = true;
        else if (cli_take_flag(&args, "--now"))
            opts.ignore_pause = true;
        else if (cli_take_opt(&args, "--config", &config, &rc) ||
                 cli_take_opt(&args, "--max-ops", &max, &rc) ||
                 cli_take_opt(&args, "--max-run-seconds", &max_s, &rc))
            continue;
        else
            return cli_usage("sync: unknown argument '%s'", argv[args.i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (opts.push_only && opts.pull_only)
        return cli_usage("sync: --push-only and --pull-only exclude each other");
    if (max && !cli_parse_count(max, &opts.max_ops))
        return cli_usage("sync: --max-ops wants a count");
    size_t secs = 0;
    if (max_s && (!cli_parse_count(max_s, &secs) || secs < 1 || secs > 7 * 86400))
        return cli_usage("sync: --max-run-seconds wants a number of seconds from 1 to 604800");
    opts.max_run_seconds = (int)secs;
    sfa_config *cfg = NULL;
    if ((rc = cli_load_config(&cfg, config)) != CLI_EXIT_OK)
        return rc;
    sfa_agent *agent = NULL;
    if ((rc = cli_open(&agent, false)) != CLI_EXIT_OK) {
        sfa_config_free(cfg);
        return rc;
    }
    progress_state ps = {0};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    if (isatty(STDERR_FILENO) && !cli_json()) {
        opts.progress = show_progress;
        opts.progress_ctx = &ps;
    }
    sfa_sync_report report;
    sfa_status st = sfa_sync_run(&report, agent, cfg, &opts);
    if (ps.shown)
        fputc('\n', stderr);
    print_report(&report, st);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return cli_exit_code(st);
}

static void print_doctor(const sfa_doctor_report *r)
{
    if (cli_json()) {
        cJSON *j = cJSON_CreateObject();
        cJSON *checks = cJSON_AddArrayToObject(j, "checks");
        for (size_t i = 0; i < r->count; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "name", r->items[i].name);
            cJSON_AddBoolToObject(c, "ok", r->items[i].ok);
            cJSON_AddStringToObject(c, "detail", r->items[i].detail);
            if (r->items[i].fix)
                cJSON_AddStringToObject(c, "fix", r->items[i].fix);
            cJSON_AddItemToArray(checks, c);
        }
        cJSON_AddNumberToObject(j, "deadOps", (double)r->dead_ops);
        cJSON_AddNumberToObject(j, "conflictOps", (double)r->conflict_ops);
        cJSON_AddNumberToObject(j, "apiUsed", (double)r->api_used);
        cJSON_AddNumberToObject(j, "apiMax", (double)r->api_max);
        cli_print_json(j);
        return;
    }
    for (size_t i = 0; i < r->count; i++) {
        printf("%-4s %s: %s\n", r->items[i].ok ? "ok" : "FAIL", r->items[i].name,
               r->items[i].detail);
        if (!r->items[i].ok && r->items[i].fix)
            printf("     fix: %s\n", r->items[i].fix);
    }
}

int cmd_doctor(int argc, char **argv)
{
    const char *config = NULL;
    int rc = CLI_EXIT_OK;
    cli_args args = {argc, argv, 1};
    while (args.i < argc && rc == CLI_EXIT_OK) {
        if (!cli_take_opt(&args, "--config", &config, &rc))
            return cli_usage("doctor: unknown argument '%s'", argv[args.i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_config *cfg = NULL;
    if ((rc = cli_load_config(&cfg, config)) != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_check_db_file(cli_db_path())) != CLI_EXIT_OK) {
        sfa_config_free(cfg);
        return rc;
    }
    /* The database is optional here: doctor also checks a machine before `init`. */
    sfa_agent *agent = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.create = false;
    if (sfa_agent_open(&agent, cli_db_path(), &oo) != SFA_OK) {
        sfa_agent_free(agent);
        agent = NULL;
    }
    sfa_doctor_report report;
    sfa_status st = sfa_doctor_run(&report, agent, cfg);
    print_doctor(&report);
    sfa_doctor_report_free(&report);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    /* The first failed check's status (sync.h): 77 refused credentials, 75 unreachable,
     * 78 a setup to fix, 65 dead or conflict ops, as `login` and `sync` would exit. */
    return cli_exit_code(st);
}

typedef sfa_status (*op_action)(sfa_agent *, const char *);

static int outbox_act(int argc, char **argv, op_action act, const char *verb)
{
    if (argc < 2)
        return cli_usage("outbox %s: which op? (op id or seq number)", verb);
    sfa_agent *agent = NULL;
    int rc = cli_open(&agent, false);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *result = strcmp(verb, "retry") == 0 ? "pending again" : "discarded";
    cJSON *done = cli_json() ? cJSON_CreateArray() : NULL;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        sfa_status st = act(agent, argv[i]);
        if (st != SFA_OK)
            rc = cli_fail_ref(st, agent, argv[i]); /* with --json: the one document */
        else if (done) {
            cJSON *one = cJSON_CreateObject();
            cJSON_AddStringToObject(one, "ref", argv[i]);
            cJSON_AddStringToObject(one, "result",
                                    strcmp(verb, "retry") == 0 ? "pending" : "discarded");
            cJSON_AddItemToArray(done, one);
        } else
            printf("%s: %s\n", argv[i], result);
    }
    if (done && rc == CLI_EXIT_OK)
        cli_print_json(done); /* [{"ref": OP, "result": "pending"|"discarded"}, ...] */
    else
        cJSON_Delete(done);
    sfa_agent_free(agent);
    return rc;
}

int cmd_outbox_retry(int argc, char **argv)
{
    return outbox_act(argc, argv, sfa_outbox_retry, "retry");
}

int cmd_outbox_discard(int argc, char **argv)
{
    return outbox_act(argc, argv, sfa_outbox_discard, "discard");
}
