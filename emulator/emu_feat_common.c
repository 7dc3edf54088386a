/* Shared state and helpers of the emulator's feature modules: the per-emulator slot
 * (query cursors, bulk jobs), error objects in both Salesforce shapes (errorCode for
 * top-level REST errors, statusCode inside per-record results), and allOrNone
 * transactions that can nest (a collections call inside an allOrNone composite). */
#include "emu_feat_common.h"

#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

feat_state *feat_state_get(emu *e)
{
    void **slot = emu_feature_state(e);
    if (!*slot)
        *slot = xcalloc(1, sizeof(feat_state));
    return *slot;
}

void emu_features_reset(emu *e)
{
    void **slot = emu_feature_state(e);
    feat_state *st = *slot;
    if (!st)
        return;
    for (size_t i = 0; i < FEAT_MAX_CURSORS; i++)
        cJSON_Delete(st->cursors[i].records);
    feat_bulk_free_jobs(st);
    free(st);
    *slot = NULL;
}

static cJSON *fields_array(const char *field)
{
    cJSON *fields = cJSON_CreateArray();
    if (field && *field)
        cJSON_AddItemToArray(fields, cJSON_CreateString(field));
    return fields;
}

cJSON *feat_record_error(const emu_dml_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "statusCode", err->code);
    cJSON_AddStringToObject(o, "message", err->message);
    cJSON_AddItemToObject(o, "fields", fields_array(err->field));
    return o;
}

cJSON *feat_rest_error(const emu_dml_error *err)
{
    cJSON *arr = cJSON_CreateArray(), *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", err->message);
    cJSON_AddStringToObject(o, "errorCode", err->code);
    if (err->field[0])
        cJSON_AddItemToObject(o, "fields", fields_array(err->field));
    cJSON_AddItemToArray(arr, o);
    return arr;
}

void feat_dml_error_set(emu_dml_error *err, int status, const char *code, const char *message,
                        const char *field)
{
    err->http_status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->message, sizeof err->message, "%s", message);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
}

void feat_txn_begin(emu *e)
{
    feat_state *st = feat_state_get(e);
    if (st->txn_depth++ == 0)
        emu_store_txn_begin(e);
}

void feat_txn_commit(emu *e)
{
    feat_state *st = feat_state_get(e);
    if (--st->txn_depth == 0)
        emu_store_txn_commit(e);
}

bool feat_txn_rollback(emu *e)
{
    feat_state *st = feat_state_get(e);
    if (--st->txn_depth == 0) {
        emu_store_txn_rollback(e);
        return true;
    }
    st->poisoned = true;
    return false;
}

bool feat_txn_take_poisoned(emu *e)
{
    feat_state *st = feat_state_get(e);
    bool p = st->poisoned;
    st->poisoned = false;
    return p;
}

void feat_version_prefix(double api_version, char buf[32])
{
    snprintf(buf, 32, "/services/data/v%.1f", api_version);
}

char **feat_split_csv_list(const char *s, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = xcalloc(cap + 1, sizeof *v);
    size_t k = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        const char *a = s, *b = s + len;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a)
            v[k++] = xstrndup(a, (size_t)(b - a));
        s += len + (s[len] == ',');
    }
    *n = k;
    return v;
}

void feat_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}
