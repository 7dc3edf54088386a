/* The outbox API (list, get, retry/discard state rules, stats), JSON Lines import and
 * local SOQL over the mirror. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfagent/error.h"
#include "sfagent/outbox.h"
#include "sfagent/query.h"
#include "sfagent/record.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/strbuf.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static char *create_ok(store_fixture *f, const char *sobject, const char *json)
{
    char *id = NULL;
    if (sfa_record_create(&id, f->agent, sobject, json) != SFA_OK)
        fail_msg("create: %s", sfa_agent_errmsg(f->agent));
    return id;
}

static void test_list_get_stats(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    char *b = create_ok(f, "Contact", "{\"LastName\":\"b\"}");
    raw_exec(f->path, "UPDATE outbox SET state='dead', last_error_code='REQUIRED_FIELD_MISSING', "
                      "last_error='Required fields are missing: [X]' WHERE seq=2");
    sfa_op_array arr = {0};
    assert_int_equal(sfa_outbox_list(&arr, f->agent, SFA_OP_STATES_ALL, 0), SFA_OK);
    assert_int_equal(arr.count, 2);
    assert_int_equal(arr.items[0].seq, 1);
    assert_int_equal(arr.items[0].kind, SFA_OP_KIND_CREATE);
    assert_string_equal(arr.items[1].last_error_code, "REQUIRED_FIELD_MISSING");
    sfa_op_array_free(&arr);
    assert_int_equal(sfa_outbox_list(&arr, f->agent, SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD), 0),
                     SFA_OK);
    assert_int_equal(arr.count, 1);
    char *op_id = xstrdup(arr.items[0].op_id);
    sfa_op_array_free(&arr);
    sfa_op *op = NULL;
    assert_int_equal(sfa_outbox_get(&op, f->agent, op_id), SFA_OK);
    assert_int_equal(op->seq, 2);
    sfa_op_free(op);
    assert_int_equal(sfa_outbox_get(&op, f->agent, "1"), SFA_OK);
    assert_string_equal(op->local_id, a);
    sfa_op_free(op);
    op = NULL;
    assert_int_equal(sfa_outbox_get(&op, f->agent, "op-nope"), SFA_ENOTFOUND);
    assert_null(op);
    sfa_outbox_stats s;
    assert_int_equal(sfa_outbox_stats_get(&s, f->agent), SFA_OK);
    assert_int_equal(s.pending, 1);
    assert_int_equal(s.dead, 1);
    assert_int_equal(s.records, 2);
    assert_true(s.oldest_pending_created_ms > 0);
    free(op_id);
    free(a);
    free(b);
}

/* Every kind and state has its own name (the database's text and the CLI's JSON), and
 * each state name parses back to its value. */
static void test_enum_names_are_distinct_and_parse_back(void **state)
{
    (void)state;
    static const char *const kinds[] = {"create", "update", "upsert", "delete"};
    for (unsigned k = SFA_OP_KIND_CREATE; k <= SFA_OP_KIND_DELETE; k++)
        assert_string_equal(sfa_op_kind_name((sfa_op_kind)k), kinds[k]);
    assert_string_equal(sfa_op_kind_name((sfa_op_kind)99), "?");
    static const char *const states[] = {"pending", "inflight", "done", "conflict", "dead"};
    for (unsigned s = SFA_OP_STATE_PENDING; s <= SFA_OP_STATE_DEAD; s++) {
        assert_string_equal(sfa_op_state_name((sfa_op_state)s), states[s]);
        sfa_op_state back = (sfa_op_state)99;
        assert_int_equal(sfa_op_state_parse(&back, states[s]), SFA_OK);
        assert_int_equal(back, s);
    }
    assert_string_equal(sfa_op_state_name((sfa_op_state)99), "?");
    sfa_op_state untouched = SFA_OP_STATE_DONE;
    sfa_error_clear();
    assert_int_equal(sfa_op_state_parse(&untouched, "Dead"), SFA_EINVAL);
    assert_int_equal(untouched, SFA_OP_STATE_DONE);
    assert_int_equal(sfa_error_last()->status, SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "Dead"));
    assert_int_equal(sfa_op_state_parse(&untouched, NULL), SFA_EINVAL);
    assert_int_equal(sfa_op_state_parse(NULL, "dead"), SFA_EINVAL);
    static const char *const sync[] = {"synced", "pending", "inflight", "conflict", "dead"};
    for (unsigned s = SFA_RECORD_SYNCED; s <= SFA_RECORD_DEAD; s++)
        assert_string_equal(sfa_record_sync_state_name((sfa_record_sync_state)s), sync[s]);
    assert_string_equal(sfa_record_sync_state_name((sfa_record_sync_state)99), "?");
}

