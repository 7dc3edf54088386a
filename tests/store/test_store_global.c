/* sfa_global_lean_allocations (sfagent/global.h): before the first connection it turns
 * SQLite's allocation statistics off for the process, and the database works as before;
 * once SQLite is in use it changes nothing and says so. The order matters, so the cases
 * run in sequence in one process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfagent.h"
#include "store/store_test_util.h"

static void test_lean_allocations_before_and_after_first_open(void **state)
{
    (void)state;
    assert_int_equal(sfa_global_lean_allocations(), SFA_OK);
    store_fixture *f = fixture_new();
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"lean\"}"), SFA_OK);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", id), SFA_OK);
    sfa_record_free(r);
    /* Statistics off: SQLite no longer counts what it holds (it would be > 0 here). */
    assert_int_equal(sqlite3_memory_used(), 0);
    /* SQLite is initialised now: a second call is refused and changes nothing. */
    assert_int_equal(sfa_global_lean_allocations(), SFA_ESTATE);
    assert_non_null(strstr(sfa_error_last()->message, "already in use"));
    free(id);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lean_allocations_before_and_after_first_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
