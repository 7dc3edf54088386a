/* Object and field metadata of the emulated org (docs/salesforce.md#describe): Account, Contact,
 * Case and the custom objects named in the options, and their describe JSON. Metadata is
 * built once in emu_start and never changes, so it is read without the lock. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const case_status[] = {"New", "Working", "Escalated", "Closed", NULL};
static const char *const case_priority[] = {"High", "Medium", "Low", NULL};
static const char *const case_origin[] = {"Email", "Phone", "Web", NULL};

#define RW (EF_CREATE | EF_UPDATE | EF_NILLABLE)
#define SYS_FIELDS_HEAD                                                                            \
    {"Id", NULL, "id", 18, EF_DEFAULTED | EF_IDLOOKUP, NULL, NULL, NULL, NULL},                    \
    {                                                                                              \
        "IsDeleted", "Deleted", "boolean", 0, EF_DEFAULTED, NULL, NULL, NULL, NULL                 \
    }
#define SYS_FIELDS_TAIL                                                                             \
    {"OwnerId", "Owner ID", "reference", 18,     EF_CREATE | EF_UPDATE | EF_DEFAULTED,              \
     NULL,      NULL,       "User",      "Owner"},                                                  \
        {"CreatedDate", "Created Date", "datetime", 0, EF_DEFAULTED, NULL, NULL, NULL, NULL},       \
        {"CreatedById", "Created By ID", "reference", 18, EF_DEFAULTED, NULL,                       \
         NULL,          "User",          "CreatedBy"},                                              \
        {"LastModifiedDate",                                                                        \
         "Last Modified Date",                                                                      \
         "datetime",                                                                                \
         0,                                                                                         \
         EF_DEFAULTED,                                                                              \
         NULL,                                                                                      \
         NULL,                                                                                      \
         NULL,                                                                                      \
         NULL},                                                                                     \
        {"LastModifiedById",                                                                        \
         "Last Modified By ID",                                                                     \
         "reference",                                                                               \
         18,                                                                                        \
         EF_DEFAULTED,                                                                              \
         NULL,                                                                                      \
         NULL,                                                                                      \
         "User",                                                                                    \
         "LastModifiedBy"},                                                                         \
        {"SystemModstamp", "System Modstamp", "datetime", 0, EF_DEFAULTED, NULL, NULL, NULL, NULL}, \
    {                                                                                               \
        "Sync_Key__c", "Sync Key", "string", 255,                                                   \
            RW | EF_EXTID | EF_UNIQUE | EF_CUSTOM | EF_IDLOOKUP, NULL, NULL, NULL, NULL             \
    }

static const emu_field case_fields[] = {
    SYS_FIELDS_HEAD,
    {"CaseNumber", "Case Number", "string", 30,
     EF_AUTONUM | EF_DEFAULTED | EF_IDLOOKUP | EF_NAMEFIELD, NULL, NULL, NULL, NULL},
    {"ContactId", "Contact ID", "reference", 18, RW, NULL, NULL, "Contact", "Contact"},
    {"AccountId", "Account ID", "reference", 18, RW, NULL, NULL, "Account", "Account"},
    {"Subject", "Subject", "string", 255, RW, NULL, NULL, NULL, NULL},
    {"Status", "Status", "picklist", 255, RW | EF_DEFAULTED | EF_RESTRICTED, case_status, "New",
     NULL, NULL},
    {"Priority", "Priority", "picklist", 255, RW | EF_DEFAULTED, case_priority, "Medium", NULL,
     NULL},
    {"Origin", "Case Origin", "picklist", 255, RW, case_origin, NULL, NULL, NULL},
    {"Description", "Description", "textarea", 32000, RW, NULL, NULL, NULL, NULL},
    {"IsClosed", "Closed", "boolean", 0, EF_DEFAULTED | EF_CALC, NULL, NULL, NULL, NULL},
    SYS_FIELDS_TAIL,
};

static const emu_field contact_fields[] = {
    SYS_FIELDS_HEAD,
    {"AccountId", "Account ID", "reference", 18, RW, NULL, NULL, "Account", "Account"},
    {"LastName", "Last Name", "string", 80, EF_CREATE | EF_UPDATE, NULL, NULL, NULL, NULL},
    {"FirstName", "First Name", "string", 40, RW, NULL, NULL, NULL, NULL},
    {"Name", "Full Name", "string", 121, EF_CALC | EF_NAMEFIELD, NULL, NULL, NULL, NULL},
    {"Title", "Title", "string", 128, RW, NULL, NULL, NULL, NULL},
    {"Email", "Email", "email", 80, RW | EF_IDLOOKUP, NULL, NULL, NULL, NULL},
    {"Phone", "Business Phone", "phone", 40, RW, NULL, NULL, NULL, NULL},
    {"Description", "Contact Description", "textarea", 32000, RW, NULL, NULL, NULL, NULL},
    /* A non-unique external ID, so upserts can meet several matches (300) as in orgs
     * whose external IDs are not marked unique. */
    {"External_Ref__c", "External Ref", "string", 255, RW | EF_EXTID | EF_CUSTOM, NULL, NULL, NULL,
     NULL},
    SYS_FIELDS_TAIL,
};

