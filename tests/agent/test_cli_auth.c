/*
 * Authentication failure exits 77 (EX_NOPERM) from every command that logs in: the real
 * sfagent binary against the in-process emulator, with a refused and then an accepted
 * password. Exit codes come from one table (agent/cli.c); this checks the commands use it.
 */
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

#include "agent/run.h"
#include "emulator.h"

#define CLIENT_ID "sfagent-test-client"
#define SECRET    "sfagent-test-secret"
#define USER      "agent@example.com"

typedef struct fixture {
    char dir[64];
    char db[128];
    char ini[128];
    emu *e;
} fixture;

/* The config file: login at url with password, then extra lines (a [sync] section). */
static void write_config_at(const fixture *f, const char *url, const char *password,
                            const char *extra)
{
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = " CLIENT_ID "\n"
            "client_secret = " SECRET "\nusername = " USER "\npassword = %s\ntimeout = 5\n%s",
            url, password, extra);
    fclose(fp);
    assert_int_equal(chmod(f->ini, 0600), 0);
}

/* sfagent --db DB COMMAND --config INI; returns the exit code. */
static void write_config(const fixture *f, const char *password)
{
    write_config_at(f, emu_base_url(f->e), password, "");
}

static int run_cmd(const fixture *f, const char *command)
{
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, command, "--config", f->ini, NULL});
    int code = r.code;
    if (code != 0)
        fprintf(stderr, "sfagent %s: exit %d: %s", command, code, r.err);
    run_result_free(&r);
    return code;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db,
                               "/tmp/sfa-cli-auth-XXXXXX") != 0)
        return -1;
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "case", "create", "--subject", "x", NULL});
    int code = r.code;
    run_result_free(&r);
    *state = f;
    return code == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    run_remove_dir(f->dir);
    free(f);
    return 0;
}

static void test_refused_login_is_77_for_every_command(void **state)
{
    fixture *f = *state;
    /* The emulator expects password + security token = "password". */
    write_config(f, "wrong-pass");
    assert_int_equal(run_cmd(f, "login"), 77);
    assert_int_equal(run_cmd(f, "sync"), 77);
    assert_int_equal(run_cmd(f, "doctor"), 77);
    /* The same setup with the right password works, so 77 above meant the credentials. */
    write_config(f, "password");
    assert_int_equal(run_cmd(f, "login"), 0);
    assert_int_equal(run_cmd(f, "sync"), 0);
    assert_int_equal(run_cmd(f, "doctor"), 0);
    /* login --json: one object. */
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "--json", "login", "--config", f->ini, NULL});
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"instanceUrl\""));
    assert_non_null(strstr(r.out, "\"apiVersion\""));
    assert_int_equal(r.out[0], '{');
    run_result_free(&r);
}

/* sfagent doctor: returns the exit code and asserts stdout names the failed check. */
static int run_doctor(const fixture *f, const char *failed)
{
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "doctor", "--config", f->ini, NULL});
    char line[128];
    snprintf(line, sizeof line, "FAIL %s:", failed);
    if (!strstr(r.out, line))
        fail_msg("doctor: no '%s' in: %s", line, r.out);
    int code = r.code;
    run_result_free(&r);
    return code;
}

/* doctor exits with its first failed check's status, as the operation it tried would. */
static void test_doctor_exits_with_the_failed_checks_code(void **state)
{
    fixture *f = *state;
    write_config_at(f, "http://127.0.0.1:1", "password", ""); /* nothing listens there */
    assert_int_equal(run_doctor(f, "login"), 75);
    write_config_at(f, emu_base_url(f->e), "password",
                    "[sync]\nobjects = Case,No_Such_Object__c\n");
    assert_int_equal(run_doctor(f, "No_Such_Object__c"), 78);
    write_config_at(f, emu_base_url(f->e), "password", "[sync]\nidempotency_field = No_Such__c\n");
    assert_int_equal(run_doctor(f, "Case.No_Such__c"), 78);
}

/* Issue 8 item 4: a configuration file with a secret written inline must be private;
 * with the secret in a private *_file, the configuration itself may be 0644. */
static void test_config_with_inline_secret_must_be_private(void **state)
{
    fixture *f = *state;
    write_config(f, "password");
    assert_int_equal(chmod(f->ini, 0644), 0);
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "login", "--config", f->ini, NULL});
    assert_int_equal(r.code, 78);
    if (!strstr(r.err, f->ini) || !strstr(r.err, "chmod 600") || !strstr(r.err, "_file"))
        fail_msg("message: %s", r.err);
    run_result_free(&r);
    char secret[160];
    snprintf(secret, sizeof secret, "%s/password", f->dir);
    FILE *fp = fopen(secret, "w");
    assert_non_null(fp);
    fputs("password\n", fp);
    fclose(fp);
    assert_int_equal(chmod(secret, 0600), 0);
    fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = " CLIENT_ID "\n"
            "client_secret_file = %s\nusername = " USER "\npassword_file = %s\ntimeout = 5\n",
            emu_base_url(f->e), secret, secret);
    fclose(fp);
    assert_int_equal(chmod(f->ini, 0644), 0);
    /* Accepted and used: the emulator refuses "password" as client secret (77, not 78). */
    assert_int_equal(run_cmd(f, "login"), 77);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_with_inline_secret_must_be_private, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_login_is_77_for_every_command, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_doctor_exits_with_the_failed_checks_code, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
