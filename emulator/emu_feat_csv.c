/* CSV for the emulator's Bulk API 2.0 module: RFC 4180 parsing (quoted fields, doubled
 * quotes, embedded delimiters and newlines, LF or CRLF) and quoted output. */
#include "emu_feat_csv.h"

#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

static void end_field(cJSON *row, strbuf *field)
{
    cJSON_AddItemToArray(row, cJSON_CreateString(strbuf_str(field)));
    strbuf_reset(field);
}

/* A row holding one empty field is a blank line: dropped. */
static void end_row(cJSON *rows, cJSON **row)
{
    const cJSON *only = (*row)->child;
    if (only && !only->next && only->valuestring[0] == '\0')
        cJSON_Delete(*row);
    else
        cJSON_AddItemToArray(rows, *row);
    *row = cJSON_CreateArray();
}

cJSON *bulk_csv_parse(const char *text, size_t len, char delim, bool *ok)
{
    cJSON *rows = cJSON_CreateArray(), *row = cJSON_CreateArray();
    strbuf field = STRBUF_INIT;
    bool quoted = false, was_quoted = false;
    *ok = true;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < len && text[i + 1] == '"')
                strbuf_addc(&field, text[++i]);
            else if (c == '"')
                quoted = false;
            else
                strbuf_addc(&field, c);
        } else if (c == '"' && field.len == 0 && !was_quoted) {
            quoted = was_quoted = true;
        } else if (c == delim) {
            end_field(row, &field);
            was_quoted = false;
        } else if (c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n')) {
            i += c == '\r';
            end_field(row, &field);
            end_row(rows, &row);
            was_quoted = false;
        } else {
            strbuf_addc(&field, c);
        }
    }
    *ok = !quoted;
    if (field.len || was_quoted || cJSON_GetArraySize(row) > 0) {
        end_field(row, &field);
        end_row(rows, &row);
    }
    cJSON_Delete(row);
    strbuf_free(&field);
    return rows;
}

void bulk_csv_add_field(strbuf *out, const char *value, bool first)
{
    if (!first)
        strbuf_addc(out, ',');
    strbuf_addc(out, '"');
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '"')
            strbuf_addc(out, '"');
        strbuf_addc(out, *p);
    }
    strbuf_addc(out, '"');
}