static const emu_field account_fields[] = {
    SYS_FIELDS_HEAD,
    {"Name", "Account Name", "string", 255, EF_CREATE | EF_UPDATE | EF_NAMEFIELD | EF_IDLOOKUP,
     NULL, NULL, NULL, NULL},
    {"AccountNumber", "Account Number", "string", 40, RW, NULL, NULL, NULL, NULL},
    {"Phone", "Account Phone", "phone", 40, RW, NULL, NULL, NULL, NULL},
    {"Website", "Website", "url", 255, RW, NULL, NULL, NULL, NULL},
    {"Description", "Account Description", "textarea", 32000, RW, NULL, NULL, NULL, NULL},
    SYS_FIELDS_TAIL,
};

/* Custom objects: a text Name that defaults to the Id when not given (as Salesforce
 * does for API inserts), plus Sync_Key__c. */
static const emu_field custom_fields[] = {
    SYS_FIELDS_HEAD,
    {"Name", "Name", "string", 80,
     EF_CREATE | EF_UPDATE | EF_NAMEFIELD | EF_DEFAULTED | EF_IDLOOKUP, NULL, NULL, NULL, NULL},
    SYS_FIELDS_TAIL,
};

static emu_object *object_new(const char *name, const char *label, const char *plural,
                              const char *prefix, bool custom, const emu_field *fields, size_t n)
{
    emu_object *o = xcalloc(1, sizeof *o);
    o->name = xstrdup(name);
    o->label = xstrdup(label);
    o->label_plural = xstrdup(plural);
    memcpy(o->prefix, prefix, 3);
    o->custom = custom;
    o->fields = fields;
    o->nfields = n;
    o->names = xcalloc(n + 1, sizeof *o->names);
    for (size_t i = 0; i < n; i++)
        o->names[i] = fields[i].name;
    return o;
}

static bool custom_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && name_is_valid_api_name(s) && strcmp(s + n - 3, "__c") == 0;
}