/* The list filter is a set of states; an empty set or unknown bits are refused with a
 * message, not read as "all". */
static void test_list_filters_by_a_set_of_states(void **state)
{
    store_fixture *f = *state;
    char *ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = create_ok(f, "Case", "{\"Subject\":\"s\"}");
    raw_exec(f->path, "UPDATE outbox SET state='dead', last_error_code='X' WHERE seq=2;"
                      "UPDATE outbox SET state='conflict', last_error_code='Y' WHERE seq=3;"
                      "UPDATE outbox SET state='done' WHERE seq=4");
    sfa_op_array arr = {0};
    unsigned open_bad =
        SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD) | SFA_OP_STATE_BIT(SFA_OP_STATE_CONFLICT);
    assert_int_equal(sfa_outbox_list(&arr, f->agent, open_bad, 0), SFA_OK);
    assert_int_equal(arr.count, 2);
    assert_int_equal(arr.items[0].state, SFA_OP_STATE_DEAD);
    assert_int_equal(arr.items[1].state, SFA_OP_STATE_CONFLICT);
    sfa_op_array_free(&arr);
    /* The cached statement must not keep the last call's states. */
    assert_int_equal(sfa_outbox_list(&arr, f->agent, SFA_OP_STATE_BIT(SFA_OP_STATE_DONE), 0),
                     SFA_OK);
    assert_int_equal(arr.count, 1);
    assert_int_equal(arr.items[0].seq, 4);
    sfa_op_array_free(&arr);
    assert_int_equal(sfa_outbox_list(&arr, f->agent, SFA_OP_STATES_ALL, 3), SFA_OK);
    assert_int_equal(arr.count, 3);
    assert_int_equal(arr.items[0].state, SFA_OP_STATE_PENDING);
    sfa_op_array_free(&arr);
    assert_int_equal(sfa_outbox_list(&arr, f->agent, 0, 0), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "states"));
    assert_int_equal(sfa_outbox_list(&arr, f->agent, SFA_OP_STATES_ALL + 1, 0), SFA_EINVAL);
    assert_int_equal(arr.count, 0);
    sfa_record *r = NULL;
    static const sfa_record_sync_state want[] = {SFA_RECORD_PENDING, SFA_RECORD_DEAD,
                                                 SFA_RECORD_CONFLICT, SFA_RECORD_SYNCED};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sfa_record_get(&r, f->agent, "Case", ids[i]), SFA_OK);
        assert_int_equal(r->sync_state, want[i]);
        sfa_record_free(r);
        free(ids[i]);
    }
}

/* Retry takes dead, conflict and pending ops (T15: due now), never inflight ones; discard
 * only dead or conflict ones. */
static void test_retry_only_dead_conflict_or_pending(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    assert_int_equal(sfa_outbox_discard(f->agent, "1"), SFA_ESTATE);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "pending"));
    char *before = dump_tables(f->path);
    raw_exec(f->path, "UPDATE outbox SET state='inflight', lease_owner='r'");
    assert_int_equal(sfa_outbox_retry(f->agent, "1"), SFA_ESTATE);
    assert_int_equal(sfa_outbox_discard(f->agent, "1"), SFA_ESTATE);
    raw_exec(f->path, "UPDATE outbox SET state='pending', lease_owner=NULL");
    char *after = dump_tables(f->path);
    assert_string_equal(before, after);
    raw_exec(f->path, "UPDATE outbox SET state='dead', attempts=5, next_attempt_at=99999999999, "
                      "last_error_code='X'");
    assert_int_equal(sfa_outbox_retry(f->agent, "1"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='pending' AND "
                                      "attempts=0 AND next_attempt_at=0"),
                     1);
    raw_exec(f->path, "UPDATE outbox SET state='conflict'");
    assert_int_equal(sfa_outbox_retry(f->agent, "1"), SFA_OK);
    free(before);
    free(after);
    free(a);
}

