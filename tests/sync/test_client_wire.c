/* The client's bytes on the wire, against a scripted one-request-per-connection HTTP server
 * on 127.0.0.1: request headers (Bearer, Accept, Sforce-Call-Options, Sforce-Auto-Assign on
 * writes only, gzip), the token request form, and how response headers and odd bodies
 * (Sforce-Limit-Info, Retry-After, HTML error pages) end up in sf_response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "sync/client/sf_client_internal.h"
#include "util/alloc.h"
#include "util/strbuf.h"

#define MAX_STEPS 8

typedef struct server {
    int listen_fd;
    unsigned short port;
    char base[64];
    const char *replies[MAX_STEPS]; /* full HTTP responses, one per connection */
    size_t reply_len[MAX_STEPS];    /* their lengths when binary (0: strlen) */
    char *requests[MAX_STEPS];      /* raw requests received */
    int nreplies;
    pthread_t thread;
} server;

/* Read one request: headers, then Content-Length bytes of body. */
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

static void *serve(void *arg)
{
    server *s = arg;
    for (int i = 0; i < s->nreplies; i++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        s->requests[i] = read_request(fd);
        const char *r = s->replies[i];
        size_t off = 0, len = s->reply_len[i] ? s->reply_len[i] : strlen(r);
        while (off < len) {
            ssize_t n = write(fd, r + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        close(fd);
    }
    return NULL;
}

/* Bind an ephemeral loopback port; s->base is known from here on. */
static void server_listen(server *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    /* accept() and read() give up after 5 s, so a client bug fails the test, not hangs it. */
    struct timeval tv = {5, 0};
    setsockopt(s->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    socklen_t len = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", s->port);
}

/* Serve the scripted replies. Only once replies and nreplies are set: the thread reads
 * them without a lock (starting it earlier raced with the script being written). */
static void server_run(server *s)
{
    assert_true(s->nreplies > 0);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_finish(server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static char *http_reply(const char *status, const char *headers, const char *body)
{
    return xasprintf("HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
                     headers, strlen(body), body);
}

static char *token_reply(const char *base)
{
    char *body = xasprintf("{\"access_token\":\"00DTEST!tok\",\"instance_url\":\"%s\","
                           "\"id\":\"%s/id/00D000000000001AAA/005000000000001AAA\","
                           "\"issued_at\":\"1700000000000\",\"token_type\":\"Bearer\"}",
                           base, base);
    char *r = http_reply("200 OK", "Content-Type: application/json\r\n", body);
    free(body);
    return r;
}

static sfa_config *cfg_for(const server *s)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = cid\nclient_secret = cs\n"
                           "username = u@example.com\npassword = pw\ntimeout = 5\n",
                           s->base);
    sfa_config *cfg = NULL;
    char *err = NULL;
    assert_int_equal(sync_config_load_string(&cfg, text, "wire.ini", &err), SFA_OK);
    free(text);
    return cfg;
}

/* Serve s's scripted replies and make a client for it (*cfg: its configuration). */
static sf_client *client_for(server *s, sfa_config **cfg)
{
    server_run(s);
    *cfg = cfg_for(s);
    sf_client *c = NULL;
    char *err = NULL;
    assert_int_equal(sf_client_new(&c, *cfg, &err), SFA_OK);
    return c;
}

/* The client, its configuration and the requests the server recorded. */
static void client_free_all(server *s, sf_client *c, sfa_config *cfg)
{
    for (int i = 0; i < s->nreplies; i++)
        free(s->requests[i]);
    sf_client_free(c);
    sfa_config_free(cfg);
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strcasestr(hay, needle))
        fail_msg("'%s' not found in:\n%s", needle, hay);
}

static void test_wire_headers_and_limits(void **state)
{
    (void)state;
    server s = {0};
    server_listen(&s);
    char *tok = token_reply(s.base);
    char *created = http_reply("201 Created",
                               "Content-Type: application/json;charset=UTF-8\r\n"
                               "Sforce-Limit-Info: api-usage=41/15000; api-bursts=0/750\r\n",
                               "{\"id\":\"500000000000001AAA\",\"success\":true,\"errors\":[]}");
    char *busy = http_reply("503 Service Unavailable",
                            "Content-Type: text/html\r\nRetry-After: 7\r\n"
                            "Sforce-Limit-Info: api-usage=42/15000\r\n",
                            "<html><body>Maintenance</body></html>");
    s.replies[0] = tok;
    s.replies[1] = created;
    s.replies[2] = busy;
    s.nreplies = 3;
    sfa_config *cfg = NULL;
    sf_client *c = client_for(&s, &cfg);

    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "Subject", "wire");
    sf_response r;
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 201);
    assert_string_equal(cJSON_GetObjectItem(r.json, "id")->valuestring, "500000000000001AAA");
    sf_response_free(&r);
    assert_int_equal(sf_client_api_used(c), 41);
    assert_int_equal(sf_client_api_max(c), 15000);

    assert_int_equal(sf_client_request(c, "GET", "/services/data/v62.0/limits", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.error_code, "ERROR_HTTP_503");
    assert_int_equal(r.retry_after_s, 7);
    assert_null(strstr(r.error_message, "Maintenance")); /* bodies are not echoed */
    sf_response_free(&r);
    assert_int_equal(sf_client_api_used(c), 42);
    assert_int_equal(sf_client_requests_made(c), 3);
    server_finish(&s);

    /* Token request: form-encoded, password + flow, to the token path. */
    assert_has(s.requests[0], "POST /services/oauth2/token HTTP/1.1");
    assert_has(s.requests[0], "Content-Type: application/x-www-form-urlencoded");
    assert_has(s.requests[0], "grant_type=password&client_id=cid&client_secret=cs&"
                              "username=u%40example.com&password=pw");
    assert_null(strcasestr(s.requests[0], "Authorization:"));
    /* Write: every header we promise. */
    assert_has(s.requests[1], "POST /services/data/v62.0/sobjects/Case HTTP/1.1");
    assert_has(s.requests[1], "Authorization: Bearer 00DTEST!tok");
    assert_has(s.requests[1], "Accept: application/json");
    assert_has(s.requests[1], "Sforce-Call-Options: client=sfagent");
    assert_has(s.requests[1], "Sforce-Auto-Assign: FALSE");
    assert_has(s.requests[1], "Content-Type: application/json");
    assert_has(s.requests[1], "Accept-Encoding:");
    assert_has(s.requests[1], "{\"Subject\":\"wire\"}");
    assert_null(strcasestr(s.requests[1], "Expect:"));
    /* Read: no assignment-rule header, no body. */
    assert_has(s.requests[2], "GET /services/data/v62.0/limits HTTP/1.1");
    assert_has(s.requests[2], "Sforce-Call-Options: client=sfagent");
    assert_null(strcasestr(s.requests[2], "Sforce-Auto-Assign"));

    cJSON_Delete(body);
    free(tok);
    free(created);
    free(busy);
    client_free_all(&s, c, cfg);
}

static void test_wire_refuses_foreign_absolute_url(void **state)
{
    (void)state;
    server s = {0};
    server_listen(&s);
    char *tok = token_reply(s.base);
    s.replies[0] = tok;
    s.nreplies = 1;
    sfa_config *cfg = NULL;
    sf_client *c = client_for(&s, &cfg);
    assert_int_equal(sf_client_login(c), SFA_OK);
    server_finish(&s);
    sf_response r;
    /* The bearer token must never go to another host. */
    assert_int_equal(sf_client_request(c, "GET", "https://evil.example.com/steal", NULL, &r),
                     SFA_EINVAL);
    assert_int_equal(r.outcome, SF_NOT_SENT);
    sf_response_free(&r);
    assert_int_equal(sf_client_requests_made(c), 1);
    free(tok);
    client_free_all(&s, c, cfg);
}

/* A gzip answer of len bytes of JSON as a full HTTP response (binary: *out_len). */
static char *gzip_reply(const char *json, size_t *out_len)
{
    unsigned char *gz = NULL;
    size_t gzlen = 0;
    assert_true(sf_gzip(&gz, &gzlen, json, strlen(json)));
    char *head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Encoding: gzip\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           gzlen);
    size_t hl = strlen(head);
    char *r = xmalloc(hl + gzlen);
    memcpy(r, head, hl);
    memcpy(r + hl, gz, gzlen);
    *out_len = hl + gzlen;
    free(head);
    free(gz);
    return r;
}

