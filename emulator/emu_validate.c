/* Field validation for emulator DML, with Salesforce's error codes and texts
 * (docs/salesforce.md#error-codes): unknown and read-only fields, required fields, lengths,
 * restricted picklists, e-mail syntax, reference Ids, unique external IDs, defaults on create and
 * the derived fields (IsClosed, Contact.Name, Case.AccountId from its contact). Works on a copy of
 * the record (invariant S3 of emu_store.c). Lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- validation (S3) ---- */

static bool email_is_valid(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || strpbrk(s, " \t\r\n,;<>()[]\\\""))
        return false;
    const char *dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1] != '\0';
}

static bool picklist_has(const emu_field *f, const char *v)
{
    for (size_t i = 0; f->picklist && f->picklist[i]; i++)
        if (strcmp(f->picklist[i], v) == 0)
            return true;
    return false;
}

static bool reference_prefix_ok(emu *e, const emu_field *f, const char *id18)
{
    if (strcmp(f->reference_to, "User") == 0)
        return strncmp(id18, "005", 3) == 0 || strncmp(id18, "00G", 3) == 0;
    const emu_object *target = emu_object_find(e, f->reference_to);
    return target && strncmp(id18, target->prefix, 3) == 0;
}

/* Scalar JSON to the string Salesforce would store for a text field (numbers and booleans
 * are accepted and converted, as the REST API's JSON binding does). NULL: not a scalar. */
static char *scalar_text(const cJSON *v)
{
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    if (cJSON_IsBool(v))
        return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d)
            return xasprintf("%lld", (long long)d);
        return xasprintf("%.15g", d);
    }
    return NULL;
}

