/*
 * `outbox list` and `outbox show`: what is waiting for Salesforce, and why an op failed.
 * Read-only here; retry/discard (agent/cmd_sync.c) plug into the actions table below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

/* --state: "all" or state names separated by commas ("dead,conflict") as a set for
 * sfa_outbox_list(); false on an unknown name. */
static bool parse_states(const char *text, unsigned *out)
{
    if (strcmp(text, "all") == 0) {
        *out = SFA_OP_STATES_ALL;
        return true;
    }
    *out = 0;
    char *copy = cli_strdup(text), *save = NULL;
    bool ok = true;
    for (char *name = strtok_r(copy, ",", &save); ok && name; name = strtok_r(NULL, ",", &save)) {
        sfa_op_state s;
        ok = sfa_op_state_parse(&s, name) == SFA_OK;
        *out |= ok ? SFA_OP_STATE_BIT(s) : 0;
    }
    free(copy);
    return ok && *out != 0;
}

static void print_ops(const sfa_op_array *ops)
{
    static const char *const headers[] = {"Seq",   "Kind",     "SObject", "LocalId",
                                          "State", "Attempts", "Error",   "Fields"};
    cli_table *t = cli_table_new(8, headers);
    for (size_t i = 0; i < ops->count; i++) {
        const sfa_op *op = &ops->items[i];
        char seq[24], attempts[16];
        snprintf(seq, sizeof seq, "%lld", (long long)op->seq);
        snprintf(attempts, sizeof attempts, "%d", op->attempts);
        const char *cells[] = {seq,
                               sfa_op_kind_name(op->kind),
                               op->sobject,
                               op->local_id,
                               sfa_op_state_name(op->state),
                               attempts,
                               op->last_error_code,
                               op->fields_json};
        cli_table_add(t, cells);
    }
    cli_table_print(t);
    cli_table_free(t);
    printf("(%zu %s)\n", ops->count, ops->count == 1 ? "op" : "ops");
}

static int outbox_list(int argc, char **argv)
{
    cli_args all = {argc, argv, 1};
    cli_args *args = &all;
    const char *state = NULL, *limit_text = NULL;
    size_t limit = 0;
    unsigned states = SFA_OP_STATES_ALL;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && args->i < args->argc) {
        if (cli_take_opt(args, "--state", &state, &rc) ||
            cli_take_opt(args, "--limit", &limit_text, &rc))
            continue;
        return cli_usage("outbox list: unknown argument %s", args->argv[args->i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (state && !parse_states(state, &states))
        return cli_usage("outbox list: --state takes pending, inflight, done, conflict or dead"
                         " (several with commas: dead,conflict), or all");
    if (limit_text && !cli_parse_count(limit_text, &limit))
        return cli_error(CLI_EXIT_DATA, "outbox list: --limit expects a number, got '%s'",
                         limit_text);
    sfa_agent *agent = NULL;
    if ((rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        return rc;
    sfa_op_array ops = {0};
    sfa_status st = sfa_outbox_list(&ops, agent, states, limit);
    if (st != SFA_OK) {
        rc = cli_fail(st, agent, "outbox list");
    } else if (cli_json()) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < ops.count; i++)
            cJSON_AddItemToArray(arr, cli_op_to_json(&ops.items[i]));
        rc = cli_print_json(arr);
    } else {
        print_ops(&ops);
    }
    sfa_op_array_free(&ops);
    sfa_agent_free(agent);
    return rc;
}

static void print_op(const sfa_op *op)
{
    char seq[24], attempts[16];
    snprintf(seq, sizeof seq, "%lld", (long long)op->seq);
    snprintf(attempts, sizeof attempts, "%d", op->attempts);
    const char *const rows[][2] = {
        {"Seq", seq},
        {"Op id", op->op_id},
        {"Kind", sfa_op_kind_name(op->kind)},
        {"SObject", op->sobject},
        {"Local id", op->local_id},
        {"State", sfa_op_state_name(op->state)},
        {"Attempts", attempts},
        {"Fields", op->fields_json},
        {"Error code", op->last_error_code},
        {"Error", op->last_error},
    };
    cli_table *t = cli_table_new(2, NULL);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cli_table_add(t, rows[i]);
    cli_table_print(t);
    cli_table_free(t);
}

static int outbox_show(int argc, char **argv)
{
    cli_args all = {argc, argv, 1};
    cli_args *args = &all;
    if (args->i >= args->argc)
        return cli_usage("outbox show: missing OP (an op id or seq number)");
    const char *ref = args->argv[args->i++];
    if (args->i < args->argc)
        return cli_usage("outbox show: unexpected argument '%s'", args->argv[args->i]);
    sfa_agent *agent = NULL;
    int rc = cli_open(&agent, false);
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_op *op = NULL;
    sfa_status st = sfa_outbox_get(&op, agent, ref);
    if (st != SFA_OK)
        rc = cli_fail_ref(st, agent, ref);
    else if (cli_json())
        rc = cli_print_json(cli_op_to_json(op));
    else
        print_op(op);
    sfa_op_free(op);
    sfa_agent_free(agent);
    return rc;
}

/* `outbox prune [--older-than DAYS]`: drop done ops older than DAYS (default 30). */
static int outbox_prune(int argc, char **argv)
{
    cli_args all = {argc, argv, 1};
    cli_args *args = &all;
    const char *days_text = NULL;
    size_t days = 30;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && args->i < args->argc) {
        if (cli_take_opt(args, "--older-than", &days_text, &rc))
            continue;
        return cli_usage("outbox prune: unknown argument %s", args->argv[args->i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (days_text && (!cli_parse_count(days_text, &days) || days > 36500))
        return cli_error(CLI_EXIT_DATA,
                         "outbox prune: --older-than expects a number of days (0 to 36500), "
                         "got '%s'",
                         days_text);
    sfa_agent *agent = NULL;
    if ((rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        return rc;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t cutoff = ((int64_t)now.tv_sec - (int64_t)days * 86400) * 1000;
    size_t removed = 0;
    sfa_status st = sfa_outbox_prune(&removed, agent, cutoff);
    if (st != SFA_OK)
        rc = cli_fail(st, agent, "outbox prune");
    else if (cli_json()) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "removed", (double)removed);
        rc = cli_print_json(j);
    } else
        printf("removed %zu done op%s older than %zu day%s\n", removed, removed == 1 ? "" : "s",
               days, days == 1 ? "" : "s");
    sfa_agent_free(agent);
    return rc;
}

/*
 * Actions of `outbox`, each a cli_handler called with argv[0] = the action name. The sync
 * commands add theirs with one line each: {"retry", cmd_outbox_retry}, {"discard", ...}.
 */
static const struct {
    const char *name;
    cli_handler handler;
} actions[] = {
    {"list", outbox_list},           {"show", outbox_show},   {"retry", cmd_outbox_retry},
    {"discard", cmd_outbox_discard}, {"prune", outbox_prune},
};

int cmd_outbox(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("outbox: missing action (see 'sfagent outbox --help')");
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(argv[1], actions[i].name) == 0)
            return actions[i].handler(argc - 1, argv + 1);
    return cli_usage("outbox: unknown action '%s' (see 'sfagent outbox --help')", argv[1]);
}
