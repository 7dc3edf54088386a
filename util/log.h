/* The log sink (one of the two mutable globals the project allows: configuration and the log sink).
 * Messages go to stderr by default, one line each, prefixed with a level; an embedder routes them
 * elsewhere with sfa_log_set_callback() (sfagent/log.h), which is log_set_sink(). Never pass
 * secrets or tokens. */
#ifndef SFA_UTIL_LOG_H
#define SFA_UTIL_LOG_H

#include "sfagent/log.h"

/* Internal names for the public level and callback types. */
typedef sfa_log_level log_level;
#define LOG_ERROR SFA_LOG_ERROR
#define LOG_WARN  SFA_LOG_WARN
#define LOG_INFO  SFA_LOG_INFO
#define LOG_DEBUG SFA_LOG_DEBUG

typedef sfa_log_fn log_sink_fn;

void log_set_level(log_level level);
/* NULL restores the stderr sink. */
void log_set_sink(log_sink_fn fn, void *ctx);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
