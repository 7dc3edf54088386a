/*
 * `get` and `list` for records: reads of the local mirror, no network. People get an
 * aligned listing; --json gives the records as objects (cli_record_to_json) for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record_show.h"
#include <sfagent/describe.h>

static bool is_case(const record_kind *kind)
{
    return strcmp(kind->sobject, "Case") == 0;
}

static bool is_column(const record_kind *kind, const char *name)
{
    for (size_t i = 0; i < kind->ncolumns; i++)
        if (strcmp(kind->columns[i], name) == 0)
            return true;
    return false;
}

static void add_pair(cli_table *t, const char *key, const char *value)
{
    const char *cells[2] = {key, value};
    cli_table_add(t, cells);
}

static void add_field_pair(cli_table *t, const cJSON *fields, const char *name)
{
    char *text = cli_field_text(fields, name);
    add_pair(t, name, text);
    free(text);
}

/* "ContactId" -> "Contact": the line that names the referenced record. */
static void add_reference(cli_table *t, const sfa_record_ref *ref)
{
    size_t n = strlen(ref->field);
    char *key = strdup(ref->field);
    if (!key)
        abort();
    if (n > 2 && strcmp(ref->field + n - 2, "Id") == 0)
        key[n - 2] = '\0';
    size_t len = strlen(ref->local_id) + (ref->name ? strlen(ref->name) : 1) + 4;
    char *value = malloc(len);
    if (!value)
        abort();
    snprintf(value, len, "%s (%s)", ref->name ? ref->name : "-", ref->local_id);
    add_pair(t, key, value);
    free(value);
    free(key);
}

/* Key/value listing: the kind's columns, identity and sync state, the cached records it
 * refers to, then the other fields. */
static void print_record(const record_kind *kind, const sfa_record *r,
                         const sfa_record_ref_array *refs)
{
    cJSON *fields = cli_json_parse_exact(r->fields_json);
    cli_table *t = cli_table_new(2, NULL);
    for (size_t i = 0; i < kind->ncolumns; i++)
        add_field_pair(t, fields, kind->columns[i]);
    if (is_case(kind))
        add_pair(t, "CaseNumber", r->case_number ? r->case_number : "- (assigned on sync)");
    add_pair(t, "Id", r->sf_id ? r->sf_id : "- (not in Salesforce yet)");
    add_pair(t, "Sync state", sfa_record_sync_state_name(r->sync_state));
    add_pair(t, "Local id", r->local_id);
    if (r->deleted)
        add_pair(t, "Deleted", "yes");
    for (size_t i = 0; i < refs->count; i++)
        add_reference(t, &refs->items[i]);
    /* Id and CaseNumber were shown above from the mirror's identity columns. */
    for (const cJSON *f = fields ? fields->child : NULL; f; f = f->next)
        if (!is_column(kind, f->string) && strcmp(f->string, "Id") != 0 &&
            strcmp(f->string, "CaseNumber") != 0)
            add_field_pair(t, fields, f->string);
    cli_table_print(t);
    cli_table_free(t);
    cJSON_Delete(fields);
}

/* Age of the cached copy, for a copy that could not be refreshed. */
static void print_age(const sfa_record *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t age_s = ((int64_t)ts.tv_sec * 1000 - r->updated_at_ms) / 1000;
    fprintf(stderr, "cached copy last updated %lld s ago\n", (long long)age_s);
}

/* --json: "references": {"ContactId": {"sobject","localId","id","name"}} on obj. */
static cJSON *references_to_json(cJSON *obj, const sfa_record_ref_array *refs)
{
    cJSON *all = cJSON_AddObjectToObject(obj, "references");
    for (size_t i = 0; i < refs->count; i++) {
        const sfa_record_ref *ref = &refs->items[i];
        cJSON *o = cJSON_AddObjectToObject(all, ref->field);
        cJSON_AddStringToObject(o, "sobject", ref->sobject);
        cJSON_AddStringToObject(o, "localId", ref->local_id);
        if (ref->sf_id)
            cJSON_AddStringToObject(o, "id", ref->sf_id);
        else
            cJSON_AddNullToObject(o, "id");
        if (ref->name)
            cJSON_AddStringToObject(o, "name", ref->name);
        else
            cJSON_AddNullToObject(o, "name");
    }
    return obj;
}

