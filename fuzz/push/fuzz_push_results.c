/* libFuzzer target for how the push engine reads Salesforce answers:
 * sObject Collections per-record results (push_apply_record_result), composite answers
 * whose sub-results carry such arrays or query pages, query rows matched to ops by key
 * (push_match_rows, push_take_row), the whole-response class (push_classify_response
 * over sf_parse_error_body) and, for object inputs, local-reference rewriting of field
 * JSON (push_refs_rewrite). The composite walk mirrors push_create.c, whose own helpers
 * are static. A violated property calls abort() so both libFuzzer and the replay test
 * notice.
 *
 * Properties beyond "no crash":
 *   - a per-record result always decides the op: done (success, or a delete whose record
 *     is already gone), retry (transient code, with that code) or dead (with a code and a
 *     message); a success never carries an error, its "id" becomes new_sf_id in its
 *     18-char form, and a success with an invalid (or, but for a delete, missing) Id is
 *     a MALFORMED_ID failure, never done (push_classify.c I1: an unknown code is dead,
 *     never retried);
 *   - a matched row gives the op a server object holding the same Id as new_sf_id, and
 *     push_take_row splits every field but "attributes" between server and server_fill;
 *     a row whose Id is not a valid Salesforce Id is not taken at all;
 *   - a 2xx answer is PUSH_RESP_OK; NOT_SENT and UNKNOWN outcomes keep their class
 *     whatever the body says (push_classify.c I2);
 *   - an object input is also an op's field JSON: after push_refs_rewrite no value is a
 *     local id unless it reports one that does not resolve (push_refs.c I1).
 *
 * The corpus (fuzz/push/corpus) replays in every ctest run (test_fuzz_push_results_replay,
 * tests/sync/fuzz.cmake). push.c pulls in the whole engine, so the one-line build first
 * builds libsfagent with clang in build-fuzz-clang (repository root): */
/* clang-format off */
/* cmake -S . -B build-fuzz-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSFA_BUILD_TESTS=OFF -DCMAKE_C_FLAGS='-fsanitize=fuzzer-no-link,address,undefined' && cmake --build build-fuzz-clang -j2 --target sfagent && clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Iinclude fuzz/push/fuzz_push_results.c build-fuzz-clang/libsfagent.a $(pkg-config --cflags --libs libcjson libcurl inih libcrypto sqlite3) -lpthread -lm -o /tmp/fuzz_push_results && mkdir -p /tmp/push-corpus && /tmp/fuzz_push_results -dict=fuzz/client/sf.dict -max_total_time=90 -max_len=4096 /tmp/push-corpus fuzz/push/corpus */
/* clang-format on */
#include "sync/client/sf_client_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"
#include "store/op.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"
#include "sync/engine/reconcile.h"
#include "sync/engine/refs.h"
#include "util/localid.h"
#include "util/sfid.h"

/* Local ids ending in an even digit are "synced" (resolve to a Salesforce Id). */
static const char *lookup_even(const char *local_id, void *ctx)
{
    (void)ctx;
    char last = local_id[strlen(local_id) - 1];
    return last >= '0' && last <= '9' && (last - '0') % 2 == 0 ? "003RM0000068xV6YAI" : NULL;
}

/* Every field counts as a reference here, so I1 covers them all. */
static bool every_field(const char *field, void *ctx)
{
    (void)field, (void)ctx;
    return true;
}

/* push_refs.c I1: after a full rewrite no field value is a local id; a stop names one
 * that does not resolve. */
