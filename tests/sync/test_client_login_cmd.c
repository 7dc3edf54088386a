/* `sfagent login` (agent/cmd_login.c) against the emulator: exit 0 with the identity printed,
 * 77 for refused credentials, 75 when Salesforce is unreachable, 78 for a bad configuration,
 * 64 for bad usage. */
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

#include "emulator/emulator.h"
#include "util/alloc.h"

int cmd_login(int argc, char **argv);

static char dir[64];

static char *write_ini(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static int run(const char *path)
{
    char *argv[] = {"login", "--config", (char *)path, NULL};
    return cmd_login(3, argv);
}

static void test_cmd_login_exit_codes(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sfa-test-login-XXXXXX");
    assert_non_null(mkdtemp(dir));
    emu *e = NULL;
    emu_options o = EMU_OPTIONS_INIT;
    assert_int_equal(emu_start(&e, &o), 0);
    const char *creds = "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                        "username = agent@example.com\n";
    char *good_text =
        xasprintf("[salesforce]\nlogin_url = %s\n%spassword = password\n", emu_base_url(e), creds);
    char *bad_text =
        xasprintf("[salesforce]\nlogin_url = %s\n%spassword = nope\n", emu_base_url(e), creds);
    char *good = write_ini("good.ini", good_text);
    char *bad = write_ini("bad.ini", bad_text);
    char *broken = write_ini("broken.ini", "[salesforce]\ntimeout = soon\n");
    assert_int_equal(run(good), 0);
    assert_int_equal(run(bad), 77);
    assert_int_equal(run(broken), 78);
    assert_int_equal(run("/nonexistent/sfagent.ini"), 78);
    char *argv[] = {"login", "--bogus", NULL};
    assert_int_equal(cmd_login(2, argv), 64);
    emu_stop(e);
    assert_int_equal(run(good), 75);
    unlink(good);
    unlink(bad);
    unlink(broken);
    rmdir(dir);
    free(good);
    free(bad);
    free(broken);
    free(good_text);
    free(bad_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cmd_login_exit_codes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
