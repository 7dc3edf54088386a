/* The reachability probe (sync/client/probe.c): connects without sending a byte of HTTP,
 * tells "down" from "up", and verifies TLS exactly as requests do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulator.h"
#include "tls_cert.h"
#include "sync/client/config_internal.h"
#include "sync/client/probe.h"
#include "util/alloc.h"

static sfa_config *config_for(const char *url, const char *ca)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\ntimeout = 5\n%s%s%s", url,
                           ca ? "ca_bundle = " : "", ca ? ca : "", ca ? "\n" : "");
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, text, "t.ini", &err) != SFA_OK)
        fail_msg("config: %s", err);
    free(text);
    return cfg;
}

/* A listening socket on an ephemeral loopback port. */
static int listen_any(unsigned short *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

/* Up: SFA_OK, and the server got a connection that carried no byte (no HTTP request). */
static void test_probe_connects_and_sends_nothing(void **state)
{
    (void)state;
    unsigned short port = 0;
    int ls = listen_any(&port);
    char *url = xasprintf("http://127.0.0.1:%u", (unsigned)port);
    sfa_config *cfg = config_for(url, NULL);
    char why[128];
    assert_int_equal(sync_probe_connect(cfg, NULL, why, sizeof why), SFA_OK);
    int c = accept(ls, NULL, NULL);
    assert_true(c >= 0);
    char buf[64];
    struct pollfd p = {c, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);        /* readable: closed by the probe */
    assert_int_equal(read(c, buf, sizeof buf), 0); /* EOF, not a request */
    close(c);
    close(ls);
    /* Down (nothing listens there any more): SFA_ENETWORK with curl's reason, no URL. */
    assert_int_equal(sync_probe_connect(cfg, NULL, why, sizeof why), SFA_ENETWORK);
    assert_null(strstr(why, "127.0.0.1"));
    assert_true(why[0] != '\0');
    sfa_config_free(cfg);
    free(url);
}

/* TLS: the handshake is verified as for requests. Trusted CA: SFA_OK; a certificate no
 * trusted CA signed: SFA_ETLS, never "offline". */
static void test_probe_verifies_tls(void **state)
{
    (void)state;
    char *cert = NULL, *key = NULL;
    tls_cert_make(&cert, &key);
    emu_options o = EMU_OPTIONS_INIT;
    o.tls_cert_pem = cert;
    o.tls_key_pem = key;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, &o), 0);
    char dir[] = "/tmp/sfa-probe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *ca = xasprintf("%s/ca.pem", dir);
    FILE *f = fopen(ca, "w");
    assert_non_null(f);
    fputs(cert, f);
    fclose(f);
    chmod(ca, 0644);
    sfa_config *trusted = config_for(emu_base_url(e), ca);
    assert_int_equal(sync_probe_connect(trusted, NULL, NULL, 0), SFA_OK);
    sfa_config *untrusted = config_for(emu_base_url(e), NULL);
    char why[128];
    assert_int_equal(sync_probe_connect(untrusted, NULL, why, sizeof why), SFA_ETLS);
    assert_int_equal(emu_request_count(e, NULL, NULL), 0); /* no HTTP request, ever */
    sfa_config_free(trusted);
    sfa_config_free(untrusted);
    emu_stop(e);
    unlink(ca);
    rmdir(dir);
    free(ca);
    free(cert);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_connects_and_sends_nothing),
        cmocka_unit_test(test_probe_verifies_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
