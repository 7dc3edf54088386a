/**
 * @file sfagent/global.h
 * @brief Process-wide set-up of the libraries sfagent builds on (libcurl).
 *
 * libcurl's curl_global_init() must run once per process, and before libcurl 7.84 not
 * while any other thread is running or using libcurl. sfagent calls it exactly once,
 * under a pthread_once, either from sfa_global_init() or, if the embedder never calls
 * that, from the first call that talks to Salesforce (sfa_sync_run(), sfa_login_check(),
 * sfa_doctor_run()). A program with several threads, or one that also uses libcurl
 * itself, should call sfa_global_init() from main() before starting threads.
 *
 * sfagent never calls curl_global_cleanup(): the process exit releases what it holds.
 * A program that calls curl_global_cleanup() itself must do so after its last sfagent
 * call.
 */
#ifndef SFAGENT_GLOBAL_H
#define SFAGENT_GLOBAL_H

#include <sfagent/status.h>

/**
 * Initialise libcurl for this process. Thread-safe and idempotent: every call after the
 * first returns the first call's result. SFA_ERROR (message in sfa_error_last()) when
 * libcurl could not be initialised.
 */
sfa_status sfa_global_init(void);

#endif
