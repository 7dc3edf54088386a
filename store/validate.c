/* Validation of field maps before anything is written: API-name syntax, scalar values,
 * types and lengths of known fields, read-only fields, required fields on create, and
 * reference values. Field facts come from the sObject's describe (describe_cache) when
 * there is one, else from a small built-in table of Case and Contact standard fields
 * (docs/salesforce.md#describe); other sObjects get syntax checks only.
 *
 * Invariants:
 * I1. Validation never writes; a failure leaves the database as it was.
 * I2. With a describe, a field it does not list is refused (Salesforce's INVALID_FIELD)
 *     with a did-you-mean from its field names (util/suggest.h). Without one, Case and
 *     Contact refuse a standard (non-__c) field the built-in table lacks, and custom
 *     fields and other sObjects' fields pass with syntax checks only.
 * I7. With describe global cached, an sObject it does not list is refused with a
 *     did-you-mean; an Id whose key prefix names an sObject a reference field cannot
 *     point to is refused (prefixes from describe global, else the built-in few).
 * I3. Lengths count characters (UTF-8 code points) as Salesforce does; any string over
 *     STRING_MAX_BYTES is refused whatever the field.
 * I4. No field map and no upsert key names the agent's idempotency field, in any case.
 * I5. A number is kept as the literal the user wrote (a Raw item, util/json.h), never
 *     more than 18 digits, and within the field's precision and scale when described.
 * I6. A NUL in a name or a value, or a non-finite number, is refused, never cut or nulled.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/describe.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/localid.h"
#include "util/names.h"
#include "util/sfdescribe.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/suggest.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define STRING_MAX_BYTES 131072
/* Salesforce number fields hold at most 18 digits (docs/salesforce.md). */
#define NUMBER_MAX_DIGITS 18

typedef enum ftype {
    FT_ANY,
    FT_TEXT,
    FT_REFERENCE,
    FT_BOOL,
    FT_NUMBER,
    FT_DATE,
    FT_DATETIME
} ftype;

typedef struct field_meta {
    const char *name;
    ftype type;
    int length; /* characters; 0: no field-specific limit */
    bool createable, updateable, nillable;
    const char *ref_to;    /* built-in reference: the one sObject a local id may name */
    const cJSON *ref_list; /* describe reference: its referenceTo array (borrowed) */
    const cJSON *picklist; /* describe restricted picklist: picklistValues (borrowed) */
} field_meta;

#define RO(n, t)                                                                                   \
    {                                                                                              \
        n, t, 0, false, false, true, NULL, NULL, NULL                                              \
    }
#define RW(n, t, len)                                                                              \
    {                                                                                              \
        n, t, len, true, true, true, NULL, NULL, NULL                                              \
    }
#define REF(n, to)                                                                                 \
    {                                                                                              \
        n, FT_REFERENCE, 18, true, true, true, to, NULL, NULL                                      \
    }

static const field_meta CASE_FIELDS[] = {
    RO("Id", FT_TEXT),
    RO("CaseNumber", FT_TEXT),
    RW("Subject", FT_TEXT, 255),
    RW("Status", FT_TEXT, 0),
    RW("Priority", FT_TEXT, 0),
    RW("Origin", FT_TEXT, 255),
    RW("Description", FT_TEXT, 32000),
    RW("Type", FT_TEXT, 255),
    RW("Reason", FT_TEXT, 255),
    RW("SuppliedName", FT_TEXT, 80),
    RW("SuppliedEmail", FT_TEXT, 80),
    RW("SuppliedPhone", FT_TEXT, 40),
    RW("SuppliedCompany", FT_TEXT, 80),
    RW("Comments", FT_TEXT, 4000),
    {"IsEscalated", FT_BOOL, 0, true, true, false, NULL, NULL, NULL},
    REF("ContactId", "Contact"),
    REF("AccountId", "Account"),
    REF("ParentId", "Case"),
    REF("AssetId", "Asset"),
    REF("OwnerId", NULL),
    RO("IsClosed", FT_BOOL),
    RO("ClosedDate", FT_DATETIME),
    RO("CreatedById", FT_TEXT),
    RO("LastModifiedById", FT_TEXT),
    RO("CreatedDate", FT_DATETIME),
    RO("LastModifiedDate", FT_DATETIME),
    RO("SystemModstamp", FT_DATETIME),
    RO("IsDeleted", FT_BOOL),
    {NULL, FT_ANY, 0, false, false, false, NULL, NULL, NULL},
};