static void test_discard_update_falls_back_to_base(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\",\"Status\":\"New\"}");
    raw_exec(f->path, "UPDATE outbox SET state='done'; UPDATE records SET base=fields, "
                      "sf_id='500D000000IqhSLIAZ', dirty=0");
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Status\":\"Bad\"}"), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET state='dead' WHERE seq=2");
    assert_int_equal(sfa_outbox_discard(f->agent, "2"), SFA_OK);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", a), SFA_OK);
    assert_non_null(strstr(r->fields_json, "\"Status\":\"New\""));
    assert_false(r->dirty);
    assert_int_equal(r->sync_state, SFA_RECORD_SYNCED);
    sfa_record_free(r);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE seq=2 AND state='done' "
                                      "AND last_error_code='DISCARDED'"),
                     1);
    free(a);
}

static void test_discard_dead_create_removes_record(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    raw_exec(f->path, "UPDATE outbox SET state='dead', attempts=1, last_error_code='X'");
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Status\":\"x\"}"), SFA_OK);
    assert_int_equal(sfa_outbox_discard(f->agent, "1"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 0);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", a), SFA_ENOTFOUND);
    free(a);
}

/* Issue 8.11: an edit of a record whose create is dead folds into that create, so a
 * retry sends the corrected values instead of the rejected ones. */
static void test_edit_of_dead_create_folds_into_it(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"bad\"}");
    raw_exec(f->path, "UPDATE outbox SET state='dead', attempts=1,"
                      " last_error_code='STRING_TOO_LONG'");
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"fixed\"}"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='dead' AND"
                                      " json_extract(fields, '$.Subject') = 'fixed'"),
                     1);
    assert_int_equal(sfa_outbox_retry(f->agent, "1"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='pending' AND"
                                      " json_extract(fields, '$.Subject') = 'fixed'"),
                     1);
    free(a);
}

/* Issue 8.11: discarding a parent's create makes its children's ops dead, naming it,
 * instead of leaving them to wait for an Id that will never come. */
static void test_discard_parent_create_orphans_children(void **state)
{
    store_fixture *f = *state;
    char *parent = create_ok(f, "Contact", "{\"LastName\":\"Doe\"}");
    char body[128];
    snprintf(body, sizeof body, "{\"Subject\":\"s\",\"ContactId\":\"%s\"}", parent);
    char *child = create_ok(f, "Case", body);
    raw_exec(f->path, "UPDATE outbox SET state='dead', last_error_code='X' WHERE seq=1");
    assert_int_equal(sfa_outbox_discard(f->agent, "1"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE seq=2 AND state='dead'"
                                      " AND last_error_code='PARENT_DISCARDED'"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 1);
    free(parent);
    free(child);
}

static int fd_of(const char *text)
{
    char path[] = "/tmp/sfa-import-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void test_import_good_with_blank_lines(void **state)
{
    store_fixture *f = *state;
    int fd = fd_of("{\"Subject\":\"a\"}\n\n  \n{\"Subject\":\"b\"}\r\n{\"Subject\":\"c\"}");
    sfa_import_result r;
    assert_int_equal(sfa_record_import(&r, f->agent, "Case", fd, 2), SFA_OK);
    close(fd);
    assert_int_equal(r.imported, 3);
    assert_int_equal(r.failed_line, 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE kind='create'"), 3);
}

static void test_import_bad_line_rolls_back_its_batch(void **state)
{
    store_fixture *f = *state;
    /* batch 2: lines 1-2 commit; line 3 ok, line 4 bad -> line 3 rolled back too. */
    int fd = fd_of("{\"Subject\":\"a\"}\n{\"Subject\":\"b\"}\n{\"Subject\":\"c\"}\n"
                   "{\"Subject\":\"\"}\n{\"Subject\":\"e\"}\n");
    sfa_import_result r;
    assert_int_equal(sfa_record_import(&r, f->agent, "Case", fd, 2), SFA_EINVAL);
    close(fd);
    assert_int_equal(r.imported, 2);
    assert_int_equal(r.failed_line, 4);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "line 4: "));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 2);
    fd = fd_of("{\"Subject\":\"a\"}\nnot json\n");
    assert_int_equal(sfa_record_import(&r, f->agent, "Case", fd, 0), SFA_EINVAL);
    close(fd);
    assert_int_equal(r.failed_line, 2);
    assert_int_equal(r.imported, 0);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "line 2: "));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 2);
}

static void test_import_many_lines_across_reads(void **state)
{
    store_fixture *f = *state;
    strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 3000; i++)
        strbuf_addf(&sb, "{\"Subject\":\"imported number %d with some padding text\"}\n", i);
    int fd = fd_of(strbuf_str(&sb));
    strbuf_free(&sb);
    sfa_import_result r;
    assert_int_equal(sfa_record_import(&r, f->agent, "Case", fd, 0), SFA_OK);
    close(fd);
    assert_int_equal(r.imported, 3000);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 3000);
}

