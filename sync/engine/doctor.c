/* `sfagent doctor`: checks a setup end to end and says how to fix what is wrong:
 * configuration, login, API usage, each configured object's describe and idempotency
 * field (exists, External ID, Unique), and the outbox's dead and conflict ops.
 * Describe results are cached in describe_cache, which the push engine reads. */
#include "sfagent/sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"
#include "store/describe.h"
#include "store/op.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "util/names.h"
#include "util/sfdescribe.h"

static void add_check(sfa_doctor_report *r, const char *name, bool ok, const char *fix,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_check(sfa_doctor_report *r, const char *name, bool ok, const char *fix,
                      const char *fmt, ...)
{
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

static void check_object(sfa_doctor_report *r, sfa_agent *agent, sf_client *c, const char *sobject,
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
        add_check(r, sobject, false, "check [sync] objects and the user's object permissions",
                  "describe %s failed: %s", sobject,
                  resp.error_message ? resp.error_message : sf_client_errmsg(c));
        goto out;
    }
    add_check(r, sobject, true, NULL, "describe ok");
    if (agent && store_describe_put(agent, sobject, resp.json) != SFA_OK)
        add_check(r, "describe cache", false, "check the database (disk, permissions)",
                  "could not cache the describe of %s: %s", sobject, sfa_agent_errmsg(agent));
    const cJSON *f = sf_describe_field(resp.json, key);
    if (!f)
        add_check(r, name, false, fix, "%s has no field %s", sobject, key);
    else if (!json_bool(f, "externalId", false) || !json_bool(f, "unique", false))
        add_check(r, name, false, fix, "%s exists but is%s External ID and is%s Unique", key,
                  json_bool(f, "externalId", false) ? "" : " not",
                  json_bool(f, "unique", false) ? "" : " not");
    else
        add_check(r, name, true, NULL, "%s is a unique External ID field", key);
out:
    sf_response_free(&resp);
    free(fix);
    free(name);
    free(path);
}

static void check_objects(sfa_doctor_report *r, sfa_agent *agent, sf_client *c,
                          const sfa_config *cfg, const char *key)
{
    const char *objs = sfa_config_get(cfg, "sync", "objects");
    char *list = xstrdup(objs && *objs ? objs : "Case,Contact");
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!name_is_valid_api_name(tok))
            add_check(r, tok, false, "fix [sync] objects", "'%s' is not an sObject name", tok);
        else
            check_object(r, agent, c, tok, key);
    }
    free(list);
}

static void check_outbox(sfa_doctor_report *r, sfa_agent *agent)
{
    sfa_status st = store_outbox_count_state(&r->dead_ops, agent, "dead");
    if (st == SFA_OK)
        st = store_outbox_count_state(&r->conflict_ops, agent, "conflict");
    if (st != SFA_OK) {
        add_check(r, "outbox", false, "check the database (disk, permissions)",
                  "could not count ops: %s", sfa_agent_errmsg(agent));
        return;
    }
    add_check(r, "outbox", r->dead_ops + r->conflict_ops == 0,
              r->dead_ops + r->conflict_ops
                  ? "see `sfagent outbox list --state dead`, fix the data, then"
                    " `sfagent outbox retry OP` (or `discard OP`)"
                  : NULL,
              "%zu dead op(s), %zu in conflict", r->dead_ops, r->conflict_ops);
}

sfa_status sfa_doctor_run(sfa_doctor_report *out, sfa_agent *agent, const sfa_config *cfg)
{
    if (!out || !cfg)
        return SFA_EINVAL;
    memset(out, 0, sizeof *out);
    out->api_used = out->api_max = -1;
    const char *key = sfa_config_get(cfg, "sync", "idempotency_field");
    if (!key || !*key)
        key = "Sync_Key__c";
    sf_client *c = NULL;
    char *err = NULL;
    if (sf_client_new(&c, cfg, &err) != SFA_OK) {
        add_check(out, "config", false, "fix the [salesforce] section", "%s",
                  err ? err : "cannot build the Salesforce client");
        free(err);
        goto out;
    }
    add_check(out, "config", true, NULL, "configuration loads");
    if (sf_client_login(c) != SFA_OK) {
        add_check(out, "login", false,
                  "check login_url, client_id, username and the password/secret sources", "%s",
                  sf_client_errmsg(c));
        goto out;
    }
    add_check(out, "login", true, NULL, "logged in to %s (org %s)", sf_client_instance_url(c),
              sf_client_org_id(c) ? sf_client_org_id(c) : "?");
    check_objects(out, agent, c, cfg, key);
    out->api_used = sf_client_api_used(c);
    out->api_max = sf_client_api_max(c);
    if (out->api_max > 0)
        add_check(out, "api", (double)out->api_used < 0.9 * (double)out->api_max,
                  "wait for the rolling 24 h window, or lower the sync frequency",
                  "%ld of %ld daily API requests used", out->api_used, out->api_max);
out:
    if (agent)
        check_outbox(out, agent);
    sf_client_free(c);
    for (size_t i = 0; i < out->count; i++)
        if (!out->items[i].ok)
            return SFA_ERROR;
    return SFA_OK;
}
