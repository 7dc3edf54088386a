/* One query page read from its text (docs/sync-protocol.md#memory): the records array's
 * elements as spans into the body, and where the next page is. No tree of the page is
 * ever built: the store parses one record at a time, so a page costs its text and a
 * small array of spans, not a cJSON tree several times the text's size.
 *
 * Invariants:
 *   I1. A page is accepted only when its whole text is one valid JSON object with
 *       nothing but whitespace after it (util/json_scan.c I2): a truncated answer is
 *       refused before the store sees any of its records, as a parsed tree would be.
 *   I2. The next page is named only by a string nextRecordsUrl with done exactly false,
 *       as Salesforce documents them (docs/salesforce.md#query); anything else ends the
 *       query after this page.
 *   I3. done:false without a nextRecordsUrl, or with one that is not a URL (a path or
 *       an http(s) URL of visible ASCII), is not an end Salesforce ever sends: the page
 *       is still good (its records were read), but cut_short says why the query ends
 *       there, so the caller reports it as unfinished instead of complete.
 */
#include <stdlib.h>
#include <string.h>

#include "sync/engine/pull.h"
#include "util/alloc.h"

void pull_page_clear(pull_page *p)
{
    free(p->records);
    free(p->next);
    memset(p, 0, sizeof *p);
}

static void add_record(pull_page *p, json_span rec)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->records = xrealloc(p->records, p->cap * sizeof *p->records);
    }
    p->records[p->n++] = rec;
}

/* The records array at it's value, walked in place (each record scanned once, which
 * validates it): its elements into p. False when the value is not an array (it is then
 * scanned whole, so the body is still checked to its end). */
static bool take_records(pull_page *p, json_iter *it)
{
    json_iter arr;
    json_span rec;
    if (!json_enter_array(it, &arr)) {
        json_next_value(it, &rec);
        return false;
    }
    while (json_next_element(&arr, &rec))
        add_record(p, rec);
    json_leave(it, &arr); /* a malformed element fails the whole body (I1) */
    return true;
}

/* I3: a URL path ("/services/...") or an http(s) URL, of visible ASCII only: anything
 * else (white space, control characters, another scheme) would be sent as it is. */
static bool is_url(const char *u)
{
    if (u[0] != '/' && strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return false;
    for (; *u; u++)
        if (*u <= ' ' || *u > '~')
            return false;
    return true;
}

sfa_status pull_page_scan(pull_page *out, const char *body, size_t len, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    json_iter it;
    json_span key, v;
    bool done = true, records = false, records_ok = true;
    int seen_done = 0; /* the first of duplicate members counts, as with cJSON */
    char *next = NULL;
    if (!body || len == 0) {
        *why = "query answer is empty";
        return SFA_ESERVER;
    }
    if (!json_iter_object(&it, (json_span){body, len})) {
        bool json = json_scan_value(body, body + len) != NULL;
        *why = json ? "query answer is not a JSON object"
                    : "query answer is not valid JSON (truncated, nested too deep, or not UTF-8?)";
        return json ? SFA_ESERVER : SFA_ERETRY;
    }
    while (json_next_key(&it, &key)) {
        if (json_key_is(key, "records") && !records) {
            records = true;
            records_ok = take_records(out, &it);
            continue;
        }
        if (!json_next_value(&it, &v))
            break;
        if (json_key_is(key, "done") && !seen_done++)
            done = !(v.n == 5 && memcmp(v.p, "false", 5) == 0); /* I2 */
        else if (json_key_is(key, "nextRecordsUrl") && !next)
            next = json_span_str(v);
    }
    const char *tail = it.p;
    while (tail < body + len && (*tail == ' ' || *tail == '\t' || *tail == '\r' || *tail == '\n'))
        tail++;
    sfa_status st = SFA_OK;
    if (it.failed || !it.done || tail != body + len) { /* I1 */
        *why = "query answer is not valid JSON (truncated, nested too deep, or not UTF-8?)";
        st = SFA_ERETRY;
    } else if (!records_ok) {
        *why = "query answer without a records array";
        st = SFA_ESERVER;
    }
    bool url = next && is_url(next);
    if (st == SFA_OK && !done && url)
        out->next = next; /* ownership moves to the page */
    else
        free(next);
    if (st == SFA_OK && !done && !out->next) /* I3 */
        out->cut_short = !next ? "query answer has done:false but no nextRecordsUrl"
                               : "query answer's nextRecordsUrl is not a URL";
    if (st != SFA_OK)
        pull_page_clear(out);
    return st;
}
