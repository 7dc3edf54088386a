/* The client against a hostile or broken network (issue 8): URLs with userinfo, token
 * responses pointing elsewhere, proxies, servers that never stop talking, gzip bombs,
 * servers echoing the bearer token, a token endpoint that is down. Every server here is
 * on 127.0.0.1 (hostile_server.h); no test sends a byte anywhere else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile_server.h"
#include "sfagent/agent.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "util/alloc.h"

static const char *const proxy_vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                         "HTTPS_PROXY", "ALL_PROXY",  "all_proxy",
                                         "NO_PROXY",    "no_proxy",   NULL};

/* Also the group teardown: the proxy variables must not outlive this program's tests. */
static int clear_env(void **state)
{
    (void)state;
    for (int i = 0; proxy_vars[i]; i++)
        unsetenv(proxy_vars[i]);
    unsetenv("SFAGENT_SALESFORCE_LOGIN_URL");
    return 0;
}

/* Password-flow configuration for login_url plus extra lines. NULL when refused; then *err
 * holds the message (caller frees). */
static sfa_config *load_cfg(const char *login_url, const char *extra, char **err)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = cid\nclient_secret = "
                           "topsecret\nusername = u@example.com\npassword = hunter2\n"
                           "timeout = 30\n%s",
                           login_url, extra ? extra : "");
    sfa_config *cfg = NULL;
    *err = NULL;
    sync_config_load_string(&cfg, text, "hostile.ini", err);
    free(text);
    return cfg;
}

static sfa_config *load_cfg_ok(const char *login_url, const char *extra)
{
    char *err = NULL;
    sfa_config *cfg = load_cfg(login_url, extra, &err);
    if (!cfg)
        fail_msg("configuration refused: %s", err);
    return cfg;
}

static sf_client *new_client(const sfa_config *cfg)
{
    sf_client *c = NULL;
    char *err = NULL;
    assert_int_equal(sf_client_new(&c, cfg, &err), SFA_OK);
    return c;
}

/* 8.1: userinfo in login_url ("http://127.0.0.1:1@<host>") used to pass the loopback
 * check while curl connected to <host>. The listener here is that <host>: it must see
 * no connection, because the configuration is refused before any client exists. */
static void test_hostile_userinfo_login_url_refused_before_connecting(void **state)
{
    (void)state;
    hs_server victim = {0};
    hs_listen(&victim); /* nobody serves it: connections just queue */
    char *urls[] = {
        xasprintf("http://127.0.0.1:1@127.0.0.1:%u", victim.port),
        xasprintf("http://[::1]@127.0.0.1:%u", victim.port),
        xasprintf("http://localhost:secretpw@127.0.0.1:%u/", victim.port),
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *err = NULL;
        sfa_config *cfg = load_cfg(urls[i], NULL, &err);
        if (cfg) { /* the bug: accepted, and the password goes to the host after '@' */
            sf_client *c = new_client(cfg);
            sf_client_login(c);
            sf_client_free(c);
            sfa_config_free(cfg);
        }
        assert_int_equal(hs_pending_connections(victim.listen_fd), 0);
        assert_null(cfg);
        assert_non_null(strstr(err, "salesforce.login_url"));
        assert_non_null(strstr(err, "user information"));
        assert_null(strstr(err, "secretpw")); /* userinfo is never echoed */
        assert_null(strstr(err, "localhost"));
        free(err);
        free(urls[i]);
    }
    /* The same host without userinfo is fine: the check is about userinfo, not loopback. */
    sfa_config_free(load_cfg_ok(victim.base, NULL));
    hs_finish(&victim);
}

static char *token_with(const char *instance, const char *id)
{
    char *body = xasprintf("{\"access_token\":\"00D000000000001!AQ4AQSecretTokenValue\","
                           "\"instance_url\":\"%s\",\"id\":\"%s\",\"token_type\":\"Bearer\"}",
                           instance, id);
    char *r = hs_reply("200 OK", "Content-Type: application/json\r\n", body);
    free(body);
    return r;
}

/* 8.2: the token endpoint names the host that receives the bearer token and the data.
 * Only https hosts of Salesforce (or allowed by configuration) are accepted; the login
 * answer alone is checked, so nothing is ever sent to the refused hosts. */
