/* The emulator over HTTPS (emu_options.tls_cert_pem / --tls-cert): a client that verifies
 * certificates, as sfagent and simple-salesforce do, logs in and writes through it. The
 * certificate is made here with OpenSSL for 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "tls_cert.h"
#include "util/alloc.h"
#include "util/json.h"

#include <curl/curl.h>
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

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-emu-tls-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    tls_cert_make(&f->cert_pem, &f->key_pem);
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
