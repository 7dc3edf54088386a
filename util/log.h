/* The log sink (one of the two mutable globals STYLE.md allows). Messages go to stderr
 * by default, one line each, prefixed with a level. Never pass secrets or tokens. */
#ifndef SFA_UTIL_LOG_H
#define SFA_UTIL_LOG_H

typedef enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;

typedef void (*log_sink_fn)(log_level level, const char *line, void *ctx);

void log_set_level(log_level level);
/* NULL restores the stderr sink. */
void log_set_sink(log_sink_fn fn, void *ctx);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
