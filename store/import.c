/* JSON Lines import: one field-map object per line, each a new record with its create op,
 * written in batched transactions for speed.
 *
 * Invariants:
 * I1. A batch is one transaction: either every record of it is committed or none is.
 * I2. The first bad line stops the import; batches before it stay committed, its own
 *     batch is rolled back whole, and the message names the line (1-based, blank lines
 *     counted).
 * I3. out->imported counts committed records only.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sfagent/record.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/strbuf.h"

#define DEFAULT_BATCH 500
#define READ_CHUNK    65536

typedef struct import_ctx {
    sfa_agent *a;
    const char *sobject;
    size_t batch_size;
    size_t in_batch;
    size_t line;
    sfa_import_result *out;
} import_ctx;

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static sfa_status commit_batch(import_ctx *c)
{
    if (c->in_batch == 0)
        return SFA_OK;
    sfa_status s = store_tx_commit(c->a);
    if (s != SFA_OK)
        return s;
    CRASH_POINT("store.import_after_commit");
    c->out->imported += c->in_batch; /* I3 */
    c->in_batch = 0;
    return SFA_OK;
}

static sfa_status import_line(import_ctx *c, const char *text, size_t n)
{
    if (is_blank(text, n))
        return SFA_OK;
    const char *err = NULL;
    cJSON *in = json_parse_exact(text, n, &err); /* store/validate.c I5, I6 */
    if (!in)
        return store_fail(c->a, SFA_EINVAL, "%s", err);
    cJSON *fields = NULL;
    sfa_status s = store_fields_check(&fields, c->a, c->sobject, in, STORE_WRITE_CREATE);
    cJSON_Delete(in);
    if (s == SFA_OK && c->in_batch == 0)
        s = store_tx_begin(c->a);
    if (s == SFA_OK) {
        s = store_insert_new(c->a, c->sobject, fields, "create", NULL, NULL, NULL);
        if (s == SFA_OK && ++c->in_batch >= c->batch_size)
            s = commit_batch(c);
    }
    cJSON_Delete(fields);
    return s;
}

/* Feed every complete line in buf; keep the incomplete tail. */
static sfa_status feed(import_ctx *c, strbuf *buf, bool eof)
{
    size_t start = 0;
    sfa_status s = SFA_OK;
    while (s == SFA_OK && start < buf->len) {
        const char *nl = memchr(buf->buf + start, '\n', buf->len - start);
        if (!nl && !eof)
            break;
        size_t end = nl ? (size_t)(nl - buf->buf) : buf->len;
        c->line++;
        s = import_line(c, buf->buf + start, end - start);
        start = nl ? end + 1 : buf->len;
    }
    if (s == SFA_OK && start > 0) {
        memmove(buf->buf, buf->buf + start, buf->len - start);
        buf->len -= start;
        buf->buf[buf->len] = '\0';
    }
    return s;
}

static sfa_status read_all(import_ctx *c, int fd)
{
    strbuf buf = STRBUF_INIT;
    char chunk[READ_CHUNK];
    sfa_status s = SFA_OK;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s = store_fail(c->a, SFA_EIO, "reading the import: %s", strerror(errno));
            c->line++;
            break;
        }
        if (n > 0)
            strbuf_add(&buf, chunk, (size_t)n);
        s = feed(c, &buf, n == 0);
        if (s != SFA_OK || n == 0)
            break;
    }
    strbuf_free(&buf);
    return s;
}

sfa_status sfa_record_import(sfa_import_result *out, sfa_agent *agent, const char *sobject, int fd,
                             size_t batch_size)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!agent || !out)
        return agent ? store_fail(agent, SFA_EINVAL, "no output given") : SFA_EINVAL;
    store_clear_error(agent);
    if (store_is_read_only(agent))
        return store_fail(agent, SFA_EREADONLY, "the database was opened read-only");
    sfa_status s = store_check_sobject(agent, sobject);
    if (s != SFA_OK)
        return s;
    import_ctx c = {agent, sobject, batch_size ? batch_size : DEFAULT_BATCH, 0, 0, out};
    s = read_all(&c, fd);
    if (s == SFA_OK)
        s = commit_batch(&c);
    if (s != SFA_OK) {
        store_tx_rollback(agent); /* I1, I2 */
        out->failed_line = c.line;
        s = store_fail(agent, s, "line %zu: %s", c.line, sfa_agent_errmsg(agent));
    }
    return s;
}
