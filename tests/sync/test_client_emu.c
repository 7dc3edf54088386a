/* Integration tests of the Salesforce client against the in-process emulator: every OAuth
 * flow (success and refused credentials), re-login on an expired session without looping,
 * the outcome classes (not sent / unknown / answered), sfa_login_check(), and that no secret
 * reaches an error message or a log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulator/emulator.h"
#include "sfagent/error.h"
#include "sfagent/login.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/strbuf.h"

#define CLIENT_ID "sfagent-test-client"
#define SECRET    "sfagent-test-secret"
#define USER      "agent@example.com"
#define REFRESH   "sfagent-test-refresh"

typedef struct fixture {
    emu *e;
    char dir[64];
    char *key_path;
    strbuf log; /* every log line, to check for secrets */
} fixture;

static void capture(log_level level, const char *line, void *ctx)
{
    (void)level;
    strbuf *sb = ctx;
    strbuf_adds(sb, line);
    strbuf_addc(sb, '\n');
}

static char *public_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = xstrndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-test-client-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    f->key_path = xasprintf("%s/key.pem", f->dir);
    FILE *fp = fopen(f->key_path, "w");
    PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    chmod(f->key_path, 0600);
    char *pub = public_pem(key);
    EVP_PKEY_free(key);
    emu_options o = EMU_OPTIONS_INIT;
    o.jwt_public_key_pem = pub;
    int rc = emu_start(&f->e, &o);
    free(pub);
    if (rc != 0)
        return -1;
    f->log = (strbuf)STRBUF_INIT;
    log_set_level(LOG_DEBUG);
    log_set_sink(capture, &f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    log_set_sink(NULL, NULL);
    emu_stop(f->e);
    unlink(f->key_path);
    rmdir(f->dir);
    free(f->key_path);
    strbuf_free(&f->log);
    free(f);
    return 0;
}

/* Config for flow against the emulator; extra is appended to [salesforce]. */
static sfa_config *make_cfg(const fixture *f, const char *extra)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = " CLIENT_ID "\n"
                           "timeout = 5\n%s\n",
                           emu_base_url(f->e), extra);
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, text, "test.ini", &err) != SFA_OK)
        fail_msg("config: %s", err);
    free(text);
    return cfg;
}

static const char *const pw_ok = "auth = password\nclient_secret = " SECRET "\n"
                                 "username = " USER "\npassword = pass\nsecurity_token = word\n";

static sf_client *new_client(const sfa_config *cfg)
{
    sf_client *c = NULL;
    char *err = NULL;
    assert_int_equal(sf_client_new(&c, cfg, &err), SFA_OK);
    return c;
}

static void expect_login(fixture *f, const char *extra, sfa_status want, const char *msg)
{
    sfa_config *cfg = make_cfg(f, extra);
    sf_client *c = new_client(cfg);
    assert_int_equal(sf_client_login(c), want);
    if (want == SFA_OK) {
        assert_string_equal(sf_client_instance_url(c), emu_base_url(f->e));
        assert_non_null(sf_client_org_id(c));
        assert_non_null(sf_client_user_id(c));
        sf_response r;
        assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
        assert_int_equal(r.outcome, SF_ANSWERED);
        assert_int_equal(r.status, 200);
        assert_non_null(r.json);
        sf_response_free(&r);
        assert_true(sf_client_api_used(c) >= 1);
        assert_true(sf_client_api_max(c) > sf_client_api_used(c));
    } else if (!strstr(sf_client_errmsg(c), msg)) {
        fail_msg("message '%s' lacks '%s'", sf_client_errmsg(c), msg);
    }
    sf_client_free(c);
    sfa_config_free(cfg);
}

static void test_client_password_flow(void **state)
{
    fixture *f = *state;
    /* password + security_token = "password", what the emulator expects. */
    expect_login(f, pw_ok, SFA_OK, NULL);
    expect_login(f,
                 "auth = password\nclient_secret = " SECRET "\nusername = " USER
                 "\npassword = wrong-pass\n",
                 SFA_EAUTH, "Salesforce login failed: invalid_grant: authentication failure");
}

static void test_client_refresh_flow(void **state)
{
    fixture *f = *state;
    expect_login(f, "auth = refresh_token\nrefresh_token = " REFRESH "\n", SFA_OK, NULL);
    expect_login(f, "auth = refresh_token\nrefresh_token = revoked-token\n", SFA_EAUTH,
                 "Salesforce login failed: invalid_grant");
}

static void test_client_client_credentials_flow(void **state)
{
    fixture *f = *state;
    expect_login(f, "auth = client_credentials\nclient_secret = " SECRET "\n", SFA_OK, NULL);
    expect_login(f, "auth = client_credentials\nclient_secret = not-the-secret\n", SFA_EAUTH,
                 "Salesforce login failed: invalid_client");
}