static const field_meta CONTACT_FIELDS[] = {
    RO("Id", FT_TEXT),
    {"LastName", FT_TEXT, 80, true, true, false, NULL, NULL, NULL},
    RW("FirstName", FT_TEXT, 40),
    RW("Salutation", FT_TEXT, 40),
    RO("Name", FT_TEXT),
    RW("Title", FT_TEXT, 128),
    RW("Department", FT_TEXT, 80),
    RW("Email", FT_TEXT, 80),
    RW("Phone", FT_TEXT, 40),
    RW("MobilePhone", FT_TEXT, 40),
    RW("HomePhone", FT_TEXT, 40),
    RW("OtherPhone", FT_TEXT, 40),
    RW("Fax", FT_TEXT, 40),
    RW("AssistantName", FT_TEXT, 40),
    RW("AssistantPhone", FT_TEXT, 40),
    RW("LeadSource", FT_TEXT, 255),
    {"Birthdate", FT_DATE, 0, true, true, true, NULL, NULL, NULL},
    {"HasOptedOutOfEmail", FT_BOOL, 0, true, true, false, NULL, NULL, NULL},
    {"DoNotCall", FT_BOOL, 0, true, true, false, NULL, NULL, NULL},
    RW("MailingStreet", FT_TEXT, 255),
    RW("MailingCity", FT_TEXT, 40),
    RW("MailingState", FT_TEXT, 80),
    RW("MailingPostalCode", FT_TEXT, 20),
    RW("MailingCountry", FT_TEXT, 80),
    RW("OtherStreet", FT_TEXT, 255),
    RW("OtherCity", FT_TEXT, 40),
    RW("OtherState", FT_TEXT, 80),
    RW("OtherPostalCode", FT_TEXT, 20),
    RW("OtherCountry", FT_TEXT, 80),
    REF("AccountId", "Account"),
    REF("ReportsToId", "Contact"),
    REF("OwnerId", NULL),
    RW("Description", FT_TEXT, 32000),
    RO("CreatedById", FT_TEXT),
    RO("LastModifiedById", FT_TEXT),
    RO("CreatedDate", FT_DATETIME),
    RO("LastModifiedDate", FT_DATETIME),
    RO("SystemModstamp", FT_DATETIME),
    RO("IsDeleted", FT_BOOL),
    {NULL, FT_ANY, 0, false, false, false, NULL, NULL, NULL},
};

/* System fields every sObject has; read-only everywhere. */
static const field_meta SYSTEM_FIELDS[] = {
    RO("Id", FT_TEXT),
    RO("CreatedDate", FT_DATETIME),
    RO("LastModifiedDate", FT_DATETIME),
    RO("SystemModstamp", FT_DATETIME),
    RO("IsDeleted", FT_BOOL),
    {NULL, FT_ANY, 0, false, false, false, NULL, NULL, NULL},
};

void store_describe_cache_clear(store_describe_cache *c)
{
    store_describe_entry *e = c->head;
    while (e) {
        store_describe_entry *next = e->next;
        free(e->sobject);
        cJSON_Delete(e->describe);
        free(e);
        e = next;
    }
    c->head = NULL;
}

static const char SQL_DESCRIBE[] =
    "SELECT describe FROM describe_cache WHERE sobject = ?1 COLLATE NOCASE";

/* The sObject's describe, or NULL when describe_cache has no row for it. */
static const cJSON *describe_of(sfa_agent *a, const char *sobject)
{
    store_describe_cache *c = store_describes(a);
    for (store_describe_entry *e = c->head; e; e = e->next)
        if (strcasecmp(e->sobject, sobject) == 0)
            return e->describe;
    cJSON *d = NULL;
    sqlite3_stmt *st = store_stmt(a, SQL_DESCRIBE);
    if (st) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            d = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    store_describe_entry *e = xcalloc(1, sizeof *e);
    e->sobject = xstrdup(sobject);
    e->describe = d;
    e->next = c->head;
    c->head = e;
    return d;
}

