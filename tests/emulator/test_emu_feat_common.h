/* Fixture shared by the emulator feature tests (test_emu_feat_*.c): an in-process
 * emulator on an ephemeral 127.0.0.1 port, a logged-in token, and request shortcuts. */
#ifndef SFA_TEST_EMU_FEAT_COMMON_H
#define SFA_TEST_EMU_FEAT_COMMON_H

#include "emu_http.h"
#include "emulator.h"

#include <stddef.h>

#define FV "/services/data/v62.0"

typedef struct fe_env {
    emu *e;
    char *token;
} fe_env;

/* cmocka group setup/teardown (state: fe_env *) and per-test reset (records, faults,
 * tokens dropped; logs in again). */
int fe_group_setup(void **state);
int fe_group_teardown(void **state);
int fe_reset(void **state);

/* Request with the env's token; asserts a response arrived. out freed by caller. */
void fe_req(fe_env *env, const char *method, const char *path, const char *body, eh_response *out);
/* Same with one extra header line ("Name: value") and a content type (NULL: JSON). */
void fe_req_hdr(fe_env *env, const char *method, const char *path, const char *body,
                const char *header, const char *content_type, eh_response *out);
/* Insert a Case through the C API with Subject and (optional) Sync_Key__c. */
void fe_case(fe_env *env, const char *subject, const char *sync_key, char out_id[19]);
/* URL-encode a SOQL text for ?q= (spaces as +). Caller frees. */
char *fe_q(const char *soql);
/* The n-th error object's key ("errorCode"/"statusCode"/"message") of a body array. */
const char *fe_err(const eh_response *r, int n, const char *key);

#endif