static void test_client_jwt_flow(void **state)
{
    fixture *f = *state;
    char *ok = xasprintf("auth = jwt\nusername = " USER "\nprivate_key_file = %s\n", f->key_path);
    expect_login(f, ok, SFA_OK, NULL);
    char *bad =
        xasprintf("auth = jwt\nusername = someone@else.com\nprivate_key_file = %s\n", f->key_path);
    expect_login(f, bad, SFA_EAUTH, "Salesforce login failed: invalid_grant");
    free(ok);
    free(bad);
}

static void test_client_missing_credentials_is_config_error(void **state)
{
    fixture *f = *state;
    expect_login(f, "auth = password\nusername = " USER "\n", SFA_ECONFIG, "client_secret");
}

static size_t token_requests(fixture *f)
{
    return emu_request_count(f->e, "POST", "/services/oauth2/token");
}

static void test_client_token_expiry_relogs_in_once(void **state)
{
    fixture *f = *state;
    sfa_config *cfg = make_cfg(f, pw_ok);
    sf_client *c = new_client(cfg);
    sf_response r;
    /* First request logs in by itself. */
    size_t t0 = token_requests(f);
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
    assert_int_equal(r.status, 200);
    sf_response_free(&r);
    assert_int_equal(token_requests(f), t0 + 1);

    emu_expire_tokens(f->e);
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 200);
    sf_response_free(&r);
    assert_int_equal(token_requests(f), t0 + 2);

    /* Expiring again on the replay too: one re-login, then the 401 is returned. */
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_EXPIRE_TOKEN;
    fault.path_pattern = "/services/data/v*/sobjects";
    fault.count = 2;
    assert_true(emu_fault_add(f->e, &fault) > 0);
    size_t data0 = emu_request_count(f->e, "GET", "/services/data/v*/sobjects");
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.error_code, "INVALID_SESSION_ID");
    sf_response_free(&r);
    assert_int_equal(token_requests(f), t0 + 3);
    assert_int_equal(emu_request_count(f->e, "GET", "/services/data/v*/sobjects"), data0 + 2);
    emu_faults_clear(f->e);
    sf_client_free(c);
    sfa_config_free(cfg);
}

static cJSON *case_body(const char *subject)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "Subject", subject);
    return b;
}

static void test_client_outcomes(void **state)
{
    fixture *f = *state;
    sfa_config *cfg = make_cfg(f, pw_ok);
    sf_client *c = new_client(cfg);
    assert_int_equal(sf_client_login(c), SFA_OK);
    cJSON *body = case_body("outcome test");
    sf_response r;

    /* Plain create: answered 201. */
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 201);
    sf_response_free(&r);

    /* Applied, then the connection dropped: unknown. */
    size_t before = emu_record_count(f->e, "Case", false);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_DROP_AFTER;
    fault.method = "POST";
    fault.count = 1;
    assert_true(emu_fault_add(f->e, &fault) > 0);
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN);
    assert_non_null(r.error_message);
    sf_response_free(&r);
    /* Applied exactly once: libcurl did not silently resend the POST (fresh connection). */
    assert_int_equal(emu_record_count(f->e, "Case", false), before + 1);

    /* Applied, answered 200 with garbage: unknown for a POST. */
    fault.kind = EMU_FAULT_INVALID_JSON;
    assert_true(emu_fault_add(f->e, &fault) > 0);
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN);
    sf_response_free(&r);

    /* Applied, answer cut in half: unknown. */
    fault.kind = EMU_FAULT_TRUNCATE;
    assert_true(emu_fault_add(f->e, &fault) > 0);
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_UNKNOWN);
    sf_response_free(&r);

    /* Daily limit used up: answered 403 REQUEST_LIMIT_EXCEEDED, usage header still read. */
    fault.kind = EMU_FAULT_LIMIT;
    fault.method = "GET";
    assert_true(emu_fault_add(f->e, &fault) > 0);
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.error_code, "REQUEST_LIMIT_EXCEEDED");
    assert_true(sf_client_api_used(c) >= sf_client_api_max(c));
    sf_response_free(&r);
    emu_faults_clear(f->e);
    emu_set_api_limit(f->e, 1000000000L); /* whatever usage the fault left */

    /* 503: answered, with Salesforce's error code. */
    fault.kind = EMU_FAULT_STATUS;
    fault.method = NULL;
    fault.status = 503;
    fault.error_code = "SERVER_UNAVAILABLE";
    fault.message = "Server too busy";
    assert_true(emu_fault_add(f->e, &fault) > 0);
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_ANSWERED);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.error_code, "SERVER_UNAVAILABLE");
    sf_response_free(&r);
    emu_faults_clear(f->e);
    cJSON_Delete(body);
    sf_client_free(c);
    sfa_config_free(cfg);
}