emu_object **emu_meta_build(const char *custom_objects)
{
    size_t cap = 4, n = 0;
    emu_object **objs = xcalloc(cap, sizeof *objs);
    objs[n++] = object_new("Account", "Account", "Accounts", "001", false, account_fields,
                           sizeof account_fields / sizeof *account_fields);
    objs[n++] = object_new("Contact", "Contact", "Contacts", "003", false, contact_fields,
                           sizeof contact_fields / sizeof *contact_fields);
    objs[n++] = object_new("Case", "Case", "Cases", "500", false, case_fields,
                           sizeof case_fields / sizeof *case_fields);
    char *list = xstrdup(custom_objects ? custom_objects : "");
    char *save = NULL;
    int k = 0;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!custom_name_ok(tok) || k >= 36 * 10) {
            fprintf(stderr, "sfagent-emulator: invalid custom object name '%s'\n", tok);
            free(list);
            objs[n] = NULL;
            emu_meta_free(objs);
            return NULL;
        }
        /* Custom key prefixes a00, a01, ... a0z, a10, ... like a fresh org's. */
        static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        char prefix[4] = {'a', digits[k / 36], digits[k % 36], '\0'};
        k++;
        char *base = xstrndup(tok, strlen(tok) - 3);
        for (char *p = base; *p; p++)
            if (*p == '_')
                *p = ' ';
        char *plural = xasprintf("%ss", base);
        if (n + 2 > cap) {
            cap *= 2;
            objs = xrealloc(objs, cap * sizeof *objs);
        }
        objs[n++] = object_new(tok, base, plural, prefix, true, custom_fields,
                               sizeof custom_fields / sizeof *custom_fields);
        free(base);
        free(plural);
    }
    free(list);
    objs[n] = NULL;
    return objs;
}

void emu_meta_free(emu_object **objects)
{
    if (!objects)
        return;
    for (size_t i = 0; objects[i]; i++) {
        free(objects[i]->name);
        free(objects[i]->label);
        free(objects[i]->label_plural);
        free(objects[i]->names);
        free(objects[i]);
    }
    free(objects);
}

const emu_field *emu_meta_field(const emu_object *obj, const char *name)
{
    if (!obj || !name)
        return NULL;
    for (size_t i = 0; i < obj->nfields; i++)
        if (strcasecmp(obj->fields[i].name, name) == 0)
            return &obj->fields[i];
    return NULL;
}

/* describe's filterable / sortable / groupable, which the query also enforces: long text
 * areas are none of them, dateTime fields cannot be grouped. */
static bool is_filterable(const emu_field *f)
{
    return strcmp(f->type, "textarea") != 0;
}

static bool is_groupable(const emu_field *f)
{
    return is_filterable(f) && strcmp(f->type, "datetime") != 0;
}

/* ---- emu_internal.h metadata API ---- */

const emu_object *emu_object_find(emu *e, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; e->objects[i]; i++)
        if (strcasecmp(e->objects[i]->name, name) == 0)
            return e->objects[i];
    return NULL;
}

const char *emu_object_name(const emu_object *obj)
{
    return obj->name;
}

const char *emu_object_key_prefix(const emu_object *obj)
{
    return obj->prefix;
}

const emu_object *emu_object_for_id(emu *e, const char *id)
{
    if (!id || strlen(id) < 3)
        return NULL;
    for (size_t i = 0; e->objects[i]; i++)
        if (strncmp(e->objects[i]->prefix, id, 3) == 0)
            return e->objects[i];
    return NULL;
}

const char *emu_field_canonical(const emu_object *obj, const char *field)
{
    const emu_field *f = emu_meta_field(obj, field);
    return f ? f->name : NULL;
}

/* Walk a field path (Contact.LastName: Contact's LastName; names case-insensitive): the
 * field it ends at, or NULL. *outside: it passes through a lookup to an object the emulator
 * does not hold (User, through Owner), whose fields are not known. */
static const emu_field *field_at_path(emu *e, const emu_object *obj, const char *path,
                                      bool *outside)
{
    const char *dot = strchr(path, '.');
    if (!dot)
        return emu_meta_field(obj, path);
    size_t n = (size_t)(dot - path);
    for (size_t i = 0; i < obj->nfields; i++) {
        const emu_field *f = &obj->fields[i];
        if (!f->relationship || strlen(f->relationship) != n ||
            strncasecmp(f->relationship, path, n) != 0)
            continue;
        const emu_object *parent = emu_object_find(e, f->reference_to);
        if (!parent)
            *outside = true;
        return parent ? field_at_path(e, parent, dot + 1, outside) : NULL;
    }
    return NULL;
}

