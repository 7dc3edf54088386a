/* Shared set-up for push engine tests; see push_fixture.h. */
#include "push_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* The INI text of a test configuration (caller frees). */
static char *config_text(const char *base_url, const char *sync_extra)
{
    /* [sync] defaults for tests, each unless sync_extra sets the key itself. Tests pin
     * the clock and pull records written in that very second, so the pull's settle bound
     * is off unless a test turns it on (test_pull.c tests it). */
    static const char *const defaults[] = {"backoff_base = 1\n", "backoff_cap = 60\n",
                                           "api_limit_share = 1\n", "pull_settle_time = 0\n"};
    strbuf sync = STRBUF_INIT;
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
        size_t keylen = strcspn(defaults[i], " ");
        char *key = xstrndup(defaults[i], keylen);
        if (!sync_extra || !strstr(sync_extra, key))
            strbuf_adds(&sync, defaults[i]);
        free(key);
    }
    strbuf_adds(&sync, sync_extra ? sync_extra : "");
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nauth = password\n"
                           "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                           "username = agent@example.com\npassword = password\ntimeout = 5\n"
                           "[sync]\n%s",
                           base_url, strbuf_str(&sync));
    strbuf_free(&sync);
    return text;
}

sfa_config *push_fixture_config(const char *base_url, const char *sync_extra)
{
    char *text = config_text(base_url, sync_extra);
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, text, "push-fixture", &err) != SFA_OK) {
        fprintf(stderr, "push fixture config: %s\n", err ? err : "?");
        cfg = NULL;
    }
    free(err);
    free(text);
    return cfg;
}

