/* Private to the emulator core (emu_server.c, emu_resp.c, emu_store.c, emu_persist.c,
 * emu_validate.c, emu_view.c, emu_meta.c, emu_oauth.c, emu_rows.c, emu_control.c): the
 * emulator struct and the helpers those files share.
 * Feature modules use emu_internal.h only.
 *
 * Locking: e->lock guards every member below except the immutable options and
 * metadata (set in emu_start, read-only afterwards). Functions documented "lock held"
 * must be called with it held; the emulator.h API takes it itself.
 */
#ifndef SFA_EMU_CORE_H
#define SFA_EMU_CORE_H

#include "emu_internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#define EMU_REQUEST_LOG_MAX 200000

/* The API versions served: v31.0 (the oldest not retired) to v66.0 (Spring '26), the
 * newest release this emulator follows; GET /services/data/ lists exactly these. A
 * version above EMU_API_VERSION_MAX, or one with a minor digit (Salesforce versions are
 * all NN.0), answers 404 NOT_FOUND as an org that does not know it does. */
#define EMU_API_VERSION_MIN 31
#define EMU_API_VERSION_MAX 66

/* ---- field metadata ---- */

enum {
    EF_CREATE = 1 << 0,     /* createable */
    EF_UPDATE = 1 << 1,     /* updateable */
    EF_NILLABLE = 1 << 2,   /* may be null; not nillable + createable = required */
    EF_EXTID = 1 << 3,      /* externalId */
    EF_UNIQUE = 1 << 4,     /* unique (case-insensitive unless EF_CASE_SENSITIVE) */
    EF_AUTONUM = 1 << 5,    /* auto-number (CaseNumber) */
    EF_DEFAULTED = 1 << 6,  /* defaultedOnCreate */
    EF_CUSTOM = 1 << 7,     /* custom field (__c) */
    EF_RESTRICTED = 1 << 8, /* restricted picklist */
    EF_CALC = 1 << 9,       /* derived by the server (IsClosed, Contact.Name) */
    EF_IDLOOKUP = 1 << 10,  /* idLookup */
    EF_NAMEFIELD = 1 << 11, /* nameField */
    EF_CASE_SENSITIVE = 1 << 12,
};

typedef struct emu_field {
    const char *name;
    const char *label;
    const char *type;            /* describe type: id, string, picklist, textarea, ... */
    int length;                  /* text length; 0 for non-text */
    unsigned flags;              /* EF_* */
    const char *const *picklist; /* NULL-terminated values, or NULL */
    const char *default_value;   /* picklist default, or NULL */
    const char *reference_to;    /* "Contact", "User", ... or NULL */
    const char *relationship;    /* relationshipName or NULL */
} emu_field;

struct emu_object {
    char *name;
    char *label;
    char *label_plural;
    char prefix[4];
    bool custom;
    const emu_field *fields;
    size_t nfields;
    const char **names; /* NULL-terminated field names, in describe order */
};

/* Builds the declared objects (standard + custom_objects). Returns a NULL-terminated
 * array the caller frees with emu_meta_free. NULL with a message on stderr if the
 * custom object list is invalid. */
emu_object **emu_meta_build(const char *custom_objects);
void emu_meta_free(emu_object **objects);
const emu_field *emu_meta_field(const emu_object *obj, const char *name);

/* ---- records ---- */

typedef struct emu_record {
    char id[19];
    const emu_object *obj;
    cJSON *fields; /* every field, in describe order; null when unset */
    bool deleted;
    int64_t deleted_ms;
    int64_t modstamp_ms;
    int64_t seq; /* insertion order, persisted */
} emu_record;

typedef struct emu_undo {
    char id[19];
    emu_record *before; /* copy of the record before the txn touched it, or NULL (created) */
} emu_undo;

typedef struct emu_fault_entry {
    int id;
    emu_fault f;   /* strings owned (xstrdup) */
    int remaining; /* for count > 0 */
} emu_fault_entry;

typedef struct emu_token {
    char *token;
    int64_t expires_ms;
} emu_token;

struct emu {
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    atomic_bool serving; /* set once the daemon runs (read by MHD's log callback) */
    unsigned short port;
    char base_url[64];
    int64_t started_ms;

    /* options (owned copies; immutable after start) */
    char *client_id, *client_secret, *username, *password, *refresh_token, *jwt_key_pem;
    char *state_file;
    int token_ttl_s;
    int latency_ms;
    int query_page_max; /* 0: none below the usual 2000 */
    char org_id[19];
    char user_id[19];
    emu_object **objects;

    /* store */
    emu_record **recs;
    size_t nrecs, caprecs;
    size_t *slots; /* open-addressing index: recs position + 1, 0 = empty */
    size_t nslots;
    struct emu_xent **xbuckets; /* external-ID index (emu_extidx.c) */
    size_t nxbuckets, nxent;
    uint64_t id_counter;
    long case_number;
    int64_t last_modstamp;
    int64_t next_seq;
    bool in_txn;
    emu_undo *undo;
    size_t nundo, capundo;
    sqlite3 *db;