bool emu_field_path_exists(emu *e, const emu_object *obj, const char *path)
{
    bool outside = false;
    return field_at_path(e, obj, path, &outside) || outside;
}

bool emu_field_path_allows(emu *e, const emu_object *obj, const char *path, char use)
{
    bool outside = false;
    const emu_field *f = field_at_path(e, obj, path, &outside);
    if (!f)
        return true; /* unknown paths are refused by the field check, not here */
    return use == 'g' ? is_groupable(f) : is_filterable(f);
}

const char *emu_field_type(const emu_object *obj, const char *field)
{
    const emu_field *f = emu_meta_field(obj, field);
    return f ? f->type : NULL;
}

bool emu_field_is_external_id(const emu_object *obj, const char *field)
{
    const emu_field *f = emu_meta_field(obj, field);
    return f && (f->flags & EF_EXTID);
}

const char *const *emu_object_fields(const emu_object *obj)
{
    return obj->names;
}

const emu_object *const *emu_objects(emu *e)
{
    return (const emu_object *const *)e->objects;
}

/* ---- describe ---- */

static const char *soap_type(const char *type)
{
    if (strcmp(type, "id") == 0 || strcmp(type, "reference") == 0)
        return "tns:ID";
    if (strcmp(type, "boolean") == 0)
        return "xsd:boolean";
    if (strcmp(type, "datetime") == 0)
        return "xsd:dateTime";
    return "xsd:string";
}

static bool is_text(const char *type)
{
    return strcmp(type, "boolean") != 0 && strcmp(type, "datetime") != 0;
}

static cJSON *picklist_json(const emu_field *f)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; f->picklist && f->picklist[i]; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddBoolToObject(v, "active", true);
        cJSON_AddBoolToObject(v, "defaultValue",
                              f->default_value && strcmp(f->default_value, f->picklist[i]) == 0);
        cJSON_AddStringToObject(v, "label", f->picklist[i]);
        cJSON_AddNullToObject(v, "validFor");
        cJSON_AddStringToObject(v, "value", f->picklist[i]);
        cJSON_AddItemToArray(arr, v);
    }
    return arr;
}

