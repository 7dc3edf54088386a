/* Ops that wait as one block of bytes instead of an array of store_op and its strings: a
 * job's while its request is on the wire (push_jobs.c J7), and the rest of a page while its
 * next batch waits for a slot (push.c).
 *
 * Up to [sync] parallel jobs of up to 800 ops wait at once. As store_op values each op
 * costs its 200-byte struct plus five or more small allocations (ids, names, the fields
 * text), about 450 bytes with the allocator's overhead; packed back to back it costs its
 * bytes alone, about 180 (docs/sync-protocol.md#memory). Nothing is read from the block:
 * it is unpacked into store_op values, the same ones, before a sender sees the job again.
 *
 * Invariants:
 *   P1. Only an op that nothing has been decided for yet is packed: no outcome, no error,
 *       no server values, no learned Id, no retry delay, and its fields already held as
 *       text (push_ops_pack); the column text a claim compares (fields_raw) goes along. A job with
 * any other op keeps its array (the rarer paths: an update's check answered, a second composite of
 * one batch), so a decision is never dropped by a format that has no room for it. P2. Unpacking
 * gives back every field that was packed, byte for byte; base_fields is carried as text and rebuilt
 * with json_parse_exact, as the fields are (J6). P3. A packed job holds no store_op, so nothing may
 * borrow pointers into its ops across a wait: senders that need the ops' strings after an answer
 * read them again.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "store/op.h"
#include "sync/engine/push.h"
#include "util/alloc.h"
#include "util/json.h"

/* The strings of an op, in block order. */
enum {
    S_OP_ID,
    S_SOBJECT,
    S_LOCAL_ID,
    S_KIND,
    S_FIELDS,
    S_FIELDS_RAW,
    S_EXT_FIELD,
    S_EXT_VALUE,
    S_BASE_MODSTAMP,
    S_SF_ID,
    S_BASE_FIELDS,
    S_COUNT
};

/* Fixed part of one packed op; its S_COUNT strings follow, each NUL-terminated, absent
 * ones (bit i of present clear) taking no bytes. */
typedef struct packed_head {
    int64_t seq;
    int64_t updated_at;
    int attempts;
    int rank;
    unsigned present;
} packed_head;

static bool is_undecided(const store_op *op)
{
    return !op->fields && op->outcome == STORE_OUT_NONE && !op->err_code && !op->err_msg &&
           !op->server && !op->server_fill && !op->new_sf_id && !op->new_base_modstamp &&
           op->retry_after_ms == 0 && op->retry_delay_ms == 0;
}

/* Points s[] at op's strings, base_fields as base_text (printed by the caller). */
static void strings_of(const store_op *op, const char *base_text, const char *s[S_COUNT])
{
    s[S_OP_ID] = op->op_id;
    s[S_SOBJECT] = op->sobject;
    s[S_LOCAL_ID] = op->local_id;
    s[S_KIND] = op->kind;
    s[S_FIELDS] = op->fields_packed;
    s[S_FIELDS_RAW] = op->fields_raw;
    s[S_EXT_FIELD] = op->ext_field;
    s[S_EXT_VALUE] = op->ext_value;
    s[S_BASE_MODSTAMP] = op->base_modstamp;
    s[S_SF_ID] = op->sf_id;
    s[S_BASE_FIELDS] = base_text;
}

static size_t packed_size(const store_op *op, const char *base_text)
{
    const char *s[S_COUNT];
    strings_of(op, base_text, s);
    size_t len = sizeof(packed_head);
    for (int i = 0; i < S_COUNT; i++)
        len += s[i] ? strlen(s[i]) + 1 : 0;
    return len;
}

static char *put_op(char *p, const store_op *op, const char *base_text)
{
    const char *s[S_COUNT];
    strings_of(op, base_text, s);
    packed_head h;
    memset(&h, 0, sizeof h); /* the padding too: the block is deflated byte for byte */
    h.seq = op->seq;
    h.updated_at = op->updated_at;
    h.attempts = op->attempts;
    h.rank = op->rank;
    for (int i = 0; i < S_COUNT; i++)
        h.present |= s[i] ? 1u << i : 0;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    for (int i = 0; i < S_COUNT; i++) {
        if (!s[i])
            continue;
        size_t n = strlen(s[i]) + 1;
        memcpy(p, s[i], n);
        p += n;
    }
    return p;
}

/* P4: a block is kept deflated: ids, names and field names repeat from op to op, so
 * the ops of a batch shrink to about a fifth. A 4 KiB window (about twenty ops back) and a
 * small hash keep zlib's own state near 20 KiB, allocated only while packing. Layout: the
 * raw length and the stream's length (size_t each), then the raw deflate stream. */
enum { PACK_WBITS = 12, PACK_MEMLEVEL = 4 };