static ftype type_of_describe(const char *t)
{
    static const char *const text[] = {"string", "textarea",        "picklist", "multipicklist",
                                       "email",  "phone",           "url",      "combobox",
                                       "id",     "encryptedstring", "time",     NULL};
    if (!t)
        return FT_ANY;
    for (size_t i = 0; text[i]; i++)
        if (strcmp(t, text[i]) == 0)
            return FT_TEXT;
    if (strcmp(t, "reference") == 0)
        return FT_REFERENCE;
    if (strcmp(t, "boolean") == 0)
        return FT_BOOL;
    if (!strcmp(t, "double") || !strcmp(t, "currency") || !strcmp(t, "percent") ||
        !strcmp(t, "int") || !strcmp(t, "long"))
        return FT_NUMBER;
    if (strcmp(t, "date") == 0)
        return FT_DATE;
    if (strcmp(t, "datetime") == 0)
        return FT_DATETIME;
    return FT_ANY;
}

static bool lookup_table(const field_meta *t, const char *name, field_meta *out)
{
    for (size_t i = 0; t[i].name; i++) {
        if (strcasecmp(t[i].name, name) == 0) {
            *out = t[i];
            return true;
        }
    }
    return false;
}

static bool lookup_describe(const cJSON *d, const char *name, field_meta *out)
{
    const cJSON *f = sf_describe_field(d, name);
    if (!f)
        return false;
    out->name = json_str(f, "name");
    out->type = type_of_describe(json_str(f, "type"));
    out->length = (int)json_num(f, "length", 0);
    out->createable = json_bool(f, "createable", true);
    out->updateable = json_bool(f, "updateable", true);
    out->nillable = json_bool(f, "nillable", true);
    out->ref_to = NULL;
    out->ref_list = cJSON_GetObjectItemCaseSensitive(f, "referenceTo");
    out->picklist = json_bool(f, "restrictedPicklist", false)
                        ? cJSON_GetObjectItemCaseSensitive(f, "picklistValues")
                        : NULL;
    return true;
}

/* The built-in table of sobject, or NULL (only Case and Contact have one). */
static const field_meta *builtin_table(const char *sobject)
{
    if (strcasecmp(sobject, "Case") == 0)
        return CASE_FIELDS;
    if (strcasecmp(sobject, "Contact") == 0)
        return CONTACT_FIELDS;
    return NULL;
}

static bool is_custom_name(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcasecmp(name + n - 3, "__c") == 0;
}

/* Field facts for name: true if known. *strict tells whether unknown names are refused
 * (I2). */
static bool field_lookup(sfa_agent *a, const char *sobject, const char *name, field_meta *out,
                         bool *strict)
{
    const cJSON *d = describe_of(a, sobject);
    *strict = d != NULL;
    if (d)
        return lookup_describe(d, name, out);
    const field_meta *t = builtin_table(sobject);
    if (t) {
        *strict = !is_custom_name(name);
        return lookup_table(t, name, out);
    }
    return lookup_table(SYSTEM_FIELDS, name, out);
}

/* Refuse an unknown name with a did-you-mean from the known ones (I2, I7). */
static sfa_status fail_unknown(sfa_agent *a, suggest_set *sg, const char *what, const char *name,
                               const char *sobject)
{
    char *hint = suggest_text(sg);
    sfa_status st;
    if (sobject)
        st = store_fail(a, SFA_EINVAL, "unknown %s '%s' on %s%s%s", what, name, sobject,
                        hint ? "; " : "", hint ? hint : "");
    else
        st = store_fail(a, SFA_EINVAL, "unknown %s '%s'%s%s", what, name, hint ? "; " : "",
                        hint ? hint : "");
    free(hint);
    suggest_clear(sg);
    return st;
}

static sfa_status fail_unknown_field(sfa_agent *a, const char *sobject, const char *name)
{
    suggest_set sg;
    suggest_init(&sg, name);
    const cJSON *d = describe_of(a, sobject);
    const field_meta *t = d ? NULL : builtin_table(sobject);
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        suggest_consider(&sg, json_str(f, "name"));
    }
    for (size_t i = 0; t && t[i].name; i++)
        suggest_consider(&sg, t[i].name);
    return fail_unknown(a, &sg, "field", name, sobject);
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static const char SQL_REF_SOBJECT[] =
    "SELECT sobject FROM records WHERE local_id = ?1 AND deleted = 0";

