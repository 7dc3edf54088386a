/* getUpdated / getDeleted: GET /sobjects/{Type}/updated/?start=&end= and /deleted/
 * (docs/salesforce.md#getupdated-and-getdeleted).
 *
 * Seconds are ignored (both bounds truncated to the minute); start must precede end;
 * getUpdated reaches back at most 30 days, getDeleted 15 and never before the purged
 * part of its log (earliestDateAvailable); anything else is INVALID_REPLICATION_DATE.
 * The covered window ends at min(end, now) so a client that resumes from
 * latestDateCovered misses nothing written after the call. Updated uses
 * SystemModstamp. */
#include "emu_feat_common.h"

#include "util/json.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000LL
#define DAY_MS    (24LL * 60 * MINUTE_MS)
#define MAX_IDS   600000

static int64_t to_minute(int64_t ms)
{
    return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/* The start of getDeleted's log: now minus 15 days, or later once
 * emu_set_deleted_earliest moved it (an emptied recycle bin, a purged log). */
static int64_t deleted_earliest(emu *e)
{
    int64_t earliest = to_minute(time_now_ms()) - 15 * DAY_MS;
    if (to_minute(emu_deleted_earliest(e)) > earliest)
        earliest = to_minute(emu_deleted_earliest(e));
    return earliest;
}

static void bad_date(emu_resp *resp, const char *msg)
{
    emu_resp_error(resp, 400, "INVALID_REPLICATION_DATE", msg, NULL);
}

/* Parse and check the window; false after answering the error. */
static bool window(emu_req *req, emu_resp *resp, bool deleted, int64_t *start, int64_t *end)
{
    const char *s = emu_req_arg(req, "start"), *e = emu_req_arg(req, "end");
    if (!s || !e) {
        emu_resp_error(resp, 400, "MISSING_ARGUMENT",
                       "Both start and end parameters must be specified", NULL);
        return false;
    }
    if (!time_parse_sf(s, start) || !time_parse_sf(e, end)) {
        bad_date(resp, "start and end must be valid dateTime values");
        return false;
    }
    *start = to_minute(*start);
    *end = to_minute(*end);
    int64_t now = time_now_ms();
    if (*start >= *end) {
        bad_date(resp, "startDate must chronologically precede endDate by more than one minute");
        return false;
    }
    int days = deleted ? 15 : 30;
    if (*start < to_minute(now) - days * DAY_MS) {
        char msg[96];
        snprintf(msg, sizeof msg, "startDate cannot be more than %d days ago", days);
        bad_date(resp, msg);
        return false;
    }
    /* getDeleted: "If the purge has been performed before your getDeleted() call is
     * executed, an INVALID_REPLICATION_DATE error is returned" (SOAP getDeleted() rules):
     * a window reaching back before the purged part of the delete log is refused. */
    if (deleted && *start < deleted_earliest(req->emu)) {
        char msg[128], when[32];
        time_format_sf(deleted_earliest(req->emu), when);
        snprintf(msg, sizeof msg,
                 "the delete log was purged: startDate is before earliestDateAvailable %s", when);
        bad_date(resp, msg);
        return false;
    }
    if (*end > to_minute(now))
        *end = to_minute(now);
    if (*end < *start)
        *end = *start;
    return true;
}

static void add_date(cJSON *body, const char *key, int64_t ms)
{
    char buf[32];
    time_format_sf(ms, buf);
    cJSON_AddStringToObject(body, key, buf);
}

typedef struct modstamp_window {
    int64_t start, end;
} modstamp_window;

static bool in_window(const cJSON *r, void *ctx)
{
    const modstamp_window *w = ctx;
    int64_t ms;
    const char *stamp = json_str(r, "SystemModstamp");
    if (!stamp)
        stamp = json_str(r, "LastModifiedDate");
    return stamp && time_parse_sf(stamp, &ms) && ms >= w->start && ms < w->end && json_str(r, "Id");
}

static cJSON *updated_ids(emu_req *req, const emu_object *obj, int64_t start, int64_t end)
{
    static const char *const id_only[] = {"Id"};
    modstamp_window w = {start, end};
    /* Filtered on the stored records, so only the matches are copied (views of Id only). */
    emu_select sel = {.obj = obj, .match = in_window, .ctx = &w, .fields = id_only, .nfields = 1};
    cJSON *rows = emu_store_select(req->emu, &sel, req->api_version);
    cJSON *ids = cJSON_CreateArray();
    for (const cJSON *r = rows->child; r; r = r->next)
        cJSON_AddItemToArray(ids, cJSON_CreateString(json_str(r, "Id")));
    cJSON_Delete(rows);
    return ids;
}

void emu_handle_replication(emu_req *req, emu_resp *resp, const emu_object *obj, bool deleted)
{
    int64_t start, end;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        emu_resp_method_not_allowed(resp, req->method, "GET,HEAD");
        return;
    }
    if (!window(req, resp, deleted, &start, &end))
        return;
    cJSON *list = deleted ? emu_store_deleted_between(req->emu, obj, start, end)
                          : updated_ids(req, obj, start, end);
    if (cJSON_GetArraySize(list) > MAX_IDS) {
        cJSON_Delete(list);
        emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT",
                       "The number of ids exceeds the limit of 600000", NULL);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (deleted) {
        cJSON_AddItemToObject(body, "deletedRecords", list);
        add_date(body, "earliestDateAvailable", deleted_earliest(req->emu));
    } else {
        cJSON_AddItemToObject(body, "ids", list);
    }
    add_date(body, "latestDateCovered", end);
    emu_resp_json(resp, 200, body);
}
