/* Tests for sync/client/config.c: every key, defaults, environment overrides, secrets from files
 * (and their permission check), unknown sections/keys/variables, bad values, and the
 * loopback-only rule for plain http. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfagent/config.h"
#include "sfagent/error.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"

static char tmpdir[64];

static const char *const env_vars[] = {
    "SFAGENT_SALESFORCE_LOGIN_URL",
    "SFAGENT_SALESFORCE_PASSWORD",
    "SFAGENT_SALESFORCE_PASSWORD_FILE",
    "SFAGENT_SALESFORCE_TIMEOUT",
    "SFAGENT_SYNC_OBJECTS",
    "SFAGENT_SYNC_CONFLICT_POLICY",
    "SFAGENT_SALESFORCE_CLIENT_SECRET",
    "SFAGENT_SYNC_TYPO_KEY",
    "SFAGENT_SALESFORCE_AUTH",
    NULL,
};

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sfa-test-config-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    for (int i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    return 0;
}

/* Each test starts with none of our variables set, whatever the previous one did. */
static int clear_env(void **state)
{
    (void)state;
    for (int i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    char *cmd[] = {"a.ini", "secret", "open", "key.pem", NULL};
    for (int i = 0; cmd[i]; i++) {
        char *p = xasprintf("%s/%s", tmpdir, cmd[i]);
        unlink(p);
        free(p);
    }
    rmdir(tmpdir);
    return 0;
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

/* Load text; expect failure whose message contains want (and never leak). */
static void expect_error(const char *text, const char *want)
{
    sfa_config *cfg = NULL;
    char *err = NULL;
    sfa_status st = sync_config_load_string(&cfg, text, "t.ini", &err);
    assert_int_equal(st, SFA_ECONFIG);
    assert_null(cfg);
    assert_non_null(err);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
    free(err);
}

static sfa_config *load_ok(const char *text)
{
    sfa_config *cfg = NULL;
    char *err = NULL;
    sfa_status st = sync_config_load_string(&cfg, text, "t.ini", &err);
    if (st != SFA_OK)
        fail_msg("unexpected error: %s", err);
    return cfg;
}

static void test_config_defaults(void **state)
{
    (void)state;
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, NULL), SFA_OK);
    assert_string_equal(sync_config_login_url(cfg), "https://login.salesforce.com");
    assert_string_equal(sync_config_api_version(cfg), "62.0");
    assert_int_equal(sync_config_auth_flow(cfg), SYNC_AUTH_PASSWORD);
    assert_int_equal(sync_config_timeout_s(cfg), 30);
    assert_int_equal(sync_config_object_count(cfg), 2);
    assert_string_equal(sync_config_object(cfg, 0), "Case");
    assert_string_equal(sync_config_object(cfg, 1), "Contact");
    assert_null(sync_config_object(cfg, 2));
    assert_string_equal(sync_config_idempotency_field(cfg), "Sync_Key__c");
    assert_int_equal(sync_config_conflict_policy(cfg), SYNC_CONFLICT_LOCAL_WINS);
    assert_int_equal(sync_config_backoff_base_s(cfg), 2);
    assert_int_equal(sync_config_backoff_cap_s(cfg), 3600);
    assert_int_equal(sync_config_settle_s(cfg), 600); /* Salesforce's 10-minute request limit */
    assert_int_equal(sync_config_pull_settle_s(cfg), 2);
    assert_true(sync_config_api_limit_share(cfg) == 0.5);
    assert_null(sync_config_secret(cfg, SYNC_SECRET_PASSWORD));
    assert_int_equal(sync_config_max_response_bytes(cfg), 64 << 20);
    size_t n = 1;
    sync_config_allowed_hosts(cfg, &n);
    assert_int_equal(n, 0);
    assert_string_equal(sfa_config_get(cfg, "sync", "conflict_policy"), "local-wins");
    assert_null(sfa_config_get(cfg, "sync", "nope"));
    sfa_config_free(cfg);
}

