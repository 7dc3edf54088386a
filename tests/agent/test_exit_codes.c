/* Tests for agent/cli.c: every sfa_status maps to its documented sysexits code (docs/cli.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/cli.h"

static void test_every_status_has_its_exit_code(void **state)
{
    (void)state;
    static const struct {
        sfa_status status;
        int code;
    } table[] = {
        {SFA_OK, 0},          {SFA_ERROR, 1},    {SFA_EINVAL, 65}, {SFA_ENOTFOUND, 66},
        {SFA_EAMBIGUOUS, 65}, {SFA_EIO, 74},     {SFA_EFULL, 74},  {SFA_EREADONLY, 74},
        {SFA_ECORRUPT, 74},   {SFA_ETOONEW, 74}, {SFA_EBUSY, 75},  {SFA_ENETWORK, 75},
        {SFA_EAUTH, 1},       {SFA_ESERVER, 1},  {SFA_ELIMIT, 75}, {SFA_ECONFIG, 1},
        {SFA_ESTATE, 65},     {SFA_EPARTIAL, 1}, {SFA_ERETRY, 75},
    };
    /* The table covers SFA_OK down to the newest code: a new code fails here until mapped. */
    assert_int_equal(sizeof table / sizeof table[0], 1 - (int)SFA_ERETRY);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(cli_exit_code(table[i].status), table[i].code);
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
        cmocka_unit_test(test_parse_count),
        cmocka_unit_test(test_format_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
