/* The emulator over HTTPS (emu_options.tls_cert_pem / --tls-cert): a client that verifies
 * certificates, as sfagent and simple-salesforce do, logs in and writes through it. The
 * certificate is made here with OpenSSL for 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
    char *ca_file;
    char *cert_pem;
    char *key_pem;
} fixture;

static char *bio_text(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = xstrndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-emu-tls-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2); /* v3: extensions (the IP SAN) need it */
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    f->cert_pem = bio_text(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    f->key_pem = bio_text(b);
    X509_free(x);
    EVP_PKEY_free(key);
    f->ca_file = xasprintf("%s/ca.pem", f->dir);
    FILE *fp = fopen(f->ca_file, "w");
    if (!fp)
        return -1;
    fputs(f->cert_pem, fp);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->ca_file);
    rmdir(f->dir);
    free(f->ca_file);
    free(f->cert_pem);
    free(f->key_pem);
    free(f);
    return 0;
}

static void test_https_with_verification(void **state)
{
    fixture *f = *state;
    emu_options o = EMU_OPTIONS_INIT;
    o.tls_cert_pem = f->cert_pem;
    o.tls_key_pem = f->key_pem;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, &o), 0);
    assert_memory_equal(emu_base_url(e), "https://127.0.0.1:", 18);
    eh_request_opts login = {.method = "POST",
                             .path = "/services/oauth2/token",
                             .content_type = "application/x-www-form-urlencoded",
                             .ca_file = f->ca_file,
                             .body = "grant_type=password&client_id=sfagent-test-client&client_"
                                     "secret=sfagent-test-secret&username=agent%40example.com&"
                                     "password=password"};
    eh_response r;
    assert_int_equal(eh_request_ex(e, &login, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "instance_url"), emu_base_url(e));
    char *tok = xstrdup(json_str(r.json, "access_token"));
    eh_response_free(&r);
    eh_request_opts create = {.method = "POST",
                              .path = "/services/data/v62.0/sobjects/Case/",
                              .token = tok,
                              .body = "{\"Subject\":\"over TLS\"}",
                              .ca_file = f->ca_file};
    assert_int_equal(eh_request_ex(e, &create, &r), 0);
    assert_int_equal(r.status, 201);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(e, "Case", false), 1);
    /* without the CA the certificate is rejected: verification is really on */
    create.ca_file = NULL;
    assert_int_not_equal(eh_request_ex(e, &create, &r), 0);
    eh_response_free(&r);
    /* and plain HTTP to the TLS port gets no HTTP answer */
    char *plain = xasprintf("http://127.0.0.1:%u/services/data/", (unsigned)emu_port(e));
    int rc = eh_request(NULL, "GET", plain, NULL, NULL, &r);
    assert_true(rc != 0 || r.status != 200);
    eh_response_free(&r);
    free(plain);
    free(tok);
    emu_stop(e);
}

static void test_tls_needs_cert_and_key(void **state)
{
    fixture *f = *state;
    emu_options o = EMU_OPTIONS_INIT;
    o.tls_cert_pem = f->cert_pem;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, &o), -1);
    assert_null(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_https_with_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_needs_cert_and_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