static void test_config_every_key(void **state)
{
    (void)state;
    char *key = write_file("key.pem", "not really a key\n", 0600);
    char *text = xasprintf("[salesforce]\n"
                           "login_url = https://test.salesforce.com/\n"
                           "api_version = 61.0\n"
                           "auth = jwt\n"
                           "client_id = 3MVGabc\n"
                           "client_secret = s3cr3t\n"
                           "username = ops@example.com\n"
                           "password = pw\n"
                           "security_token = TOK\n"
                           "refresh_token = rt\n"
                           "private_key_file = %s\n"
                           "ca_bundle = /etc/ssl/certs/ca-certificates.crt\n"
                           "timeout = 12\n"
                           "; a comment\n"
                           "[sync]\n"
                           "objects = Case, Visit__c ,Contact\n"
                           "idempotency_field = Ext_Key__c\n"
                           "conflict_policy = manual\n"
                           "backoff_base = 5\n"
                           "backoff_cap = 600\n"
                           "settle_time = 30\n"
                           "pull_settle_time = 0\n"
                           "api_limit_share = 0.25\n",
                           key);
    sfa_config *cfg = load_ok(text);
    assert_string_equal(sync_config_login_url(cfg), "https://test.salesforce.com");
    assert_string_equal(sync_config_api_version(cfg), "61.0");
    assert_int_equal(sync_config_auth_flow(cfg), SYNC_AUTH_JWT);
    assert_string_equal(sfa_config_get(cfg, "salesforce", "client_id"), "3MVGabc");
    assert_string_equal(sfa_config_get(cfg, "salesforce", "username"), "ops@example.com");
    assert_string_equal(sfa_config_get(cfg, "salesforce", "private_key_file"), key);
    assert_string_equal(sfa_config_get(cfg, "salesforce", "ca_bundle"),
                        "/etc/ssl/certs/ca-certificates.crt");
    /* Secrets are never handed out by the public getter. */
    assert_null(sfa_config_get(cfg, "salesforce", "client_secret"));
    assert_null(sfa_config_get(cfg, "salesforce", "password"));
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_CLIENT_SECRET), "s3cr3t");
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_PASSWORD), "pw");
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_SECURITY_TOKEN), "TOK");
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_REFRESH_TOKEN), "rt");
    assert_int_equal(sync_config_timeout_s(cfg), 12);
    assert_int_equal(sync_config_object_count(cfg), 3);
    assert_string_equal(sync_config_object(cfg, 1), "Visit__c");
    assert_string_equal(sync_config_idempotency_field(cfg), "Ext_Key__c");
    assert_int_equal(sync_config_conflict_policy(cfg), SYNC_CONFLICT_MANUAL);
    assert_int_equal(sync_config_backoff_base_s(cfg), 5);
    assert_int_equal(sync_config_backoff_cap_s(cfg), 600);
    assert_int_equal(sync_config_settle_s(cfg), 30);
    assert_int_equal(sync_config_pull_settle_s(cfg), 0);
    assert_true(sync_config_api_limit_share(cfg) == 0.25);
    sfa_config_free(cfg);
    free(text);
    free(key);
}

static void test_config_file_and_env_override(void **state)
{
    (void)state;
    char *path = write_file("a.ini",
                            "[salesforce]\ntimeout = 10\nauth = password\n[sync]\n"
                            "conflict_policy = server-wins\n",
                            0644);
    setenv("SFAGENT_SALESFORCE_TIMEOUT", "99", 1);
    setenv("SFAGENT_SYNC_OBJECTS", "Account", 1);
    setenv("SFAGENT_SALESFORCE_AUTH", "client_credentials", 1);
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, path), SFA_OK);
    assert_int_equal(sync_config_timeout_s(cfg), 99);
    assert_int_equal(sync_config_auth_flow(cfg), SYNC_AUTH_CLIENT_CREDENTIALS);
    assert_int_equal(sync_config_object_count(cfg), 1);
    assert_string_equal(sync_config_object(cfg, 0), "Account");
    assert_int_equal(sync_config_conflict_policy(cfg), SYNC_CONFLICT_SERVER_WINS);
    sfa_config_free(cfg);
    /* A bad override names the variable. */
    setenv("SFAGENT_SALESFORCE_TIMEOUT", "-3", 1);
    assert_int_equal(sfa_config_load(&cfg, path), SFA_ECONFIG);
    const char *err = sfa_error_last()->message;
    assert_non_null(strstr(err, "SFAGENT_SALESFORCE_TIMEOUT"));
    assert_non_null(strstr(err, "timeout"));
    free(path);
}

