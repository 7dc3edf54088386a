/* libFuzzer target for the query pages the pull reads as text (sync/engine/pull_page.c)
 * and the scanner under it (util/json_scan.c): every input is a response body. A
 * violated property calls abort() so both libFuzzer and the replay test notice.
 *
 * Properties beyond "no crash, no read outside the input" (ASan sees the exact-size copy):
 *   - an accepted page's record spans lie inside the body, each one complete JSON value
 *     by itself (json_scan_value ends exactly at the span's end);
 *   - where cJSON parses the same body, it agrees: as many records, and the same next
 *     page URL (only when done is false);
 *   - a record's text without "attributes" is again one complete JSON value;
 *   - a truncated body (every input cut one byte short of a valid page) is refused.
 *
 * The corpus (fuzz/pull/corpus) replays in every ctest run (test_fuzz_pull_page_replay,
 * tests/sync/fuzz.cmake); turn each crash into a new corpus file. Build and run from the
 * repository root (clang with libFuzzer), one line: */
/* clang-format off */
/* clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Iinclude fuzz/pull/fuzz_pull_page.c sync/engine/pull_page.c util/json_scan.c util/alloc.c util/strbuf.c $(pkg-config --cflags --libs libcjson libcurl) -o /tmp/fuzz_pull_page && mkdir -p /tmp/pull-page-corpus && /tmp/fuzz_pull_page -max_total_time=90 -max_len=8192 /tmp/pull-page-corpus fuzz/pull/corpus */
/* clang-format on */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_CAP 65536

/* cJSON's view of the same body, where it can parse it: records count and next URL. */
static void check_against_cjson(const char *body, size_t len, const pull_page *page)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
    if (cJSON_IsArray(recs) && (size_t)cJSON_GetArraySize(recs) != page->n)
        abort();
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "nextRecordsUrl");
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(j, "done");
    bool cj_next = cJSON_IsString(next) && cJSON_IsFalse(done);
    if (j && !cj_next && page->next)
        abort();
    /* Without escapes both read the URL the same way (with them, a \u0000 is refused here
     * and cut short by cJSON). */
    if (j && cj_next && !memchr(body, '\\', len) &&
        (!page->next || strcmp(page->next, next->valuestring) != 0))
        abort();
    cJSON_Delete(j);
}

static void check_page(const char *body, size_t len)
{
    pull_page page;
    const char *why = NULL;
    sfa_status st = pull_page_scan(&page, body, len, &why);
    if (st != SFA_OK) {
        if (!why || page.n || page.next)
            abort();
        return;
    }
    for (size_t i = 0; i < page.n; i++) {
        json_span r = page.records[i];
        if (r.p < body || r.p + r.n > body + len || json_scan_value(r.p, r.p + r.n) != r.p + r.n)
            abort();
        char *rest = json_object_without(r, "attributes");
        if (rest && json_scan_value(rest, rest + strlen(rest)) != rest + strlen(rest))
            abort();
        free(rest);
        free(json_member_str(r, "Id"));
    }
    check_against_cjson(body, len, &page);
    pull_page_clear(&page);
    /* One byte short of an accepted object is never a whole page. */
    if (len > 1) {
        const char *end = body + len;
        while (end > body &&
               (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
            end--;
        pull_page cut;
        if (end > body && pull_page_scan(&cut, body, (size_t)(end - body - 1), &why) == SFA_OK)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_CAP)
        return 0;
    char *body = xmalloc(size ? size : 1);
    memcpy(body, data, size);
    check_page(body, size);
    free(body);
    return 0;
}
