/* The Salesforce emulator's C API, for tests that run it in-process.
 *
 * emu_start() binds 127.0.0.1 only (port 0 = ephemeral) and serves the Salesforce REST
 * subset described in docs/salesforce.md from its own threads until emu_stop(). All functions here
 * are thread-safe against the serving threads. Records returned are deep copies (caller frees with
 * cJSON_Delete). */
#ifndef SFA_EMULATOR_H
#define SFA_EMULATOR_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct emu emu;

typedef struct emu_options {
    unsigned short port;       /* 0: ephemeral */
    const char *state_file;    /* SQLite file to persist records in, or NULL (memory only) */
    const char *client_id;     /* connected app consumer key   (default "sfagent-test-client") */
    const char *client_secret; /* consumer secret              (default "sfagent-test-secret") */
    const char *username;      /* default "agent@example.com" */
    const char *password;      /* password + security token as one string (default "password") */
    const char *refresh_token; /* accepted refresh token       (default "sfagent-test-refresh") */
    const char *jwt_public_key_pem; /* PEM public key or certificate for JWT bearer, or NULL */
    int token_ttl_s;                /* access token lifetime        (default 7200) */
    long api_limit;                 /* daily API requests allowed   (default 100000) */
    int latency_ms;                 /* added to every API request   (default 0) */
    const char *custom_objects;     /* comma list of custom sObjects to declare, e.g. "Visit__c" */
    uint64_t seed;                  /* randomness for probabilistic faults (default 1) */
    const char *tls_cert_pem;       /* PEM certificate (chain) to serve HTTPS with, or NULL */
    const char *tls_key_pem;        /* its PEM private key; with both set emu_base_url() is
                                       "https://127.0.0.1:PORT" */
    int query_page_max;             /* query pages hold at most this many records, whatever
                                       batchSize asks (Salesforce may send fewer; 0: 2000) */
} emu_options;

#define EMU_OPTIONS_INIT                                                                           \
    {                                                                                              \
        0                                                                                          \
    }

/* Start serving; *out is the running emulator. Returns 0, or -1 with a message on stderr. */
int emu_start(emu **out, const emu_options *opts);
/* Stop serving and free. NULL is a no-op. */
void emu_stop(emu *e);

unsigned short emu_port(const emu *e);
/* "http://127.0.0.1:PORT", or "https://..." with TLS (borrowed). */
const char *emu_base_url(const emu *e);

/* ---- inspection and mutation, as if someone used Salesforce directly ---- */

/* The stored record with every field and an attributes block, or NULL. id: 15 or 18 chars. */
cJSON *emu_record_get(emu *e, const char *id);
/* Every record of sobject (array), deleted ones only when include_deleted. */
cJSON *emu_records(emu *e, const char *sobject, bool include_deleted);
size_t emu_record_count(emu *e, const char *sobject, bool include_deleted);
/* Set fields (JSON object) on a record as a Salesforce user edit would: sets
 * LastModifiedDate and SystemModstamp to the current whole second, so an edit in the same
 * second as the record's last write leaves them unchanged. Returns 0 or -1 if no such record. */
int emu_record_edit(emu *e, const char *id, const cJSON *fields);
/* Set a record's SystemModstamp to ms (no other change), as Salesforce's one-second
 * resolution shows an edit made in the same second as the previous write. 0 or -1. */
int emu_record_set_modstamp(emu *e, const char *id, int64_t ms);
/* Create a record as a Salesforce user would; out_id gets the 18-char Id. 0 or -1. */
int emu_record_insert(emu *e, const char *sobject, const cJSON *fields, char out_id[19]);
/* Delete (to the recycle bin) as a Salesforce user would. 0 or -1. */
int emu_record_remove(emu *e, const char *id);

/* ---- faults ---- */

typedef enum emu_fault_kind {
    EMU_FAULT_STATUS,       /* answer status with a Salesforce error body (error_code, message) */
    EMU_FAULT_DELAY,        /* sleep delay_ms, then serve normally */
    EMU_FAULT_DROP_BEFORE,  /* close the connection without applying or answering */
    EMU_FAULT_DROP_AFTER,   /* apply the request, then close without a response */
    EMU_FAULT_TRUNCATE,     /* apply, answer with the body cut in half */
    EMU_FAULT_INVALID_JSON, /* apply, answer 200 with a body that is not JSON */
    EMU_FAULT_EXPIRE_TOKEN, /* expire every access token, then answer as Salesforce would (401) */
    EMU_FAULT_LIMIT,        /* exhaust the daily API limit (403 REQUEST_LIMIT_EXCEEDED) */
    EMU_FAULT_RECORD_ERROR, /* in a collection/composite request, fail record #record_index
                               (-1: every record) with error_code/message, others proceed */
} emu_fault_kind;

typedef struct emu_fault {
    emu_fault_kind kind;
    const char *method;       /* "POST", "PATCH", ... or NULL for any */
    const char *path_pattern; /* fnmatch(3) pattern on the path without query string, e.g.
                                 "/services/data/v*\/composite/sobjects*"; NULL for any */
    int count;                /* fire for the next count matching requests (0: unlimited) */
    double probability;       /* 0: always (within count); else chance per matching request */
    int status;               /* EMU_FAULT_STATUS: HTTP status (e.g. 503) */
    const char *error_code;   /* e.g. "SERVER_UNAVAILABLE"; defaults per status */
    const char *message;
    int delay_ms;     /* EMU_FAULT_DELAY */
    int record_index; /* EMU_FAULT_RECORD_ERROR */
} emu_fault;

#define EMU_FAULT_INIT                                                                             \
    {                                                                                              \
        0                                                                                          \
    }

/* Add a fault; returns its id (>0) or -1 on bad arguments. */
int emu_fault_add(emu *e, const emu_fault *fault);
void emu_faults_clear(emu *e);
/* How many times any fault fired so far. */
size_t emu_faults_fired(emu *e);

/* ---- request log, usage, tokens ---- */

/* Requests received so far whose method matches (NULL any) and path matches the fnmatch
 * pattern (NULL any). */
size_t emu_request_count(emu *e, const char *method, const char *path_pattern);
/* Array of {"method","path","query","status","body"} objects, oldest first. */
cJSON *emu_request_log(emu *e);
/* API requests counted against the daily limit so far. */
long emu_api_usage(emu *e);
void emu_set_api_limit(emu *e, long limit);
/* getDeleted's earliestDateAvailable: the start of the delete log, as when the recycle bin
 * was emptied or a large delete log was purged. ms: at least this (never earlier than now
 * minus 15 days, whole minute); 0 restores the default (now minus 15 days). emu_reset()
 * restores it too. */
void emu_set_deleted_earliest(emu *e, int64_t ms);
/* The most data API requests (/services/data/...) the emulator was serving at one moment
 * since it started or was reset. */
size_t emu_max_concurrent(emu *e);
/* Hold every data API request, before it is applied, until n of them are being served at
 * once, or hold_ms passed (a client that never sends n together is slowed, not stuck).
 * Shows that a client really has n requests in flight without measuring time. n <= 1:
 * off. */
void emu_set_gate(emu *e, size_t n, int hold_ms);
/* Make every issued access token invalid (next use: 401 INVALID_SESSION_ID). */
void emu_expire_tokens(emu *e);
/* Drop all records, faults, tokens and logs; CaseNumbers restart at 00001000. */
void emu_reset(emu *e);

#endif
