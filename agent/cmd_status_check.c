/*
 * `sfagent status --check [--max-age SECONDS] [--max-sync-age SECONDS]`: the health
 * snapshot judged as a monitoring plugin (Nagios, Icinga, Sensu, Zabbix agents). It
 * prints ONE line, "SFAGENT STATE - text | perfdata", and exits with the plugin
 * convention (cli_check_exit_code in cli.c), not the sysexits table:
 *
 *   CRITICAL  ops are dead or in conflict (a person must act), the database is flagged
 *             as damaged, or no run has succeeded for --max-sync-age (default 24 h)
 *             counted from the last success, or from the first recorded run when none
 *             ever succeeded;
 *   WARNING   the oldest pending write is older than --max-age (default 3600 s: longer
 *             than the longest backoff, sync.backoff_cap's default, so it is not just
 *             waiting for its next try);
 *   UNKNOWN   the database cannot be read (missing, corrupt, locked, too new), or the
 *             options are wrong;
 *   OK        otherwise.
 *
 * A fresh install that has never run a sync and has nothing pending is OK ("no sync run
 * yet"): nothing is at risk and nothing has failed, and paging someone for a box that is
 * not configured yet teaches people to ignore the check. Once writes wait, --max-age
 * applies; once runs fail, the 24 h clock runs from the first of them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define DEFAULT_MAX_AGE_S      3600
#define DEFAULT_MAX_SYNC_AGE_S 86400

typedef struct check_opts {
    size_t max_age_s;
    size_t max_sync_age_s;
} check_opts;

typedef struct verdict {
    cli_check_state state;
    char text[1024];
    char perf[512];
} verdict;

/* Raise v to state (never lower it) and append a reason to its text. */
static void raise_to(verdict *v, cli_check_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void raise_to(verdict *v, cli_check_state state, const char *fmt, ...)
{
    if (state > v->state)
        v->state = state;
    size_t used = strlen(v->text);
    if (used + 3 >= sizeof v->text)
        return;
    if (used)
        used += (size_t)snprintf(v->text + used, sizeof v->text - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->text + used, sizeof v->text - used, fmt, ap);
    va_end(ap);
}

/* One perfdata item: 'label'=value[uom];[warn];[crit];[min];[max] ("" leaves one out). */
static void perf(verdict *v, const char *label, const char *value, const char *uom,
                 const char *warn, const char *crit, const char *max)
{
    size_t used = strlen(v->perf);
    if (used + 2 < sizeof v->perf)
        snprintf(v->perf + used, sizeof v->perf - used, "%s'%s'=%s%s;%s;%s;0;%s", used ? " " : "",
                 label, value, uom, warn, crit, max);
}

static void perf_count(verdict *v, const char *label, size_t n, const char *crit)
{
    char value[24];
    snprintf(value, sizeof value, "%zu", n);
    perf(v, label, value, "", "", crit, "");
}

/* Seconds since ms, or "U" (the plugin format's "cannot tell") when it never happened. */
static void perf_age(verdict *v, const char *label, int64_t ms, int64_t now, const char *warn,
                     const char *crit)
{
    char value[24] = "U";
    if (ms > 0)
        snprintf(value, sizeof value, "%lld", (long long)((now > ms ? now - ms : 0) / 1000));
    perf(v, label, value, ms > 0 ? "s" : "", warn, crit, "");
}

static void judge_people(verdict *v, const sfa_health *h)
{
    if (h->outbox.dead)
        raise_to(v, CLI_CHECK_CRITICAL, "%zu dead op(s)", h->outbox.dead);
    if (h->outbox.conflict)
        raise_to(v, CLI_CHECK_CRITICAL, "%zu op(s) in conflict", h->outbox.conflict);
    if (h->damaged)
        raise_to(v, CLI_CHECK_CRITICAL, "database damaged: %s", h->damaged);
}

static void judge_sync_age(verdict *v, const sfa_health *h, const check_opts *o)
{
    char age[32];
    int64_t limit_ms = (int64_t)o->max_sync_age_s * 1000;
    if (h->last_success_ms > 0 && h->now_ms - h->last_success_ms > limit_ms) {
        cli_format_age(age, sizeof age, h->now_ms - h->last_success_ms);
        raise_to(v, CLI_CHECK_CRITICAL, "no successful sync for %s", age);
    } else if (h->last_success_ms == 0 && h->first_run_ms > 0 &&
               h->now_ms - h->first_run_ms > limit_ms) {
        cli_format_age(age, sizeof age, h->now_ms - h->first_run_ms);
        raise_to(v, CLI_CHECK_CRITICAL, "no sync has succeeded in %s of runs", age);
    }
    if (v->state == CLI_CHECK_CRITICAL && h->last_error)
        raise_to(v, CLI_CHECK_CRITICAL, "last error: %.160s", h->last_error);
}

static void judge_pending(verdict *v, const sfa_health *h, const check_opts *o)
{
    int64_t oldest = h->outbox.oldest_pending_created_ms;
    if (oldest > 0 && h->now_ms - oldest > (int64_t)o->max_age_s * 1000) {
        char age[32];
        cli_format_age(age, sizeof age, h->now_ms - oldest);
        raise_to(v, CLI_CHECK_WARNING, "oldest pending write is %s old", age);
    }
}

static void summarise(verdict *v, const sfa_health *h)
{
    char since[32] = "never";
    if (h->last_success_ms > 0)
        cli_format_age(since, sizeof since, h->now_ms - h->last_success_ms);
    if (h->last_run == SFA_RUN_NONE && v->state == CLI_CHECK_OK)
        raise_to(v, CLI_CHECK_OK, "no sync run yet");
    raise_to(v, CLI_CHECK_OK, "%zu pending, last success %s%s", h->outbox.pending, since,
             h->last_success_ms > 0 ? " ago" : "");
    /* Said, not judged: the next run takes the lease over; the other checks see what the
     * killed run left behind if it stays that way. */
    if (h->run_interrupted)
        raise_to(v, CLI_CHECK_OK, "a run (pid %ld) was interrupted", h->run_pid);
}

static void perfdata(verdict *v, const sfa_health *h, const check_opts *o)
{
    char warn[24], crit[24];
    snprintf(warn, sizeof warn, "%zu", o->max_age_s);
    snprintf(crit, sizeof crit, "%zu", o->max_sync_age_s);
    perf_count(v, "pending", h->outbox.pending, "");
    perf_count(v, "inflight", h->outbox.inflight, "");
    perf_count(v, "dead", h->outbox.dead, "0");
    perf_count(v, "conflict", h->outbox.conflict, "0");
    perf_age(v, "oldest_pending", h->outbox.oldest_pending_created_ms, h->now_ms, warn, "");
    perf_age(v, "last_success_age", h->last_success_ms, h->now_ms, "", crit);
    perf_count(v, "records", h->outbox.records, "");
    if (h->api_used >= 0 && h->api_max > 0) {
        char pct[24];
        snprintf(pct, sizeof pct, "%.1f", 100.0 * (double)h->api_used / (double)h->api_max);
        perf(v, "api_usage", pct, "%", "", "", "100");
    }
}

/* Print the one line (or its JSON form) and return the plugin exit code. */
static int emit(const verdict *v)
{
    const char *name = cli_check_state_name(v->state);
    if (cli_json()) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", name);
        cJSON_AddNumberToObject(o, "exitCode", cli_check_exit_code(v->state));
        cJSON_AddStringToObject(o, "text", v->text);
        cJSON_AddStringToObject(o, "perfdata", v->perf);
        cli_print_json(o);
    } else {
        /* '|' separates perfdata: one in the text would cut it short. */
        printf("SFAGENT %s - ", name);
        for (const char *p = v->text; *p; p++)
            putchar(*p == '|' || *p == '\n' || *p == '\r' ? ' ' : *p);
        printf(v->perf[0] ? " | %s\n" : "\n", v->perf);
    }
    return cli_check_exit_code(v->state);
}

