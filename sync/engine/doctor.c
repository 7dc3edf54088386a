/* `sfagent doctor`: checks a setup end to end and says how to fix what is wrong:
 * configuration, login, API usage, each configured object's describe and idempotency
 * field (exists, External ID, Unique), and the outbox's dead and conflict ops.
 * Describe results are cached in describe_cache, which the push engine reads.
 *
 * Each failed check has the status a caller would have got from the operation it
 * tried (refused login: SFA_EAUTH, unreachable: SFA_ENETWORK, a setup to fix:
 * SFA_ECONFIG, ...); sfa_doctor_run() returns the first failed check's status, so
 * `sfagent doctor` exits like `login` and `sync` would. */
#include "sfagent/sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"
#include "store/describe.h"
#include "store/op.h"
#include "store/store.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "util/names.h"
#include "util/sfdescribe.h"

/* The report being filled and the status of its first failed check (SFA_OK: none yet). */
typedef struct doctor {
    sfa_doctor_report *r;
    sfa_status first;
} doctor;

/* Add a check: passed when st is SFA_OK, else failed with that status. */
static void add_check(doctor *d, const char *name, sfa_status st, const char *fix, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

static void add_check(doctor *d, const char *name, sfa_status st, const char *fix, const char *fmt,
                      ...)
{
    sfa_doctor_report *r = d->r;
    bool ok = st == SFA_OK;
    if (!ok && d->first == SFA_OK)
        d->first = st;
    r->items = xrealloc(r->items, (r->count + 1) * sizeof *r->items);
    sfa_doctor_check *c = &r->items[r->count++];
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->name = xstrdup(name);
    c->ok = ok;
    c->detail = xstrdup(buf);
    c->fix = fix ? xstrdup(fix) : NULL;
}

void sfa_doctor_report_free(sfa_doctor_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->count; i++) {
        free(report->items[i].name);
        free(report->items[i].detail);
        free(report->items[i].fix);
    }
    free(report->items);
    memset(report, 0, sizeof *report);
}

/* Status of a describe that did not answer 200: what the answer says about the setup. */
static sfa_status describe_status(sfa_status rc, const sf_response *resp)
{
    if (rc != SFA_OK)
        return rc;
    if (resp->outcome != SF_ANSWERED)
        return SFA_ENETWORK;
    if (resp->status == 401)
        return SFA_EAUTH;
    if (resp->status == 403 || resp->status == 404)
        return SFA_ECONFIG; /* no such object, or the user may not see it: fix [sync] objects */
    return SFA_ESERVER;
}

static void check_object(doctor *d, sfa_agent *agent, sf_client *c, const char *sobject,
                         const char *key)
{
    char *path = xasprintf("sobjects/%s/describe", sobject);
    char *name = xasprintf("%s.%s", sobject, key);
    char *fix = xasprintf("In Salesforce Setup > Object Manager > %s > Fields & Relationships >"
                          " New: Text(255), field name %s, check \"Unique\" and \"External ID\""
                          " (without it, a create whose answer is lost cannot be checked and is"
                          " parked instead of re-sent)",
                          sobject, key);
    sf_response resp = {0};
    sfa_status rc = sf_client_request(c, "GET", path, NULL, &resp);
    if (rc != SFA_OK || resp.outcome != SF_ANSWERED || resp.status != 200) {
        add_check(d, sobject, describe_status(rc, &resp),
                  "check [sync] objects and the user's object permissions",
                  "describe %s failed: %s", sobject,
                  resp.error_message ? resp.error_message : sf_client_errmsg(c));
        goto out;
    }
    add_check(d, sobject, SFA_OK, NULL, "describe ok");
    sfa_status cached = agent ? store_describe_put(agent, sobject, resp.json) : SFA_OK;
    if (cached != SFA_OK)
        add_check(d, "describe cache", cached, "check the database (disk, permissions)",
                  "could not cache the describe of %s: %s", sobject, sfa_agent_errmsg(agent));
    const cJSON *f = sf_describe_field(resp.json, key);
    if (!f)
        add_check(d, name, SFA_ECONFIG, fix, "%s has no field %s", sobject, key);
    else if (!json_bool(f, "externalId", false) || !json_bool(f, "unique", false))
        add_check(d, name, SFA_ECONFIG, fix, "%s exists but is%s External ID and is%s Unique", key,
                  json_bool(f, "externalId", false) ? "" : " not",
                  json_bool(f, "unique", false) ? "" : " not");
    else
        add_check(d, name, SFA_OK, NULL, "%s is a unique External ID field", key);
out:
    sf_response_free(&resp);
    free(fix);
    free(name);
    free(path);
}