static void add_opt_string(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* Contact's Name is the compound person name of FirstName and LastName: describe says so
 * with extraTypeInfo "personname" on Name and compoundFieldName "Name" on its parts, which
 * clients read to avoid writing Name itself. An object's Name is such a compound when it is
 * derived (EF_CALC) rather than written. */
static bool has_person_name(const emu_object *obj)
{
    const emu_field *name = emu_meta_field(obj, "Name");
    return name && (name->flags & EF_CALC);
}

static const char *compound_name(const emu_object *obj, const emu_field *f)
{
    bool part = strcmp(f->name, "FirstName") == 0 || strcmp(f->name, "LastName") == 0;
    return part && has_person_name(obj) ? "Name" : NULL;
}

/* describe's extraTypeInfo: "plaintextarea" on every text area (none of ours is rich
 * text), "personname" on a compound person Name, else null. */
static const char *extra_type_info(const emu_object *obj, const emu_field *f)
{
    if (strcmp(f->type, "textarea") == 0)
        return "plaintextarea";
    if (strcmp(f->name, "Name") == 0 && has_person_name(obj))
        return "personname";
    return NULL;
}

static cJSON *field_describe(const emu_object *obj, const emu_field *f)
{
    unsigned fl = f->flags;
    bool text = is_text(f->type);
    bool textarea = strcmp(f->type, "textarea") == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "aggregatable", !textarea);
    cJSON_AddBoolToObject(o, "autoNumber", fl & EF_AUTONUM);
    cJSON_AddNumberToObject(o, "byteLength", text ? f->length * 3 : 0);
    cJSON_AddBoolToObject(o, "calculated", fl & EF_CALC);
    cJSON_AddNullToObject(o, "calculatedFormula");
    cJSON_AddBoolToObject(o, "cascadeDelete", false);
    cJSON_AddBoolToObject(o, "caseSensitive", fl & EF_CASE_SENSITIVE);
    add_opt_string(o, "compoundFieldName", compound_name(obj, f));
    cJSON_AddNullToObject(o, "controllerName");
    cJSON_AddBoolToObject(o, "createable", fl & EF_CREATE);
    cJSON_AddBoolToObject(o, "custom", fl & EF_CUSTOM);
    add_opt_string(o, "defaultValue", f->default_value);
    cJSON_AddNullToObject(o, "defaultValueFormula");
    cJSON_AddBoolToObject(o, "defaultedOnCreate", fl & EF_DEFAULTED);
    cJSON_AddBoolToObject(o, "dependentPicklist", false);
    cJSON_AddBoolToObject(o, "deprecatedAndHidden", false);
    cJSON_AddNumberToObject(o, "digits", 0);
    cJSON_AddBoolToObject(o, "displayLocationInDecimal", false);
    cJSON_AddBoolToObject(o, "encrypted", false);
    cJSON_AddBoolToObject(o, "externalId", fl & EF_EXTID);
    add_opt_string(o, "extraTypeInfo", extra_type_info(obj, f));
    cJSON_AddBoolToObject(o, "filterable", is_filterable(f));
    cJSON_AddNullToObject(o, "filteredLookupInfo");
    cJSON_AddBoolToObject(o, "groupable", is_groupable(f));
    cJSON_AddBoolToObject(o, "highScaleNumber", false);
    cJSON_AddBoolToObject(o, "htmlFormatted", false);
    cJSON_AddBoolToObject(o, "idLookup", fl & EF_IDLOOKUP);
    cJSON_AddNullToObject(o, "inlineHelpText");
    cJSON_AddStringToObject(o, "label", f->label ? f->label : f->name);
    cJSON_AddNumberToObject(o, "length", f->length);
    cJSON_AddNullToObject(o, "mask");
    cJSON_AddNullToObject(o, "maskType");
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddBoolToObject(o, "nameField", fl & EF_NAMEFIELD);
    cJSON_AddBoolToObject(o, "namePointing", strcmp(f->name, "OwnerId") == 0);
    cJSON_AddBoolToObject(o, "nillable", fl & EF_NILLABLE);
    cJSON_AddBoolToObject(o, "permissionable", (fl & EF_NILLABLE) && (fl & EF_UPDATE));
    cJSON_AddItemToObject(o, "picklistValues", picklist_json(f));
    cJSON_AddNumberToObject(o, "precision", 0);
    cJSON_AddBoolToObject(o, "queryByDistance", false);
    cJSON_AddNullToObject(o, "referenceTargetField");
    cJSON *refs = cJSON_CreateArray();
    if (f->reference_to)
        cJSON_AddItemToArray(refs, cJSON_CreateString(f->reference_to));
    cJSON_AddItemToObject(o, "referenceTo", refs);
    add_opt_string(o, "relationshipName", f->relationship);
    cJSON_AddNullToObject(o, "relationshipOrder");
    cJSON_AddBoolToObject(o, "restrictedDelete", false);
    cJSON_AddBoolToObject(o, "restrictedPicklist", fl & EF_RESTRICTED);
    cJSON_AddNumberToObject(o, "scale", 0);
    cJSON_AddStringToObject(o, "soapType", soap_type(f->type));
    cJSON_AddBoolToObject(o, "sortable", is_filterable(f));
    cJSON_AddStringToObject(o, "type", f->type);
    cJSON_AddBoolToObject(o, "unique", fl & EF_UNIQUE);
    cJSON_AddBoolToObject(o, "updateable", fl & EF_UPDATE);
    cJSON_AddBoolToObject(o, "writeRequiresMasterRead", false);
    return o;
}

