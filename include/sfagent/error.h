/**
 * @file sfagent/error.h
 * @brief The calling thread's last error: details for calls that have no handle.
 *
 * There is one error channel. Every failing sfagent call records its status and a
 * one-line message (never a secret) as the calling thread's last error. Calls on an
 * ::sfa_agent also keep it on the handle (sfa_agent_errmsg()), where it survives calls
 * on other handles; calls without a handle (sfa_config_load(), sfa_login_check(),
 * sfa_global_init()) have only this one. Successful calls leave it alone, so read it
 * right after the call that failed.
 */
#ifndef SFAGENT_ERROR_H
#define SFAGENT_ERROR_H

#include <sfagent/status.h>

/** A recorded failure. */
typedef struct sfa_error {
    sfa_status status;   /**< what failed; SFA_OK when nothing was recorded */
    const char *message; /**< one line, never NULL; "" when nothing was recorded */
} sfa_error;

/**
 * The last failure recorded on the calling thread; never NULL. Borrowed: valid until the
 * next sfagent call on this thread. Each thread has its own.
 */
const sfa_error *sfa_error_last(void);

/** Forget the calling thread's last failure (status SFA_OK, message ""). */
void sfa_error_clear(void);

#endif
