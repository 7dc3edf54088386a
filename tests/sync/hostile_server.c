/* The misbehaving HTTP server of hostile_server.h. */
#include "hostile_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "util/alloc.h"
#include "util/strbuf.h"

static char *read_request(int fd)
{
    strbuf sb = STRBUF_INIT;
    char buf[4096];
    long want = -1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        strbuf_add(&sb, buf, (size_t)n);
        const char *end = strstr(strbuf_str(&sb), "\r\n\r\n");
        if (end && want < 0) {
            const char *cl = strcasestr(strbuf_str(&sb), "\r\nContent-Length:");
            want = (long)(end + 4 - sb.buf) + (cl && cl < end ? strtol(cl + 17, NULL, 10) : 0);
        }
        if (want >= 0 && (long)sb.len >= want)
            break;
    }
    return strbuf_detach(&sb);
}

/* Write all of buf; false once the client has gone. */
static bool send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static size_t serve_endless(int fd, size_t limit)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    if (!send_all(fd, head, sizeof head - 1))
        return 0;
    char chunk[16384 + 16];
    int h = snprintf(chunk, sizeof chunk, "4000\r\n");
    memset(chunk + h, ' ', 16384);
    memcpy(chunk + h + 16384, "\r\n", 2);
    size_t sent = 0;
    if (limit == 0)
        limit = (size_t)256 << 20; /* enough to prove the point, bounded for the machine */
    while (sent < limit && send_all(fd, chunk, (size_t)h + 16384 + 2))
        sent += 16384;
    return sent; /* never sends the last chunk: the body does not end */
}

static size_t serve_huge(int fd, size_t size)
{
    char *head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                           size);
    bool ok = send_all(fd, head, strlen(head));
    free(head);
    char buf[65536];
    memset(buf, ' ', sizeof buf);
    size_t sent = 0;
    while (ok && sent < size) {
        size_t n = size - sent < sizeof buf ? size - sent : sizeof buf;
        ok = send_all(fd, buf, n);
        sent += ok ? n : 0;
    }
    return sent;
}

/* gzip of size zero bytes, built with zlib (a few hundred KiB for 1 GiB). */
static unsigned char *gzip_zeros(size_t size, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    static unsigned char zeros[1 << 16];
    size_t cap = size / 512 + 4096, len = 0;
    unsigned char *out = xmalloc(cap);
    size_t left = size;
    int rc;
    do {
        size_t n = left < sizeof zeros ? left : sizeof zeros;
        z.next_in = zeros;
        z.avail_in = (uInt)n;
        left -= n;
        int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        do {
            if (cap - len < 4096) {
                cap *= 2;
                out = xrealloc(out, cap);
            }
            z.next_out = out + len;
            z.avail_out = (uInt)(cap - len);
            rc = deflate(&z, flush);
            len = cap - z.avail_out;
        } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    } while (left > 0);
    deflateEnd(&z);
    *out_len = len;
    return out;
}

static size_t serve_bomb(int fd, const hs_step *st)
{
    size_t len = st->gz_len;
    const unsigned char *gz = st->gz;
    char *head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Encoding: gzip\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           len);
    bool ok = send_all(fd, head, strlen(head)) && send_all(fd, gz, len);
    free(head);
    return ok ? len : 0;
}

static size_t serve_echo_auth(int fd, const char *request)
{
    const char *a = request ? strcasestr(request, "\r\nAuthorization:") : NULL;
    char *auth = a ? xstrndup(a + 2, strcspn(a + 2, "\r\n")) : xstrdup("(none)");
    char *body = xasprintf("[{\"errorCode\":\"BAD_HEADER\",\"message\":\"could not use %s; "
                           "session 00D000000000001!AQ4AQFakeTokenValue_1234567890abcdef "
                           "rejected\"}]",
                           auth);
    char *r = hs_reply("400 Bad Request", "Content-Type: application/json\r\n", body);
    send_all(fd, r, strlen(r));
    size_t n = strlen(body);
    free(auth);
    free(body);
    free(r);
    return n;
}

static void *serve(void *arg)
{
    hs_server *s = arg;
    for (int i = 0; i < s->nsteps; i++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        s->accepted++;
        struct timeval tv = {HS_SOCKET_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        s->requests[i] = read_request(fd);
        const hs_step *st = &s->steps[i];
        switch (st->kind) {
        case HS_REPLY:
            s->sent[i] = send_all(fd, st->reply, strlen(st->reply)) ? strlen(st->reply) : 0;
            break;
        case HS_ENDLESS_CHUNKED:
            s->sent[i] = serve_endless(fd, st->size);
            break;
        case HS_HUGE:
            s->sent[i] = serve_huge(fd, st->size);
            break;
        case HS_GZIP_BOMB:
            s->sent[i] = serve_bomb(fd, st);
            break;
        case HS_ECHO_AUTH:
            s->sent[i] = serve_echo_auth(fd, s->requests[i]);
            break;
        }
        close(fd);
    }
    return NULL;
}

void hs_listen(hs_server *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd < 0)
        abort();
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, 8) != 0)
        abort();
    struct timeval tv = {HS_SOCKET_TIMEOUT_S, 0};
    setsockopt(s->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    socklen_t len = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", s->port);
}

void hs_prepare(hs_server *s)
{
    for (int i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == HS_GZIP_BOMB && !s->steps[i].gz)
            s->steps[i].gz = gzip_zeros(s->steps[i].size, &s->steps[i].gz_len);
}

void hs_run(hs_server *s)
{
    hs_prepare(s);
    if (pthread_create(&s->thread, NULL, serve, s) != 0)
        abort();
    s->running = true;
}

void hs_finish(hs_server *s)
{
    if (s->running)
        pthread_join(s->thread, NULL);
    s->running = false;
    close(s->listen_fd);
    for (int i = 0; i < HS_MAX_STEPS; i++) {
        free(s->requests[i]);
        s->requests[i] = NULL;
        free(s->steps[i].gz);
        s->steps[i].gz = NULL;
    }
}

int hs_pending_connections(int listen_fd)
{
    int flags = fcntl(listen_fd, F_GETFL);
    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
    int n = 0, fd;
    while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
        n++;
        close(fd);
    }
    fcntl(listen_fd, F_SETFL, flags);
    return n;
}

char *hs_reply(const char *status, const char *headers, const char *body)
{
    return xasprintf("HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
                     headers, strlen(body), body);
}

char *hs_token_reply(const char *base, const char *instance)
{
    const char *inst = instance ? instance : base;
    char *body = xasprintf("{\"access_token\":\"00D000000000001!AQ4AQSecretTokenValue\","
                           "\"instance_url\":\"%s\","
                           "\"id\":\"%s/id/00D000000000001AAA/005000000000001AAA\","
                           "\"issued_at\":\"1700000000000\",\"token_type\":\"Bearer\"}",
                           inst, inst);
    char *r = hs_reply("200 OK", "Content-Type: application/json\r\n", body);
    free(body);
    return r;
}