static void test_config_secret_files(void **state)
{
    (void)state;
    char *secret = write_file("secret", "hunter2\n", 0600);
    char *text = xasprintf("[salesforce]\npassword_file = %s\n", secret);
    sfa_config *cfg = load_ok(text);
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_PASSWORD), "hunter2");
    assert_string_equal(sfa_config_get(cfg, "salesforce", "password_file"), secret);
    sfa_config_free(cfg);
    free(text);

    /* 0644: readable by others -> refused, naming the key, never the content. */
    char *open_ = write_file("open", "hunter3\n", 0644);
    text = xasprintf("[salesforce]\nclient_secret_file = %s\n", open_);
    char *err = NULL;
    assert_int_equal(sync_config_load_string(&cfg, text, "t.ini", &err), SFA_ECONFIG);
    assert_non_null(strstr(err, "client_secret"));
    assert_non_null(strstr(err, "t.ini:2"));
    assert_null(strstr(err, "hunter3"));
    free(err);
    free(text);

    /* The environment may name the file too, and wins over the file's plain value. */
    setenv("SFAGENT_SALESFORCE_PASSWORD_FILE", secret, 1);
    cfg = load_ok("[salesforce]\npassword = fromfile\n");
    assert_string_equal(sync_config_secret(cfg, SYNC_SECRET_PASSWORD), "hunter2");
    sfa_config_free(cfg);
    setenv("SFAGENT_SALESFORCE_PASSWORD_FILE", open_, 1);
    expect_error("", "SFAGENT_SALESFORCE_PASSWORD_FILE");
    setenv("SFAGENT_SALESFORCE_PASSWORD", "x", 1);
    expect_error("", "both");
    unsetenv("SFAGENT_SALESFORCE_PASSWORD");
    unsetenv("SFAGENT_SALESFORCE_PASSWORD_FILE");
    /* The JWT key follows the same rule. */
    char *key = write_file("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0640);
    text = xasprintf("[salesforce]\nauth = jwt\nprivate_key_file = %s\n", key);
    expect_error(text, "t.ini:3: salesforce.private_key_file");
    free(text);
    free(key);
    /* Both forms in one file. */
    text = xasprintf("[salesforce]\npassword = a\npassword_file = %s\n", secret);
    expect_error(text, "t.ini:3");
    free(text);
    free(secret);
    free(open_);
}

static void test_config_unknown_keys(void **state)
{
    (void)state;
    expect_error("[salesforce]\nlogin_url = https://x.my.salesforce.com\npasword = x\n",
                 "t.ini:3: unknown key 'pasword'");
    expect_error("\n[salesfroce]\nusername = a\n", "t.ini:3: unknown section [salesfroce]");
    expect_error("[sync]\nobjects = Case\ntimeout = 3\n", "unknown key 'timeout'");
    expect_error("[sync]\nthis line has no equals sign\n", "t.ini:2");
    expect_error("[sync]\nbackoff_base = 1\nbackoff_base = 2\n", "set twice");
    /* A value longer than libinih's line buffer must not be cut short silently. */
    char longline[400];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "[sync]\nidempotency_field = ", 27);
    memcpy(longline + sizeof longline - 2, "\n", 2);
    expect_error(longline, "t.ini:2: line longer than");
    setenv("SFAGENT_SYNC_TYPO_KEY", "1", 1);
    expect_error("", "SFAGENT_SYNC_TYPO_KEY");
    unsetenv("SFAGENT_SYNC_TYPO_KEY");
}

static void test_config_bad_values(void **state)
{
    (void)state;
    expect_error("[salesforce]\nauth = oauth\n", "salesforce.auth");
    expect_error("[salesforce]\ntimeout = 0\n", "salesforce.timeout");
    expect_error("[salesforce]\ntimeout = 10s\n", "salesforce.timeout");
    expect_error("[salesforce]\ntimeout = \n", "salesforce.timeout");
    expect_error("[salesforce]\napi_version = 62\n", "salesforce.api_version");
    expect_error("[salesforce]\napi_version = v62.0\n", "salesforce.api_version");
    expect_error("[salesforce]\nlogin_url = login.salesforce.com\n", "salesforce.login_url");
    expect_error("[salesforce]\nlogin_url = https://\n", "salesforce.login_url");
    expect_error("[sync]\napi_limit_share = 1.5\n", "sync.api_limit_share");
    expect_error("[sync]\napi_limit_share = 0\n", "sync.api_limit_share");
    expect_error("[sync]\napi_limit_share = half\n", "sync.api_limit_share");
    expect_error("[sync]\nconflict_policy = newest\n", "sync.conflict_policy");
    expect_error("[sync]\nbackoff_base = 10\nbackoff_cap = 5\n", "sync.backoff_cap");
    expect_error("[sync]\nsettle_time = -1\n", "sync.settle_time");
    expect_error("[sync]\nsettle_time = soon\n", "sync.settle_time");
    expect_error("[sync]\npull_settle_time = 3601\n", "sync.pull_settle_time");
    expect_error("[sync]\npull_settle_time = -1\n", "sync.pull_settle_time");
    expect_error("[sync]\nobjects = Case, 1Bad\n", "sync.objects");
    expect_error("[sync]\nidempotency_field = Bad Field\n", "sync.idempotency_field");
    expect_error("[salesforce]\nallowed_instance_hosts = a.com, https://b.com\n",
                 "salesforce.allowed_instance_hosts");
    expect_error("[salesforce]\nallowed_instance_hosts = a.com,,b.com\n",
                 "salesforce.allowed_instance_hosts");
    expect_error("[salesforce]\nmax_response_bytes = 1000\n", "salesforce.max_response_bytes");
    expect_error("[salesforce]\nmax_response_bytes = 64M\n", "salesforce.max_response_bytes");
    /* An empty idempotency field means: no key. */
    sfa_config *cfg = load_ok("[sync]\nidempotency_field =\n");
    assert_null(sync_config_idempotency_field(cfg));
    sfa_config_free(cfg);
    cfg = load_ok("[salesforce]\nallowed_instance_hosts = *.Example.com, .b.org,c.net\n"
                  "max_response_bytes = 65536\n");
    size_t n = 0;
    const char *const *hosts = sync_config_allowed_hosts(cfg, &n);
    assert_int_equal(n, 3);
    assert_string_equal(hosts[0], "example.com");
    assert_string_equal(hosts[1], "b.org");
    assert_string_equal(hosts[2], "c.net");
    assert_int_equal(sync_config_max_response_bytes(cfg), 65536);
    sfa_config_free(cfg);
}