static void check_refs(const cJSON *json)
{
    cJSON *fields = cJSON_Duplicate(json, true);
    const char *unresolved = push_refs_rewrite(fields, every_field, lookup_even, NULL);
    if (unresolved) {
        if (!local_id_is_valid(unresolved) || lookup_even(unresolved, NULL))
            abort();
    } else {
        const cJSON *f;
        cJSON_ArrayForEach(f, fields)
        {
            if (cJSON_IsString(f) && local_id_is_valid(f->valuestring))
                abort();
        }
    }
    cJSON_Delete(fields);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Real collections answers hold at most 200 results; larger inputs only slow fuzzing. */
#define INPUT_CAP 65536
#define NOPS      4

static const char KEY_FIELD[] = "Sync_Key__c";

/* One op of each kind, as store_outbox_ready() would hand them out. */
static void make_ops(store_op *ops)
{
    static const char *const kinds[NOPS] = {"create", "upsert", "update", "delete"};
    memset(ops, 0, NOPS * sizeof *ops);
    for (int i = 0; i < NOPS; i++) {
        ops[i].seq = i + 1;
        ops[i].sobject = xstrdup("Case");
        ops[i].kind = xstrdup(kinds[i]);
        ops[i].local_id = xasprintf("loc-01HZX5Q3M0S1T2V3W4X5Y6Z7A%d", i);
    }
    ops[1].ext_field = xstrdup("Ext__c");
    ops[1].ext_value = xstrdup("AAA");
    ops[2].sf_id = xstrdup("500xx000003DGb2AAG");
    ops[3].sf_id = xstrdup("500xx000003DGb3AAG");
}

static void ops_clear(store_op *ops)
{
    for (int i = 0; i < NOPS; i++)
        store_op_clear(&ops[i]);
}

static bool is_gone_code(const char *code)
{
    return code && (strcmp(code, "ENTITY_IS_DELETED") == 0 || strcmp(code, "NOT_FOUND") == 0 ||
                    strcmp(code, "INVALID_CROSS_REFERENCE_KEY") == 0);
}

/* Is got the 18-char form of the valid Id id? */
static bool is_id18_of(const char *got, const char *id)
{
    char id18[SFID_LEN + 1];
    return got && id && sfid_to18(id, id18) && strcmp(got, id18) == 0;
}

static bool is_bad_id_failure(const store_op *op, bool success)
{
    return success && op->err_code && strcmp(op->err_code, "MALFORMED_ID") == 0 && op->err_msg &&
           !op->new_sf_id;
}

static void check_record_result(push_ctx *ctx, store_op *op, const cJSON *result)
{
    store_op_set(op, STORE_OUT_NONE, NULL, NULL);
    free(op->new_sf_id);
    op->new_sf_id = NULL;
    push_apply_record_result(ctx, op, result);
    bool success = json_bool(result, "success", false);
    const char *id = json_str(result, "id");
    switch (op->outcome) {
    case STORE_OUT_DONE:
        if (op->err_code || op->err_msg)
            abort();
        if (success && (id ? !is_id18_of(op->new_sf_id, id) : !!op->new_sf_id))
            abort();
        if (success && !id && strcmp(op->kind, "delete") != 0)
            abort(); /* the mirror needs the Id: no Id is a protocol error */
        if (!success && strcmp(op->kind, "delete") != 0)
            abort(); /* only a delete of a gone record is done without success */
        break;
    case STORE_OUT_RETRY:
        if (is_bad_id_failure(op, success))
            break;
        if (success || !op->err_code ||
            push_classify_code(op->err_code, op->kind) != PUSH_ERR_TRANSIENT)
            abort();
        break;
    case STORE_OUT_DEAD:
        if (is_bad_id_failure(op, success))
            break;
        if (success || !op->err_code || !op->err_msg)
            abort();
        if (strcmp(op->kind, "delete") == 0 && is_gone_code(op->err_code))
            abort();
        break;
    default:
        abort(); /* every per-record result decides its op */
    }
}

static void check_results(push_ctx *ctx, store_op *ops, const cJSON *results)
{
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, results) check_record_result(ctx, &ops[i++ % NOPS], r);
}

static size_t count_fields(const cJSON *obj)
{
    size_t n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, obj) n++;
    return n;
}

