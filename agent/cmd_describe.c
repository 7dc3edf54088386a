/*
 * `sfagent describe [SOBJECT] [--refresh] [--config FILE]`: the org's objects (describe
 * global) or one object's fields, from the describe cache. Fetches (If-Modified-Since
 * when cached) when nothing is cached, the cache is older than [sync] describe_max_age,
 * or --refresh is given; when Salesforce cannot be reached prints the cache and its age
 * instead. Uses only the public API (sfagent/describe.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include <sfagent/describe.h>

static bool flag_of(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *yes(bool b)
{
    return b ? "yes" : "-";
}

static void add_bool(cJSON *to, const cJSON *from, const char *key)
{
    cJSON_AddBoolToObject(to, key, flag_of(from, key));
}

/* "New*, Working, Closed (restricted)": * marks the default. Caller frees. */
static char *picklist_text(const cJSON *f)
{
    size_t cap = 64, len = 0;
    char *buf = calloc(1, cap);
    if (!buf)
        abort();
    const cJSON *p = NULL;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "picklistValues"))
    {
        const char *v = str_of(p, "value");
        if (!v || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "active")))
            continue;
        size_t need = len + strlen(v) + 4;
        if (need + 16 > cap) {
            cap = (need + 16) * 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s%s%s", len ? ", " : "", v,
                                flag_of(p, "defaultValue") ? "*" : "");
    }
    if (len && flag_of(f, "restrictedPicklist")) {
        buf = realloc(buf, len + 16); /* cap >= len + 16 already; keeps the bound obvious */
        if (!buf)
            abort();
        snprintf(buf + len, 16, " (restricted)");
    }
    return buf;
}

static cJSON *objects_json(const cJSON *global)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(global, "sobjects"))
    {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", str_of(o, "name") ? str_of(o, "name") : "");
        cJSON_AddStringToObject(j, "label", str_of(o, "label") ? str_of(o, "label") : "");
        if (str_of(o, "keyPrefix"))
            cJSON_AddStringToObject(j, "keyPrefix", str_of(o, "keyPrefix"));
        else
            cJSON_AddNullToObject(j, "keyPrefix");
        add_bool(j, o, "createable");
        add_bool(j, o, "updateable");
        add_bool(j, o, "queryable");
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

static cJSON *fields_json(const cJSON *d)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        cJSON *j = cJSON_CreateObject();
        static const char *const strs[] = {"name", "label", "type"};
        for (size_t i = 0; i < 3; i++)
            cJSON_AddStringToObject(j, strs[i], str_of(f, strs[i]) ? str_of(f, strs[i]) : "");
        const cJSON *len = cJSON_GetObjectItemCaseSensitive(f, "length");
        cJSON_AddNumberToObject(j, "length", cJSON_IsNumber(len) ? len->valuedouble : 0);
        add_bool(j, f, "nillable");
        add_bool(j, f, "createable");
        add_bool(j, f, "updateable");
        cJSON *refs = cJSON_AddArrayToObject(j, "referenceTo");
        const cJSON *r = NULL;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(f, "referenceTo"))
        {
            if (cJSON_IsString(r))
                cJSON_AddItemToArray(refs, cJSON_CreateString(r->valuestring));
        }
        cJSON *pl = cJSON_AddArrayToObject(j, "picklistValues");
        const cJSON *p = NULL;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "picklistValues"))
        {
            if (!str_of(p, "value") || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "active")))
                continue;
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "value", str_of(p, "value"));
            cJSON_AddBoolToObject(v, "default", flag_of(p, "defaultValue"));
            cJSON_AddItemToArray(pl, v);
        }
        add_bool(j, f, "restrictedPicklist");
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

static void print_objects(const cJSON *global)
{
    static const char *const hdr[] = {"NAME", "LABEL", "PREFIX", "CREATE", "UPDATE", "QUERY"};
    cli_table *t = cli_table_new(6, hdr);
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(global, "sobjects"))
    {
        const char *cells[6] = {str_of(o, "name"),
                                str_of(o, "label"),
                                str_of(o, "keyPrefix"),
                                yes(flag_of(o, "createable")),
                                yes(flag_of(o, "updateable")),
                                yes(flag_of(o, "queryable"))};
        cli_table_add(t, cells);
    }
    cli_table_print(t);
    cli_table_free(t);
}