/* [daemon] (`sfagent run`): defaults, bounds, a typo, the environment. */
static void test_config_daemon_section(void **state)
{
    (void)state;
    sfa_config *cfg = load_ok("");
    assert_int_equal(sync_config_daemon_interval_s(cfg), 300);
    assert_int_equal(sync_config_daemon_write_delay_s(cfg), 2);
    sfa_config_free(cfg);
    cfg = load_ok("[daemon]\ninterval = 10\nwrite_delay = 0\n");
    assert_int_equal(sync_config_daemon_interval_s(cfg), 10);
    assert_int_equal(sync_config_daemon_write_delay_s(cfg), 0);
    sfa_config_free(cfg);
    expect_error("[daemon]\ninterval = 9\n", "t.ini:2: daemon.interval: must be");
    expect_error("[daemon]\ninterval = 5m\n", "daemon.interval");
    expect_error("[daemon]\nwrite_delay = 601\n", "daemon.write_delay");
    expect_error("[daemon]\nintervall = 60\n", "unknown key 'intervall' in [daemon]");
    setenv("SFAGENT_DAEMON_INTERVAL", "120", 1);
    cfg = load_ok("[daemon]\ninterval = 60\n");
    assert_int_equal(sync_config_daemon_interval_s(cfg), 120); /* the environment wins */
    sfa_config_free(cfg);
    unsetenv("SFAGENT_DAEMON_INTERVAL");
    setenv("SFAGENT_DAEMON_TYPO", "1", 1);
    expect_error("", "SFAGENT_DAEMON_TYPO");
    unsetenv("SFAGENT_DAEMON_TYPO");
}

static void test_config_http_only_on_loopback(void **state)
{
    (void)state;
    expect_error("[salesforce]\nlogin_url = http://login.salesforce.com\n", "loopback");
    expect_error("[salesforce]\nlogin_url = http://10.0.0.1:8080\n", "loopback");
    expect_error("[salesforce]\nlogin_url = http://localhost.evil.com\n", "loopback");
    const char *ok[] = {"http://127.0.0.1:8080",
                        "http://localhost",
                        "http://[::1]:9/",
                        "http://127.1.2.3",
                        "https://mydomain.my.salesforce.com",
                        NULL};
    for (int i = 0; ok[i]; i++) {
        char *text = xasprintf("[salesforce]\nlogin_url = %s\n", ok[i]);
        sfa_config_free(load_ok(text));
        free(text);
    }
}

/* 8.1: userinfo makes curl connect to the host after '@' whatever precedes it; a query or
 * fragment would swallow "/services/oauth2/token". Refused without echoing the userinfo. */
