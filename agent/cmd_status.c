/*
 * `init`, `status` and `version`: the database itself rather than its records.
 */
#include <stdio.h>
#include <time.h>

#include "cmd.h"

#ifndef SFA_VERSION
#define SFA_VERSION "unknown"
#endif

/* Exit code when a command that takes no arguments got some. */
static int no_args(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage("%s: unexpected argument '%s'", argv[0], argv[1]);
    return CLI_EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
    sfa_agent *agent = NULL;
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK || (rc = cli_open(&agent, true)) != CLI_EXIT_OK)
        return rc;
    int version = sfa_agent_schema_version(agent);
    sfa_agent_free(agent);
    if (!cli_json()) {
        printf("initialized %s (schema v%d)\n", cli_db_path(), version);
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "db", cli_db_path());
    cJSON_AddNumberToObject(obj, "schemaVersion", version);
    return cli_print_json(obj);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The run-level pause, if any: until when and why (scheduled runs exit 75 until then). */
static void print_pause(const sfa_sync_pause *p, cJSON *json)
{
    static const char *const why[] = {"", "offline", "API limit", "Retry-After"};
    const char *source = why[p->source <= SFA_PAUSE_RETRY_AFTER ? p->source : 0];
    char until[32] = "";
    time_t t = (time_t)(p->until_ms / 1000);
    struct tm tm;
    if (p->until_ms > 0 && gmtime_r(&t, &tm))
        strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (json && p->source == SFA_PAUSE_NONE) {
        cJSON_AddNullToObject(json, "pause");
    } else if (json) {
        cJSON *o = cJSON_AddObjectToObject(json, "pause");
        cJSON_AddStringToObject(o, "until", until);
        cJSON_AddStringToObject(o, "source", source);
        cJSON_AddStringToObject(o, "reason", p->reason);
    } else if (p->source != SFA_PAUSE_NONE) {
        printf("Paused until %s (%s: %s)\n", until, source, p->reason);
    }
}

static void print_stats(const sfa_outbox_stats *s, int version, const sfa_sync_pause *pause)
{
    char age[32] = "-";
    if (s->oldest_pending_created_ms > 0)
        cli_format_age(age, sizeof age, now_ms() - s->oldest_pending_created_ms);
    char v[16], n[5][24];
    snprintf(v, sizeof v, "%d", version);
    const size_t counts[5] = {s->records, s->pending, s->inflight, s->conflict, s->dead};
    for (size_t i = 0; i < 5; i++)
        snprintf(n[i], sizeof n[i], "%zu", counts[i]);
    char done[24];
    snprintf(done, sizeof done, "%zu", s->done);
    const char *const rows[][2] = {
        {"Database", cli_db_path()}, {"Schema", v},           {"Records", n[0]},
        {"Pending", n[1]},           {"Oldest pending", age}, {"Inflight", n[2]},
        {"Conflict", n[3]},          {"Dead", n[4]},          {"Done", done},
    };
    cli_table *t = cli_table_new(2, NULL);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cli_table_add(t, rows[i]);
    cli_table_print(t);
    cli_table_free(t);
    print_pause(pause, NULL);
}

/* A database flagged as damaged: why, and that writes are refused until it is restored. */
static void print_corruption(const char *why)
{
    if (why)
        printf("DAMAGED: %s\nWrites are refused (exit 74); reads work. Restore the file from a "
               "backup, or check it with sqlite3 FILE 'PRAGMA integrity_check'.\n",
               why);
}

static cJSON *stats_json(const sfa_outbox_stats *s, int version, const sfa_sync_pause *pause)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "db", cli_db_path());
    cJSON_AddNumberToObject(obj, "schemaVersion", version);
    cJSON_AddNumberToObject(obj, "records", (double)s->records);
    cJSON *ob = cJSON_AddObjectToObject(obj, "outbox");
    cJSON_AddNumberToObject(ob, "pending", (double)s->pending);
    cJSON_AddNumberToObject(ob, "inflight", (double)s->inflight);
    cJSON_AddNumberToObject(ob, "done", (double)s->done);
    cJSON_AddNumberToObject(ob, "conflict", (double)s->conflict);
    cJSON_AddNumberToObject(ob, "dead", (double)s->dead);
    if (s->oldest_pending_created_ms > 0)
        cJSON_AddNumberToObject(obj, "oldestPendingAgeMs",
                                (double)(now_ms() - s->oldest_pending_created_ms));
    else
        cJSON_AddNullToObject(obj, "oldestPendingAgeMs");
    print_pause(pause, obj);
    return obj;
}

int cmd_status(int argc, char **argv)
{
    sfa_agent *agent = NULL;
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK || (rc = cli_open_read_only(&agent)) != CLI_EXIT_OK)
        return rc;
    sfa_outbox_stats stats = {0};
    sfa_sync_pause pause = {0};
    sfa_status st = sfa_outbox_stats_get(&stats, agent);
    if (st == SFA_OK)
        st = sfa_sync_pause_get(&pause, agent);
    /* Read after the counts: reading them may be what finds the damage. */
    const char *damaged = sfa_agent_corruption(agent);
    if (st != SFA_OK) {
        if (!cli_json())
            print_corruption(damaged);
        rc = cli_fail(st, agent, "status");
    } else if (cli_json()) {
        cJSON *obj = stats_json(&stats, sfa_agent_schema_version(agent), &pause);
        if (damaged)
            cJSON_AddStringToObject(obj, "damaged", damaged);
        else
            cJSON_AddNullToObject(obj, "damaged");
        rc = cli_print_json(obj);
    } else {
        print_stats(&stats, sfa_agent_schema_version(agent), &pause);
        print_corruption(damaged);
    }
    sfa_agent_free(agent);
    return rc;
}

int cmd_version(int argc, char **argv)
{
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!cli_json()) {
        printf("sfagent %s (schema v%d)\n", SFA_VERSION, sfa_agent_schema_version_supported());
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "version", SFA_VERSION);
    cJSON_AddNumberToObject(obj, "schemaVersion", sfa_agent_schema_version_supported());
    return cli_print_json(obj);
}