static void test_client_unreachable_is_not_sent(void **state)
{
    fixture *f = *state;
    emu_options o = EMU_OPTIONS_INIT;
    emu *e2 = NULL;
    assert_int_equal(emu_start(&e2, &o), 0);
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = " CLIENT_ID "\n%s",
                           emu_base_url(e2), pw_ok);
    sfa_config *cfg = NULL;
    char *err = NULL;
    assert_int_equal(sync_config_load_string(&cfg, text, "t.ini", &err), SFA_OK);
    sf_client *c = new_client(cfg);
    assert_int_equal(sf_client_login(c), SFA_OK);
    emu_stop(e2); /* the port is closed now: nothing can be sent */
    sf_response r;
    cJSON *body = case_body("offline");
    assert_int_equal(sf_client_request(c, "POST", "sobjects/Case", body, &r), SFA_OK);
    assert_int_equal(r.outcome, SF_NOT_SENT);
    assert_int_equal(r.status, 0);
    sf_response_free(&r);
    sf_client_free(c);
    /* A fresh client cannot even log in: a network error, not an auth error. */
    c = new_client(cfg);
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_ENETWORK);
    assert_int_equal(r.outcome, SF_NOT_SENT);
    assert_non_null(strstr(sf_client_errmsg(c), "cannot reach Salesforce"));
    sf_response_free(&r);
    cJSON_Delete(body);
    sf_client_free(c);
    sfa_config_free(cfg);
    free(text);
    (void)f;
}

static void test_login_reports_identity(void **state)
{
    fixture *f = *state;
    sfa_config *cfg = make_cfg(f, pw_ok);
    sfa_login_info info;
    assert_int_equal(sfa_login_check(&info, cfg), SFA_OK);
    assert_string_equal(info.instance_url, emu_base_url(f->e));
    assert_non_null(info.org_id);
    assert_non_null(info.user_id);
    assert_string_equal(info.username, USER);
    assert_string_equal(info.api_version, "v62.0");
    sfa_login_info_free(&info);
    sfa_config_free(cfg);

    cfg = make_cfg(f, "auth = client_credentials\nclient_secret = nope-secret\n");
    assert_int_equal(sfa_login_check(&info, cfg), SFA_EAUTH);
    const char *err = sfa_error_last()->message;
    assert_non_null(strstr(err, "Salesforce login failed"));
    assert_null(strstr(err, "nope-secret"));
    sfa_login_info_free(&info);
    sfa_config_free(cfg);
}

/* Runs last: everything logged or reported so far must be free of secrets. */
static void test_client_secrets_never_leak(void **state)
{
    fixture *f = *state;
    const char *leaky = "auth = password\nclient_secret = TopSecretValue1\nusername = " USER
                        "\npassword = HiddenPass2\nsecurity_token = TokenValue3\n";
    expect_login(f, leaky, SFA_EAUTH, "Salesforce login failed");
    sfa_config *cfg = make_cfg(f, leaky);
    sf_client *c = new_client(cfg);
    sf_response r;
    assert_int_equal(sf_client_request(c, "GET", "sobjects", NULL, &r), SFA_EAUTH);
    strbuf all = STRBUF_INIT;
    strbuf_adds(&all, sf_client_errmsg(c));
    strbuf_adds(&all, r.error_message ? r.error_message : "");
    strbuf_adds(&all, strbuf_str(&f->log));
    sf_response_free(&r);
    sf_client_free(c);
    sfa_config_free(cfg);
    const char *secrets[] = {"TopSecretValue1", "HiddenPass2", "TokenValue3", SECRET,
                             REFRESH,           "Bearer",      NULL};
    for (int i = 0; secrets[i]; i++)
        if (strstr(strbuf_str(&all), secrets[i]))
            fail_msg("secret '%s' leaked into: %s", secrets[i], strbuf_str(&all));
    /* The log is not empty: the check above looked at something. */
    assert_non_null(strstr(strbuf_str(&f->log), "logged in"));
    strbuf_free(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_password_flow),
        cmocka_unit_test(test_client_refresh_flow),
        cmocka_unit_test(test_client_client_credentials_flow),
        cmocka_unit_test(test_client_jwt_flow),
        cmocka_unit_test(test_client_missing_credentials_is_config_error),
        cmocka_unit_test(test_client_token_expiry_relogs_in_once),
        cmocka_unit_test(test_client_outcomes),
        cmocka_unit_test(test_client_unreachable_is_not_sent),
        cmocka_unit_test(test_login_reports_identity),
        cmocka_unit_test(test_client_secrets_never_leak),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
