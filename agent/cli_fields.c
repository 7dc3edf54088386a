/*
 * Field maps from the command line. The typing rule is explicit so a value never
 * changes type behind the user's back (a Subject "123" stays a string):
 *   --set FIELD=VALUE       always a string
 *   --set-json FIELD=JSON   a typed scalar: true, false, null, a number or a "string"
 *   --fields JSON           a whole JSON object, merged in
 * Later options override earlier ones for the same field. Field names, sizes and UTF-8
 * are checked by the library, which owns those rules.
 */
#include <stdbool.h>
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
    if (item && !cJSON_IsObject(item) && !cJSON_IsArray(item)) {
        /* Pass the text on as written: cJSON's double rounds long numbers and its strings
         * end at a \u0000; the library parses the literal exactly and refuses those. */
        cJSON_Delete(item);
        item = cJSON_CreateRaw(value);
    }
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

/* End of the JSON value starting at p (already known valid): a string, a nested object or
 * array (strings inside skipped), or a bare token (number, true, false, null). */
static const char *value_end(const char *p)
{
    int depth = 0;
    do {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        } else if (depth == 0) {
            while (p[1] && !strchr(",}] \t\r\n", p[1]))
                p++;
        }
        if (*p)
            p++;
    } while (depth > 0 && *p);
    return p;
}

static const char *skip_ws(const char *p)
{
    return p + strspn(p, " \t\r\n");
}

/* Does the string literal [p, end) hold a \u0000 escape (a NUL the C string would cut)? */
static bool has_nul_escape(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p != '\\')
            continue;
        p++;
        if (end - p > 4 && strncmp(p, "u0000", 5) == 0)
            return true;
    }
    return false;
}

/* Move each member of the parsed object over with its value as written (a Raw item, see
 * apply_set); text is the same object, walked member by member beside the parsed one. */
static int move_members(cli_fields *fields, cJSON *parsed, const char *text)
{
    const char *p = skip_ws(text) + 1; /* past '{' */
    while (parsed->child) {
        p = skip_ws(p);
        const char *key_end = value_end(p);
        if (has_nul_escape(p, key_end))
            return cli_error(CLI_EXIT_DATA, "--fields: a field name contains \\u0000 (NUL)");
        const char *v = skip_ws(skip_ws(key_end) + 1); /* past ':' */
        const char *v_end = value_end(v);
        cJSON *item = cJSON_DetachItemViaPointer(parsed, parsed->child);
        char *name = cli_strdup(item->string);
        if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) {
            char *literal = strndup(v, (size_t)(v_end - v));
            if (!literal)
                abort();
            cJSON_Delete(item);
            item = cJSON_CreateRaw(literal);
            free(literal);
        } /* else: the library refuses a nested value with its own message */
        put_item(fields, name, item);
        free(name);
        p = skip_ws(v_end) + 1; /* past ',' or '}' */
    }
    return CLI_EXIT_OK;
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
    int rc = move_members(fields, parsed, text);
    cJSON_Delete(parsed);
    return rc;
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
