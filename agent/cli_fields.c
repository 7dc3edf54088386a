/*
 * Field maps from the command line. The typing rule is explicit so a value never
 * changes type behind the user's back (a Subject "123" stays a string):
 *   --set FIELD=VALUE       always a string
 *   --set-json FIELD=JSON   a typed scalar: true, false, null, a number or a "string"
 *   --fields JSON           a whole JSON object, merged in
 * Later options override earlier ones for the same field. Field names, sizes and UTF-8
 * are checked by the library, which owns those rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static cJSON *ensure_obj(cli_fields *fields)
{
    if (!fields->obj)
        fields->obj = cJSON_CreateObject();
    if (!fields->obj)
        abort();
    return fields->obj;
}

static void put_item(cli_fields *fields, const char *name, cJSON *item)
{
    cJSON *obj = ensure_obj(fields);
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item);
    else
        cJSON_AddItemToObject(obj, name, item);
}

void cli_fields_put_string(cli_fields *fields, const char *name, const char *value)
{
    cJSON *item = cJSON_CreateString(value);
    if (!item)
        abort();
    put_item(fields, name, item);
}

/* Split "FIELD=VALUE" at the first '='; the name (caller frees) must be non-empty. */
static char *split_assignment(const char *arg, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return NULL;
    size_t n = (size_t)(eq - arg);
    char *name = malloc(n + 1);
    if (!name)
        abort();
    memcpy(name, arg, n);
    name[n] = '\0';
    *value = eq + 1;
    return name;
}

/* Parse text as one JSON value and nothing else: cJSON_Parse() alone stops after the
 * first value and would take '{"Subject":"x"} junk' as the object. NULL on bad JSON or
 * trailing text; *trailing then points at the trailing text (NULL for bad JSON). */
static cJSON *parse_whole(const char *text, const char **trailing)
{
    const char *end = NULL;
    *trailing = NULL;
    cJSON *item = cJSON_ParseWithOpts(text, &end, true);
    if (item)
        return item;
    cJSON *first = cJSON_ParseWithOpts(text, &end, false);
    if (first && end && *end) {
        while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
            end++;
        *trailing = end;
    }
    cJSON_Delete(first);
    return NULL;
}

static int apply_set(cli_fields *fields, const char *opt, const char *arg, bool typed)
{
    const char *value = NULL;
    char *name = split_assignment(arg, &value);
    if (!name)
        return cli_error(CLI_EXIT_DATA, "%s expects FIELD=VALUE, got '%s'", opt, arg);
    if (!typed) {
        cli_fields_put_string(fields, name, value);
        free(name);
        return CLI_EXIT_OK;
    }
    const char *trailing = NULL;
    cJSON *item = parse_whole(value, &trailing);
    int rc = CLI_EXIT_OK;
    char shown[CLI_ECHO_MAX + 4];
    cli_shorten(shown, sizeof shown, trailing ? trailing : value);
    if (!item && trailing)
        rc = cli_error(CLI_EXIT_DATA, "%s %s: unexpected text after the JSON value: '%s'", opt,
                       name, shown);
    else if (!item)
        rc = cli_error(CLI_EXIT_DATA, "%s %s: '%s' is not JSON (quote strings: '\"text\"')", opt,
                       name, shown);
    else if (cJSON_IsObject(item) || cJSON_IsArray(item))
        rc = cli_error(CLI_EXIT_DATA, "%s %s: a field value must be a scalar, not %s", opt, name,
                       cJSON_IsObject(item) ? "an object" : "an array");
    if (rc == CLI_EXIT_OK) {
        put_item(fields, name, item);
        item = NULL; /* owned by the map now */
    }
    cJSON_Delete(item);
    free(name);
    return rc;
}

static int apply_object(cli_fields *fields, const char *text)
{
    const char *trailing = NULL;
    cJSON *parsed = parse_whole(text, &trailing);
    if (trailing) {
        char shown[CLI_ECHO_MAX + 4];
        cli_shorten(shown, sizeof shown, trailing);
        return cli_error(CLI_EXIT_DATA, "--fields: unexpected text after the JSON object: '%s'",
                         shown);
    }
    if (!parsed || !cJSON_IsObject(parsed)) {
        cJSON_Delete(parsed);
        return cli_error(CLI_EXIT_DATA,
                         "--fields expects a JSON object, e.g. '{\"Status\":\"New\"}'");
    }
    /* Move each member over; the library rejects non-scalar values with its own message. */
    while (parsed->child) {
        cJSON *item = cJSON_DetachItemViaPointer(parsed, parsed->child);
        char *name = cli_strdup(item->string);
        put_item(fields, name, item);
        free(name);
    }
    cJSON_Delete(parsed);
    return CLI_EXIT_OK;
}

bool cli_fields_take(cli_fields *fields, cli_args *args, int *rc)
{
    const char *value = NULL;
    int local = CLI_EXIT_OK;
    if (cli_take_opt(args, "--set-json", &value, &local)) {
        if (local == CLI_EXIT_OK)
            local = apply_set(fields, "--set-json", value, true);
    } else if (cli_take_opt(args, "--set", &value, &local)) {
        if (local == CLI_EXIT_OK)
            local = apply_set(fields, "--set", value, false);
    } else if (cli_take_opt(args, "--fields", &value, &local)) {
        if (local == CLI_EXIT_OK)
            local = apply_object(fields, value);
    } else {
        return false;
    }
    if (local != CLI_EXIT_OK)
        *rc = local;
    return true;
}

char *cli_fields_json(const cli_fields *fields)
{
    char *text = fields->obj ? cJSON_PrintUnformatted(fields->obj) : cli_strdup("{}");
    if (!text)
        abort();
    return text;
}

void cli_fields_free(cli_fields *fields)
{
    cJSON_Delete(fields->obj);
    fields->obj = NULL;
}
