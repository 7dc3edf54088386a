/* libFuzzer target for the SOQL subset (docs/sync-protocol.md#verification).
 * Each input is used twice: as SOQL text (parse; if it parses, validate, execute against a
 * small fixed record set and check the comparator is antisymmetric) and as a string value
 * (soql_quote it, parse the quoted literal back, and require the identical bytes). A
 * violated property calls abort() so both libFuzzer and the replay test notice.
 *
 * The corpus (fuzz/soql/corpus) replays in every ctest run via tests/soql/fuzz_replay.c;
 * turn each crash libFuzzer finds into a new corpus file. Build and run (repository root,
 * clang with libFuzzer), one line: */
/* clang-format off */
/* clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. fuzz/soql/fuzz_soql.c soql/soql_*.c util/alloc.c util/strbuf.c util/timeutil.c util/sfid.c $(pkg-config --cflags --libs libcjson) -o /tmp/fuzz_soql && mkdir -p /tmp/soql-corpus && /tmp/fuzz_soql -dict=fuzz/soql/soql.dict -max_total_time=60 -max_len=4096 /tmp/soql-corpus fuzz/soql/corpus */
/* clang-format on */
#include "soql/soql.h"
#include "soql/soql_internal.h"
#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const RECORDS =
    "[{\"attributes\":{\"type\":\"Case\"},\"Id\":\"c1\",\"Subject\":\"Printer jam\","
    "\"Status\":\"New\",\"Amount__c\":10,\"IsClosed\":false,"
    "\"CreatedDate\":\"2024-01-02T03:04:05.000+0000\",\"Due__c\":\"2024-01-05\","
    "\"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Acme\"}},"
    "{\"Id\":\"c2\",\"Subject\":null,\"Status\":\"Closed\",\"Amount__c\":-2.5,"
    "\"IsClosed\":true,\"CreatedDate\":\"2023-01-02T03:04:05.000+0100\",\"Account\":null},"
    "{\"Id\":\"c3\",\"Subject\":\"caf\xc3\xa9 100%\",\"Status\":\"new\",\"Amount__c\":\"7\"},"
    "{\"Id\":\"c4\",\"Subject\":\"\",\"Status\":3,\"Account\":\"not an object\"}, 5, null]";

static bool yes(const char *field, void *ctx)
{
    (void)field;
    (void)ctx;
    return true;
}

static bool no(const char *field, void *ctx)
{
    (void)field;
    (void)ctx;
    return false;
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void check_query(const soql_query *q)
{
    soql_error err;
    if (!soql_check_fields(q, yes, NULL, &err))
        abort();
    /* With no known fields, only COUNT() names none and may pass. */
    if (soql_check_fields(q, no, NULL, &err) && (soql_field_count(q) > 0 || !soql_is_count(q)))
        abort();
    cJSON *records = cJSON_Parse(RECORDS);
    size_t total = 0;
    cJSON *out = soql_execute(q, records, &total);
    if (!cJSON_IsArray(out))
        abort();
    if (!soql_is_count(q) && (size_t)cJSON_GetArraySize(out) > total)
        abort();
    for (const cJSON *a = records->child; a; a = a->next)
        for (const cJSON *b = records->child; b; b = b->next)
            if (cJSON_IsObject(a) && cJSON_IsObject(b) &&
                sign(soql_compare(q, a, b)) != -sign(soql_compare(q, b, a)))
                abort();
    cJSON_Delete(out);
    cJSON_Delete(records);
}

/* Quoting any value and parsing it back gives the same bytes (the escaping property). */
static void check_quote(const char *value)
{
    char *lit = soql_quote(value);
    char *text = xasprintf("SELECT Id FROM Case WHERE Subject = %s", lit);
    soql_query *q = soql_parse(text, NULL);
    if (!q || !q->where || q->where->nlits != 1 || q->where->lits[0].len != strlen(value) ||
        memcmp(q->where->lits[0].str, value, strlen(value)) != 0)
        abort();
    soql_free(q);
    free(text);
    free(lit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SOQL_MAX_TEXT + 16)
        return 0;
    char *text = xstrndup((const char *)data, size);
    soql_error err;
    soql_query *q = soql_parse(text, &err);
    if (q)
        check_query(q);
    else if (strcmp(err.code, "MALFORMED_QUERY") != 0 || err.message[0] == '\0')
        abort();
    soql_free(q);
    check_quote(text);
    free(text);
    return 0;
}
