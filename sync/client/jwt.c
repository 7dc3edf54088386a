/* JWT bearer assertion for the OAuth 2.0 JWT bearer flow (docs/salesforce.md#oauth): header
 * {"alg":"RS256"}, claims {iss, sub, aud, exp}, each part base64url without padding,
 * signed with SHA-256 + RSA (PKCS#1 v1.5) through OpenSSL's EVP_DigestSign.
 *
 * Invariants:
 *   I1. exp is at most 3 minutes ahead: Salesforce refuses longer-lived assertions.
 *   I2. The private key never leaves this file's stack frames; OpenSSL's error strings are
 *       not passed on (they can quote key file contents on some versions).
 */
#include "sync/client/sf_client_internal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"

#define JWT_LIFETIME_S 180 /* I1 */

char *jwt_audience(const char *login_url)
{
    const char *host = strstr(login_url, "://");
    host = host ? host + 3 : login_url;
    size_t n = strcspn(host, ":/");
    static const char sfdc[] = ".salesforce.com";
    static const char sandbox[] = ".sandbox.my.salesforce.com";
    bool is_sfdc =
        n >= sizeof sfdc - 1 && strncmp(host + n - (sizeof sfdc - 1), sfdc, sizeof sfdc - 1) == 0;
    bool is_sandbox = (n == 19 && strncmp(host, "test.salesforce.com", 19) == 0) ||
                      (n >= sizeof sandbox - 1 &&
                       strncmp(host + n - (sizeof sandbox - 1), sandbox, sizeof sandbox - 1) == 0);
    if (is_sandbox)
        return xstrdup("https://test.salesforce.com");
    if (is_sfdc)
        return xstrdup("https://login.salesforce.com");
    return xstrdup(login_url);
}

char *jwt_base64url(const unsigned char *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc(len / 3 * 4 + 5);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < len ? (unsigned)data[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static char *b64_json(const cJSON *j)
{
    char *text = json_print(j);
    char *b = jwt_base64url((const unsigned char *)text, strlen(text));
    free(text);
    return b;
}

static char *signing_input(const char *client_id, const char *username, const char *aud,
                           int64_t now_s)
{
    cJSON *hdr = cJSON_CreateObject();
    cJSON_AddStringToObject(hdr, "alg", "RS256");
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", client_id);
    cJSON_AddStringToObject(claims, "sub", username);
    cJSON_AddStringToObject(claims, "aud", aud);
    cJSON_AddNumberToObject(claims, "exp", (double)(now_s + JWT_LIFETIME_S));
    char *h = b64_json(hdr);
    char *c = b64_json(claims);
    char *in = xasprintf("%s.%s", h, c);
    free(h);
    free(c);
    cJSON_Delete(hdr);
    cJSON_Delete(claims);
    return in;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return key;
}

sfa_status jwt_build_assertion(char **out, const char *client_id, const char *username,
                               const char *aud, int64_t now_s, const char *key_pem_path,
                               char **errmsg)
{
    *out = NULL;
    sfa_status st = SFA_ECONFIG;
    char *input = NULL, *sig64 = NULL;
    unsigned char *sig = NULL;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *key = load_key(key_pem_path);
    if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        *errmsg = xasprintf("private_key_file %s: not a readable PEM RSA private key",
                            key_pem_path); /* I2 */
        goto out;
    }
    input = signing_input(client_id, username, aud, now_s);
    md = EVP_MD_CTX_new();
    size_t siglen = 0;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
        *errmsg = xstrdup("JWT signing failed (OpenSSL)");
        st = SFA_ERROR;
        goto out;
    }
    sig = xmalloc(siglen);
    if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
        *errmsg = xstrdup("JWT signing failed (OpenSSL)");
        st = SFA_ERROR;
        goto out;
    }
    sig64 = jwt_base64url(sig, siglen);
    *out = xasprintf("%s.%s", input, sig64);
    st = SFA_OK;
out:
    free(sig64);
    free(sig);
    free(input);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return st;
}