    /* faults */
    emu_fault_entry *faults;
    size_t nfaults;
    int next_fault_id;
    size_t fired;
    uint64_t rng;
    bool has_record_fault;  /* the request being served matched a RECORD_ERROR fault */
    emu_fault record_fault; /* borrowed strings from a live fault entry copy */
    char record_fault_code[64];
    char record_fault_msg[256];

    /* auth and usage */
    emu_token *tokens;
    size_t ntokens;
    long api_usage;
    long api_limit;
    int64_t deleted_earliest_ms; /* emu_set_deleted_earliest; 0: now minus 15 days */

    /* concurrency (emu_server.c): data API requests being served now, the most at once,
     * and the gate (emu_set_gate) that holds each until gate_n are served together */
    pthread_cond_t gate_cond;
    size_t concurrent, max_concurrent, gate_n;
    int gate_hold_ms;

    cJSON *request_log; /* the newest EMU_REQUEST_LOG_MAX requests */
    size_t request_log_len;
    void *feature_state;
};

/* emu_store.c (lock held) */
emu_record *emu_store_get(emu *e, const char *id);
/* The audit date of a write now: the whole second, never before the last write's (S2). */
int64_t emu_store_next_modstamp(emu *e);
void emu_store_index_add(emu *e, emu_record *r); /* append to recs[] and the index */
void emu_store_index_rebuild(emu *e);
void emu_record_free(emu_record *r);

/* emu_extidx.c (lock held): records by (object, external-ID or unique field, value
 * case-insensitive). add indexes r's current fields; remove must see the same fields, so
 * every change of r->fields is bracketed by remove (before) and add (after). */
void emu_extidx_add(emu *e, emu_record *r);
void emu_extidx_remove(emu *e, emu_record *r);
void emu_extidx_clear(emu *e);
/* Records of obj (live; deleted too with include_deleted) whose field f (of obj) equals
 * value case-insensitively (ASCII), in insertion order: the count, and *out (caller frees;
 * NULL when none). Works for any field (a non-indexed one is scanned). */
size_t emu_extidx_find(emu *e, const emu_object *obj, const emu_field *f, const char *value,
                       bool include_deleted, emu_record ***out);
bool emu_extidx_covers(const emu_field *f); /* is f in the index? */

/* emu_persist.c (lock held); put/remove/counters are no-ops without a state file */
int emu_store_open(emu *e); /* open/create the state file and load it; 0 or -1 */
void emu_store_close(emu *e);
/* Drop every record (also from the file) and restart CaseNumbers; Ids keep counting so a
 * dropped record's Id never comes back. */
void emu_store_clear(emu *e);
void emu_persist_put(emu *e, const emu_record *r);
void emu_persist_remove(emu *e, const char *id);
void emu_persist_counters(emu *e);

/* emu_validate.c (lock held): each works on a full copy t of the record's fields and
 * returns false with *err set on the first problem. */
bool emu_validate_input(emu *e, const emu_object *obj, cJSON *t, const cJSON *input, bool create,
                        const char *self_id, emu_dml_error *err);
bool emu_validate_defaults(emu *e, const emu_object *obj, cJSON *t, const char *id,
                           emu_dml_error *err);
bool emu_validate_unique(emu *e, const emu_object *obj, const cJSON *t, const char *self_id,
                         emu_dml_error *err);
void emu_validate_derive(emu *e, const emu_object *obj, cJSON *t, bool create);

/* emu_server.c */
void emu_lock(emu *e);
void emu_unlock(emu *e);
bool emu_token_is_valid(emu *e, const char *token); /* lock held */
/* Issue a new access token (caller frees); lock held. */
char *emu_token_issue(emu *e);
/* Router for /services/data/vNN.N/... after auth (lock held). */
void emu_route_data(emu_req *req, emu_resp *resp);

/* Percent-decode s ('+' as space when plus); caller frees. */
char *emu_url_decode(const char *s, bool plus);
void emu_tokens_clear(emu *e); /* lock held */

/* emu_control.c: free every fault entry (lock held). */
void emu_faults_free_all(emu *e);

/* emu_oauth.c: POST /services/oauth2/token (lock held). */
void emu_handle_token(emu *e, const emu_req *req, emu_resp *resp);

/* emu_rows.c (lock held) */
void emu_handle_versions(emu *e, emu_resp *resp);
void emu_handle_resources(emu_req *req, emu_resp *resp);
void emu_handle_limits(emu_req *req, emu_resp *resp);
void emu_handle_sobjects(emu_req *req, emu_resp *resp);

/* emu_identity.c: GET /id/<orgId>/<userId>, the Identity URL (lock held). */
void emu_handle_identity(emu_req *req, emu_resp *resp);

/* emu_control.c: /__emulator/... (lock held) */
void emu_handle_control(emu_req *req, emu_resp *resp);

/* Helpers */
/* The REST error array for a DML error: [{"message","errorCode","fields"}], its status. */
void emu_resp_dml_error(emu_resp *resp, const emu_dml_error *err);
void emu_dml_error_set(emu_dml_error *err, int status, const char *code, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Default Salesforce error code and message for an HTTP status used by STATUS faults. */
void emu_fault_defaults(int status, const char **code, const char **message);

#endif
