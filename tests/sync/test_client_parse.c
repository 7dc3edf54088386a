/* Pure unit tests for the Salesforce client: Sforce-Limit-Info, Retry-After, error bodies,
 * outcome classes from CURLcode, token responses, OAuth form bodies, and JWT signing
 * (verified with OpenSSL against the public half of a key generated here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/client/config_internal.h"
#include "sync/client/sf_client_internal.h"
#include "util/alloc.h"

static void test_limit_info(void **state)
{
    (void)state;
    long used = -1, max = -1;
    assert_true(sf_parse_limit_info("api-usage=10018/100000", &used, &max));
    assert_int_equal(used, 10018);
    assert_int_equal(max, 100000);
    assert_true(
        sf_parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=x)", &used, &max));
    assert_int_equal(used, 25);
    assert_int_equal(max, 5000);
    assert_true(sf_parse_limit_info("api-bursts=1/750; api-usage=7/15000", &used, &max));
    assert_int_equal(used, 7);
    assert_int_equal(max, 15000);
    used = max = -1;
    assert_false(sf_parse_limit_info("per-app-api-usage=17/250", &used, &max));
    assert_false(sf_parse_limit_info("api-usage=abc/5", &used, &max));
    assert_false(sf_parse_limit_info("api-usage=5", &used, &max));
    assert_false(sf_parse_limit_info("", &used, &max));
    assert_false(sf_parse_limit_info(NULL, &used, &max));
    assert_int_equal(used, -1);
}

static void test_retry_after(void **state)
{
    (void)state;
    int64_t now = (int64_t)784111777 * 1000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(sf_parse_retry_after("120", now), 120);
    assert_int_equal(sf_parse_retry_after(" 0 ", now), 0);
    assert_int_equal(sf_parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60);
    assert_int_equal(sf_parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now), 0);
    assert_int_equal(sf_parse_retry_after("soon", now), -1);
    assert_int_equal(sf_parse_retry_after("12abc", now), -1);
    assert_int_equal(sf_parse_retry_after(NULL, now), -1);
}

static void expect_error_body(long status, const char *body, const char *code, const char *msg)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    char *c = NULL, *m = NULL;
    sf_parse_error_body(status, j, &c, &m);
    assert_string_equal(c, code);
    if (msg)
        assert_string_equal(m, msg);
    free(c);
    free(m);
    cJSON_Delete(j);
}

static void test_error_bodies(void **state)
{
    (void)state;
    expect_error_body(404,
                      "[{\"message\":\"The requested resource does not exist\","
                      "\"errorCode\":\"NOT_FOUND\"}]",
                      "NOT_FOUND", "The requested resource does not exist");
    expect_error_body(
        400,
        "[{\"fields\":[\"Id\"],\"message\":\"bad id\",\"errorCode\":\"MALFORMED_ID\"},"
        "{\"message\":\"x\",\"errorCode\":\"OTHER\"}]",
        "MALFORMED_ID", "bad id");
    expect_error_body(401, "{\"errorCode\":\"INVALID_SESSION_ID\",\"message\":\"Session expired\"}",
                      "INVALID_SESSION_ID", "Session expired");
    expect_error_body(400,
                      "{\"error\":\"invalid_grant\",\"error_description\":\"authentication "
                      "failure\"}",
                      "invalid_grant", "authentication failure");
    expect_error_body(400, "[{\"statusCode\":\"STRING_TOO_LONG\",\"message\":\"too long\"}]",
                      "STRING_TOO_LONG", "too long");
    /* HTML, garbage, empty, odd JSON: ERROR_HTTP_<status>, body not echoed. */
    expect_error_body(502, NULL, "ERROR_HTTP_502", NULL);
    expect_error_body(500, "[]", "ERROR_HTTP_500", NULL);
    expect_error_body(503, "{\"message\":\"no code\"}", "ERROR_HTTP_503", NULL);
    expect_error_body(400, "[{\"errorCode\":42}]", "ERROR_HTTP_400", NULL);
    char *c = NULL, *m = NULL;
    sf_parse_error_body(502, NULL, &c, &m);
    assert_null(strstr(m, "<html"));
    free(c);
    free(m);
}