int record_show_get(const record_kind *kind, cli_args *args)
{
    if (args->i >= args->argc)
        return cli_usage("%s get: missing REF", kind->command);
    const char *ref = NULL, *config = NULL;
    bool fresh = false;
    int rc = CLI_EXIT_OK;
    while (args->i < args->argc && rc == CLI_EXIT_OK) {
        if (cli_take_flag(args, "--refresh"))
            fresh = true;
        else if (cli_take_opt(args, "--config", &config, &rc))
            continue;
        else if (!ref && args->argv[args->i][0] != '-')
            ref = args->argv[args->i++];
        else
            return cli_usage("%s get: unexpected argument '%s'", kind->command,
                             args->argv[args->i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!ref)
        return cli_usage("%s get: missing REF", kind->command);
    char *fetched = NULL;
    if (fresh)
        record_refresh(kind, ref, config, &fetched);
    sfa_agent *agent = NULL;
    sfa_record *record = NULL;
    rc = cli_open_read_only(&agent);
    if (rc != CLI_EXIT_OK) {
        free(fetched);
        return rc;
    }
    sfa_record_ref_array refs = {0};
    sfa_status st = sfa_record_get(&record, agent, kind->sobject, fetched ? fetched : ref);
    if (st == SFA_OK && fresh && !fetched)
        print_age(record);
    free(fetched);
    if (st == SFA_OK)
        st = sfa_record_references(&refs, agent, record);
    if (st != SFA_OK)
        rc = cli_fail_ref(st, agent, ref);
    else if (cli_json())
        rc = cli_print_json(references_to_json(cli_record_to_json(record), &refs));
    else
        print_record(kind, record, &refs);
    sfa_record_ref_array_free(&refs);
    sfa_record_free(record);
    sfa_agent_free(agent);
    return rc;
}

static int parse_list_args(const record_kind *kind, cli_args *args, sfa_list_options *opts,
                           const char **fields)
{
    int rc = CLI_EXIT_OK;
    const char *limit = NULL;
    while (rc == CLI_EXIT_OK && args->i < args->argc) {
        if (cli_take_opt(args, "--status", &opts->status, &rc) ||
            cli_take_opt(args, "--order", &opts->order_field, &rc) ||
            cli_take_opt(args, "--limit", &limit, &rc) ||
            cli_take_opt(args, "--fields", fields, &rc))
            continue;
        if (cli_take_flag(args, "--desc")) {
            opts->descending = true;
            continue;
        }
        if (cli_take_flag(args, "--include-deleted")) {
            opts->include_deleted = true;
            continue;
        }
        return cli_usage("%s list: unknown argument %s", kind->command, args->argv[args->i]);
    }
    if (rc == CLI_EXIT_OK && limit && !cli_parse_count(limit, &opts->limit))
        rc = cli_error(CLI_EXIT_DATA, "%s list: --limit expects a number, got '%s'", kind->command,
                       limit);
    return rc;
}

static void *list_alloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

/* One table row: LocalId, Id, [CaseNumber], the kind's columns (or all fields), Sync. */
static void add_list_row(const record_kind *kind, cli_table *t, const sfa_record *r)
{
    size_t width = kind->ncolumns + 5;
    const char **cells = list_alloc(width, sizeof *cells);
    char **owned = list_alloc(width, sizeof *owned);
    size_t n = 0;
    cells[n++] = r->local_id;
    cells[n++] = r->sf_id;
    if (is_case(kind))
        cells[n++] = r->case_number;
    cJSON *fields = cli_json_parse_exact(r->fields_json);
    if (kind->ncolumns == 0) {
        owned[n] = fields ? cJSON_PrintUnformatted(fields) : NULL;
        cells[n] = owned[n];
        n++;
    }
    for (size_t i = 0; i < kind->ncolumns; i++, n++) {
        owned[n] = cli_field_text(fields, kind->columns[i]);
        cells[n] = owned[n];
    }
    cells[n++] = sfa_record_sync_state_name(r->sync_state);
    cli_table_add(t, cells);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    free(cells);
    cJSON_Delete(fields);
}

static void print_list(const record_kind *kind, const sfa_record_array *list)
{
    const char **headers = list_alloc(kind->ncolumns + 5, sizeof *headers);
    size_t n = 0;
    headers[n++] = "LocalId";
    headers[n++] = "Id";
    if (is_case(kind))
        headers[n++] = "CaseNumber";
    if (kind->ncolumns == 0)
        headers[n++] = "Fields";
    for (size_t i = 0; i < kind->ncolumns; i++)
        headers[n++] = kind->columns[i];
    headers[n++] = "Sync";
    cli_table *t = cli_table_new(n, headers);
    for (size_t i = 0; i < list->count; i++)
        add_list_row(kind, t, &list->items[i]);
    cli_table_print(t);
    cli_table_free(t);
    free(headers);
    printf("(%zu %s)\n", list->count, list->count == 1 ? "record" : "records");
}

/* A record as JSON; with --fields, its "fields" holds just those (null when unset). */
static cJSON *list_item_json(const record_kind *chosen, const sfa_record *r)
{
    cJSON *obj = cli_record_to_json(r);
    if (!chosen)
        return obj;
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(obj, "fields");
    cJSON *some = cJSON_CreateObject();
    for (size_t i = 0; i < chosen->ncolumns; i++) {
        const cJSON *v = cJSON_IsObject(all) ? cJSON_GetObjectItem(all, chosen->columns[i]) : NULL;
        cJSON_AddItemToObject(some, chosen->columns[i],
                              v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    cJSON_ReplaceItemInObjectCaseSensitive(obj, "fields", some);
    return obj;
}

/* --fields A,B,C: the columns in Salesforce's spelling (validated with a did-you-mean,
 * SFA_EINVAL -> exit 65), as *chosen whose columns point into *canon (caller frees
 * both). */
static int choose_columns(record_kind *chosen, char **canon, const char ***columns,
                          sfa_agent *agent, const record_kind *kind, const char *fields)
{
    sfa_status st = sfa_describe_check_fields(canon, agent, kind->sobject, fields);
    if (st != SFA_OK)
        return cli_fail(st, agent, "list --fields");
    size_t n = 1;
    for (const char *p = *canon; *p; p++)
        n += *p == ',';
    *columns = list_alloc(n, sizeof **columns);
    n = 0;
    for (char *p = *canon; p; n++) {
        (*columns)[n] = p;
        p = strchr(p, ',');
        if (p)
            *p++ = '\0';
    }
    *chosen = *kind;
    chosen->columns = *columns;
    chosen->ncolumns = n;
    return CLI_EXIT_OK;
}

int record_show_list(const record_kind *kind, cli_args *args)
{
    sfa_list_options opts = SFA_LIST_OPTIONS_INIT;
    const char *fields = NULL;
    int rc = parse_list_args(kind, args, &opts, &fields);
    sfa_agent *agent = NULL;
    if (rc != CLI_EXIT_OK || (rc = cli_open_read_only(&agent)) != CLI_EXIT_OK)
        return rc;
    record_kind chosen;
    char *canon = NULL;
    const char **columns = NULL;
    sfa_record_array list = {0};
    if (fields)
        rc = choose_columns(&chosen, &canon, &columns, agent, kind, fields);
    const record_kind *shown = fields ? &chosen : kind;
    sfa_status st =
        rc == CLI_EXIT_OK ? sfa_record_list(&list, agent, kind->sobject, &opts) : SFA_OK;
    if (rc != CLI_EXIT_OK) {
        /* reported by choose_columns */
    } else if (st != SFA_OK) {
        rc = cli_fail(st, agent, "list");
    } else if (cli_json()) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < list.count; i++)
            cJSON_AddItemToArray(arr, list_item_json(fields ? shown : NULL, &list.items[i]));
        rc = cli_print_json(arr);
    } else {
        print_list(shown, &list);
    }
    sfa_record_array_free(&list);
    free(columns);
    free(canon);
    sfa_agent_free(agent);
    return rc;
}
