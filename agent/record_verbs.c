/*
 * The record verbs shared by `case`, `contact` and `record`: create, update, delete,
 * upsert (writes) and get, list (reads, in record_show.c). Every argument is parsed and
 * checked before the database is opened, so a usage error can never change stored data;
 * the library then makes each write one transaction (all or nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "record_show.h"

/* Exit code for an argument this verb does not know: an option or an extra value. */
static int unexpected(const record_kind *kind, const char *verb, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0')
        return cli_usage("%s %s: unknown option %s (see 'sfagent %s --help')", kind->command, verb,
                         arg, kind->command);
    return cli_usage("%s %s: unexpected argument '%s'", kind->command, verb, arg);
}

/*
 * Scan the arguments of a writing verb: field options, the kind's own options and up to
 * npos positional values. Returns an exit code; fewer than npos positionals is a usage error.
 */
static int parse_write_args(const record_kind *kind, const char *verb, cli_args *args,
                            cli_fields *fields, const char **pos, size_t npos,
                            const char *const *pos_names)
{
    size_t got = 0;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && args->i < args->argc) {
        if (cli_fields_take(fields, args, &rc))
            continue;
        if (kind->take_option && kind->take_option(fields, args, &rc))
            continue;
        const char *arg = args->argv[args->i];
        if ((arg[0] == '-' && arg[1] != '\0') || got == npos)
            return unexpected(kind, verb, arg);
        pos[got++] = arg;
        args->i++;
    }
    if (rc == CLI_EXIT_OK && got < npos)
        rc = cli_usage("%s %s: missing %s", kind->command, verb, pos_names[got]);
    /* UTF-8, names, types and sizes are the library's checks, made before it writes. */
    return rc;
}

static int print_done(const char *what, const char *ref)
{
    if (!cli_json()) {
        printf("%s %s\n", what, ref);
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "ref", ref);
    cJSON_AddStringToObject(obj, "result", what);
    return cli_print_json(obj);
}

static int print_local_id(const char *local_id)
{
    if (!cli_json()) {
        puts(local_id);
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "localId", local_id);
    return cli_print_json(obj);
}

static int verb_create(const record_kind *kind, cli_args *args)
{
    cli_fields fields = {0};
    sfa_agent *agent = NULL;
    char *json = NULL, *local_id = NULL;
    int rc = parse_write_args(kind, "create", args, &fields, NULL, 0, NULL);
    /* cJSON_GetObjectItemCaseSensitive(NULL, ...) is NULL: no fields at all is "missing". */
    if (rc == CLI_EXIT_OK && kind->required_field &&
        !cJSON_GetObjectItemCaseSensitive(fields.obj, kind->required_field))
        rc = cli_usage("%s create: %s is required", kind->command, kind->required_field);
    if (rc != CLI_EXIT_OK || (rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        goto out;
    json = cli_fields_json(&fields);
    sfa_status st = sfa_record_create(&local_id, agent, kind->sobject, json);
    rc = st == SFA_OK ? print_local_id(local_id) : cli_fail(st, agent, "create");
out:
    free(local_id);
    free(json);
    cli_fields_free(&fields);
    sfa_agent_free(agent);
    return rc;
}

static int verb_update(const record_kind *kind, cli_args *args)
{
    static const char *const names[] = {"REF"};
    cli_fields fields = {0};
    sfa_agent *agent = NULL;
    char *json = NULL;
    const char *ref = NULL;
    int rc = parse_write_args(kind, "update", args, &fields, &ref, 1, names);
    if (rc == CLI_EXIT_OK && (!fields.obj || !fields.obj->child))
        rc = cli_usage("%s update: nothing to change (use --set FIELD=VALUE or --fields JSON)",
                       kind->command);
    if (rc != CLI_EXIT_OK || (rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        goto out;
    json = cli_fields_json(&fields);
    sfa_status st = sfa_record_update(agent, kind->sobject, ref, json);
    rc = st == SFA_OK ? print_done("updated", ref) : cli_fail_ref(st, agent, ref);
out:
    free(json);
    cli_fields_free(&fields);
    sfa_agent_free(agent);
    return rc;
}

static int verb_delete(const record_kind *kind, cli_args *args)
{
    sfa_agent *agent = NULL;
    if (args->i >= args->argc)
        return cli_usage("%s delete: missing REF", kind->command);
    const char *ref = args->argv[args->i++];
    if (args->i < args->argc)
        return unexpected(kind, "delete", args->argv[args->i]);
    int rc = cli_open(&agent, false);
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_status st = sfa_record_delete(agent, kind->sobject, ref);
    rc = st == SFA_OK ? print_done("deleted", ref) : cli_fail_ref(st, agent, ref);
    sfa_agent_free(agent);
    return rc;
}

static int verb_upsert(const record_kind *kind, cli_args *args)
{
    static const char *const names[] = {"EXTFIELD", "VALUE"};
    const char *pos[2] = {NULL, NULL};
    cli_fields fields = {0};
    sfa_agent *agent = NULL;
    char *json = NULL, *local_id = NULL;
    int rc = parse_write_args(kind, "upsert", args, &fields, pos, 2, names);
    if (rc != CLI_EXIT_OK || (rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        goto out;
    json = cli_fields_json(&fields);
    sfa_status st = sfa_record_upsert(&local_id, agent, kind->sobject, pos[0], pos[1], json);
    rc = st == SFA_OK ? print_local_id(local_id) : cli_fail(st, agent, "upsert");
out:
    free(local_id);
    free(json);
    cli_fields_free(&fields);
    sfa_agent_free(agent);
    return rc;
}

int records_run(const record_kind *kind, const char *verb, cli_args *args, bool allow_upsert)
{
    if (strcmp(verb, "create") == 0)
        return verb_create(kind, args);
    if (strcmp(verb, "get") == 0)
        return record_show_get(kind, args);
    if (strcmp(verb, "update") == 0)
        return verb_update(kind, args);
    if (strcmp(verb, "delete") == 0)
        return verb_delete(kind, args);
    if (strcmp(verb, "list") == 0)
        return record_show_list(kind, args);
    if (allow_upsert && strcmp(verb, "upsert") == 0)
        return verb_upsert(kind, args);
    return cli_usage("%s: unknown action '%s' (see 'sfagent %s --help')", kind->command, verb,
                     kind->command);
}