static void test_outcome_table(void **state)
{
    (void)state;
    /* docs/sync-protocol.md#request-outcomes. */
    assert_int_equal(sf_outcome_from_curl(CURLE_OK, 100), SF_ANSWERED);
    assert_int_equal(sf_outcome_from_curl(CURLE_COULDNT_RESOLVE_HOST, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_COULDNT_RESOLVE_PROXY, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_COULDNT_CONNECT, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_SSL_CONNECT_ERROR, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_PEER_FAILED_VERIFICATION, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_OPERATION_TIMEDOUT, 250), SF_UNKNOWN);
    assert_int_equal(sf_outcome_from_curl(CURLE_OPERATION_TIMEDOUT, 0), SF_NOT_SENT);
    assert_int_equal(sf_outcome_from_curl(CURLE_GOT_NOTHING, 250), SF_UNKNOWN);
    assert_int_equal(sf_outcome_from_curl(CURLE_SEND_ERROR, 0), SF_UNKNOWN);
    assert_int_equal(sf_outcome_from_curl(CURLE_RECV_ERROR, 250), SF_UNKNOWN);
    assert_int_equal(sf_outcome_from_curl(CURLE_PARTIAL_FILE, 250), SF_UNKNOWN);
    assert_int_equal(sf_outcome_from_curl(CURLE_HTTP2_STREAM, 250), SF_UNKNOWN);
    assert_true(sf_method_is_mutating("POST"));
    assert_true(sf_method_is_mutating("PATCH"));
    assert_true(sf_method_is_mutating("DELETE"));
    assert_false(sf_method_is_mutating("GET"));
}

static void test_token_response(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"id\":\"https://login.salesforce.com/id/00Dx0000000BV7z/"
                           "005x00000012Q9P\",\"issued_at\":\"1278448832702\","
                           "\"instance_url\":\"https://na1.salesforce.com/\","
                           "\"access_token\":\"00Dx!AR8\",\"token_type\":\"Bearer\"}");
    sf_token t;
    char *err = NULL;
    assert_int_equal(oauth_parse_token_response(&t, 200, j, &err), SFA_OK);
    assert_string_equal(t.access_token, "00Dx!AR8");
    assert_string_equal(t.instance_url, "https://na1.salesforce.com");
    assert_string_equal(t.org_id, "00Dx0000000BV7z");
    assert_string_equal(t.user_id, "005x00000012Q9P");
    assert_string_equal(t.issued_at, "1278448832702");
    assert_null(t.refresh_token);
    sf_token_clear(&t);
    assert_null(t.access_token);
    cJSON_Delete(j);

    j = cJSON_Parse("{\"error\":\"invalid_grant\",\"error_description\":\"authentication "
                    "failure\"}");
    assert_int_equal(oauth_parse_token_response(&t, 400, j, &err), SFA_EAUTH);
    assert_string_equal(err, "Salesforce login failed: invalid_grant: authentication failure");
    free(err);
    cJSON_Delete(j);

    j = cJSON_Parse("{\"instance_url\":\"https://x\"}");
    assert_int_equal(oauth_parse_token_response(&t, 200, j, &err), SFA_ENETWORK);
    free(err);
    cJSON_Delete(j);
    /* 8.13: a token endpoint that is down is "try later", not a credentials failure. */
    assert_int_equal(oauth_parse_token_response(&t, 503, NULL, &err), SFA_ENETWORK);
    free(err);
    assert_int_equal(oauth_parse_token_response(&t, 429, NULL, &err), SFA_ENETWORK);
    free(err);
    j = cJSON_Parse("{\"error\":\"server_error\",\"error_description\":\"try again\"}");
    assert_int_equal(oauth_parse_token_response(&t, 500, j, &err), SFA_ENETWORK);
    free(err);
    cJSON_Delete(j);
    assert_int_equal(oauth_parse_token_response(&t, 404, NULL, &err), SFA_EAUTH);
    free(err);

    char *o, *u;
    assert_false(oauth_split_identity("https://x/id/00D", &o, &u));
    assert_false(oauth_split_identity(NULL, &o, &u));
    assert_true(oauth_split_identity("http://127.0.0.1:5/id/00DA/005B", &o, &u));
    assert_string_equal(o, "00DA");
    assert_string_equal(u, "005B");
    free(o);
    free(u);
}