/* May a local record of parent's sObject fill this reference field? */
static bool ref_allows(const field_meta *m, const char *parent)
{
    if (m->ref_to)
        return strcasecmp(m->ref_to, parent) == 0;
    if (cJSON_GetArraySize(m->ref_list) == 0)
        return true; /* targets unknown (OwnerId: User or Group): accept */
    const cJSON *t = NULL;
    cJSON_ArrayForEach(t, m->ref_list)
    {
        if (cJSON_IsString(t) && strcasecmp(t->valuestring, parent) == 0)
            return true;
    }
    return false;
}

static sfa_status check_local_reference(sfa_agent *a, const char *sobject, const field_meta *m,
                                        const char *v)
{
    sqlite3_stmt *st = store_stmt(a, SQL_REF_SOBJECT);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char *parent = rc == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_reset(st);
    sfa_status s = SFA_OK;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = store_fail_sqlite(a, rc, "checking a reference");
    else if (!parent)
        s = store_fail(a, SFA_ENOTFOUND,
                       "%s.%s: no local record '%s' (a reference must be a Salesforce Id or the "
                       "local id of an existing record)",
                       sobject, m->name, v);
    else if (!ref_allows(m, parent))
        s = store_fail(a, SFA_EINVAL, "%s.%s: '%s' is a %s record, which this field cannot name",
                       sobject, m->name, v, parent);
    free(parent);
    return s;
}

/* Key prefixes of standard objects, for when describe global is not cached
 * (docs/salesforce.md#ids). */
static const char *const BUILTIN_PREFIXES[][2] = {
    {"001", "Account"}, {"003", "Contact"},     {"500", "Case"}, {"005", "User"},
    {"00G", "Group"},   {"006", "Opportunity"}, {"00Q", "Lead"}, {NULL, NULL},
};

/* The sObject whose Ids start with the key prefix of id, or NULL when unknown (I7). */
static const char *sobject_of_id(sfa_agent *a, const char *id)
{
    const cJSON *g = describe_of(a, STORE_DESCRIBE_GLOBAL);
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(g, "sobjects"))
    {
        const char *p = json_str(o, "keyPrefix");
        if (p && strlen(p) == 3 && strncmp(p, id, 3) == 0)
            return json_str(o, "name");
    }
    if (g)
        return NULL;
    for (size_t i = 0; BUILTIN_PREFIXES[i][0]; i++)
        if (strncmp(BUILTIN_PREFIXES[i][0], id, 3) == 0)
            return BUILTIN_PREFIXES[i][1];
    return NULL;
}

static sfa_status check_reference(sfa_agent *a, const char *sobject, const field_meta *m,
                                  const char *v)
{
    if (sfid_is_valid(v)) {
        const char *target = sobject_of_id(a, v);
        if (target && !ref_allows(m, target))
            return store_fail(a, SFA_EINVAL,
                              "%s.%s: '%s' is the Id of a %s record, which this field cannot name",
                              sobject, m->name, v, target);
        return SFA_OK;
    }
    if (local_id_is_valid(v))
        return check_local_reference(a, sobject, m, v);
    return store_fail(a, SFA_EINVAL,
                      "%s.%s: '%s' is not a Salesforce Id (15 or 18 characters) or a local id "
                      "(loc-...)",
                      sobject, m->name, v);
}

/* A restricted picklist takes only its active values (Salesforce answers anything else
 * with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST; refusing it here keeps it out of the
 * outbox instead of dead-lettering it later). */
static sfa_status check_picklist(sfa_agent *a, const char *sobject, const field_meta *m,
                                 const char *value)
{
    const cJSON *p;
    suggest_set sg;
    suggest_init(&sg, value);
    cJSON_ArrayForEach(p, m->picklist)
    {
        const char *v = json_str(p, "value");
        if (!v || !json_bool(p, "active", true))
            continue;
        if (strcmp(v, value) == 0) {
            suggest_clear(&sg);
            return SFA_OK;
        }
        suggest_consider(&sg, v);
    }
    char *hint = suggest_text(&sg);
    suggest_clear(&sg);
    sfa_status st =
        store_fail(a, SFA_EINVAL, "%s.%s: bad value for restricted picklist field: %s%s%s", sobject,
                   m->name, value, hint ? "; " : "", hint ? hint : "");
    free(hint);
    return st;
}