static void test_config_url_userinfo_refused(void **state)
{
    (void)state;
    const char *bad[] = {"http://127.0.0.1:1@192.0.2.2:18777",
                         "http://[::1]@192.0.2.2",
                         "https://login.salesforce.com@evil.example.com",
                         "https://u:pw1234@login.salesforce.com",
                         "http://127.0.0.1;auth=x@localhost:8",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        char *text = xasprintf("[salesforce]\nlogin_url = %s\n", bad[i]);
        sfa_config *cfg = NULL;
        char *err = NULL;
        assert_int_equal(sync_config_load_string(&cfg, text, "t.ini", &err), SFA_ECONFIG);
        assert_non_null(strstr(err, "t.ini:2: salesforce.login_url"));
        assert_non_null(strstr(err, "user information"));
        const char *leaks[] = {"127.0.0.1", "192.0.2", "evil", "pw1234", "auth=x"};
        for (size_t j = 0; j < sizeof leaks / sizeof leaks[0]; j++)
            assert_null(strstr(err, leaks[j]));
        free(err);
        free(text);
    }
    expect_error("[salesforce]\nlogin_url = https://login.salesforce.com/?x=1\n", "query");
    expect_error("[salesforce]\nlogin_url = https://login.salesforce.com/#top\n", "fragment");
    expect_error("[salesforce]\nlogin_url = ftp://login.salesforce.com\n", "https://");
}

/* 8.4: a CA bundle others can write lets them add a CA and read everything. */
static void test_config_ca_bundle_not_writable_by_others(void **state)
{
    (void)state;
    char *ca = write_file("open", "-----BEGIN CERTIFICATE-----\n", 0646);
    char *text = xasprintf("[salesforce]\nca_bundle = %s\n", ca);
    expect_error(text, "t.ini:2: salesforce.ca_bundle");
    chmod(ca, 0644);
    sfa_config_free(load_ok(text));
    free(text);
    expect_error("[salesforce]\nca_bundle = /nonexistent/ca.pem\n", "salesforce.ca_bundle");
    free(ca);
}

static void test_config_missing_file(void **state)
{
    (void)state;
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, "/nonexistent/sfagent.ini"), SFA_ECONFIG);
    assert_null(cfg);
    assert_int_equal(sfa_error_last()->status, SFA_ECONFIG);
    assert_non_null(strstr(sfa_error_last()->message, "/nonexistent/sfagent.ini"));
}

/* [pull.X] fields names the query's select list: a name that is not an API name is refused
 * when the file loads, naming the line, not when Salesforce refuses the query later. */
static void test_config_pull_fields_must_be_api_names(void **state)
{
    (void)state;
    expect_error("[pull.Case]\nfields = Subject, Bad Name\n",
                 "t.ini:2: [pull.Case] fields: 'Bad Name'");
    expect_error("[pull.Case]\nfields = Subject,,Status\n", "is not a field API name");
    sfa_config *cfg = load_ok("[pull.Case]\nfields = Subject , Status,Parent__c\n");
    sfa_config_free(cfg);
}

/* [pull.X] index: API names only (refused naming the line); each field once over every
 * section, case-insensitively, in file order. */
static void test_config_index_fields(void **state)
{
    (void)state;
    expect_error("[pull.Case]\nindex = Priority, x'y\n", "t.ini:2: [pull.Case] index: 'x'y'");
    expect_error("[pull.Case]\nindex = Origin\nindex = Priority\n", "repeated key 'index'");
    sfa_config *cfg = load_ok("[pull.Case]\nindex = Priority , Origin\n"
                              "[pull.Contact]\nfields = LastName\nindex = origin, Title\n");
    assert_string_equal(sfa_config_index_field(cfg, 0), "Priority");
    assert_string_equal(sfa_config_index_field(cfg, 1), "Origin");
    assert_string_equal(sfa_config_index_field(cfg, 2), "Title");
    assert_null(sfa_config_index_field(cfg, 3));
    sfa_config_free(cfg);
    assert_null(sfa_config_index_field(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_defaults, clear_env),
        cmocka_unit_test_setup(test_config_every_key, clear_env),
        cmocka_unit_test_setup(test_config_file_and_env_override, clear_env),
        cmocka_unit_test_setup(test_config_secret_files, clear_env),
        cmocka_unit_test_setup(test_config_unknown_keys, clear_env),
        cmocka_unit_test_setup(test_config_bad_values, clear_env),
        cmocka_unit_test_setup(test_config_daemon_section, clear_env),
        cmocka_unit_test_setup(test_config_http_only_on_loopback, clear_env),
        cmocka_unit_test_setup(test_config_url_userinfo_refused, clear_env),
        cmocka_unit_test_setup(test_config_ca_bundle_not_writable_by_others, clear_env),
        cmocka_unit_test_setup(test_config_missing_file, clear_env),
        cmocka_unit_test_setup(test_config_pull_fields_must_be_api_names, clear_env),
        cmocka_unit_test_setup(test_config_index_fields, clear_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
