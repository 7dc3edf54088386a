/* Fixture for the emulator feature tests: see test_emu_feat_common.h. */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int fe_group_setup(void **state)
{
    fe_env *env = xcalloc(1, sizeof *env);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&env->e, &o) != 0) {
        free(env);
        return -1;
    }
    env->token = eh_login(env->e);
    *state = env;
    return env->token ? 0 : -1;
}

int fe_group_teardown(void **state)
{
    fe_env *env = *state;
    emu_stop(env->e);
    free(env->token);
    free(env);
    return 0;
}

int fe_reset(void **state)
{
    fe_env *env = *state;
    emu_reset(env->e);
    free(env->token);
    env->token = eh_login(env->e);
    return env->token ? 0 : -1;
}

void fe_req_hdr(fe_env *env, const char *method, const char *path, const char *body,
                const char *header, const char *content_type, eh_response *out)
{
    const char *headers[] = {header, NULL};
    eh_request_opts o = {.method = method,
                         .path = path,
                         .token = env->token,
                         .body = body,
                         .content_type = content_type,
                         .headers = header ? headers : NULL};
    assert_int_equal(eh_request_ex(env->e, &o, out), 0);
}

void fe_req(fe_env *env, const char *method, const char *path, const char *body, eh_response *out)
{
    fe_req_hdr(env, method, path, body, NULL, NULL, out);
}

void fe_case(fe_env *env, const char *subject, const char *sync_key, char out_id[19])
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Subject", subject);
    if (sync_key)
        cJSON_AddStringToObject(f, "Sync_Key__c", sync_key);
    assert_int_equal(emu_record_insert(env->e, "Case", f, out_id), 0);
    cJSON_Delete(f);
}

char *fe_q(const char *soql)
{
    strbuf sb = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)soql; *p; p++) {
        if (*p == ' ')
            strbuf_addc(&sb, '+');
        else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("-_.,()*", *p))
            strbuf_addc(&sb, (char)*p);
        else
            strbuf_addf(&sb, "%%%02X", *p);
    }
    return strbuf_detach(&sb);
}

const char *fe_err(const eh_response *r, int n, const char *key)
{
    const cJSON *o = cJSON_IsArray(r->json) ? cJSON_GetArrayItem(r->json, n) : NULL;
    return json_str(o, key);
}