/* The describe entry of field name, or NULL (no describe, or it lacks the field). */
static const cJSON *describe_field(sfa_agent *a, const char *sobject, const char *name)
{
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(describe_of(a, sobject), "fields"))
    {
        const char *n = json_str(f, "name");
        if (n && strcasecmp(n, name) == 0)
            return f;
    }
    return NULL;
}

/* I5: a number fits the field's describe: int fields take `digits` integer digits and no
 * fraction; double, currency and percent take precision - scale integer digits and at
 * most scale decimals (more would be rounded by Salesforce: a silent change). */
static sfa_status check_number(sfa_agent *a, const char *sobject, const field_meta *m,
                               const cJSON *v)
{
    const char *lit = json_number_literal(v);
    const cJSON *d = lit ? describe_field(a, sobject, m->name) : NULL;
    if (!d)
        return SFA_OK;
    int idig = 0, fdig = 0;
    json_number_digits(lit, &idig, &fdig);
    const char *type = json_str(d, "type");
    bool whole = type && strcmp(type, "int") == 0;
    int scale = whole ? 0 : (int)json_num(d, "scale", -1);
    int max_int = whole ? (int)json_num(d, "digits", 0) : (int)json_num(d, "precision", 0) - scale;
    if (scale >= 0 && fdig > scale)
        return store_fail(a, SFA_EINVAL, "%s.%s: %s has %d decimal places, the field takes %d",
                          sobject, m->name, lit, fdig, scale);
    if (max_int > 0 && idig > max_int)
        return store_fail(a, SFA_EINVAL,
                          "%s.%s: %s has %d digits before the point, the field takes %d", sobject,
                          m->name, lit, idig, max_int);
    return SFA_OK;
}

static sfa_status check_type(sfa_agent *a, const char *sobject, const field_meta *m, const cJSON *v)
{
    const char *f = m->name;
    switch (m->type) {
    case FT_ANY:
        return SFA_OK;
    case FT_BOOL:
        if (!cJSON_IsBool(v))
            return store_fail(a, SFA_EINVAL, "%s.%s must be true or false", sobject, f);
        return SFA_OK;
    case FT_NUMBER:
        if (!json_is_number(v))
            return store_fail(a, SFA_EINVAL, "%s.%s must be a number", sobject, f);
        return check_number(a, sobject, m, v);
    case FT_DATE:
    case FT_DATETIME: {
        int64_t ms;
        if (!cJSON_IsString(v) || !time_parse_sf(v->valuestring, &ms))
            return store_fail(a, SFA_EINVAL, "%s.%s must be a date%s string (e.g. %s)", sobject, f,
                              m->type == FT_DATE ? "" : "Time",
                              m->type == FT_DATE ? "2024-01-31" : "2024-01-31T12:00:00Z");
        return SFA_OK;
    }
    case FT_TEXT:
    case FT_REFERENCE:
        if (!cJSON_IsString(v))
            return store_fail(a, SFA_EINVAL, "%s.%s must be a string", sobject, f);
        if (m->type == FT_REFERENCE) /* a local id is longer than an Id: check the form */
            return check_reference(a, sobject, m, v->valuestring);
        if (m->length > 0 && utf8_count(v->valuestring) > (size_t)m->length)
            return store_fail(a, SFA_EINVAL, "%s.%s is too long: %zu characters (at most %d)",
                              sobject, f, utf8_count(v->valuestring), m->length);
        if (m->picklist)
            return check_picklist(a, sobject, m, v->valuestring);
        return SFA_OK;
    }
    return SFA_OK;
}

/* Name syntax, scalar value, size: the checks every field gets. */
static sfa_status check_basic(sfa_agent *a, const char *sobject, const cJSON *item)
{
    const char *name = item->string;
    if (!name_is_valid_api_name(name))
        return store_fail(a, SFA_EINVAL, "'%s' is not a valid field name for %s", name, sobject);
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        return store_fail(a, SFA_EINVAL,
                          "%s.%s: nested objects and arrays are not allowed (values must be a "
                          "string, number, true/false or null)",
                          sobject, name);
    if (cJSON_IsString(item) && !utf8_is_valid(item->valuestring))
        return store_fail(a, SFA_EINVAL, "%s.%s: value is not valid UTF-8", sobject, name);
    const char *lit = json_number_literal(item);
    int idig = 0, fdig = 0;
    if (lit)
        json_number_digits(lit, &idig, &fdig);
    if (idig + fdig > NUMBER_MAX_DIGITS)
        return store_fail(a, SFA_EINVAL, "%s.%s: %s has more than %d digits", sobject, name, lit,
                          NUMBER_MAX_DIGITS);
    if (cJSON_IsString(item) && strlen(item->valuestring) > STRING_MAX_BYTES)
        return store_fail(a, SFA_EINVAL, "%s.%s: value is larger than %d bytes", sobject, name,
                          STRING_MAX_BYTES);
    return SFA_OK;
}

