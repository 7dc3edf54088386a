/**
 * @file sfagent/config.h
 * @brief Agent configuration: an INI file plus SFAGENT_<SECTION>_<KEY> overrides.
 *
 * Keys (README "Configuration" documents each): [salesforce] login_url, api_version,
 * auth (password | refresh_token | client_credentials | jwt), client_id, client_secret,
 * username, password, security_token, refresh_token, private_key_file, ca_bundle,
 * timeout, allowed_instance_hosts, max_response_bytes; [sync] objects, idempotency_field,
 * conflict_policy, backoff_base, backoff_cap, api_limit_share; [daemon] interval,
 * write_delay (`sfagent run`). Each secret may be given as
 * <key>_file instead (refused when readable by group or others).
 */
#ifndef SFAGENT_CONFIG_H
#define SFAGENT_CONFIG_H

#include <stddef.h>
#include <sfagent/status.h>

/** [sync] idempotency_field when the configuration does not name one. */
#define SFA_DEFAULT_IDEMPOTENCY_FIELD "Sync_Key__c"

typedef struct sfa_config sfa_config;

/**
 * Load path (NULL: only defaults + environment) and apply environment overrides.
 * On success *out is the caller's; free it with sfa_config_free(). On failure *out is
 * NULL and sfa_error_last() (sfagent/error.h) names the file, line or key at fault; the
 * message never contains a secret value.
 */
sfa_status sfa_config_load(sfa_config **out, const char *path);

/** Free a configuration from sfa_config_load(). NULL is a no-op. */
void sfa_config_free(sfa_config *cfg);

/** Non-secret value of "section.key" as configured (defaults applied), or NULL.
 *  Secrets (passwords, tokens, client_secret) always read as NULL here. */
const char *sfa_config_get(const sfa_config *cfg, const char *section, const char *key);

/** The fields to index in the local mirror, from `index = A, B` in the [pull.<Object>]
 *  sections: field i (from 0), each name once (case-insensitively) in file order, NULL
 *  past the end or when cfg is NULL. Borrowed from cfg. For sfa_index_apply(). */
const char *sfa_config_index_field(const sfa_config *cfg, size_t i);

#endif
