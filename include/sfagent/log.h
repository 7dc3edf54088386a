/**
 * @file sfagent/log.h
 * @brief Routing the library's log messages (warnings, conflicts, retries) to the embedder.
 *
 * By default each message is one line on stderr, "sfagent: LEVEL: message". Messages
 * never contain secrets or tokens. The callback and level are process-wide: set them
 * once, before other threads make sfagent calls (they are not synchronised with the
 * threads that log).
 */
#ifndef SFAGENT_LOG_H
#define SFAGENT_LOG_H

/** Severity; a message is passed on when its level is at most the configured one. */
typedef enum sfa_log_level {
    SFA_LOG_ERROR = 0,
    SFA_LOG_WARN = 1, /**< the default level */
    SFA_LOG_INFO = 2,
    SFA_LOG_DEBUG = 3,
} sfa_log_level;

/**
 * Receives one message: message is one line without a trailing newline, borrowed for the
 * duration of the call. It may be called from any thread that makes sfagent calls.
 */
typedef void (*sfa_log_fn)(sfa_log_level level, const char *message, void *ctx);

/** Send messages to fn (with ctx) instead of stderr; fn NULL restores stderr. */
void sfa_log_set_callback(sfa_log_fn fn, void *ctx);

/** Pass on messages up to level (SFA_LOG_WARN by default). */
void sfa_log_set_level(sfa_log_level level);

#endif
