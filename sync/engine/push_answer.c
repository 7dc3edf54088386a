/* Composite answers read in place (docs/sync-protocol.md#memory): a batch of 800 creates
 * is answered with about 220 KB of JSON, which parsed whole is a tree of about 1.1 MB.
 * The answer is kept as the text the client checked (sf_client_start_text), its
 * sub-results are found with the scanner (util/json_scan.c), and the senders parse one
 * sub-result, or one row of the read-back query, at a time.
 *
 * Invariants:
 *   A1. What a sender sees is what it saw when the whole answer was one cJSON tree: the
 *       first member of a name wins, an element that is not an object is no sub-result,
 *       a missing one is NULL, and every span is valid JSON (the client refused the
 *       answer otherwise), so a sub-result or a row always parses.
 */
#include "sync/engine/push_answer.h"

#include <stdlib.h>
#include <string.h>

bool push_answer_object(const sf_response *resp, json_span *out)
{
    if (!resp->body || resp->json)
        return false;
    const char *end = json_scan_value(resp->body, resp->body + resp->body_len);
    if (!end)
        return false;
    json_span all = {resp->body, (size_t)(end - resp->body)};
    json_iter it;
    if (!json_iter_object(&it, all))
        return false;
    *out = all;
    return true;
}

/* The index in refs of the sub-result sub names, or n. */
static size_t ref_index(json_span sub, const char *const *refs, size_t n)
{
    json_span r;
    if (!json_member(sub, "referenceId", &r))
        return n;
    for (size_t i = 0; i < n; i++)
        if (json_key_is(r, refs[i])) /* a string value compares like a key (A1) */
            return i;
    return n;
}

void push_answer_subs(json_span answer, const char *const *refs, size_t n, json_span *subs)
{
    for (size_t i = 0; i < n; i++)
        subs[i] = (json_span){NULL, 0};
    json_span list, sub;
    json_iter it;
    if (!json_member(answer, "compositeResponse", &list) || !json_iter_array(&it, list))
        return;
    while (json_next_element(&it, &sub)) {
        size_t i = ref_index(sub, refs, n);
        if (i < n && !subs[i].p) /* A1: the first one */
            subs[i] = sub;
    }
}

cJSON *push_answer_tree(json_span sub)
{
    return sub.p ? cJSON_ParseWithLength(sub.p, sub.n) : NULL;
}

bool push_answer_rows(json_span sub, void (*row)(const cJSON *r, void *arg), void *arg)
{
    json_span body, rows, one;
    json_iter it;
    if (!sub.p || !json_member(sub, "body", &body) || !json_member(body, "records", &rows) ||
        !json_iter_array(&it, rows))
        return false;
    while (json_next_element(&it, &one)) {
        cJSON *r = cJSON_ParseWithLength(one.p, one.n);
        row(r, arg);
        cJSON_Delete(r);
    }
    return true;
}
