/* Emulator token endpoint and session handling (docs/salesforce.md#oauth): every OAuth grant
 * with its documented success shape and error pairs, RS256 JWTs signed with a key made
 * here, token expiry, INVALID_SESSION_ID and the versions list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    emu *e;
    EVP_PKEY *key;
    EVP_PKEY *other_key;
    char *pub_pem;
} fixture;

/* RSA key generation is slow: one pair for the whole group. */
static EVP_PKEY *g_key, *g_other_key;

static int group_setup(void **state)
{
    (void)state;
    g_key = EVP_RSA_gen(2048);
    g_other_key = EVP_RSA_gen(2048);
    return g_key && g_other_key ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_key);
    EVP_PKEY_free(g_other_key);
    return 0;
}

static char *pem_of(EVP_PKEY *key, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (cert)
        PEM_write_bio_X509(bio, cert);
    else
        PEM_write_bio_PUBKEY(bio, key);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = xstrndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

static char *self_signed_cert_pem(EVP_PKEY *key)
{
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sfagent-test", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    char *pem = pem_of(NULL, x);
    X509_free(x);
    return pem;
}

static int setup_with(void **state, bool cert)
{
    fixture *f = xcalloc(1, sizeof *f);
    f->key = g_key;
    f->other_key = g_other_key;
    f->pub_pem = cert ? self_signed_cert_pem(f->key) : pem_of(f->key, NULL);
    emu_options o = EMU_OPTIONS_INIT;
    o.jwt_public_key_pem = f->pub_pem;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_cert(void **state)
{
    return setup_with(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    time_set_override(0);
    emu_stop(f->e);
    free(f->pub_pem);
    free(f);
    return 0;
}

static void assert_oauth_error(const eh_response *r, const char *error, const char *desc)
{
    assert_int_equal(r->status, 400);
    assert_non_null(r->json);
    assert_string_equal(json_str(r->json, "error"), error);
    assert_string_equal(json_str(r->json, "error_description"), desc);
}

static void assert_rest_error(const eh_response *r, long status, const char *code,
                              const char *message)
{
    assert_int_equal(r->status, status);
    assert_true(cJSON_IsArray(r->json));
    const cJSON *e0 = cJSON_GetArrayItem(r->json, 0);
    assert_string_equal(json_str(e0, "errorCode"), code);
    if (message)
        assert_string_equal(json_str(e0, "message"), message);
}

static const char password_form[] = "grant_type=password&client_id=sfagent-test-client&"
                                    "client_secret=sfagent-test-secret&username=agent%40"
                                    "example.com&password=password";

static void test_password_grant_success_shape(void **state)
{
    fixture *f = *state;
    eh_response r;
    assert_int_equal(eh_token_request(f->e, password_form, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    const char *tok = json_str(r.json, "access_token");
    assert_non_null(tok);
    assert_non_null(strchr(tok, '!'));
    assert_string_equal(json_str(r.json, "instance_url"), emu_base_url(f->e));
    assert_string_equal(json_str(r.json, "token_type"), "Bearer");
    const char *id = json_str(r.json, "id");
    char *prefix = xasprintf("%s/id/00D", emu_base_url(f->e));
    assert_true(id && strncmp(id, prefix, strlen(prefix)) == 0);
    free(prefix);
    const char *issued = json_str(r.json, "issued_at");
    assert_non_null(issued);
    long long ms = strtoll(issued, NULL, 10);
    assert_true(ms > 1600000000000LL); /* milliseconds, not seconds */
    /* signature = base64(HMAC-SHA256(secret, id + issued_at)) */
    char *msg = xasprintf("%s%s", id, issued);
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "sfagent-test-secret", 19, (unsigned char *)msg, strlen(msg), mac, &n);
    unsigned char b64[64];
    EVP_EncodeBlock(b64, mac, (int)n);
    assert_string_equal(json_str(r.json, "signature"), (char *)b64);
    free(msg);
    assert_null(cJSON_GetObjectItem(r.json, "refresh_token"));
    assert_null(cJSON_GetObjectItem(r.json, "expires_in"));
    eh_response_free(&r);
}

static void test_password_grant_errors(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_token_request(f->e,
                     "grant_type=password&client_id=sfagent-test-client&client_secret=sfagent-"
                     "test-secret&username=agent%40example.com&password=wrong",
                     NULL, NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "authentication failure");
    eh_response_free(&r);
    eh_token_request(f->e,
                     "grant_type=password&client_id=nope&client_secret=sfagent-test-secret&"
                     "username=agent%40example.com&password=password",
                     NULL, NULL, &r);
    assert_oauth_error(&r, "invalid_client_id", "client identifier invalid");
    eh_response_free(&r);
    eh_token_request(f->e,
                     "grant_type=password&client_id=sfagent-test-client&client_secret=bad&"
                     "username=agent%40example.com&password=password",
                     NULL, NULL, &r);
    assert_oauth_error(&r, "invalid_client", "invalid client credentials");
    eh_response_free(&r);
    eh_token_request(f->e, "grant_type=magic", NULL, NULL, &r);
    assert_oauth_error(&r, "unsupported_grant_type", "grant type not supported");
    eh_response_free(&r);
}

static void test_refresh_grant(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_token_request(f->e,
                     "grant_type=refresh_token&client_id=sfagent-test-client&client_secret="
                     "sfagent-test-secret&refresh_token=sfagent-test-refresh",
                     NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(json_str(r.json, "access_token"));
    assert_string_equal(json_str(r.json, "scope"), "id api refresh_token");
    assert_null(cJSON_GetObjectItem(r.json, "refresh_token")); /* no rotation */
    eh_response_free(&r);
    eh_token_request(f->e,
                     "grant_type=refresh_token&client_id=sfagent-test-client&refresh_token=old",
                     NULL, NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "expired access/refresh token");
    eh_response_free(&r);
}

static void test_client_credentials_body_and_basic(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_token_request(f->e,
                     "grant_type=client_credentials&client_id=sfagent-test-client&client_"
                     "secret=sfagent-test-secret",
                     NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(json_str(r.json, "access_token"));
    eh_response_free(&r);
    eh_token_request(f->e, "grant_type=client_credentials", "sfagent-test-client",
                     "sfagent-test-secret", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(json_str(r.json, "signature"));
    eh_response_free(&r);
    eh_token_request(f->e, "grant_type=client_credentials", "sfagent-test-client", "wrong", &r);
    assert_oauth_error(&r, "invalid_client", "invalid client credentials");
    eh_response_free(&r);
}

/* ---- JWT ---- */

static void b64url(strbuf *sb, const unsigned char *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = in[i] << 16;
        if (i + 1 < n)
            v |= in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        strbuf_addc(sb, t[(v >> 18) & 63]);
        strbuf_addc(sb, t[(v >> 12) & 63]);
        if (i + 1 < n)
            strbuf_addc(sb, t[(v >> 6) & 63]);
        if (i + 2 < n)
            strbuf_addc(sb, t[v & 63]);
    }
}

static char *make_jwt(EVP_PKEY *key, const char *iss, const char *sub, const char *aud,
                      long long exp)
{
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", iss);
    cJSON_AddStringToObject(claims, "sub", sub);
    cJSON_AddStringToObject(claims, "aud", aud);
    cJSON_AddNumberToObject(claims, "exp", (double)exp);
    char *c = json_print(claims);
    cJSON_Delete(claims);
    const char *h = "{\"alg\":\"RS256\"}";
    strbuf sb = STRBUF_INIT;
    b64url(&sb, (const unsigned char *)h, strlen(h));
    strbuf_addc(&sb, '.');
    b64url(&sb, (const unsigned char *)c, strlen(c));
    free(c);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t sl = sizeof sig;
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)sb.buf, sb.len);
    EVP_MD_CTX_free(ctx);
    strbuf_addc(&sb, '.');
    b64url(&sb, sig, sl);
    return strbuf_detach(&sb);
}

static void jwt_request(emu *e, const char *jwt, eh_response *r)
{
    char *form = xasprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&"
                           "assertion=%s",
                           jwt);
    eh_token_request(e, form, NULL, NULL, r);
    free(form);
}

static long long now_s(void)
{
    return (long long)(time_now_ms() / 1000);
}

static void test_jwt_bearer_success(void **state)
{
    fixture *f = *state;
    const char *auds[] = {"https://login.salesforce.com", "https://test.salesforce.com",
                          emu_base_url(f->e)};
    for (size_t i = 0; i < 3; i++) {
        char *jwt =
            make_jwt(f->key, "sfagent-test-client", "agent@example.com", auds[i], now_s() + 180);
        eh_response r;
        jwt_request(f->e, jwt, &r);
        assert_int_equal(r.status, 200);
        const char *tok = json_str(r.json, "access_token");
        assert_non_null(tok);
        assert_string_equal(json_str(r.json, "token_type"), "Bearer");
        assert_non_null(json_str(r.json, "scope"));
        assert_null(cJSON_GetObjectItem(r.json, "refresh_token"));
        eh_response lim;
        eh_request(f->e, "GET", "/services/data/v62.0/limits", tok, NULL, &lim);
        assert_int_equal(lim.status, 200);
        eh_response_free(&lim);
        eh_response_free(&r);
        free(jwt);
    }
}

static void test_jwt_bearer_rejections(void **state)
{
    fixture *f = *state;
    struct {
        EVP_PKEY *key;
        const char *iss, *sub, *aud;
        long long exp;
        const char *error, *desc;
    } cases[] = {
        {f->other_key, "sfagent-test-client", "agent@example.com", "https://login.salesforce.com",
         now_s() + 100, "invalid_grant", "invalid assertion"},
        {f->key, "sfagent-test-client", "agent@example.com", "https://evil.example.com",
         now_s() + 100, "invalid_grant", "audience is invalid"},
        {f->key, "sfagent-test-client", "agent@example.com", "https://login.salesforce.com",
         now_s() - 600, "invalid_grant", "invalid assertion"},
        {f->key, "other-client", "agent@example.com", "https://login.salesforce.com", now_s() + 100,
         "invalid_client_id", "client identifier invalid"},
        {f->key, "sfagent-test-client", "someone@example.com", "https://login.salesforce.com",
         now_s() + 100, "invalid_grant", "user hasn't approved this consumer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *jwt = make_jwt(cases[i].key, cases[i].iss, cases[i].sub, cases[i].aud, cases[i].exp);
        eh_response r;
        jwt_request(f->e, jwt, &r);
        assert_oauth_error(&r, cases[i].error, cases[i].desc);
        eh_response_free(&r);
        free(jwt);
    }
    eh_response r;
    jwt_request(f->e, "not.a.jwt", &r);
    assert_oauth_error(&r, "invalid_grant", "invalid assertion");
    eh_response_free(&r);
}

/* ---- sessions ---- */

static void test_missing_or_bad_token_is_invalid_session(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_request(f->e, "GET", "/services/data/v62.0/sobjects", NULL, NULL, &r);
    assert_rest_error(&r, 401, "INVALID_SESSION_ID", "Session expired or invalid");
    eh_response_free(&r);
    eh_request(f->e, "GET", "/services/data/v62.0/sobjects", "00Dxx!garbage", NULL, &r);
    assert_rest_error(&r, 401, "INVALID_SESSION_ID", "Session expired or invalid");
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(f->e), 0); /* rejected calls are not counted */
}

static void test_token_expires_after_ttl(void **state)
{
    fixture *f = *state;
    char *tok = eh_login(f->e);
    assert_non_null(tok);
    eh_response r;
    eh_request(f->e, "GET", "/services/data/v62.0/limits", tok, NULL, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    /* Default TTL is 7200 s: jump the shared clock seam past it. */
    time_set_override(time_now_ms() + 7201 * 1000LL);
    eh_request(f->e, "GET", "/services/data/v62.0/limits", tok, NULL, &r);
    assert_rest_error(&r, 401, "INVALID_SESSION_ID", NULL);
    eh_response_free(&r);
    time_set_override(0);
    free(tok);
}

static void test_expire_tokens_api_and_endpoint(void **state)
{
    fixture *f = *state;
    char *tok = eh_login(f->e);
    emu_expire_tokens(f->e);
    eh_response r;
    eh_request(f->e, "GET", "/services/data/v62.0/limits", tok, NULL, &r);
    assert_int_equal(r.status, 401);
    eh_response_free(&r);
    free(tok);
    tok = eh_login(f->e);
    eh_request(f->e, "POST", "/__emulator/expire-tokens", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    eh_request(f->e, "GET", "/services/data/v62.0/limits", tok, NULL, &r);
    assert_int_equal(r.status, 401);
    eh_response_free(&r);
    free(tok);
}

static void test_versions_list_and_retired_versions(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_request(f->e, "GET", "/services/data/", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsArray(r.json));
    bool found = false;
    const cJSON *v;
    cJSON_ArrayForEach(v, r.json)
    {
        if (json_str(v, "version") && strcmp(json_str(v, "version"), "62.0") == 0) {
            found = true;
            assert_string_equal(json_str(v, "label"), "Winter '25");
            assert_string_equal(json_str(v, "url"), "/services/data/v62.0");
        }
    }
    assert_true(found);
    char *lim = eh_header(&r, "Sforce-Limit-Info");
    assert_null(lim); /* the versions list carries no usage header */
    eh_response_free(&r);
    char *tok = eh_login(f->e);
    eh_request(f->e, "GET", "/services/data/v20.0/limits", tok, NULL, &r);
    assert_int_equal(r.status, 410);
    eh_response_free(&r);
    eh_request(f->e, "GET", "/services/data/v45.0/limits", tok, NULL, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    eh_request(f->e, "GET", "/services/data/v66.0/", tok, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "sobjects"), "/services/data/v66.0/sobjects");
    eh_response_free(&r);
    free(tok);
}

/* The Identity URL from the token response answers who is logged in (Bearer token). */
static void test_identity_url(void **state)
{
    fixture *f = *state;
    eh_response r;
    assert_int_equal(eh_token_request(f->e, password_form, NULL, NULL, &r), 0);
    char *token = xstrdup(json_str(r.json, "access_token"));
    char *id = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    long usage = emu_api_usage(f->e);

    assert_int_equal(eh_request(f->e, "GET", id, token, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "id"), id);
    const char *user = json_str(r.json, "user_id"), *org = json_str(r.json, "organization_id");
    assert_true(user && org && strlen(user) == 18 && strlen(org) == 18);
    char *tail = xasprintf("/id/%s/%s", org, user);
    assert_non_null(strstr(id, tail));
    free(tail);
    assert_string_equal(json_str(r.json, "username"), "agent@example.com");
    assert_string_equal(json_str(r.json, "email"), "agent@example.com");
    assert_non_null(json_str(r.json, "display_name"));
    assert_non_null(json_str(r.json, "nick_name"));
    assert_true(json_bool(r.json, "asserted_user", false));
    assert_true(json_bool(r.json, "active", false));
    assert_string_equal(json_str(r.json, "user_type"), "STANDARD");
    assert_non_null(json_str(r.json, "language"));
    assert_non_null(json_str(r.json, "locale"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r.json, "utcOffset")));
    assert_non_null(json_str(r.json, "last_modified_date"));
    const cJSON *urls = cJSON_GetObjectItem(r.json, "urls");
    char *rest = xasprintf("%s/services/data/v{version}/", emu_base_url(f->e));
    assert_string_equal(json_str(urls, "rest"), rest); /* documented placeholder */
    free(rest);
    assert_non_null(json_str(urls, "sobjects"));
    assert_non_null(json_str(urls, "query"));
    eh_response_free(&r);

    char *latest = xasprintf("%s?version=latest", id);
    assert_int_equal(eh_request(f->e, "GET", latest, token, NULL, &r), 0);
    free(latest);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(json_str(cJSON_GetObjectItem(r.json, "urls"), "rest"), "/v62.0/"));
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(f->e), usage); /* not a /services/data call */

    assert_int_equal(eh_request(f->e, "GET", id, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.body, "Missing_OAuth_Token");
    eh_response_free(&r);
    assert_int_equal(eh_request(f->e, "GET", id, "00Dbogus!token", NULL, &r), 0);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.body, "Bad_OAuth_Token");
    eh_response_free(&r);
    char *other = xstrdup(id);
    other[strlen(other) - 4] = other[strlen(other) - 4] == 'A' ? 'B' : 'A'; /* another user */
    assert_int_equal(eh_request(f->e, "GET", other, token, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "Bad_Id");
    eh_response_free(&r);
    free(other);
    free(id);
    free(token);
}

static void test_jwt_with_certificate(void **state)
{
    fixture *f = *state;
    char *jwt = make_jwt(f->key, "sfagent-test-client", "agent@example.com",
                         "https://login.salesforce.com", now_s() + 120);
    eh_response r;
    jwt_request(f->e, jwt, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    free(jwt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_password_grant_success_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_grant_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_credentials_body_and_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_bearer_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_bearer_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_with_certificate, setup_cert, teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_bad_token_is_invalid_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_expires_after_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_tokens_api_and_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_list_and_retired_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_url, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
