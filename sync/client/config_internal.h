/* Typed access to the configuration for the sync engines and the HTTP client. The public
 * header (sfagent/config.h) only hands out non-secret strings; everything here is
 * validated at sfa_config_load() time, so the getters cannot fail. */
#ifndef SFA_SYNC_CONFIG_INTERNAL_H
#define SFA_SYNC_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "sfagent/config.h"
#include "sfagent/status.h"

typedef enum sync_auth_flow {
    SYNC_AUTH_PASSWORD = 0,
    SYNC_AUTH_REFRESH_TOKEN = 1,
    SYNC_AUTH_CLIENT_CREDENTIALS = 2,
    SYNC_AUTH_JWT = 3,
} sync_auth_flow;

typedef enum sync_conflict_policy {
    SYNC_CONFLICT_LOCAL_WINS = 0,
    SYNC_CONFLICT_SERVER_WINS = 1,
    SYNC_CONFLICT_MANUAL = 2,
} sync_conflict_policy;

typedef enum sync_secret {
    SYNC_SECRET_CLIENT_SECRET = 0,
    SYNC_SECRET_PASSWORD = 1,
    SYNC_SECRET_SECURITY_TOKEN = 2,
    SYNC_SECRET_REFRESH_TOKEN = 3,
} sync_secret;

/* Build a configuration from INI text instead of a file (tests, embedders). name is
 * used in error messages in place of a path. Environment overrides apply as usual. */
sfa_status sync_config_load_string(sfa_config **out, const char *text, const char *name,
                                   char **errmsg);

sync_auth_flow sync_config_auth_flow(const sfa_config *cfg);
sync_conflict_policy sync_config_conflict_policy(const sfa_config *cfg);
/* login_url without a trailing slash, e.g. "https://login.salesforce.com". */
const char *sync_config_login_url(const sfa_config *cfg);
/* "62.0" (no leading v). */
const char *sync_config_api_version(const sfa_config *cfg);
int sync_config_timeout_s(const sfa_config *cfg);
int sync_config_backoff_base_s(const sfa_config *cfg);
int sync_config_backoff_cap_s(const sfa_config *cfg);
/* How long an op whose answer was lost waits before it is sent again (or anything newer
 * of its record is sent): Salesforce may still apply the lost request until then. */
int sync_config_settle_s(const sfa_config *cfg);
/* Seconds before now (by this host's clock) a pull leaves for the next one: records
 * whose SystemModstamp is that recent are not asked for yet (0: no such bound). */
int sync_config_pull_settle_s(const sfa_config *cfg);
/* Share (0 < share <= 1) of the org's daily API limit the agent may use. */
double sync_config_api_limit_share(const sfa_config *cfg);
/* [sync] describe_max_age: seconds a cached describe is used before it is revalidated. */
int sync_config_describe_max_age(const sfa_config *cfg);
/* [sync] compress_min_bytes: request bodies of at least this size are sent gzip-compressed
 * (Content-Encoding: gzip); 0: never. */
int sync_config_compress_min_bytes(const sfa_config *cfg);
/* [sync] max_run_seconds: a run starts no new batch after this long; 0: no limit. */
int sync_config_max_run_s(const sfa_config *cfg);
/* [daemon] interval: seconds between scheduled runs of `sfagent run` (before jitter). */
int sync_config_daemon_interval_s(const sfa_config *cfg);
/* [daemon] write_delay: seconds `sfagent run` waits after a local write before syncing. */
int sync_config_daemon_write_delay_s(const sfa_config *cfg);
/* [sync] parallel: push requests in flight at once (1..SYNC_PARALLEL_MAX, default 4). */
#define SYNC_PARALLEL_MAX 10
int sync_config_parallel(const sfa_config *cfg);
size_t sync_config_object_count(const sfa_config *cfg);
/* i-th configured sObject name (borrowed), i < sync_config_object_count(). */
const char *sync_config_object(const sfa_config *cfg, size_t i);
/* [pull.<sobject>] fields / where as written (borrowed), or NULL when not configured. */
const char *sync_config_pull_fields(const sfa_config *cfg, const char *sobject);
const char *sync_config_pull_where(const sfa_config *cfg, const char *sobject);
/* External ID field used as idempotency key, or NULL when configured empty (no key). */
const char *sync_config_idempotency_field(const sfa_config *cfg);
/* [salesforce] allowed_instance_hosts, lower case, without "*." (borrowed; *count set). */
const char *const *sync_config_allowed_hosts(const sfa_config *cfg, size_t *count);
/* [salesforce] max_response_bytes: cap on any response body, after decompression. */
size_t sync_config_max_response_bytes(const sfa_config *cfg);
/* Secret value (borrowed) or NULL when not configured. Never log it. */
const char *sync_config_secret(const sfa_config *cfg, sync_secret which);

#endif
