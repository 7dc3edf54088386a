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

static void write_config(const fixture *f, const char *password)
{
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = " CLIENT_ID "\n"
            "client_secret = " SECRET "\nusername = " USER "\npassword = %s\ntimeout = 5\n",
            emu_base_url(f->e), password);
    fclose(fp);
    assert_int_equal(chmod(f->ini, 0600), 0);
}

/* sfagent --db DB COMMAND --config INI; returns the exit code. */
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
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-cli-auth-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--db", f->db, "init", NULL});
    int code = r.code;
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "case", "create", "--subject", "x", NULL});
    code |= r.code;
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
    /* The same setup with the right password works, so 77 above meant the credentials. */
    write_config(f, "password");
    assert_int_equal(run_cmd(f, "login"), 0);
    assert_int_equal(run_cmd(f, "sync"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_login_is_77_for_every_command, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
