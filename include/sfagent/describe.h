/**
 * @file sfagent/describe.h
 * @brief The org's objects and fields as Salesforce describes them, cached for offline use.
 *
 * Describe global (the org's sObjects) and each sObject's describe (its fields) are
 * fetched from Salesforce and cached in the database with the time they were fetched.
 * Local writes are validated against the cache (docs/salesforce.md#describe); a refresh
 * of something cached sends `If-Modified-Since`, so an unchanged describe costs a
 * `304 Not Modified` and no body.
 */
#ifndef SFAGENT_DESCRIBE_H
#define SFAGENT_DESCRIBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sfagent/agent.h>
#include <sfagent/config.h>
#include <sfagent/status.h>

/** What a refresh did. */
typedef enum sfa_describe_fetch {
    SFA_DESCRIBE_FRESH = 0,        /**< the cache was young enough: nothing was sent */
    SFA_DESCRIBE_FETCHED = 1,      /**< Salesforce sent a describe; it is cached now */
    SFA_DESCRIBE_NOT_MODIFIED = 2, /**< Salesforce answered 304: the cache is current */
} sfa_describe_fetch;

/**
 * The cached describe of sobject (NULL: describe global) as JSON text into *out_json
 * (caller frees with free()) and when it was fetched (ms since the epoch) into
 * *fetched_at_ms (may be NULL). SFA_ENOTFOUND when nothing is cached.
 */
sfa_status sfa_describe_cached(char **out_json, int64_t *fetched_at_ms, sfa_agent *agent,
                               const char *sobject);

/**
 * Fetch the describe of sobject (NULL: describe global) from the org configured by cfg
 * and cache it, unless the cached one is younger than max_age_ms (force ignores the age;
 * max_age_ms < 0 uses cfg's [sync] describe_max_age). A cached describe is revalidated
 * with If-Modified-Since. *out (may be NULL) says what happened. An unknown sObject is
 * SFA_ENOTFOUND; unreachable Salesforce SFA_ENETWORK; other failures as the client
 * reports them. The cache is unchanged on failure.
 */
sfa_status sfa_describe_refresh(sfa_describe_fetch *out, sfa_agent *agent, const sfa_config *cfg,
                                const char *sobject, bool force, int64_t max_age_ms);

/**
 * Is sobject an sObject of the org? With describe global cached, a name it does not list
 * (in any letter case) is SFA_EINVAL with a did-you-mean; without it only the API-name
 * syntax is checked. Reads only.
 */
sfa_status sfa_describe_check_sobject(sfa_agent *agent, const char *sobject);

/**
 * Check a comma list of field names of sobject (`--fields A,B,C` of a list) against the
 * cached describe, else the built-in Case/Contact metadata: an unknown name is
 * SFA_EINVAL with a did-you-mean in the handle's message. *out gets the list in
 * Salesforce's spelling (caller frees with free()). Reads only.
 */
sfa_status sfa_describe_check_fields(char **out, sfa_agent *agent, const char *sobject,
                                     const char *fields_csv);

#endif
