/*
 * Log lines of the sfagent program: the library's messages (sfa_log_set_callback) written
 * to stderr as logfmt (default) or JSON, one line each.
 *
 *   logfmt: time=2026-12-01T18:00:00.123Z level=info msg="sync run ended: ..."
 *   json:   {"time":"2026-12-01T18:00:00.123Z","level":"info","msg":"sync run ended: ..."}
 *
 * When journald reads stderr (JOURNAL_STREAM names stderr's device and inode, as
 * systemd.exec(5) describes), the time is left out: the journal stamps every line itself.
 * Each line is written with one write(2), so lines of concurrent processes sharing a
 * stderr do not interleave mid-line. Messages never hold secrets: the library's rule
 * (sfagent/log.h); nothing is added here but the time and level.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct log_setup {
    bool json;
    bool stamp; /* write time= (not when journald reads stderr) */
} log_setup;

static log_setup g_log; /* configuration, set once by cli_log_setup() */

/* A growing line buffer (allocation failure aborts, the program's OOM policy). */
typedef struct cli_strbuf {
    char *data;
    size_t len, cap;
} cli_strbuf;

static void cli_strbuf_reserve(cli_strbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data)
        abort();
    b->cap = cap;
}

static void cli_strbuf_putc(cli_strbuf *b, char c)
{
    cli_strbuf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

static void cli_strbuf_printf(cli_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void cli_strbuf_printf(cli_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    cli_strbuf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* True when JOURNAL_STREAM ("DEV:INODE") is stderr: journald is reading it. */
static bool journald_reads_stderr(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void now_text(char buf[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char secs[24];
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 40, "%s.%03ldZ", secs, ts.tv_nsec / 1000000);
}

static const char *level_name(sfa_log_level level)
{
    switch (level) {
    case SFA_LOG_ERROR:
        return "error";
    case SFA_LOG_WARN:
        return "warn";
    case SFA_LOG_INFO:
        return "info";
    case SFA_LOG_DEBUG:
        return "debug";
    }
    return "info";
}

/* msg as a logfmt quoted value: \" \\ \n \r \t escaped, other control bytes as \u00XX. */
static void logfmt_quote(cli_strbuf *b, const char *msg)
{
    cli_strbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '"' || *p == '\\')
            cli_strbuf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            cli_strbuf_printf(b, "\\n");
        else if (*p == '\r')
            cli_strbuf_printf(b, "\\r");
        else if (*p == '\t')
            cli_strbuf_printf(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            cli_strbuf_printf(b, "\\u%04x", *p);
        else
            cli_strbuf_putc(b, (char)*p);
    }
    cli_strbuf_putc(b, '"');
}

static void write_line(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return; /* a closed stderr must not stop the agent */
        s += w;
        n -= (size_t)w;
    }
}

static void log_line(sfa_log_level level, const char *message, void *ctx)
{
    (void)ctx;
    char stamp[40] = "";
    if (g_log.stamp)
        now_text(stamp);
    if (g_log.json) {
        cJSON *o = cJSON_CreateObject();
        if (g_log.stamp)
            cJSON_AddStringToObject(o, "time", stamp);
        cJSON_AddStringToObject(o, "level", level_name(level));
        cJSON_AddStringToObject(o, "msg", message);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text)
            abort();
        cli_strbuf b = {0};
        cli_strbuf_printf(&b, "%s\n", text);
        free(text);
        write_line(b.data, b.len);
        free(b.data);
        return;
    }
    cli_strbuf b = {0};
    if (g_log.stamp)
        cli_strbuf_printf(&b, "time=%s ", stamp);
    cli_strbuf_printf(&b, "level=%s msg=", level_name(level));
    logfmt_quote(&b, message);
    cli_strbuf_putc(&b, '\n');
    write_line(b.data, b.len);
    free(b.data);
}

/* value of the option, else of the environment variable, else NULL. */
static const char *pick(const char *opt, const char *env_name)
{
    const char *env = getenv(env_name);
    return opt ? opt : env && *env ? env : NULL;
}

int cli_log_setup(const char *level_opt, const char *format_opt)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    const char *level = pick(level_opt, "SFAGENT_LOG_LEVEL");
    const char *format = pick(format_opt, "SFAGENT_LOG_FORMAT");
    sfa_log_level lv = SFA_LOG_WARN;
    if (level) {
        size_t i = 0;
        while (i < 4 && strcmp(level, levels[i]) != 0)
            i++;
        if (i == 4)
            return cli_usage("%s is error, warn, info or debug, not '%.32s'",
                             level_opt ? "--log-level" : "SFAGENT_LOG_LEVEL", level);
        lv = (sfa_log_level)i;
    }
    if (format && strcmp(format, "logfmt") != 0 && strcmp(format, "json") != 0)
        return cli_usage("%s is logfmt or json, not '%.32s'",
                         format_opt ? "--log-format" : "SFAGENT_LOG_FORMAT", format);
    g_log.json = format && strcmp(format, "json") == 0;
    g_log.stamp = !journald_reads_stderr();
    sfa_log_set_level(lv);
    sfa_log_set_callback(log_line, NULL);
    return CLI_EXIT_OK;
}