static cJSON *object_urls(const emu_object *obj, double api_version, bool full)
{
    /* Describe URLs carry the version of the request, as Salesforce's do. */
    cJSON *u = cJSON_CreateObject();
    char *s = xasprintf("/services/data/v%.1f/sobjects/%s", api_version, obj->name);
    cJSON_AddStringToObject(u, "sobject", s);
    char *d = xasprintf("%s/describe", s);
    cJSON_AddStringToObject(u, "describe", d);
    char *r = xasprintf("%s/{ID}", s);
    cJSON_AddStringToObject(u, "rowTemplate", r);
    if (full) {
        char *up = xasprintf("%s/updated", s);
        char *de = xasprintf("%s/deleted", s);
        cJSON_AddStringToObject(u, "updated", up);
        cJSON_AddStringToObject(u, "deleted", de);
        free(up);
        free(de);
    }
    free(s);
    free(d);
    free(r);
    return u;
}

static void add_object_flags(cJSON *o, const emu_object *obj)
{
    cJSON_AddBoolToObject(o, "activateable", false);
    cJSON_AddBoolToObject(o, "createable", true);
    cJSON_AddBoolToObject(o, "custom", obj->custom);
    cJSON_AddBoolToObject(o, "customSetting", false);
    cJSON_AddBoolToObject(o, "deletable", true);
    cJSON_AddBoolToObject(o, "deprecatedAndHidden", false);
    cJSON_AddBoolToObject(o, "feedEnabled", !obj->custom);
    cJSON_AddStringToObject(o, "keyPrefix", obj->prefix);
    cJSON_AddStringToObject(o, "label", obj->label);
    cJSON_AddStringToObject(o, "labelPlural", obj->label_plural);
    cJSON_AddBoolToObject(o, "layoutable", true);
    cJSON_AddBoolToObject(o, "mergeable", !obj->custom);
    cJSON_AddBoolToObject(o, "mruEnabled", true);
    cJSON_AddStringToObject(o, "name", obj->name);
    cJSON_AddBoolToObject(o, "queryable", true);
    cJSON_AddBoolToObject(o, "replicateable", true);
    cJSON_AddBoolToObject(o, "retrieveable", true);
    cJSON_AddBoolToObject(o, "searchable", true);
    cJSON_AddBoolToObject(o, "triggerable", true);
    cJSON_AddBoolToObject(o, "undeletable", true);
    cJSON_AddBoolToObject(o, "updateable", true);
}

cJSON *emu_object_global_entry(emu *e, const emu_object *obj, double api_version)
{
    (void)e;
    cJSON *o = cJSON_CreateObject();
    add_object_flags(o, obj);
    cJSON_AddItemToObject(o, "urls", object_urls(obj, api_version, false));
    return o;
}

cJSON *emu_object_describe(emu *e, const emu_object *obj, double api_version)
{
    (void)e;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "actionOverrides", cJSON_CreateArray());
    add_object_flags(o, obj);
    cJSON_AddItemToObject(o, "childRelationships", cJSON_CreateArray());
    cJSON_AddBoolToObject(o, "compactLayoutable", true);
    cJSON *fields = cJSON_CreateArray();
    for (size_t i = 0; i < obj->nfields; i++)
        cJSON_AddItemToArray(fields, field_describe(obj, &obj->fields[i]));
    cJSON_AddItemToObject(o, "fields", fields);
    cJSON_AddBoolToObject(o, "hasSubtypes", false);
    cJSON_AddBoolToObject(o, "isSubtype", false);
    cJSON_AddBoolToObject(o, "listviewable", true);
    cJSON_AddBoolToObject(o, "lookupLayoutable", true);
    cJSON_AddItemToObject(o, "namedLayoutInfos", cJSON_CreateArray());
    cJSON_AddNullToObject(o, "networkScopeFieldName");
    cJSON_AddItemToObject(o, "recordTypeInfos", cJSON_CreateArray());
    cJSON_AddBoolToObject(o, "searchLayoutable", true);
    cJSON_AddItemToObject(o, "supportedScopes", cJSON_CreateArray());
    cJSON_AddItemToObject(o, "urls", object_urls(obj, api_version, true));
    return o;
}