static sfa_config *cfg_from(const char *text)
{
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, text, "t.ini", &err) != SFA_OK)
        fail_msg("config: %s", err);
    return cfg;
}

static void test_oauth_forms(void **state)
{
    (void)state;
    CURL *curl = curl_easy_init();
    strbuf sb = STRBUF_INIT;
    char *err = NULL;
    sfa_config *cfg = cfg_from("[salesforce]\nclient_id = id&1\nclient_secret = s=2\n"
                               "username = a+b@example.com\npassword = p w\n"
                               "security_token = TOK\n");
    assert_int_equal(oauth_build_form(&sb, curl, cfg, NULL, 0, &err), SFA_OK);
    assert_string_equal(strbuf_str(&sb), "grant_type=password&client_id=id%261&client_secret=s%3D2&"
                                         "username=a%2Bb%40example.com&password=p%20wTOK");
    strbuf_reset(&sb);
    sfa_config_free(cfg);

    cfg = cfg_from("[salesforce]\nauth = refresh_token\nclient_id = cid\nrefresh_token = r1\n");
    assert_int_equal(oauth_build_form(&sb, curl, cfg, NULL, 0, &err), SFA_OK);
    assert_string_equal(strbuf_str(&sb), "grant_type=refresh_token&refresh_token=r1&client_id=cid");
    strbuf_reset(&sb);
    assert_int_equal(oauth_build_form(&sb, curl, cfg, "r2", 0, &err), SFA_OK);
    assert_non_null(strstr(strbuf_str(&sb), "refresh_token=r2"));
    strbuf_reset(&sb);
    sfa_config_free(cfg);

    cfg = cfg_from("[salesforce]\nauth = client_credentials\nclient_id = cid\n"
                   "client_secret = cs\n");
    assert_int_equal(oauth_build_form(&sb, curl, cfg, NULL, 0, &err), SFA_OK);
    assert_string_equal(strbuf_str(&sb),
                        "grant_type=client_credentials&client_id=cid&client_secret=cs");
    strbuf_reset(&sb);
    sfa_config_free(cfg);

    /* Missing credentials: a config error naming the key. */
    cfg = cfg_from("[salesforce]\nclient_id = cid\n");
    assert_int_equal(oauth_build_form(&sb, curl, cfg, NULL, 0, &err), SFA_ECONFIG);
    assert_non_null(strstr(err, "client_secret"));
    free(err);
    sfa_config_free(cfg);
    strbuf_free(&sb);
    curl_easy_cleanup(curl);
}

static void test_jwt_audience(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"https://login.salesforce.com", "https://login.salesforce.com"},
        {"https://acme.my.salesforce.com", "https://login.salesforce.com"},
        {"https://test.salesforce.com", "https://test.salesforce.com"},
        {"https://acme--dev.sandbox.my.salesforce.com", "https://test.salesforce.com"},
        {"http://127.0.0.1:4000", "http://127.0.0.1:4000"},
        {"https://community.example.com", "https://community.example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *a = jwt_audience(cases[i][0]);
        assert_string_equal(a, cases[i][1]);
        free(a);
    }
    char *b = jwt_base64url((const unsigned char *)"\xfb\xff", 2);
    assert_string_equal(b, "-_8");
    free(b);
    b = jwt_base64url((const unsigned char *)"abc", 3);
    assert_string_equal(b, "YWJj");
    free(b);
}