int push_fixture_write_config(push_fixture *f, const char *sync_extra)
{
    char *text = config_text(emu_base_url(f->emu), sync_extra);
    int fd = open(f->cfg_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t len = strlen(text);
    int rc = fd >= 0 && write(fd, text, len) == (ssize_t)len ? 0 : -1;
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

int push_fixture_run_helper_env(push_fixture *f, const char *env_name, const char *env_value)
{
    const char *helper = getenv("SFA_PUSH_HELPER");
#ifdef PUSH_HELPER
    if (!helper)
        helper = PUSH_HELPER;
#endif
    if (!helper)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        unsetenv("SFA_CRASH_AT");
        unsetenv("SFA_CRASH_COUNT");
        if (env_name && env_value)
            setenv(env_name, env_value, 1);
        execl(helper, helper, f->db_path, f->cfg_path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int push_fixture_run_helper(push_fixture *f, const char *crash_at)
{
    return push_fixture_run_helper_env(f, crash_at ? "SFA_CRASH_AT" : NULL, crash_at);
}

int push_fixture_setup(push_fixture *f, const emu_options *eopts, const char *sync_extra)
{
    memset(f, 0, sizeof *f);
    emu_options defaults = EMU_OPTIONS_INIT;
    if (emu_start(&f->emu, eopts ? eopts : &defaults) != 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-push-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db_path, sizeof f->db_path, "%s/agent.db", f->dir);
    snprintf(f->cfg_path, sizeof f->cfg_path, "%s/agent.ini", f->dir);
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.durability = SFA_DURABILITY_NORMAL; /* tests do not need power-cut safety */
    if (sfa_agent_open(&f->agent, f->db_path, &oo) != SFA_OK) {
        fprintf(stderr, "open: %s\n", sfa_agent_errmsg(f->agent));
        return -1;
    }
    if (push_fixture_write_config(f, sync_extra) != 0)
        return -1;
    f->cfg = push_fixture_config(emu_base_url(f->emu), sync_extra);
    return f->cfg ? 0 : -1;
}

void push_fixture_teardown(push_fixture *f)
{
    time_set_override(0);
    sfa_agent_free(f->agent);
    sfa_config_free(f->cfg);
    emu_stop(f->emu);
    if (f->dir[0]) {
        unlink(f->cfg_path);
        const char *suffix[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < 4; i++) {
            char *p = xasprintf("%s%s", f->db_path, suffix[i]);
            unlink(p);
            free(p);
        }
        rmdir(f->dir);
    }
    memset(f, 0, sizeof *f);
}

sfa_status push_fixture_sync(push_fixture *f, sfa_sync_report *report)
{
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.seed = 1234;
    o.ignore_pause = true;
    o.push_only = true;
    sfa_status rc = sfa_sync_run(report, f->agent, f->cfg, &o);
    if (rc != SFA_OK && getenv("SFA_TEST_VERBOSE"))
        fprintf(stderr,
                "sync: %s: %s (sent %zu done %zu retried %zu dead %zu parked %zu pending %zu "
                "inflight %zu calls %ld)\n",
                sfa_strerror(rc), report->message, report->sent, report->done, report->retried,
                report->dead, report->parked, report->pending_left, report->inflight_left,
                report->api_calls);
    if (rc != SFA_OK && getenv("SFA_TEST_VERBOSE")) {
        sfa_op_array all = {0};
        sfa_outbox_list(&all, f->agent, SFA_OP_STATES_ALL, 0);
        for (size_t i = 0; i < all.count && i < 10; i++)
            if (all.items[i].last_error)
                fprintf(stderr, "  op %lld %s %s: %s: %s\n", (long long)all.items[i].seq,
                        sfa_op_kind_name(all.items[i].kind), sfa_op_state_name(all.items[i].state),
                        all.items[i].last_error_code, all.items[i].last_error);
        sfa_op_array_free(&all);
    }
    return rc;
}

sfa_status push_fixture_converge(push_fixture *f, int max_runs, sfa_sync_report *report)
{
    sfa_status rc = SFA_ERETRY;
    for (int i = 0; i < max_runs; i++) {
        rc = push_fixture_sync(f, report);
        if (rc != SFA_ERETRY && rc != SFA_ELIMIT)
            break;
        int64_t now = time_now_ms();
        if (report->next_attempt_ms > now)
            time_set_override(report->next_attempt_ms + 1);
    }
    return rc;
}

char *push_fixture_create(push_fixture *f, const char *sobject, const char *json)
{
    char *id = NULL;
    if (sfa_record_create(&id, f->agent, sobject, json) != SFA_OK) {
        fprintf(stderr, "create: %s\n", sfa_agent_errmsg(f->agent));
        return NULL;
    }
    return id;
}

size_t push_fixture_count_key(push_fixture *f, const char *sobject, const char *key)
{
    cJSON *all = emu_records(f->emu, sobject, false);
    size_t n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, all)
    {
        const char *k = json_str(r, "Sync_Key__c");
        if (k && strcmp(k, key) == 0)
            n++;
    }
    cJSON_Delete(all);
    return n;
}

size_t push_fixture_mutations(push_fixture *f)
{
    return emu_request_count(f->emu, "POST", "/services/data/*") +
           emu_request_count(f->emu, "PATCH", "/services/data/*") +
           emu_request_count(f->emu, "DELETE", "/services/data/*");
}

sfa_op *push_fixture_first_op(push_fixture *f, const char *local_id)
{
    sfa_op_array all = {0};
    sfa_op *out = NULL;
    if (sfa_outbox_list(&all, f->agent, SFA_OP_STATES_ALL, 0) != SFA_OK)
        return NULL;
    for (size_t i = 0; i < all.count && !out; i++) {
        if (strcmp(all.items[i].local_id, local_id) != 0)
            continue;
        sfa_outbox_get(&out, f->agent, all.items[i].op_id);
    }
    sfa_op_array_free(&all);
    return out;
}

sfa_record *push_fixture_record(push_fixture *f, const char *sobject, const char *ref)
{
    sfa_record *r = NULL;
    if (sfa_record_get(&r, f->agent, sobject, ref) != SFA_OK)
        return NULL;
    return r;
}

int push_fixture_state_new(void **state, const emu_options *eopts, const char *sync_extra)
{
    push_fixture *f = xcalloc(1, sizeof *f);
    *state = f;
    return push_fixture_setup(f, eopts, sync_extra);
}

int push_fixture_state_free(void **state)
{
    push_fixture *f = *state;
    push_fixture_teardown(f);
    free(f);
    return 0;
}

void push_fixture_free_ids(char **ids, int n)
{
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

size_t push_fixture_cached(push_fixture *f, const char *sobject)
{
    sfa_record_array list = {0};
    sfa_list_options lo = SFA_LIST_OPTIONS_INIT;
    if (sfa_record_list(&list, f->agent, sobject, &lo) != SFA_OK)
        return (size_t)-1;
    size_t n = list.count;
    sfa_record_array_free(&list);
    return n;
}

/* NULL when the mirror's copy of the server record r agrees with it, else why not. */
static char *record_differs(push_fixture *f, const char *sobject, const cJSON *r)
{
    sfa_record *m = NULL;
    const char *id = json_str(r, "Id");
    if (sfa_record_get(&m, f->agent, sobject, id) != SFA_OK)
        return xasprintf("%s %s is not cached", sobject, id);
    cJSON *fields = cJSON_Parse(m->fields_json);
    const char *subject = json_str(r, "Subject"), *mine = json_str(fields, "Subject");
    char *why = NULL;
    if (subject && !m->dirty && (!mine || strcmp(mine, subject) != 0))
        why = xasprintf("%s %s: Subject '%s', the server's '%s'", sobject, id,
                        mine ? mine : "(none)", subject);
    cJSON_Delete(fields);
    sfa_record_free(m);
    return why;
}

bool push_fixture_mirror_is_server(push_fixture *f, const char *sobject, char **why)
{
    cJSON *all = emu_records(f->emu, sobject, false);
    size_t n = push_fixture_cached(f, sobject), want = (size_t)cJSON_GetArraySize(all);
    *why = n == want ? NULL : xasprintf("%zu %s cached, %zu on the server", n, sobject, want);
    for (const cJSON *r = all ? all->child : NULL; r && !*why; r = r->next)
        *why = record_differs(f, sobject, r);
    cJSON_Delete(all);
    return *why == NULL;
}

size_t push_fixture_report_sum(const char *path, int col, int *lines)
{
    FILE *in = fopen(path, "r");
    size_t total = 0, v[3];
    *lines = 0;
    while (in && fscanf(in, "%zu %zu %zu", &v[0], &v[1], &v[2]) == 3) {
        total += v[col];
        (*lines)++;
    }
    if (in)
        fclose(in);
    return total;
}

int pinned_fixture_new(void **state, const char *sync_extra)
{
    pinned_fixture *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->now = time_now_ms() / 1000 * 1000;
    time_set_override(p->now);
    if (push_fixture_setup(&p->f, NULL, sync_extra) != 0) {
        free(p);
        return -1;
    }
    *state = p;
    return 0;
}

int pinned_fixture_free(void **state)
{
    pinned_fixture *p = *state;
    push_fixture_teardown(&p->f);
    time_set_override(0);
    free(p);
    return 0;
}

void pinned_fixture_advance(pinned_fixture *p, int64_t ms)
{
    p->now += ms;
    time_set_override(p->now);
}
