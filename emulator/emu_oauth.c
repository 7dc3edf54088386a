/* POST /services/oauth2/token: the password, refresh_token, client_credentials and JWT
 * bearer grants of docs/salesforce.md#oauth, with Salesforce's success shapes and its
 * {"error","error_description"} failures. JWTs are verified (RS256) with libcrypto against
 * the configured public key or certificate. Runs with the lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JWT_SKEW_S 180 /* docs/salesforce.md#oauth: exp within 3 minutes */

static void oauth_error(emu_resp *resp, const char *error, const char *description)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "error_description", description);
    emu_resp_json(resp, 400, o);
}

/* Form field from an x-www-form-urlencoded body (decoded, caller frees) or NULL. */
static char *form_get(const char *body, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *raw = xstrndup(p + nlen + 1, len - nlen - 1);
            char *v = emu_url_decode(raw, true);
            free(raw);
            return v;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Standard base64 (with padding) via libcrypto; caller frees. */
static char *b64(const unsigned char *in, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

/* base64 or base64url without padding -> bytes (caller frees); NULL if malformed. */
static unsigned char *b64_decode(const char *in, size_t n, size_t *out_len, bool url)
{
    char *s = xmalloc(n + 4);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (url && (c == '+' || c == '/'))
            goto bad;
        s[k++] = url && c == '-' ? '+' : url && c == '_' ? '/' : c;
    }
    while (k % 4)
        s[k++] = '=';
    unsigned char *out = xmalloc(k / 4 * 3 + 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)k);
    if (got < 0) {
        free(out);
        goto bad;
    }
    size_t pad = 0;
    for (size_t i = k; i > 0 && s[i - 1] == '='; i--)
        pad++;
    *out_len = (size_t)got - pad;
    out[*out_len] = '\0';
    free(s);
    return out;
bad:
    free(s);
    return NULL;
}

static void token_success(emu *e, const emu_req *req, emu_resp *resp, const char *scope,
                          bool with_signature)
{
    (void)req;
    char *token = emu_token_issue(e);
    char *id = xasprintf("%s/id/%s/%s", e->base_url, e->org_id, e->user_id);
    char issued[24];
    snprintf(issued, sizeof issued, "%lld", (long long)time_now_ms());
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", token);
    if (scope)
        cJSON_AddStringToObject(o, "scope", scope);
    cJSON_AddStringToObject(o, "instance_url", e->base_url);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    if (with_signature) {
        /* signature = base64(HMAC-SHA256(client_secret, id + issued_at))
         * (docs/salesforce.md#token-response) */
        char *msg = xasprintf("%s%s", id, issued);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), e->client_secret, (int)strlen(e->client_secret),
             (const unsigned char *)msg, strlen(msg), mac, &mac_len);
        char *sig = b64(mac, mac_len);
        cJSON_AddStringToObject(o, "issued_at", issued);
        cJSON_AddStringToObject(o, "signature", sig);
        free(sig);
        free(msg);
    }
    emu_resp_json(resp, 200, o);
    emu_resp_header(resp, "Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private");
    free(token);
    free(id);
}

/* client_id / client_secret checks shared by the grants; true when both are right. */
static bool client_ok(emu *e, const char *id, const char *secret, bool secret_required,
                      emu_resp *resp)
{
    if (!str_eq(id, e->client_id)) {
        oauth_error(resp, "invalid_client_id", "client identifier invalid");
        return false;
    }
    if ((secret || secret_required) && !str_eq(secret, e->client_secret)) {
        oauth_error(resp, "invalid_client", "invalid client credentials");
        return false;
    }
    return true;
}

static void grant_password(emu *e, const emu_req *req, emu_resp *resp)
{
    char *cid = form_get(req->body, "client_id"), *sec = form_get(req->body, "client_secret");
    char *user = form_get(req->body, "username"), *pw = form_get(req->body, "password");
    if (client_ok(e, cid, sec, true, resp)) {
        if (str_eq(user, e->username) && str_eq(pw, e->password))
            token_success(e, req, resp, NULL, true);
        else
            oauth_error(resp, "invalid_grant", "authentication failure");
    }
    free(cid);
    free(sec);
    free(user);
    free(pw);
}

static void grant_refresh(emu *e, const emu_req *req, emu_resp *resp)
{
    char *cid = form_get(req->body, "client_id"), *sec = form_get(req->body, "client_secret");
    char *rt = form_get(req->body, "refresh_token");
    if (client_ok(e, cid, sec, false, resp)) {
        /* No new refresh token: rotation is off, as in a default connected app. */
        if (str_eq(rt, e->refresh_token))
            token_success(e, req, resp, "id api refresh_token", true);
        else
            oauth_error(resp, "invalid_grant", "expired access/refresh token");
    }
    free(cid);
    free(sec);
    free(rt);
}

/* HTTP Basic credentials "id:secret" (simple-salesforce's client-credentials form). */
static bool basic_credentials(const emu_req *req, char **id, char **secret)
{
    const char *h = emu_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    size_t n = 0;
    unsigned char *dec = b64_decode(h + 6, strlen(h + 6), &n, false);
    char *colon = dec ? memchr(dec, ':', n) : NULL;
    if (!colon) {
        free(dec);
        return false;
    }
    *id = xstrndup((char *)dec, (size_t)(colon - (char *)dec));
    *secret = xstrdup(colon + 1);
    free(dec);
    return true;
}

