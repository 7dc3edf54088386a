/* Log sink: level filter + one pluggable writer (stderr by default), public as
 * sfa_log_set_callback() / sfa_log_set_level() (sfagent/log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static log_level current_level = LOG_WARN;
static log_sink_fn sink;
static void *sink_ctx;

void log_set_level(log_level level)
{
    current_level = level;
}

void log_set_sink(log_sink_fn fn, void *ctx)
{
    sink = fn;
    sink_ctx = ctx;
}

void sfa_log_set_callback(sfa_log_fn fn, void *ctx)
{
    log_set_sink(fn, ctx);
}

void sfa_log_set_level(sfa_log_level level)
{
    log_set_level(level);
}

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > current_level || level < LOG_ERROR)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (sink)
        sink(level, line, sink_ctx);
    else
        fprintf(stderr, "sfagent: %s: %s\n", names[level], line);
}