static unsigned char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    char *std = xmalloc(n + 4);
    size_t i;
    for (i = 0; i < n; i++)
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (i % 4)
        std[i++] = '=';
    unsigned char *out = xmalloc(i);
    int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)i);
    assert_true(len >= 0);
    size_t pad = 0;
    for (size_t k = i; k > 0 && std[k - 1] == '='; k--)
        pad++;
    *out_len = (size_t)len - pad;
    free(std);
    return out;
}

static void test_jwt_signature_verifies(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-test-jwt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/key.pem", dir);
    EVP_PKEY *key = EVP_RSA_gen(2048);
    assert_non_null(key);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    chmod(path, 0600);

    char *jwt = NULL, *err = NULL;
    assert_int_equal(jwt_build_assertion(&jwt, "3MVGid", "u@example.com",
                                         "https://login.salesforce.com", 1700000000, path, &err),
                     SFA_OK);
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    assert_null(strchr(jwt, '='));
    size_t hl, cl, sl;
    unsigned char *hdr = b64url_decode(jwt, (size_t)(d1 - jwt), &hl);
    unsigned char *claims = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &cl);
    unsigned char *sig = b64url_decode(d2 + 1, strlen(d2 + 1), &sl);
    cJSON *h = cJSON_ParseWithLength((const char *)hdr, hl);
    cJSON *c = cJSON_ParseWithLength((const char *)claims, cl);
    assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, "RS256");
    assert_string_equal(cJSON_GetObjectItem(c, "iss")->valuestring, "3MVGid");
    assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring, "u@example.com");
    assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring, "https://login.salesforce.com");
    assert_true(cJSON_GetObjectItem(c, "exp")->valuedouble == 1700000180.0);

    /* Verify with the public key only. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(d2 - jwt)),
                     1);
    /* A tampered signing input must not verify. */
    EVP_MD_CTX_free(md);
    md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_not_equal(
        EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(d2 - jwt) - 1), 1);
    EVP_MD_CTX_free(md);

    /* Not a key: refused with the path, no OpenSSL text. */
    char *bad = xasprintf("%s/bad.pem", dir);
    f = fopen(bad, "w");
    fputs("garbage\n", f);
    fclose(f);
    char *jwt2 = NULL;
    assert_int_equal(jwt_build_assertion(&jwt2, "a", "b", "c", 0, bad, &err), SFA_ECONFIG);
    assert_non_null(strstr(err, "bad.pem"));
    free(err);

    cJSON_Delete(h);
    cJSON_Delete(c);
    free(hdr);
    free(claims);
    free(sig);
    free(jwt);
    EVP_PKEY_free(key);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    free(path);
    free(bad);
}

/* 8.4: one function scrubs every server text the client hands upward. */
static void test_parse_scrub_secrets(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"Authorization: Bearer 00D000000000001!AQ4.x_y-z", "Authorization: Bearer [redacted]"},
        {"bad bearer abc.DEF/+=; retry", "bad bearer [redacted]; retry"},
        {"sid 00D000000000001AAA!ARgAQ9x\" end", "sid [redacted]\" end"},
        {"{\"m\":\"00D5g000004XYZa!AQ0AQH\"}", "{\"m\":\"[redacted]\"}"},
        {"org 00D000000000001AAA is fine", "org 00D000000000001AAA is fine"}, /* no '!' */
        {"Bearer", "Bearer"},
        {"x00D000000000001!abc", "x00D000000000001!abc"}, /* not at a word start */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = sf_scrub_secrets(cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
    assert_null(sf_scrub_secrets(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_scrub_secrets),
        cmocka_unit_test(test_limit_info),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_outcome_table),
        cmocka_unit_test(test_token_response),
        cmocka_unit_test(test_oauth_forms),
        cmocka_unit_test(test_jwt_audience),
        cmocka_unit_test(test_jwt_signature_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