/* I4. Salesforce field names are case-insensitive: "sync_key__c" is the agent's key too,
 * and a user value sent beside the agent's would decide which record an upsert hits. */
sfa_status store_check_not_idem_field(sfa_agent *a, const char *sobject, const char *name)
{
    const char *idem = store_idempotency_field(a);
    if (!*idem || strcasecmp(name, idem) != 0)
        return SFA_OK;
    return store_fail(a, SFA_EINVAL,
                      "%s.%s: %s is the agent's idempotency field ([sync] idempotency_field); "
                      "sfagent sets it and it cannot be given",
                      sobject, name, idem);
}

static sfa_status check_field(sfa_agent *a, const char *sobject, const cJSON *item,
                              store_write_kind kind, const char **canonical)
{
    sfa_status st = check_basic(a, sobject, item);
    if (st != SFA_OK)
        return st;
    const char *name = item->string;
    st = store_check_not_idem_field(a, sobject, name);
    if (st != SFA_OK)
        return st;
    field_meta m;
    bool strict = false;
    *canonical = name;
    if (!field_lookup(a, sobject, name, &m, &strict)) {
        if (strict) /* I2 */
            return fail_unknown_field(a, sobject, name);
        return SFA_OK;
    }
    *canonical = m.name;
    if (kind == STORE_WRITE_CREATE ? !m.createable : !m.updateable)
        return store_fail(a, SFA_EINVAL, "%s is read-only on %s and cannot be %s", m.name, sobject,
                          kind == STORE_WRITE_CREATE ? "set on create" : "updated");
    if (cJSON_IsNull(item)) {
        if (!m.nillable)
            return store_fail(a, SFA_EINVAL, "%s.%s is required and cannot be null", sobject,
                              m.name);
        return SFA_OK;
    }
    return check_type(a, sobject, &m, item);
}

/* Subject on Case and LastName on Contact must hold text: required on create, and never
 * blanked by an update. */
static sfa_status check_required(sfa_agent *a, const char *sobject, const cJSON *obj,
                                 store_write_kind kind)
{
    const char *req = strcasecmp(sobject, "Case") == 0      ? "Subject"
                      : strcasecmp(sobject, "Contact") == 0 ? "LastName"
                                                            : NULL;
    if (!req)
        return SFA_OK;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, req);
    if (!v && kind == STORE_WRITE_UPDATE)
        return SFA_OK;
    if (!v || !cJSON_IsString(v) || is_blank(v->valuestring))
        return store_fail(a, SFA_EINVAL, "%s.%s is required and must not be empty", sobject, req);
    return SFA_OK;
}

sfa_status store_check_sobject(sfa_agent *a, const char *sobject)
{
    if (!sobject || !name_is_valid_api_name(sobject))
        return store_fail(a, SFA_EINVAL, "'%s' is not a valid sObject name",
                          sobject ? sobject : "(null)");
    /* I7: describe global, when cached, lists every sObject the user can see. */
    const cJSON *g = describe_of(a, STORE_DESCRIBE_GLOBAL);
    if (!g || describe_of(a, sobject))
        return SFA_OK;
    suggest_set sg;
    suggest_init(&sg, sobject);
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(g, "sobjects"))
    {
        const char *n = json_str(o, "name");
        if (n && strcasecmp(n, sobject) == 0) {
            suggest_clear(&sg);
            return SFA_OK;
        }
        suggest_consider(&sg, n);
    }
    return fail_unknown(a, &sg, "object", sobject, NULL);
}

/* The spelling Salesforce uses for sobject, borrowed from the describe cache or the
 * built-in names; NULL when nothing known lists it. */