static void check_take_row(const cJSON *row, const char *key_field)
{
    store_op op = {0};
    push_take_row(&op, row, key_field);
    const char *id = json_str(row, "Id");
    if (!sfid_is_valid(id)) {
        if (op.server || op.server_fill || op.new_sf_id)
            abort(); /* a row with a bad Id is not taken */
        return;
    }
    size_t attrs = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, row) attrs += strcmp(f->string, "attributes") == 0;
    if (!cJSON_IsObject(op.server) || !cJSON_IsObject(op.server_fill) ||
        count_fields(op.server) + count_fields(op.server_fill) + attrs != count_fields(row) ||
        cJSON_GetObjectItemCaseSensitive(op.server, "attributes") ||
        cJSON_GetObjectItemCaseSensitive(op.server_fill, "attributes"))
        abort();
    if (!is_id18_of(op.new_sf_id, id))
        abort();
    store_op_clear(&op);
}

static void check_rows(const push_ctx *ctx, const cJSON *records)
{
    store_op ops[NOPS];
    make_ops(ops);
    size_t matched = push_match_rows(ctx, ops, NOPS, records);
    if (matched > (size_t)cJSON_GetArraySize(records))
        abort();
    size_t with_id = 0;
    for (int i = 0; i < NOPS; i++) {
        if (!ops[i].new_sf_id)
            continue;
        with_id++;
        if (!cJSON_IsObject(ops[i].server) ||
            strcmp(json_str(ops[i].server, "Id") ? json_str(ops[i].server, "Id") : "",
                   ops[i].new_sf_id) != 0)
            abort();
    }
    if (with_id > matched)
        abort();
    ops_clear(ops);
    const cJSON *row;
    cJSON_ArrayForEach(row, records)
    {
        if (!cJSON_IsObject(row))
            continue;
        check_take_row(row, NULL);
        check_take_row(row, KEY_FIELD);
    }
}

/* Composite answer: sub-results whose body is a results array or a query page. */
static void check_composite(push_ctx *ctx, store_op *ops, const cJSON *json)
{
    const cJSON *sub;
    cJSON_ArrayForEach(sub, cJSON_GetObjectItemCaseSensitive(json, "compositeResponse"))
    {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(sub, "body");
        if (cJSON_IsArray(body) && json_num(sub, "httpStatusCode", 0) < 300)
            check_results(ctx, ops, body);
        const cJSON *records = cJSON_GetObjectItemCaseSensitive(body, "records");
        if (cJSON_IsArray(records))
            check_rows(ctx, records);
    }
}

static void check_classify(const cJSON *json)
{
    static const long statuses[] = {200, 201, 204, 300, 400, 401, 403, 404, 429, 500, 503};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        sf_response resp = {.outcome = SF_ANSWERED, .status = statuses[i], .retry_after_s = -1};
        if (statuses[i] >= 300)
            sf_parse_error_body(statuses[i], json, &resp.error_code, &resp.error_message);
        push_resp_class cls = push_classify_response(&resp);
        if ((statuses[i] < 300) != (cls == PUSH_RESP_OK))
            abort();
        if (statuses[i] == 429 && cls != PUSH_RESP_LIMIT)
            abort();
        resp.outcome = SF_NOT_SENT;
        if (push_classify_response(&resp) != PUSH_RESP_NOT_SENT)
            abort();
        resp.outcome = SF_UNKNOWN;
        if (push_classify_response(&resp) != PUSH_RESP_UNKNOWN)
            abort();
        free(resp.error_code);
        free(resp.error_message);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_CAP)
        return 0;
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    push_ctx ctx = {0};
    memcpy(ctx.idem_field, KEY_FIELD, sizeof KEY_FIELD);
    store_op ops[NOPS];
    make_ops(ops);
    if (cJSON_IsArray(json)) {
        check_results(&ctx, ops, json);
        check_rows(&ctx, json);
    }
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(json, "records");
    if (cJSON_IsArray(records))
        check_rows(&ctx, records);
    check_composite(&ctx, ops, json);
    check_classify(json);
    if (cJSON_IsObject(json))
        check_refs(json);
    ops_clear(ops);
    cJSON_Delete(json);
    return 0;
}
