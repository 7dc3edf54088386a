/**
 * @file sfagent/global.h
 * @brief Process-wide set-up of the libraries sfagent builds on (libcurl, SQLite).
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

/**
 * Make every SQLite allocation of this process cheaper: turn off SQLite's allocation
 * statistics (SQLITE_CONFIG_MEMSTATUS), so an allocation no longer takes a process-wide
 * mutex and updates counters. sfagent reads none of those statistics; call this only if
 * nothing else in the process reads them either (sqlite3_memory_used(),
 * sqlite3_status(), soft and hard heap limits). Opening a database parses its whole
 * schema, so every short command pays for thousands of allocations: the sfagent program
 * calls this first thing (it saves about a tenth of the instructions of `case get`).
 *
 * Call it before the first SQLite connection of the process. Later, SQLite refuses the
 * change: SFA_ESTATE, nothing changed, everything works as before.
 */
sfa_status sfa_global_lean_allocations(void);

#endif
