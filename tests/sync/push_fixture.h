/* Shared set-up for push engine tests (also for the fault-matrix and crash tests built on
 * top of it): an in-process emulator, a fresh database in a mkdtemp directory, and a
 * configuration that logs in to the emulator with its default credentials. */
#ifndef SFA_TESTS_PUSH_FIXTURE_H
#define SFA_TESTS_PUSH_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/emulator.h"
#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/outbox.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"

typedef struct push_fixture {
    emu *emu;
    char dir[64];
    char db_path[128];
    char cfg_path[128]; /* the configuration as an INI file (mode 0600), for helpers */
    sfa_agent *agent;
    sfa_config *cfg;
} push_fixture;

/* Start an emulator (eopts NULL: defaults) and open a new database; sync_extra is
 * appended to the [sync] section (e.g. "conflict_policy = manual\n"), may be NULL.
 * Returns 0 or -1. */
int push_fixture_setup(push_fixture *f, const emu_options *eopts, const char *sync_extra);
void push_fixture_teardown(push_fixture *f);
/* cmocka setup: a new heap fixture set up as push_fixture_setup() into *state; 0 or -1. */
int push_fixture_state_new(void **state, const emu_options *eopts, const char *sync_extra);
/* cmocka teardown of push_fixture_state_new(): tears down and frees *state; 0. */
int push_fixture_state_free(void **state);
/* Free n local ids (as push_fixture_create() returns them) and their array. */
void push_fixture_free_ids(char **ids, int n);
/* A fixture on a pinned clock (util/timeutil.h's override), for tests that move time. */
typedef struct pinned_fixture {
    push_fixture f;
    int64_t now; /* the pinned clock, ms */
} pinned_fixture;
/* cmocka setup: pin the clock at the current whole second, then a new heap
 * pinned_fixture set up as push_fixture_setup(&f, NULL, sync_extra) into *state; 0 or -1. */
int pinned_fixture_new(void **state, const char *sync_extra);
/* cmocka teardown of pinned_fixture_new(): tears down, frees, unpins the clock; 0. */
int pinned_fixture_free(void **state);
/* Move the pinned clock ms forward. */
void pinned_fixture_advance(pinned_fixture *p, int64_t ms);

/* Load a configuration pointing at base_url (used after restarting the emulator). */
sfa_config *push_fixture_config(const char *base_url, const char *sync_extra);

/* (Re)write cfg_path for the running emulator; 0 or -1. */
int push_fixture_write_config(push_fixture *f, const char *sync_extra);
/* Run tests/sync/push_helper.c (path from $SFA_PUSH_HELPER or the PUSH_HELPER define) in
 * a fresh process on the fixture's database and config file: it syncs to convergence.
 * crash_at ("push.after_claim:1") sets SFA_CRASH_AT for it. Returns its exit status
 * (100 = crashed at the point, 0 = all done, else minus the last sfa_status), 128+sig when
 * killed, -1 if it could not run. The emulator keeps serving from this process. */
int push_fixture_run_helper(push_fixture *f, const char *crash_at);
/* The same with one environment variable set for the helper (e.g. SFA_CRASH_COUNT=file to
 * enumerate the crash points a run passes). */
int push_fixture_run_helper_env(push_fixture *f, const char *env_name, const char *env_value);

/* One sync run with a fixed seed; ignores a run-level pause so tests decide timing. */
sfa_status push_fixture_sync(push_fixture *f, sfa_sync_report *report);
/* Run sync until it returns neither SFA_ERETRY nor SFA_ELIMIT, moving the test clock to
 * the next due op between runs; at most max_runs runs. Returns the last status. */
sfa_status push_fixture_converge(push_fixture *f, int max_runs, sfa_sync_report *report);

/* Create a record locally from JSON text; returns its local id (caller frees). */
char *push_fixture_create(push_fixture *f, const char *sobject, const char *json);
/* Emulator records of sobject whose Sync_Key__c equals key. */
size_t push_fixture_count_key(push_fixture *f, const char *sobject, const char *key);
/* Mutating requests (POST/PATCH/DELETE under /services/data) the emulator received. */
size_t push_fixture_mutations(push_fixture *f);
/* The op list of the outbox for a local id (first op), caller frees with sfa_op_free. */
sfa_op *push_fixture_first_op(push_fixture *f, const char *local_id);
/* Live records of sobject in the mirror, or (size_t)-1 when the list fails. */
size_t push_fixture_cached(push_fixture *f, const char *sobject);
/* Whether the mirror holds exactly the emulator's live records of sobject, each once, with
 * the server's Subject where the mirror's copy has no local edits; else false and *why
 * (caller frees) names the first difference. */
bool push_fixture_mirror_is_server(push_fixture *f, const char *sobject, char **why);
/* Sum of column col (0 pulled, 1 updated, 2 deleted) of the "<pulled> <updated>
 * <deleted>" lines a helper appended to path ($SFA_PULL_REPORT); *lines counts them. */
size_t push_fixture_report_sum(const char *path, int col, int *lines);
/* The record as the mirror holds it (caller frees with sfa_record_free). */
sfa_record *push_fixture_record(push_fixture *f, const char *sobject, const char *ref);

#endif
