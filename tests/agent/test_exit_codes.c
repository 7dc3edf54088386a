/* Tests for agent/cli.c: every sfa_status maps to its documented sysexits code (README
 * "Errors and exit codes"), the same for every command. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/cli.h"

/* The one table: every status from SFA_OK down to the newest code, with its sysexits code. */
static void test_every_status_has_its_exit_code(void **state)
{
    (void)state;
    static const struct {
        sfa_status status;
        int code;
    } table[] = {
        {SFA_OK, 0},          {SFA_ERROR, 70},    {SFA_EINVAL, 65}, {SFA_ENOTFOUND, 66},
        {SFA_EAMBIGUOUS, 65}, {SFA_EIO, 74},      {SFA_EFULL, 74},  {SFA_EREADONLY, 73},
        {SFA_ECORRUPT, 74},   {SFA_ETOONEW, 74},  {SFA_EBUSY, 75},  {SFA_ENETWORK, 75},
        {SFA_EAUTH, 77},      {SFA_ESERVER, 69},  {SFA_ELIMIT, 75}, {SFA_ECONFIG, 78},
        {SFA_ESTATE, 65},     {SFA_EPARTIAL, 65}, {SFA_ERETRY, 75}, {SFA_ETLS, 76},
    };
    /* A new code appended to sfa_status fails here until it is mapped (and -Wswitch fails
     * the build of cli.c first). */
    assert_int_equal(sizeof table / sizeof table[0], 1 - (int)SFA_ETLS);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        /* Walk in enum order so the table cannot skip or repeat a value. */
        assert_int_equal(table[i].status, -(int)i);
        assert_int_equal(cli_exit_code(table[i].status), table[i].code);
    }
}

/* Only the sysexits codes the README documents, never 1 (scripts cannot act on it). */
static void test_exit_codes_are_documented_sysexits(void **state)
{
    (void)state;
    static const int documented[] = {0, 64, 65, 66, 69, 70, 73, 74, 75, 76, 77, 78};
    for (int st = 0; st >= (int)SFA_ETLS; st--) {
        int code = cli_exit_code((sfa_status)st);
        bool found = false;
        for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
            found = found || documented[i] == code;
        if (!found)
            fail_msg("%s -> %d, not a documented exit code", sfa_strerror((sfa_status)st), code);
    }
}

static void test_parse_count(void **state)
{
    (void)state;
    size_t n = 7;
    assert_true(cli_parse_count("0", &n));
    assert_int_equal(n, 0);
    assert_true(cli_parse_count("250", &n));
    assert_int_equal(n, 250);
    assert_false(cli_parse_count("-1", &n));
    assert_false(cli_parse_count("12abc", &n));
    assert_false(cli_parse_count("", &n));
    assert_false(cli_parse_count("99999999999999999999999", &n));
}

static void test_format_age(void **state)
{
    (void)state;
    char buf[32];
    cli_format_age(buf, sizeof buf, 5000);
    assert_string_equal(buf, "5 s");
    cli_format_age(buf, sizeof buf, 10LL * 60 * 1000);
    assert_string_equal(buf, "10 min");
    cli_format_age(buf, sizeof buf, 5LL * 3600 * 1000);
    assert_string_equal(buf, "5 h");
    cli_format_age(buf, sizeof buf, 3LL * 86400 * 1000);
    assert_string_equal(buf, "3 d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_has_its_exit_code),
        cmocka_unit_test(test_exit_codes_are_documented_sysexits),
        cmocka_unit_test(test_parse_count),
        cmocka_unit_test(test_format_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
