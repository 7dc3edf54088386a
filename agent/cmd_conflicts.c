/*
 * `conflicts` and `conflicts resolve OP --keep local|server`: ops the manual conflict
 * policy parked, shown field by field (the value the edit started from, the local value,
 * Salesforce's value), and the person's decision (docs/sync-protocol.md#conflicts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static void print_conflicts(const sfa_conflict_array *cs)
{
    static const char *const headers[] = {"Seq",  "SObject", "LocalId", "Field",
                                          "Base", "Local",   "Server"};
    cli_table *t = cli_table_new(7, headers);
    for (size_t i = 0; i < cs->count; i++) {
        const sfa_conflict *c = &cs->items[i];
        char seq[24];
        snprintf(seq, sizeof seq, "%lld", (long long)c->op.seq);
        for (size_t j = 0; j < c->nfields; j++) {
            const sfa_conflict_field *f = &c->fields[j];
            const char *cells[] = {j == 0 ? seq : "",
                                   j == 0 ? c->op.sobject : "",
                                   j == 0 ? c->op.local_id : "",
                                   f->name,
                                   f->base,
                                   f->local,
                                   f->server};
            cli_table_add(t, cells);
        }
    }
    cli_table_print(t);
    cli_table_free(t);
    printf("(%zu %s; resolve with 'sfagent conflicts resolve SEQ --keep local|server')\n",
           cs->count, cs->count == 1 ? "conflict" : "conflicts");
}

/* A value of the library's JSON text as an item: kept exactly (numbers as written). */
static cJSON *value_item(const char *text)
{
    cJSON *v = cli_json_parse_exact(text);
    return v ? v : cJSON_CreateNull();
}

/* [{"seq", "opId", "sobject", "localId", "fields": [{"name", "base", "local", "server"}]}] */
static cJSON *conflicts_to_json(const sfa_conflict_array *cs)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < cs->count; i++) {
        const sfa_conflict *c = &cs->items[i];
        cJSON *one = cJSON_CreateObject();
        cJSON_AddNumberToObject(one, "seq", (double)c->op.seq);
        cJSON_AddStringToObject(one, "opId", c->op.op_id);
        cJSON_AddStringToObject(one, "sobject", c->op.sobject);
        cJSON_AddStringToObject(one, "localId", c->op.local_id);
        cJSON *fields = cJSON_AddArrayToObject(one, "fields");
        for (size_t j = 0; j < c->nfields; j++) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "name", c->fields[j].name);
            cJSON_AddItemToObject(f, "base", value_item(c->fields[j].base));
            cJSON_AddItemToObject(f, "local", value_item(c->fields[j].local));
            cJSON_AddItemToObject(f, "server", value_item(c->fields[j].server));
            cJSON_AddItemToArray(fields, f);
        }
        cJSON_AddItemToArray(arr, one);
    }
    return arr;
}

static int conflicts_list(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage("conflicts: unexpected argument '%s'", argv[1]);
    sfa_agent *agent = NULL;
    int rc = cli_open_read_only(&agent);
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_conflict_array cs = {0};
    sfa_status st = sfa_outbox_conflicts(&cs, agent);
    if (st != SFA_OK)
        rc = cli_fail(st, agent, "conflicts");
    else if (cli_json())
        rc = cli_print_json(conflicts_to_json(&cs));
    else
        print_conflicts(&cs);
    sfa_conflict_array_free(&cs);
    sfa_agent_free(agent);
    return rc;
}

static int conflicts_resolve(int argc, char **argv)
{
    cli_args all = {argc, argv, 1};
    cli_args *args = &all;
    const char *ref = NULL, *keep = NULL;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && args->i < args->argc) {
        if (cli_take_opt(args, "--keep", &keep, &rc))
            continue;
        if (ref || args->argv[args->i][0] == '-')
            return cli_usage("conflicts resolve: unexpected argument '%s'", args->argv[args->i]);
        ref = args->argv[args->i++];
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!ref)
        return cli_usage("conflicts resolve: which op? (op id or seq number)");
    sfa_conflict_keep side;
    if (keep && strcmp(keep, "local") == 0)
        side = SFA_CONFLICT_KEEP_LOCAL;
    else if (keep && strcmp(keep, "server") == 0)
        side = SFA_CONFLICT_KEEP_SERVER;
    else
        return cli_usage("conflicts resolve: --keep local (send the local values) or --keep"
                         " server (keep Salesforce's)");
    sfa_agent *agent = NULL;
    if ((rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        return rc;
    sfa_status st = sfa_outbox_resolve(agent, ref, side);
    const char *result = side == SFA_CONFLICT_KEEP_LOCAL ? "pending" : "discarded";
    if (st != SFA_OK) {
        rc = cli_fail_ref(st, agent, ref);
    } else if (cli_json()) {
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "ref", ref);
        cJSON_AddStringToObject(one, "result", result);
        rc = cli_print_json(one);
    } else {
        printf("%s: %s\n", ref,
               side == SFA_CONFLICT_KEEP_LOCAL
                   ? "local values kept (pending: the next sync sends them)"
                   : "server values kept (op discarded)");
    }
    sfa_agent_free(agent);
    return rc;
}

int cmd_conflicts(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") == 0)
        return conflicts_list(argc < 2 ? argc : argc - 1, argc < 2 ? argv : argv + 1);
    if (strcmp(argv[1], "resolve") == 0)
        return conflicts_resolve(argc - 1, argv + 1);
    return cli_usage("conflicts: unknown action '%s' (see 'sfagent conflicts --help')", argv[1]);
}
