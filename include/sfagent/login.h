/**
 * @file sfagent/login.h
 * @brief Checking Salesforce credentials: log in once and report who we are.
 */
#ifndef SFAGENT_LOGIN_H
#define SFAGENT_LOGIN_H

#include <sfagent/config.h>
#include <sfagent/status.h>

/** What a successful login learned. Strings are owned; free with sfa_login_info_free(). */
typedef struct sfa_login_info {
    char *instance_url; /**< e.g. "https://mydomain.my.salesforce.com" */
    char *org_id;       /**< 18-char organization Id, or NULL if not reported */
    char *user_id;      /**< 18-char user Id, or NULL if not reported */
    char *username;     /**< from the identity service, else the configured username, or NULL */
    char *api_version;  /**< "vNN.N" the agent uses */
} sfa_login_info;

/**
 * Log in with the configured OAuth flow and ask the identity service who we are.
 * Returns SFA_OK; SFA_EAUTH when Salesforce refused the credentials; SFA_ENETWORK when it
 * could not be reached; SFA_ECONFIG when required settings are missing; SFA_ESERVER for an
 * unusable answer. On failure sfa_error_last() (sfagent/error.h) holds one line without
 * secrets. *out is zeroed first and filled only on SFA_OK; free its members with
 * sfa_login_info_free() either way. Initialises libcurl if needed (sfagent/global.h).
 */
sfa_status sfa_login_check(sfa_login_info *out, const sfa_config *cfg);

/** Free the members of info (not info itself) and zero them. NULL is a no-op. */
void sfa_login_info_free(sfa_login_info *info);

#endif
