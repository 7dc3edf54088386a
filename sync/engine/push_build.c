/* Building request paths and SOQL for the push engine. SOQL literals go through
 * soql_quote only ; field and object names are checked API names. */
#include "sync/engine/build.h"

#include <stdlib.h>
#include <string.h>

#include "soql/soql.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

char *push_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    strbuf sb = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            strbuf_addc(&sb, (char)*p);
        } else {
            strbuf_addc(&sb, '%');
            strbuf_addc(&sb, hex[*p >> 4]);
            strbuf_addc(&sb, hex[*p & 15]);
        }
    }
    return strbuf_detach(&sb);
}

char *push_soql_in(const char *select, const char *sobject, const char *field,
                   const char *const *keys, size_t n)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    strbuf_adds(&sb, select);
    strbuf_adds(&sb, " FROM ");
    strbuf_adds(&sb, sobject);
    strbuf_adds(&sb, " WHERE ");
    strbuf_adds(&sb, field);
    strbuf_adds(&sb, " IN (");
    for (size_t i = 0; i < n; i++) {
        char *q = soql_quote(keys[i]);
        if (i)
            strbuf_addc(&sb, ',');
        strbuf_adds(&sb, q);
        free(q);
    }
    strbuf_addc(&sb, ')');
    return strbuf_detach(&sb);
}

char *push_reconcile_select(const char *sobject, const char *key_field)
{
    bool is_case = strcmp(sobject, "Case") == 0;
    return xasprintf("Id, SystemModstamp%s%s%s", key_field ? ", " : "", key_field ? key_field : "",
                     is_case ? ", CaseNumber, Status" : "");
}

char *push_query_path(const char *api_version, const char *soql)
{
    char *enc = push_url_encode(soql);
    char *path = xasprintf("/services/data/%s/query?q=%s", api_version, enc);
    free(enc);
    return path;
}

void push_records_add(strbuf *sb, cJSON *rec)
{
    char *text = json_print(rec);
    strbuf_addc(sb, sb->len ? ',' : '[');
    strbuf_adds(sb, text);
    free(text);
    cJSON_Delete(rec);
}

cJSON *push_records_item(strbuf *sb)
{
    strbuf_addc(sb, sb->len ? ']' : '[');
    if (sb->len == 1)
        strbuf_addc(sb, ']');
    cJSON *raw = cJSON_CreateRaw(strbuf_str(sb));
    if (!raw)
        abort(); /* out of memory (STYLE 7) */
    strbuf_free(sb);
    return raw;
}