/* Validate one value for f and store it into target. */
static bool set_value(emu *e, cJSON *target, const emu_field *f, const cJSON *v, emu_dml_error *err)
{
    const char *label = f->label ? f->label : f->name;
    if (cJSON_IsNull(v)) {
        if (!(f->flags & EF_NILLABLE)) {
            emu_dml_error_set(err, 400, "REQUIRED_FIELD_MISSING", f->name,
                              "Required fields are missing: [%s]", f->name);
            return false;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(target, f->name, cJSON_CreateNull());
        return true;
    }
    char *text = scalar_text(v);
    if (!text) {
        emu_dml_error_set(err, 400, "JSON_PARSER_ERROR", f->name,
                          "Cannot deserialize instance of %s from %s value", f->type,
                          cJSON_IsArray(v) ? "START_ARRAY" : "START_OBJECT");
        return false;
    }
    bool ok = false;
    if (strcmp(f->type, "reference") == 0) {
        char id18[19];
        if (!sfid_to18(text, id18) || !reference_prefix_ok(e, f, id18)) {
            emu_dml_error_set(err, 400, "MALFORMED_ID", f->name,
                              "%s: id value of incorrect type: %.200s", label, text);
            goto out;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(target, f->name, cJSON_CreateString(id18));
        ok = true;
        goto out;
    }
    if (f->length > 0 && utf8_count(text) > (size_t)f->length) {
        emu_dml_error_set(err, 400, "STRING_TOO_LONG", f->name,
                          "data value too large: %.300s (max length=%d)", text, f->length);
        goto out;
    }
    if ((f->flags & EF_RESTRICTED) && !picklist_has(f, text)) {
        emu_dml_error_set(err, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f->name,
                          "%s: bad value for restricted picklist field: %.300s", label, text);
        goto out;
    }
    if (strcmp(f->type, "email") == 0 && !email_is_valid(text)) {
        emu_dml_error_set(err, 400, "INVALID_EMAIL_ADDRESS", f->name,
                          "%s: invalid email address: %.300s", label, text);
        goto out;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(target, f->name, cJSON_CreateString(text));
    ok = true;
out:
    free(text);
    return ok;
}

/* Apply client-supplied fields onto target (a full record copy). */
bool emu_validate_input(emu *e, const emu_object *obj, cJSON *target, const cJSON *input,
                        bool create, const char *self_id, emu_dml_error *err)
{
    if (!cJSON_IsObject(input)) {
        emu_dml_error_set(err, 400, "JSON_PARSER_ERROR", NULL,
                          "Can not deserialize SObject out of %s token",
                          cJSON_IsArray(input) ? "START_ARRAY" : "VALUE_STRING");
        return false;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, input)
    {
        if (strcmp(item->string, "attributes") == 0)
            continue;
        const emu_field *f = emu_meta_field(obj, item->string);
        if (!f) {
            emu_dml_error_set(err, 400, "INVALID_FIELD", NULL,
                              "No such column '%.100s' on sobject of type %s", item->string,
                              obj->name);
            return false;
        }
        if (strcmp(f->name, "Id") == 0) {
            const char *v = cJSON_IsString(item) ? item->valuestring : NULL;
            if (!create && v && self_id && sfid_equal(v, self_id))
                continue;
            if (create && cJSON_IsNull(item))
                continue;
            emu_dml_error_set(err, 400, "INVALID_FIELD", NULL,
                              "The Id field should not be specified in the sobject data.");
            return false;
        }
        if (!(f->flags & (create ? EF_CREATE : EF_UPDATE))) {
            emu_dml_error_set(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", f->name,
                              "Unable to create/update fields: %s. Please check the security "
                              "settings of this field and verify that it is read/write for "
                              "your profile or permission set.",
                              f->name);
            return false;
        }
        if (!set_value(e, target, f, item, err))
            return false;
    }
    return true;
}

/* Defaults on create, then required-field check (lists every missing field). */
bool emu_validate_defaults(emu *e, const emu_object *obj, cJSON *t, const char *id,
                           emu_dml_error *err)
{
    strbuf missing = STRBUF_INIT;
    char first[128] = "";
    for (size_t i = 0; i < obj->nfields; i++) {
        const emu_field *f = &obj->fields[i];
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, f->name)))
            continue;
        if (f->default_value)
            cJSON_ReplaceItemInObjectCaseSensitive(t, f->name,
                                                   cJSON_CreateString(f->default_value));
        else if (strcmp(f->name, "OwnerId") == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(t, f->name, cJSON_CreateString(e->user_id));
        else if (obj->custom && strcmp(f->name, "Name") == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(t, f->name, cJSON_CreateString(id));
        else if ((f->flags & EF_CREATE) && !(f->flags & EF_NILLABLE)) {
            if (!missing.len)
                snprintf(first, sizeof first, "%s", f->name);
            strbuf_addf(&missing, "%s%s", missing.len ? ", " : "", f->name);
        }
    }
    bool ok = missing.len == 0;
    if (!ok)
        emu_dml_error_set(err, 400, "REQUIRED_FIELD_MISSING", first,
                          "Required fields are missing: [%s]", strbuf_str(&missing));
    strbuf_free(&missing);
    return ok;
}

/* Update-time check that no required field was nulled is done in set_value; derived
 * fields are recomputed here (S2). */
void emu_validate_derive(emu *e, const emu_object *obj, cJSON *t, bool create)
{
    if (strcmp(obj->name, "Case") == 0) {
        const char *st = json_str(t, "Status");
        cJSON_ReplaceItemInObjectCaseSensitive(t, "IsClosed",
                                               cJSON_CreateBool(st && strcmp(st, "Closed") == 0));
        const char *contact = json_str(t, "ContactId");
        if (create && contact && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "AccountId"))) {
            /* docs/salesforce.md#describe: AccountId defaults to the contact's account. */
            emu_record *c = emu_store_get(e, contact);
            const char *acc = c ? json_str(c->fields, "AccountId") : NULL;
            if (acc)
                cJSON_ReplaceItemInObjectCaseSensitive(t, "AccountId", cJSON_CreateString(acc));
        }
    } else if (strcmp(obj->name, "Contact") == 0) {
        const char *fn = json_str(t, "FirstName"), *ln = json_str(t, "LastName");
        char *name = xasprintf("%s%s%s", fn ? fn : "", fn && ln ? " " : "", ln ? ln : "");
        cJSON_ReplaceItemInObjectCaseSensitive(t, "Name", cJSON_CreateString(name));
        free(name);
    }
}

bool emu_validate_unique(emu *e, const emu_object *obj, const cJSON *t, const char *self_id,
                         emu_dml_error *err)
{
    for (size_t i = 0; i < obj->nfields; i++) {
        const emu_field *f = &obj->fields[i];
        const char *v = (f->flags & EF_UNIQUE) ? json_str(t, f->name) : NULL;
        if (!v)
            continue;
        emu_record **found = NULL;
        size_t n = emu_extidx_find(e, obj, f, v, false, &found);
        for (size_t k = 0; k < n; k++) {
            const emu_record *r = found[k];
            if (self_id && strcmp(r->id, self_id) == 0)
                continue;
            const char *o = json_str(r->fields, f->name);
            if ((f->flags & EF_CASE_SENSITIVE) && strcmp(o, v) != 0)
                continue;
            emu_dml_error_set(err, 400, "DUPLICATE_VALUE", f->name,
                              "duplicate value found: %s duplicates value on record with "
                              "id: %.15s",
                              f->name, r->id);
            free(found);
            return false;
        }
        free(found);
    }
    return true;
}