static void test_hostile_token_response_urls_checked(void **state)
{
    (void)state;
    static const char id_ok[] = "https://login.salesforce.com/id/00D000000000001AAA/"
                                "005000000000001AAA";
    struct {
        const char *instance, *id, *extra;
        sfa_status want;
    } cases[] = {
        {"http://192.0.2.2:18778", id_ok, NULL, SFA_ECONFIG},
        {"https://evil.example.com", id_ok, NULL, SFA_ECONFIG},
        {"https://na1.salesforce.com@evil.example.com", id_ok, NULL, SFA_ECONFIG},
        {"https://acme.my.salesforce.com", "http://192.0.2.2/id/00D/005", NULL, SFA_ECONFIG},
        {"https://acme.my.salesforce.com", "https://evil.example.com/id/00D/005", NULL,
         SFA_ECONFIG},
        {"https://salesforce.com.evil.example.com", id_ok, NULL, SFA_ECONFIG},
        {"https://acme.my.salesforce.com", id_ok, NULL, SFA_OK},
        {"https://acme.sandbox.my.salesforce.com/", id_ok, NULL, SFA_OK},
        {"https://sf.example.com", id_ok, "allowed_instance_hosts = other.org, *.example.com\n",
         SFA_OK},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    char *replies[N];
    for (size_t i = 0; i < N; i += HS_MAX_STEPS) {
        hs_server s = {0};
        hs_listen(&s);
        for (size_t j = i; j < N && j < i + HS_MAX_STEPS; j++) {
            replies[j] = token_with(cases[j].instance, cases[j].id);
            s.steps[s.nsteps++] = (hs_step){HS_REPLY, replies[j], 0, NULL, 0};
        }
        hs_run(&s);
        for (size_t j = i; j < N && j < i + HS_MAX_STEPS; j++) {
            sfa_config *cfg = load_cfg_ok(s.base, cases[j].extra);
            sf_client *c = new_client(cfg);
            sfa_status st = sf_client_login(c);
            if (st != cases[j].want)
                fail_msg("case %zu (%s, %s): login %d, want %d: %s", j, cases[j].instance,
                         cases[j].id, st, cases[j].want, sf_client_errmsg(c));
            if (st != SFA_OK) {
                assert_null(sf_client_instance_url(c));
                assert_non_null(strstr(sf_client_errmsg(c), "not trusted"));
                assert_null(strstr(sf_client_errmsg(c), "SecretTokenValue"));
            }
            assert_int_equal(sf_client_requests_made(c), 1); /* the token request only */
            sf_client_free(c);
            sfa_config_free(cfg);
        }
        hs_finish(&s); /* the server thread reads the replies until it is joined */
        for (size_t j = i; j < N && j < i + HS_MAX_STEPS; j++)
            free(replies[j]);
    }
}

/* 8.3: a loopback http login must not go through a proxy from the environment: the proxy
 * would receive the password and the client secret in clear text. */
static void test_hostile_http_never_uses_proxy(void **state)
{
    (void)state;
    hs_server proxy = {0};
    hs_listen(&proxy); /* a listener nobody serves: it only counts connections */
    hs_server s = {0};
    hs_listen(&s);
    char *tok = hs_token_reply(s.base, NULL);
    s.steps[s.nsteps++] = (hs_step){HS_REPLY, tok, 0, NULL, 0};
    hs_run(&s);
    setenv("http_proxy", proxy.base, 1);
    setenv("HTTP_PROXY", proxy.base, 1);
    setenv("ALL_PROXY", proxy.base, 1);
    setenv("all_proxy", proxy.base, 1);
    sfa_config *cfg = load_cfg_ok(s.base, NULL);
    sf_client *c = new_client(cfg);
    sfa_status st = sf_client_login(c);
    hs_finish(&s);
    assert_int_equal(hs_pending_connections(proxy.listen_fd), 0);
    assert_int_equal(st, SFA_OK);
    assert_int_equal(s.accepted, 1); /* the token request went straight to the server */
    sf_client_free(c);
    sfa_config_free(cfg);
    hs_finish(&proxy);
    free(tok);
}

/* ---- 8.5: bounded memory whatever the server sends ---- */

#if defined(__SANITIZE_ADDRESS__)
#define RSS_LIMIT_KB (96L * 1024) /* ASan's shadow memory and quarantine come on top */
#else
#define RSS_LIMIT_KB (32L * 1024)
#endif

struct child_result {
    int outcome;
    long status;
    long rss_kb;
    int st;
    char msg[200];
};

/* The client side of one scenario, in a child process so ru_maxrss is the client's alone
 * (the server thread lives in the parent). The child is forked before that thread starts. */
static void run_child(int wfd, const char *base)
{
    struct child_result r = {0};
    sfa_config *cfg = load_cfg_ok(base, "max_response_bytes = 4194304\n");
    sf_client *c = new_client(cfg);
    sf_response resp;
    r.st = sf_client_request(c, "GET", "limits", NULL, &resp);
    r.outcome = (int)resp.outcome;
    r.status = resp.status;
    snprintf(r.msg, sizeof r.msg, "%s", resp.error_message ? resp.error_message : "");
    sf_response_free(&resp);
    sf_client_free(c);
    sfa_config_free(cfg);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.rss_kb = ru.ru_maxrss;
    if (write(wfd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(2);
    _exit(0);
}

static void expect_capped(hs_kind kind, size_t size)
{
    hs_server s = {0};
    hs_listen(&s);
    char *tok = hs_token_reply(s.base, NULL);
    s.steps[s.nsteps++] = (hs_step){HS_REPLY, tok, 0, NULL, 0};
    s.steps[s.nsteps++] = (hs_step){kind, NULL, size, NULL, 0};
    hs_prepare(&s);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        close(s.listen_fd);
        run_child(fds[1], s.base);
    }
    close(fds[1]);
    hs_run(&s);
    struct child_result r = {0};
    ssize_t got = read(fds[0], &r, sizeof r);
    int wst = 0;
    waitpid(pid, &wst, 0);
    hs_finish(&s);
    close(fds[0]);
    free(tok);
    assert_int_equal(got, (ssize_t)sizeof r);
    print_message("kind %d: peak RSS %ld KiB, server sent %zu bytes, %s\n", (int)kind, r.rss_kb,
                  s.sent[1], r.msg);
    if (r.rss_kb >= RSS_LIMIT_KB)
        fail_msg("peak RSS %ld KiB >= %ld KiB", r.rss_kb, RSS_LIMIT_KB);
    assert_int_equal(r.st, SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN); /* the request may have been applied */
    assert_non_null(strstr(r.msg, "max_response_bytes"));
}

static void test_hostile_endless_chunked_body_is_capped(void **state)
{
    (void)state;
    expect_capped(HS_ENDLESS_CHUNKED, 0);
}

static void test_hostile_huge_body_is_capped(void **state)
{
    (void)state;
    expect_capped(HS_HUGE, (size_t)100 << 20);
}

static void test_hostile_gzip_bomb_is_capped(void **state)
{
    (void)state;
    expect_capped(HS_GZIP_BOMB, (size_t)1 << 30);
}

/* 8.4: a server echoing the Authorization header in an error must not get the token into
 * the error message or the body the client hands upward. */
static void test_hostile_echoed_token_is_scrubbed(void **state)
{
    (void)state;
    hs_server s = {0};
    hs_listen(&s);
    char *tok = hs_token_reply(s.base, NULL);
    s.steps[s.nsteps++] = (hs_step){HS_REPLY, tok, 0, NULL, 0};
    s.steps[s.nsteps++] = (hs_step){HS_ECHO_AUTH, NULL, 0, NULL, 0};
    hs_run(&s);
    sfa_config *cfg = load_cfg_ok(s.base, NULL);
    sf_client *c = new_client(cfg);
    sf_response r;
    assert_int_equal(sf_client_request(c, "GET", "limits", NULL, &r), SFA_OK);
    hs_finish(&s);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_code, "BAD_HEADER");
    const char *texts[] = {r.error_message, r.body};
    for (size_t i = 0; i < 2; i++) {
        assert_non_null(texts[i]);
        assert_null(strstr(texts[i], "SecretTokenValue")); /* our token, echoed */
        assert_null(strstr(texts[i], "FakeTokenValue"));   /* a session id in the text */
        assert_non_null(strstr(texts[i], "[redacted]"));
    }
    assert_non_null(strstr(r.error_message, "could not use Authorization: Bearer [redacted]"));
    sf_response_free(&r);
    sf_client_free(c);
    sfa_config_free(cfg);
    free(tok);
}

/* ---- 8.13: a token endpoint that is down means "try later" ---- */

static void test_hostile_token_endpoint_down_is_try_later(void **state)
{
    (void)state;
    char *replies[] = {
        hs_reply("503 Service Unavailable", "Content-Type: text/html\r\n",
                 "<html><body>Down for maintenance</body></html>"),
        hs_reply("500 Internal Server Error", "Content-Type: application/json\r\n",
                 "{\"error\":\"server_error\",\"error_description\":\"oops\"}"),
        hs_reply("200 OK", "Content-Type: text/html\r\n", "<html>captive portal</html>"),
    };
    enum { N = sizeof replies / sizeof replies[0] };
    hs_server s = {0};
    hs_listen(&s);
    for (size_t i = 0; i < N; i++)
        s.steps[s.nsteps++] = (hs_step){HS_REPLY, replies[i], 0, NULL, 0};
    hs_run(&s);
    sfa_config *cfg = load_cfg_ok(s.base, NULL);
    for (size_t i = 0; i < N; i++) {
        sf_client *c = new_client(cfg);
        sf_response r;
        sfa_status st = sf_client_request(c, "GET", "limits", NULL, &r);
        if (st != SFA_ENETWORK)
            fail_msg("reply %zu: status %d, want SFA_ENETWORK: %s", i, st, sf_client_errmsg(c));
        assert_int_equal(r.outcome, SF_NOT_SENT);
        sf_response_free(&r);
        sf_client_free(c);
    }
    hs_finish(&s);
    sfa_config_free(cfg);
    for (size_t i = 0; i < N; i++)
        free(replies[i]);
}

/* Through the engine: the run ends "retry later" with a run-level backoff stored, so the
 * next run does not even ask the token endpoint. The backoff is jittered; a fixed seed and
 * a one-day base make it many hours long whatever the machine's load, so the second run
 * always falls inside it (a random delay of a few ms used to end before the second run). */
static void test_hostile_token_endpoint_down_backs_off_sync(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-hostile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *db = xasprintf("%s/t.db", dir);
    char *down = hs_reply("503 Service Unavailable", "Content-Type: text/html\r\n", "<html/>");
    hs_server s = {0};
    hs_listen(&s);
    s.steps[s.nsteps++] = (hs_step){HS_REPLY, down, 0, NULL, 0};
    hs_run(&s);
    static const char backoff[] = "[sync]\nbackoff_base = 86400\nbackoff_cap = 86400\n";
    sfa_config *cfg = load_cfg_ok(s.base, backoff);
    sfa_agent *agent = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&agent, db, &o), SFA_OK);
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, agent, "Case", "{\"Subject\":\"x\"}"), SFA_OK);
    free(id);
    sfa_sync_options so = SFA_SYNC_OPTIONS_INIT;
    so.seed = 2; /* first delay: about 62,987 s of the 86,400 s range (backoff.c I2) */
    sfa_sync_report rep;
    assert_int_equal(sfa_sync_run(&rep, agent, cfg, &so), SFA_ERETRY);
    hs_finish(&s); /* the one token request was answered */
    sfa_sync_pause pause;
    assert_int_equal(sfa_sync_pause_get(&pause, agent), SFA_OK);
    assert_int_equal(pause.source, SFA_PAUSE_OFFLINE);
    assert_true(pause.until_ms > (int64_t)time(NULL) * 1000 + 3600 * 1000); /* hours, not ms */
    hs_listen(&s); /* same port is not guaranteed: reload the configuration for the new one */
    sfa_config_free(cfg);
    cfg = load_cfg_ok(s.base, backoff);
    assert_int_equal(sfa_sync_run(&rep, agent, cfg, &so), SFA_ERETRY);
    assert_int_equal(hs_pending_connections(s.listen_fd), 0); /* backoff: nothing sent */
    hs_finish(&s);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", db, suffixes[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(db);
    free(down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hostile_userinfo_login_url_refused_before_connecting,
                               clear_env),
        cmocka_unit_test_setup(test_hostile_token_response_urls_checked, clear_env),
        cmocka_unit_test_setup(test_hostile_http_never_uses_proxy, clear_env),
        cmocka_unit_test_setup(test_hostile_endless_chunked_body_is_capped, clear_env),
        cmocka_unit_test_setup(test_hostile_huge_body_is_capped, clear_env),
        cmocka_unit_test_setup(test_hostile_gzip_bomb_is_capped, clear_env),
        cmocka_unit_test_setup(test_hostile_echoed_token_is_scrubbed, clear_env),
        cmocka_unit_test_setup(test_hostile_token_endpoint_down_is_try_later, clear_env),
        cmocka_unit_test_setup(test_hostile_token_endpoint_down_backs_off_sync, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, clear_env);
}