static void test_invalid_utf8_is_refused_everywhere(void **state)
{
    store_fixture *f = *state;
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"bad \xff\"}"),
                     SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "not valid UTF-8"));
    /* an overlong encoding of '/' and a UTF-16 surrogate are refused too */
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"\xc0\xaf\"}"),
                     SFA_EINVAL);
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"\xed\xa0\x80\"}"),
                     SFA_EINVAL);
    int fd = fd_of("{\"Subject\":\"fine \xc3\xa9\"}\n{\"Subject\":\"bad \xfe\"}\n");
    sfa_import_result r;
    assert_int_equal(sfa_record_import(&r, f->agent, "Case", fd, 0), SFA_EINVAL);
    close(fd);
    assert_int_equal(r.failed_line, 2);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "line 2: "));
    sfa_record *rec = NULL;
    assert_int_equal(sfa_record_get(&rec, f->agent, "Case", "loc-\xff"), SFA_EINVAL);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 0);
}

static void test_prune_removes_only_old_done_ops(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    char *b = create_ok(f, "Case", "{\"Subject\":\"b\"}");
    char *c = create_ok(f, "Case", "{\"Subject\":\"c\"}");
    /* a: done long ago; b: done just now; c: dead long ago (open: must stay) */
    raw_exec(f->path, "UPDATE outbox SET state = 'done', updated_at = 1000 WHERE seq = 1;"
                      "UPDATE outbox SET state = 'done', updated_at = 9000 WHERE seq = 2;"
                      "UPDATE outbox SET state = 'dead', last_error_code = 'X', last_error = 'x',"
                      " updated_at = 1000 WHERE seq = 3");
    size_t removed = 99;
    assert_int_equal(sfa_outbox_prune(&removed, f->agent, 5000), SFA_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE seq = 1"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 3); /* mirror kept */
    assert_int_equal(sfa_outbox_prune(&removed, f->agent, 5000), SFA_OK);
    assert_int_equal(removed, 0);
    char *why = NULL;
    assert_true(store_check_invariants(f->agent, &why));
    free(a);
    free(b);
    free(c);
}

static void test_query_local(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"Printer jam\",\"Status\":\"New\"}");
    char *b = create_ok(f, "Case", "{\"Subject\":\"Login\",\"Status\":\"Closed\"}");
    char *c = create_ok(f, "Contact", "{\"LastName\":\"O'Brien\"}");
    raw_exec(f->path, "UPDATE records SET sf_id='500D000000IqhSLIAZ', case_number='00001001' "
                      "WHERE fields LIKE '%Printer%'");
    char *out = NULL;
    assert_int_equal(sfa_query_local(&out, f->agent,
                                     "SELECT Id, CaseNumber, Subject FROM Case WHERE Status = "
                                     "'New'"),
                     SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":1"));
    assert_non_null(strstr(out, "\"done\":true"));
    assert_non_null(strstr(out, "\"Id\":\"500D000000IqhSLIAZ\""));
    assert_non_null(strstr(out, "\"CaseNumber\":\"00001001\""));
    assert_non_null(strstr(out, "\"type\":\"Case\""));
    assert_null(strstr(out, "Login"));
    free(out);
    char *quoted = sfa_query_quote("O'Brien");
    char *soql = xasprintf("SELECT LastName FROM Contact WHERE LastName = %s", quoted);
    assert_int_equal(sfa_query_local(&out, f->agent, soql), SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":1"));
    free(out);
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT COUNT() FROM Case"), SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":2"));
    free(out);
    out = NULL;
    assert_int_equal(sfa_query_local(&out, f->agent, "SELEKT Id FRM Case"), SFA_EINVAL);
    assert_null(out);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "MALFORMED_QUERY"));
    free(soql);
    free(quoted);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_list_get_stats),
        T(test_enum_names_are_distinct_and_parse_back),
        T(test_list_filters_by_a_set_of_states),
        T(test_retry_only_dead_conflict_or_pending),
        T(test_discard_update_falls_back_to_base),
        T(test_discard_dead_create_removes_record),
        T(test_edit_of_dead_create_folds_into_it),
        T(test_discard_parent_create_orphans_children),
        T(test_import_good_with_blank_lines),
        T(test_import_bad_line_rolls_back_its_batch),
        T(test_import_many_lines_across_reads),
        T(test_invalid_utf8_is_refused_everywhere),
        T(test_prune_removes_only_old_done_ops),
        T(test_query_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