static int unknown(const char *fmt, const char *detail)
{
    verdict v = {.state = CLI_CHECK_UNKNOWN};
    snprintf(v.text, sizeof v.text, fmt, detail);
    return emit(&v);
}

static bool parse_opts(int argc, char **argv, check_opts *o, char *err, size_t errlen)
{
    cli_args args = {argc, argv, 2}; /* argv[1] is --check */
    while (args.i < argc) {
        const char *val = NULL, *name = NULL;
        int rc = CLI_EXIT_OK;
        size_t *slot = NULL;
        if (cli_take_opt(&args, "--max-age", &val, &rc)) {
            slot = &o->max_age_s;
            name = "--max-age";
        } else if (cli_take_opt(&args, "--max-sync-age", &val, &rc)) {
            slot = &o->max_sync_age_s;
            name = "--max-sync-age";
        }
        if (rc != CLI_EXIT_OK)
            return false; /* the message is captured in err */
        if (!slot) {
            snprintf(err, errlen, "status --check: unexpected argument '%.64s'", argv[args.i]);
            return false;
        }
        if (!cli_parse_count(val, slot) || *slot > 10u * 365 * 86400) {
            snprintf(err, errlen,
                     "status --check: %s takes whole seconds (up to ten years), not"
                     " '%.64s'",
                     name, val);
            return false;
        }
    }
    return true;
}

int cmd_status_check(int argc, char **argv)
{
    char err[512];
    check_opts o = {DEFAULT_MAX_AGE_S, DEFAULT_MAX_SYNC_AGE_S};
    cli_capture_errors(err, sizeof err); /* every failure becomes the one UNKNOWN line */
    if (!parse_opts(argc, argv, &o, err, sizeof err)) {
        cli_capture_errors(NULL, 0);
        return unknown("usage: %s", err);
    }
    sfa_agent *agent = NULL;
    int rc = cli_open_read_only(&agent);
    sfa_health h;
    sfa_status st = rc == CLI_EXIT_OK ? sfa_health_get(&h, agent) : SFA_ERROR;
    if (rc == CLI_EXIT_OK && st != SFA_OK)
        snprintf(err, sizeof err, "%s", sfa_agent_errmsg(agent));
    cli_capture_errors(NULL, 0);
    if (rc != CLI_EXIT_OK || st != SFA_OK) {
        if (rc == CLI_EXIT_OK)
            sfa_health_free(&h);
        sfa_agent_free(agent);
        return unknown("cannot read the database: %s", err);
    }
    verdict v = {.state = CLI_CHECK_OK};
    judge_people(&v, &h);
    judge_sync_age(&v, &h, &o);
    judge_pending(&v, &h, &o);
    summarise(&v, &h);
    perfdata(&v, &h, &o);
    sfa_health_free(&h);
    sfa_agent_free(agent);
    return emit(&v);
}
