/* Reference resolution: a user names a record by its local id, its 15- or 18-char
 * Salesforce Id, or (Case only) its CaseNumber; this finds the one mirror row meant.
 *
 * Invariants:
 * I1. Salesforce Ids are compared in their 18-char form (sfid_to18), so the 15-char
 *     UI form and the API form name the same record.
 * I2. A ref that could be read two ways (e.g. an all-digit 15-char string is both a
 *     valid Id and a possible CaseNumber) is tried both ways; two different records
 *     matching is SFA_EAMBIGUOUS, never a silent pick.
 * I3. Every lookup is an index search: local_id is the primary key, (sobject, sf_id) is
 *     unique, and CaseNumber names its index (tests/store/test_store_reads.c checks the
 *     plans, also after ANALYZE of a skewed mirror).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/localid.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/utf8.h"

#define MAX_MATCHES 4

static const char SQL_BY_LOCAL[] =
    "SELECT local_id, sf_id, sys_modstamp, fields, deleted FROM records "
    "WHERE local_id = ?1 AND sobject = ?2";
static const char SQL_BY_SFID[] =
    "SELECT local_id, sf_id, sys_modstamp, fields, deleted FROM records "
    "WHERE sf_id = ?1 AND sobject = ?2";
/* I3: INDEXED BY, because without statistics the planner may prefer an index on sobject
 * alone and read the whole mirror; the index matches both columns (migration 0006). */
static const char SQL_BY_CASENUMBER[] =
    "SELECT local_id, sf_id, sys_modstamp, fields, deleted FROM records "
    "INDEXED BY records_case_number WHERE case_number = ?1 AND sobject = ?2 LIMIT 4";

void store_row_clear(store_row *r)
{
    free(r->local_id);
    free(r->sf_id);
    free(r->sys_modstamp);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

typedef struct matches {
    store_row rows[MAX_MATCHES];
    size_t n;
} matches;

static bool has_match(const matches *m, const char *local_id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->rows[i].local_id, local_id) == 0)
            return true;
    return false;
}

static sfa_status collect(sfa_agent *a, const char *sql, const char *key, const char *sobject,
                          matches *m)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sobject, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (m->n >= MAX_MATCHES || has_match(m, id))
            continue;
        store_row *r = &m->rows[m->n++];
        r->local_id = store_col_dup(st, 0);
        r->sf_id = store_col_dup(st, 1);
        r->sys_modstamp = store_col_dup(st, 2);
        r->fields = store_col_dup(st, 3);
        r->deleted = sqlite3_column_int(st, 4) != 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "looking up the record");
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static sfa_status find_all(sfa_agent *a, const char *sobject, const char *ref, matches *m)
{
    if (local_id_is_valid(ref))
        return collect(a, SQL_BY_LOCAL, ref, sobject, m);
    sfa_status s = SFA_OK;
    char id18[SFID_LEN + 1];
    if (sfid_to18(ref, id18)) /* I1 */
        s = collect(a, SQL_BY_SFID, id18, sobject, m);
    if (s == SFA_OK && strcasecmp(sobject, "Case") == 0 && all_digits(ref)) /* I2 */
        s = collect(a, SQL_BY_CASENUMBER, ref, sobject, m);
    return s;
}

static sfa_status ambiguous(sfa_agent *a, const char *sobject, const char *ref, const matches *m)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < m->n; i++)
        strbuf_addf(&sb, "%s%s", i ? ", " : "", m->rows[i].local_id);
    sfa_status s =
        store_fail(a, SFA_EAMBIGUOUS, "'%s' matches more than one %s record (%s); use a local id",
                   ref, sobject, strbuf_str(&sb));
    strbuf_free(&sb);
    return s;
}

sfa_status store_resolve(store_row *out, sfa_agent *a, const char *sobject, const char *ref)
{
    memset(out, 0, sizeof *out);
    if (!ref || !*ref)
        return store_fail(a, SFA_EINVAL, "no %s reference given", sobject);
    if (!utf8_is_valid(ref))
        return store_fail(a, SFA_EINVAL, "the %s reference is not valid UTF-8", sobject);
    matches m;
    memset(&m, 0, sizeof m);
    sfa_status s = find_all(a, sobject, ref, &m);
    if (s == SFA_OK && m.n == 0)
        s = store_fail(a, SFA_ENOTFOUND, "no %s matches '%s' (give a local id, a Salesforce Id%s)",
                       sobject, ref, strcasecmp(sobject, "Case") == 0 ? " or a CaseNumber" : "");
    else if (s == SFA_OK && m.n > 1)
        s = ambiguous(a, sobject, ref, &m);
    if (s == SFA_OK) {
        *out = m.rows[0]; /* ownership moves to out */
        memset(&m.rows[0], 0, sizeof m.rows[0]);
    }
    for (size_t i = 0; i < m.n; i++)
        store_row_clear(&m.rows[i]);
    return s;
}