static void check_objects(doctor *d, sfa_agent *agent, sf_client *c, const sfa_config *cfg,
                          const char *key)
{
    const char *objs = sfa_config_get(cfg, "sync", "objects");
    char *list = xstrdup(objs && *objs ? objs : "Case,Contact");
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!name_is_valid_api_name(tok))
            add_check(d, tok, SFA_ECONFIG, "fix [sync] objects", "'%s' is not an sObject name",
                      tok);
        else
            check_object(d, agent, c, tok, key);
    }
    free(list);
}

static void check_outbox(doctor *d, sfa_agent *agent)
{
    sfa_doctor_report *r = d->r;
    sfa_status st = store_outbox_count_state(&r->dead_ops, agent, "dead");
    if (st == SFA_OK)
        st = store_outbox_count_state(&r->conflict_ops, agent, "conflict");
    if (st != SFA_OK) {
        add_check(d, "outbox", st, "check the database (disk, permissions)",
                  "could not count ops: %s", sfa_agent_errmsg(agent));
        return;
    }
    /* As `sync` reports ops a person must look at: SFA_EPARTIAL. */
    add_check(d, "outbox", r->dead_ops + r->conflict_ops == 0 ? SFA_OK : SFA_EPARTIAL,
              r->dead_ops + r->conflict_ops
                  ? "see `sfagent outbox list --state dead`, fix the data, then"
                    " `sfagent outbox retry OP` (or `discard OP`)"
                  : NULL,
              "%zu dead op(s), %zu in conflict", r->dead_ops, r->conflict_ops);
}

sfa_status sfa_doctor_run(sfa_doctor_report *out, sfa_agent *agent, const sfa_config *cfg)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || !cfg) {
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_doctor_run: out and cfg are required")
                     : store_error_set(SFA_EINVAL, "sfa_doctor_run: out and cfg are required");
    }
    out->api_used = out->api_max = -1;
    doctor d = {out, SFA_OK};
    const char *key = sfa_config_get(cfg, "sync", "idempotency_field");
    if (!key || !*key)
        key = "Sync_Key__c";
    sf_client *c = NULL;
    char *err = NULL;
    sfa_status st = sf_client_new(&c, cfg, &err);
    if (st != SFA_OK) {
        add_check(&d, "config", st == SFA_EINVAL ? SFA_ECONFIG : st, "fix the [salesforce] section",
                  "%s", err ? err : "cannot build the Salesforce client");
        free(err);
        goto out;
    }
    add_check(&d, "config", SFA_OK, NULL, "configuration loads");
    st = sf_client_login(c);
    if (st != SFA_OK) {
        add_check(&d, "login", st,
                  "check login_url, client_id, username and the password/secret sources", "%s",
                  sf_client_errmsg(c));
        goto out;
    }
    add_check(&d, "login", SFA_OK, NULL, "logged in to %s (org %s)", sf_client_instance_url(c),
              sf_client_org_id(c) ? sf_client_org_id(c) : "?");
    check_objects(&d, agent, c, cfg, key);
    out->api_used = sf_client_api_used(c);
    out->api_max = sf_client_api_max(c);
    if (out->api_max > 0)
        add_check(&d, "api",
                  (double)out->api_used < 0.9 * (double)out->api_max ? SFA_OK : SFA_ELIMIT,
                  "wait for the rolling 24 h window, or lower the sync frequency",
                  "%ld of %ld daily API requests used", out->api_used, out->api_max);
out:
    if (agent)
        check_outbox(&d, agent);
    sf_client_free(c);
    if (d.first == SFA_OK)
        return SFA_OK;
    /* The message of the first failed check, where callers read failures. */
    for (size_t i = 0; i < out->count; i++)
        if (!out->items[i].ok) {
            const sfa_doctor_check *k = &out->items[i];
            return agent ? store_fail(agent, d.first, "doctor: %s: %s", k->name, k->detail)
                         : store_error_set(d.first, "doctor: %s: %s", k->name, k->detail);
        }
    return d.first;
}