static void print_fields(const cJSON *d)
{
    static const char *const hdr[] = {"FIELD",  "LABEL",  "TYPE",       "LEN",   "NULL",
                                      "CREATE", "UPDATE", "REFERENCES", "VALUES"};
    cli_table *t = cli_table_new(9, hdr);
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        char len[24] = "-", refs[256] = "";
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(f, "length");
        if (cJSON_IsNumber(l) && l->valuedouble > 0)
            snprintf(len, sizeof len, "%.0f", l->valuedouble);
        const cJSON *r = NULL;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(f, "referenceTo"))
        {
            size_t n = strlen(refs);
            if (cJSON_IsString(r))
                snprintf(refs + n, sizeof refs - n, "%s%s", n ? "," : "", r->valuestring);
        }
        char *values = picklist_text(f);
        const char *cells[9] = {str_of(f, "name"),
                                str_of(f, "label"),
                                str_of(f, "type"),
                                len,
                                yes(flag_of(f, "nillable")),
                                yes(flag_of(f, "createable")),
                                yes(flag_of(f, "updateable")),
                                refs[0] ? refs : NULL,
                                values[0] ? values : NULL};
        cli_table_add(t, cells);
        free(values);
    }
    cli_table_print(t);
    cli_table_free(t);
}

static int print_describe(const char *sobject, const char *json, long long fetched_at_ms,
                          const char *source)
{
    cJSON *d = cJSON_Parse(json);
    if (!d)
        return cli_error(CLI_EXIT_IO, "describe: the cached describe is not JSON");
    long long age_ms = (long long)time(NULL) * 1000 - fetched_at_ms;
    if (cli_json()) {
        cJSON *out = cJSON_CreateObject();
        if (sobject)
            cJSON_AddStringToObject(out, "sobject", sobject);
        cJSON_AddStringToObject(out, "source", source);
        cJSON_AddNumberToObject(out, "fetchedAtMs", (double)fetched_at_ms);
        cJSON_AddNumberToObject(out, "ageSeconds", (double)(age_ms < 0 ? 0 : age_ms / 1000));
        cJSON_AddItemToObject(out, sobject ? "fields" : "sobjects",
                              sobject ? fields_json(d) : objects_json(d));
        cJSON_Delete(d);
        return cli_print_json(out);
    }
    char age[32];
    cli_format_age(age, sizeof age, age_ms);
    printf("%s (%s, fetched %s ago)\n", sobject ? sobject : "objects", source, age);
    if (sobject)
        print_fields(d);
    else
        print_objects(d);
    cJSON_Delete(d);
    return CLI_EXIT_OK;
}

static const char *source_name(sfa_describe_fetch what)
{
    switch (what) {
    case SFA_DESCRIBE_FRESH:
        return "cache";
    case SFA_DESCRIBE_FETCHED:
        return "fetched";
    case SFA_DESCRIBE_NOT_MODIFIED:
        return "not modified";
    }
    return "cache";
}

int cmd_describe(int argc, char **argv)
{
    const char *config = NULL, *sobject = NULL;
    bool refresh = false;
    int rc = CLI_EXIT_OK;
    cli_args args = {argc, argv, 1};
    while (args.i < argc && rc == CLI_EXIT_OK) {
        if (cli_take_flag(&args, "--refresh"))
            refresh = true;
        else if (cli_take_opt(&args, "--config", &config, &rc))
            continue;
        else if (argv[args.i][0] == '-' || sobject)
            return cli_usage("describe: unexpected argument '%s'", argv[args.i]);
        else
            sobject = argv[args.i++];
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_config *cfg = NULL;
    sfa_agent *agent = NULL;
    char *json = NULL;
    if ((rc = cli_load_config(&cfg, config)) != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_open(&agent, false)) != CLI_EXIT_OK)
        goto out;
    /* A typo, known from the cached describe global; --refresh asks Salesforce instead
     * (the object may be newer than the cache). */
    sfa_status st = sobject && !refresh ? sfa_describe_check_sobject(agent, sobject) : SFA_OK;
    if (st != SFA_OK) {
        rc = cli_fail(st, agent, "describe");
        goto out;
    }
    sfa_describe_fetch what = SFA_DESCRIBE_FRESH;
    st = sfa_describe_refresh(&what, agent, cfg, sobject, refresh, -1);
    /* The refresh's message, before the cache read below replaces the handle's. */
    char *why = st != SFA_OK ? cli_strdup(sfa_agent_errmsg(agent)) : NULL;
    int64_t at = 0;
    sfa_status cached = st == SFA_ENOTFOUND ? st : sfa_describe_cached(&json, &at, agent, sobject);
    if (cached != SFA_OK) {
        rc = why ? cli_error(cli_exit_code(st), "describe: %s", why)
                 : cli_fail(cached, agent, "describe");
        free(why);
        goto out;
    }
    if (why) {
        char age[32];
        cli_format_age(age, sizeof age, (long long)time(NULL) * 1000 - at);
        fprintf(stderr, "sfagent: describe: %s; showing the cache (fetched %s ago)\n", why, age);
        free(why);
    }
    rc = print_describe(sobject, json, at, st != SFA_OK ? "offline cache" : source_name(what));
out:
    free(json);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return rc;
}
