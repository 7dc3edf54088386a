/* A misbehaving HTTP server for the client tests: one thread on an ephemeral 127.0.0.1
 * port answering one scripted step per connection. Steps send a fixed reply, an endless
 * chunked body, a huge body, a gzip bomb, or an error that echoes the request's
 * Authorization header. Every socket call times out (HS_SOCKET_TIMEOUT_S), so a client bug
 * fails a test instead of hanging it; the bound is generous because a loaded machine running
 * an ASan build can take seconds between two steps. The steps' replies are read by the
 * server thread until hs_finish() has joined it: free them only after that. Also: a bare listener
 * that counts connections (to prove that nothing was sent, e.g. to a proxy). */
#ifndef SFA_TESTS_HOSTILE_SERVER_H
#define SFA_TESTS_HOSTILE_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define HS_MAX_STEPS        8
#define HS_SOCKET_TIMEOUT_S 30

typedef enum hs_kind {
    HS_REPLY,           /* send reply verbatim */
    HS_ENDLESS_CHUNKED, /* 200, chunked, 16 KiB chunks until the client leaves or size bytes */
    HS_HUGE,            /* 200 with Content-Length size, then size bytes of JSON-ish data */
    HS_GZIP_BOMB,       /* 200, Content-Encoding: gzip, a small body inflating to size bytes */
    HS_ECHO_AUTH,       /* 400 whose message quotes the request's Authorization header */
} hs_kind;

typedef struct hs_step {
    hs_kind kind;
    const char *reply; /* HS_REPLY */
    size_t size;       /* HS_ENDLESS_CHUNKED (0: 256 MiB), HS_HUGE, HS_GZIP_BOMB */
    unsigned char *gz; /* HS_GZIP_BOMB: compressed body, built by hs_prepare() */
    size_t gz_len;
} hs_step;

typedef struct hs_server {
    int listen_fd;
    unsigned short port;
    char base[64]; /* http://127.0.0.1:<port> */
    hs_step steps[HS_MAX_STEPS];
    int nsteps;
    char *requests[HS_MAX_STEPS]; /* raw requests received (headers + body) */
    size_t sent[HS_MAX_STEPS];    /* body bytes written per step */
    int accepted;
    pthread_t thread;
    bool running;
} hs_server;

/* Bind; base and port are known from here on. */
void hs_listen(hs_server *s);
/* Build what the steps need ahead of time (gzip bombs take seconds to deflate; doing it
 * while the client waits would trip its timeout). hs_run() calls it if needed. */
void hs_prepare(hs_server *s);
/* Start serving the steps (set them first). */
void hs_run(hs_server *s);
/* Join the server thread (it has finished every step or timed out) and close; frees
 * requests. Only after this may the caller free the steps' replies or read sent/accepted. */
void hs_finish(hs_server *s);
/* Connections waiting on a listener that nobody serves (non-blocking accept count). */
int hs_pending_connections(int listen_fd);

/* "HTTP/1.1 <status>" reply with headers, Content-Length and Connection: close. Caller frees. */
char *hs_reply(const char *status, const char *headers, const char *body);
/* 200 token response whose instance_url and id point at base (or at instance when set). */
char *hs_token_reply(const char *base, const char *instance);

#endif