static char *squeeze(const char *raw, size_t len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (len > UINT_MAX ||
        deflateInit2(&zs, 1, Z_DEFLATED, -PACK_WBITS, PACK_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        abort(); /* only out of memory gets here (STYLE 7) */
    size_t bound = (size_t)deflateBound(&zs, (uLong)len), cap = len / 4 + 64;
    size_t head = 2 * sizeof len;
    cap = cap < bound ? cap : bound;
    char *out = xmalloc(head + cap);
    memcpy(out, &len, sizeof len);
    zs.next_in = (Bytef *)(uintptr_t)raw; /* zlib only reads it */
    zs.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc == Z_OK || rc == Z_BUF_ERROR) {
        if (zs.total_out == cap) {
            cap = cap * 2 < bound ? cap * 2 : bound;
            out = xrealloc(out, head + cap);
        }
        zs.next_out = (Bytef *)out + head + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        rc = deflate(&zs, Z_FINISH);
    }
    size_t n = (size_t)zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) /* a bound-sized buffer always takes the whole stream */
        abort();
    memcpy(out + sizeof len, &n, sizeof n);
    return xrealloc(out, head + n);
}

/* The raw bytes of a squeezed block (caller frees); frees the block. */
static char *unsqueeze(char *block)
{
    size_t len = 0, zlen = 0;
    memcpy(&len, block, sizeof len);
    memcpy(&zlen, block + sizeof len, sizeof zlen);
    char *raw = xmalloc(len ? len : 1);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -PACK_WBITS) != Z_OK)
        abort(); /* out of memory */
    zs.next_in = (Bytef *)block + 2 * sizeof len;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)raw;
    zs.avail_out = (uInt)len;
    int rc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || zs.total_out != len)
        abort(); /* only memory corruption could get here: nothing safe to go on with */
    free(block);
    return raw;
}

char *push_ops_block(store_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_undecided(&ops[i])) /* P1 */
            return NULL;
    char **base_text = xcalloc(n ? n : 1, sizeof *base_text);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *bf = ops[i].base_fields;
        base_text[i] = bf ? json_print(bf) : NULL;
        total += packed_size(&ops[i], base_text[i]);
    }
    char *block = xmalloc(total ? total : 1), *p = block;
    for (size_t i = 0; i < n; i++) {
        p = put_op(p, &ops[i], base_text[i]);
        free(base_text[i]);
        store_op_clear(&ops[i]);
    }
    assert((size_t)(p - block) == total);
    free(base_text);
    char *small = squeeze(block, total); /* P4 */
    free(block);
    return small;
}

void push_job_pack(push_job *job)
{
    assert(!job->packed);
    job->packed = push_ops_block(job->ops, job->n);
    if (!job->packed)
        return;
    free(job->ops); /* emptied into the block */
    job->ops = NULL;
}

static const char *get_op(const char *p, store_op *op)
{
    packed_head h;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    char *s[S_COUNT] = {0};
    for (int i = 0; i < S_COUNT; i++) {
        if (!(h.present & (1u << i)))
            continue;
        size_t n = strlen(p);
        s[i] = xstrndup(p, n);
        p += n + 1;
    }
    memset(op, 0, sizeof *op);
    op->seq = h.seq;
    op->updated_at = h.updated_at;
    op->attempts = h.attempts;
    op->rank = h.rank;
    op->op_id = s[S_OP_ID];
    op->sobject = s[S_SOBJECT];
    op->local_id = s[S_LOCAL_ID];
    op->kind = s[S_KIND];
    op->fields_packed = s[S_FIELDS];
    op->fields_raw = s[S_FIELDS_RAW];
    op->ext_field = s[S_EXT_FIELD];
    op->ext_value = s[S_EXT_VALUE];
    op->base_modstamp = s[S_BASE_MODSTAMP];
    op->sf_id = s[S_SF_ID];
    if (s[S_BASE_FIELDS]) { /* P2 */
        const char *err = NULL;
        op->base_fields = json_parse_exact(s[S_BASE_FIELDS], strlen(s[S_BASE_FIELDS]), &err);
        if (!op->base_fields) /* text this process printed: only out of memory fails */
            abort();
        free(s[S_BASE_FIELDS]);
    }
    return p;
}

store_op *push_ops_unblock(char *block, size_t n)
{
    char *raw = unsqueeze(block); /* P4 */
    store_op *ops = xcalloc(n ? n : 1, sizeof *ops);
    const char *p = raw;
    for (size_t i = 0; i < n; i++)
        p = get_op(p, &ops[i]);
    free(raw);
    return ops;
}

void push_job_unpack(push_job *job)
{
    if (!job->packed)
        return;
    job->ops = push_ops_unblock(job->packed, job->n);
    job->packed = NULL;
}