static void grant_client_credentials(emu *e, const emu_req *req, emu_resp *resp)
{
    char *cid = NULL, *sec = NULL;
    if (!basic_credentials(req, &cid, &sec)) {
        cid = form_get(req->body, "client_id");
        sec = form_get(req->body, "client_secret");
    }
    if (client_ok(e, cid, sec, true, resp))
        token_success(e, req, resp, "api", true);
    free(cid);
    free(sec);
}

/* ---- JWT bearer ---- */

static EVP_PKEY *load_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (key)
        return key;
    bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (cert) {
        key = X509_get_pubkey(cert);
        X509_free(cert);
    }
    return key;
}

static bool rs256_verify(const char *pem, const char *input, size_t input_len,
                         const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY *key = pem ? load_key(pem) : NULL;
    EVP_MD_CTX *ctx = key ? EVP_MD_CTX_new() : NULL;
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

/* Decode and verify "header.claims.signature"; claims (caller frees) or NULL. */
static cJSON *jwt_verified_claims(emu *e, const char *jwt)
{
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return NULL;
    size_t hl = 0, cl = 0, sl = 0;
    unsigned char *h = b64_decode(jwt, (size_t)(dot1 - jwt), &hl, true);
    unsigned char *c = b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl, true);
    unsigned char *s = b64_decode(dot2 + 1, strlen(dot2 + 1), &sl, true);
    cJSON *header = h ? cJSON_Parse((char *)h) : NULL;
    cJSON *claims = NULL;
    if (header && str_eq(json_str(header, "alg"), "RS256") && c && s &&
        rs256_verify(e->jwt_key_pem, jwt, (size_t)(dot2 - jwt), s, sl))
        claims = cJSON_Parse((char *)c);
    cJSON_Delete(header);
    free(h);
    free(c);
    free(s);
    if (!cJSON_IsObject(claims)) {
        cJSON_Delete(claims);
        return NULL;
    }
    return claims;
}

static bool aud_ok(emu *e, const char *aud)
{
    if (!aud)
        return false;
    size_t n = strlen(aud);
    if (n && aud[n - 1] == '/')
        n--;
    static const char *const fixed[] = {"https://login.salesforce.com",
                                        "https://test.salesforce.com"};
    for (size_t i = 0; i < 2; i++)
        if (strlen(fixed[i]) == n && strncmp(aud, fixed[i], n) == 0)
            return true;
    return strlen(e->base_url) == n && strncmp(aud, e->base_url, n) == 0;
}

static bool claim_aud_ok(emu *e, const cJSON *claims)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    if (cJSON_IsString(aud))
        return aud_ok(e, aud->valuestring);
    const cJSON *item;
    cJSON_ArrayForEach(item,
                       aud) if (cJSON_IsString(item) && aud_ok(e, item->valuestring)) return true;
    return false;
}

static bool claim_exp_ok(const cJSON *claims)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    double v = -1;
    if (cJSON_IsNumber(exp))
        v = exp->valuedouble;
    else if (cJSON_IsString(exp)) {
        char *end = NULL;
        v = strtod(exp->valuestring, &end);
        if (!end || *end)
            v = -1;
    }
    return v > 0 && (int64_t)v >= time_now_ms() / 1000 - JWT_SKEW_S;
}

static void grant_jwt(emu *e, const emu_req *req, emu_resp *resp)
{
    char *assertion = form_get(req->body, "assertion");
    cJSON *claims = assertion ? jwt_verified_claims(e, assertion) : NULL;
    /* "prn" is the legacy name for "sub" and wins when both are present. */
    const char *sub = json_str(claims, "prn") ? json_str(claims, "prn") : json_str(claims, "sub");
    if (!claims)
        oauth_error(resp, "invalid_grant", "invalid assertion");
    else if (!str_eq(json_str(claims, "iss"), e->client_id))
        oauth_error(resp, "invalid_client_id", "client identifier invalid");
    else if (!claim_aud_ok(e, claims))
        oauth_error(resp, "invalid_grant", "audience is invalid");
    else if (!claim_exp_ok(claims))
        oauth_error(resp, "invalid_grant", "invalid assertion");
    else if (!str_eq(sub, e->username))
        oauth_error(resp, "invalid_grant", "user hasn't approved this consumer");
    else
        token_success(e, req, resp, "web openid api id", false);
    cJSON_Delete(claims);
    free(assertion);
}

void emu_handle_token(emu *e, const emu_req *req, emu_resp *resp)
{
    char *grant = req->body ? form_get(req->body, "grant_type") : NULL;
    if (str_eq(grant, "password"))
        grant_password(e, req, resp);
    else if (str_eq(grant, "refresh_token"))
        grant_refresh(e, req, resp);
    else if (str_eq(grant, "client_credentials"))
        grant_client_credentials(e, req, resp);
    else if (str_eq(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer"))
        grant_jwt(e, req, resp);
    else
        oauth_error(resp, "unsupported_grant_type", "grant type not supported");
    free(grant);
}