static const char *known_spelling(sfa_agent *a, const char *sobject)
{
    /* The built-in names first: `case get` and `case list` must not parse the cached
     * describe global (hundreds of KB in a real org) to learn that "case" is "Case". */
    static const char *const builtin[] = {"Case", "Contact"};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcasecmp(builtin[i], sobject) == 0)
            return builtin[i];
    const cJSON *o = NULL;
    cJSON_ArrayForEach(
        o, cJSON_GetObjectItemCaseSensitive(describe_of(a, STORE_DESCRIBE_GLOBAL), "sobjects"))
    {
        const char *n = json_str(o, "name");
        if (n && strcasecmp(n, sobject) == 0)
            return n;
    }
    const char *own = json_str(describe_of(a, sobject), "name");
    if (own && strcasecmp(own, sobject) == 0)
        return own;
    return NULL;
}

sfa_status store_sobject_canonical(char **out, sfa_agent *a, const char *sobject)
{
    *out = NULL;
    sfa_status st = store_check_sobject(a, sobject);
    if (st != SFA_OK)
        return st;
    const char *known = known_spelling(a, sobject);
    *out = xstrdup(known ? known : sobject);
    return SFA_OK;
}

/* Every name of a comma list (`--fields A,B,C` of a list) is a field of sobject: the
 * describe's names, else the built-in table; custom fields and other sObjects pass on
 * syntax alone until described (I2). *out gets the list in Salesforce's spelling. */
sfa_status store_field_list_check(char **out, sfa_agent *a, const char *sobject, const char *csv)
{
    *out = NULL;
    sfa_status st = store_check_sobject(a, sobject);
    if (st != SFA_OK)
        return st;
    if (!csv || !*csv)
        return store_fail(a, SFA_EINVAL, "no field names given");
    strbuf b = STRBUF_INIT;
    const char *p = csv;
    while (st == SFA_OK) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        char *name = xstrndup(p, n);
        field_meta m;
        bool strict = false;
        if (!name_is_valid_api_name(name))
            st = store_fail(a, SFA_EINVAL, "'%s' is not a valid field name for %s", name, sobject);
        else if (field_lookup(a, sobject, name, &m, &strict))
            strbuf_addf(&b, "%s%s", b.len ? "," : "", m.name);
        else if (strict)
            st = fail_unknown_field(a, sobject, name);
        else
            strbuf_addf(&b, "%s%s", b.len ? "," : "", name);
        free(name);
        if (!end)
            break;
        p = end + 1;
    }
    if (st == SFA_OK)
        *out = strbuf_detach(&b);
    else
        strbuf_free(&b);
    return st;
}

sfa_status store_fields_check(cJSON **out, sfa_agent *a, const char *sobject, const cJSON *in,
                              store_write_kind kind)
{
    *out = NULL;
    if (!cJSON_IsObject(in))
        return store_fail(a, SFA_EINVAL, "fields must be a JSON object of field name to value");
    cJSON *obj = cJSON_CreateObject();
    const cJSON *item = NULL;
    sfa_status st = SFA_OK;
    cJSON_ArrayForEach(item, in)
    {
        const char *canonical = NULL;
        st = check_field(a, sobject, item, kind, &canonical);
        if (st != SFA_OK)
            break;
        if (cJSON_GetObjectItem(obj, canonical)) { /* case-insensitive, like Salesforce */
            st = store_fail(a, SFA_EINVAL, "%s.%s is given more than once", sobject, canonical);
            break;
        }
        cJSON_AddItemToObject(obj, canonical, cJSON_Duplicate(item, true));
    }
    if (st == SFA_OK)
        st = check_required(a, sobject, obj, kind);
    if (st != SFA_OK) {
        cJSON_Delete(obj);
        return st;
    }
    *out = obj;
    return SFA_OK;
}

sfa_status store_fields_parse(cJSON **out, sfa_agent *a, const char *sobject,
                              const char *fields_json, store_write_kind kind)
{
    *out = NULL;
    if (!fields_json)
        return store_fail(a, SFA_EINVAL, "no fields given");
    const char *err = NULL;
    cJSON *in = json_parse_exact(fields_json, strlen(fields_json), &err); /* I6 */
    if (!in)
        return store_fail(a, SFA_EINVAL, "fields: %s", err);
    sfa_status st = store_fields_check(out, a, sobject, in, kind);
    cJSON_Delete(in);
    return st;
}

bool store_field_is_reference(sfa_agent *a, const char *sobject, const char *name)
{
    field_meta m;
    bool strict;
    return field_lookup(a, sobject, name, &m, &strict) && m.type == FT_REFERENCE;
}