/* Answers are asked for gzip, counted as they arrived and inflated when collected; a body
 * that does not inflate, or an encoding that was not asked for, is an unknown outcome. */
static void test_wire_gzip_answers(void **state)
{
    (void)state;
    server s = {0};
    server_listen(&s);
    char *tok = token_reply(s.base);
    strbuf big = STRBUF_INIT;
    strbuf_adds(&big, "{\"records\":[");
    for (int i = 0; i < 500; i++)
        strbuf_addf(&big, "%s{\"Id\":\"500000000000%03dAAA\",\"Subject\":\"gzip\"}", i ? "," : "",
                    i);
    strbuf_adds(&big, "]}");
    char *gz = gzip_reply(strbuf_str(&big), &s.reply_len[1]);
    char *fake =
        http_reply("200 OK", "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
                   "{\"not\":\"gzip\"}");
    char *br = http_reply("200 OK", "Content-Type: application/json\r\nContent-Encoding: br\r\n",
                          "{\"not\":\"br\"}");
    s.replies[0] = tok;
    s.replies[1] = gz;
    s.replies[2] = fake;
    s.replies[3] = br;
    s.nreplies = 4;
    sfa_config *cfg = NULL;
    sf_client *c = client_for(&s, &cfg);
    assert_int_equal(sf_client_login(c), SFA_OK);
    uint64_t before = sf_client_bytes_received(c);
    sf_response r;
    assert_int_equal(sf_client_request(c, "GET", "query?q=x", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.body_len, big.len);
    assert_string_equal(r.body, strbuf_str(&big));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 500);
    sf_response_free(&r);
    /* I12: the compressed bytes and the headers, not the inflated text. */
    assert_true(sf_client_bytes_received(c) - before < big.len / 4);
    assert_int_equal(sf_client_request(c, "GET", "query?q=y", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN);
    assert_null(r.json);
    sf_response_free(&r);
    assert_int_equal(sf_client_request(c, "GET", "query?q=z", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN);
    sf_response_free(&r);
    server_finish(&s);
    assert_has(s.requests[1], "Accept-Encoding: gzip\r\n");
    strbuf_free(&big);
    free(tok);
    free(gz);
    free(fake);
    free(br);
    client_free_all(&s, c, cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_headers_and_limits),
        cmocka_unit_test(test_wire_refuses_foreign_absolute_url),
        cmocka_unit_test(test_wire_gzip_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
