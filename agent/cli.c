/*
 * Global options, exit codes, error lines and option scanning shared by every command.
 * Errors are one line on stderr: scripts read the exit code, people read the line. With
 * --json an error is also the command's one JSON document on stdout,
 * {"error": {"exitCode": N, "message": "..."}}, so a script that parses stdout always gets
 * one document, result or error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Configuration set once by main() (STYLE rule 9 allows configuration globals). */
static const char *g_db_path = CLI_DEFAULT_DB_PATH;
static bool g_json;
static sfa_durability g_durability = SFA_DURABILITY_FULL;

void cli_set_globals(const char *db_path, bool json, sfa_durability durability)
{
    g_db_path = db_path;
    g_json = json;
    g_durability = durability;
}

const char *cli_db_path(void)
{
    return g_db_path;
}

bool cli_json(void)
{
    return g_json;
}

sfa_durability cli_durability(void)
{
    return g_durability;
}

int cli_exit_code(sfa_status status)
{
    switch (status) {
    case SFA_OK:
        return CLI_EXIT_OK;
    case SFA_EINVAL:
    case SFA_EAMBIGUOUS:
    case SFA_ESTATE:
    case SFA_EPARTIAL: /* sync: some ops are dead or in conflict, a person must look */
        return CLI_EXIT_DATA;
    case SFA_ENOTFOUND:
        return CLI_EXIT_NOINPUT;
    case SFA_ESERVER:
        return CLI_EXIT_UNAVAILABLE;
    case SFA_ERROR:
        return CLI_EXIT_SOFTWARE;
    case SFA_EREADONLY:
        return CLI_EXIT_CANTCREAT;
    case SFA_EIO:
    case SFA_EFULL:
    case SFA_ECORRUPT:
    case SFA_ETOONEW:
        return CLI_EXIT_IO;
    case SFA_EBUSY:
    case SFA_ENETWORK:
    case SFA_ELIMIT:
    case SFA_ERETRY:
        return CLI_EXIT_TEMP; /* nothing lost: a scheduler just runs us again later */
    case SFA_EAUTH:
        return CLI_EXIT_NOPERM;
    case SFA_ECONFIG:
        return CLI_EXIT_CONFIG;
    case SFA_ETLS:
        return CLI_EXIT_PROTOCOL; /* not "try later": someone may be in the middle */
    }
    return CLI_EXIT_SOFTWARE; /* a value outside the enum: a bug somewhere */
}

int cli_check_exit_code(cli_check_state state)
{
    /* Plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (anything it cannot judge,
     * a bad option or an unreadable database included). Not sysexits: a monitoring system
     * reads any other code as UNKNOWN or worse. */
    switch (state) {
    case CLI_CHECK_OK:
        return 0;
    case CLI_CHECK_WARNING:
        return 1;
    case CLI_CHECK_CRITICAL:
        return 2;
    case CLI_CHECK_UNKNOWN:
        return 3;
    }
    return 3;
}

const char *cli_check_state_name(cli_check_state state)
{
    switch (state) {
    case CLI_CHECK_OK:
        return "OK";
    case CLI_CHECK_WARNING:
        return "WARNING";
    case CLI_CHECK_CRITICAL:
        return "CRITICAL";
    case CLI_CHECK_UNKNOWN:
        return "UNKNOWN";
    }
    return "UNKNOWN";
}

/* Set by `status --check` only (cli_capture_errors). */
static char *g_capture;
static size_t g_capture_size;

void cli_capture_errors(char *buf, size_t size)
{
    g_capture = buf;
    g_capture_size = size;
    if (buf && size)
        buf[0] = '\0';
}

/* Here rather than in cli_output.c: errors print JSON too, and tests link cli.c alone. */
int cli_print_json(cJSON *item)
{
    char *text = cJSON_Print(item);
    if (!text)
        abort();
    puts(text);
    free(text);
    cJSON_Delete(item);
    return CLI_EXIT_OK;
}

/* Report a failure: one line on stderr, with newlines in library text flattened so it
 * stays one line, and with --json the error document on stdout. Returns code. */
static int report(int code, const char *text)
{
    if (g_capture) {
        snprintf(g_capture, g_capture_size, "%s", text);
        return code;
    }
    fputs("sfagent: ", stderr);
    for (const char *p = text; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
    fputc('\n', stderr);
    if (cli_json()) {
        cJSON *doc = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(doc, "error");
        cJSON_AddNumberToObject(err, "exitCode", code);
        cJSON_AddStringToObject(err, "message", text);
        cli_print_json(doc);
    }
    return code;
}

/* Longest prefix of s of at most max bytes that does not split a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] continues a sequence: cut before its lead byte */
    return n;
}

void cli_shorten(char *buf, size_t size, const char *text)
{
    size_t keep = utf8_prefix(text, CLI_ECHO_MAX);
    snprintf(buf, size, "%.*s%s", (int)keep, text, text[keep] ? "..." : "");
}

int cli_fail(sfa_status status, const sfa_agent *agent, const char *what)
{
    const char *msg = "";
    if (agent)
        msg = sfa_agent_errmsg(agent);
    else if (sfa_error_last()->status == status) /* the failure just reported, not an older one */
        msg = sfa_error_last()->message;
    if (!msg || !*msg)
        msg = sfa_strerror(status);
    if (!what)
        return report(cli_exit_code(status), msg);
    size_t len = strlen(what) + strlen(msg) + 3;
    char *line = malloc(len);
    if (!line)
        abort();
    snprintf(line, len, "%s: %s", what, msg);
    report(cli_exit_code(status), line);
    free(line);
    return cli_exit_code(status);
}

/* msg with the run of text that starts with ref's first CLI_ECHO_MAX bytes (and goes on
 * as far as it matches ref) shortened to those bytes + "..."; NULL when msg does not
 * name ref. Caller frees. */
static char *shorten_ref_in(const char *msg, const char *ref)
{
    size_t keep = utf8_prefix(ref, CLI_ECHO_MAX);
    const char *at = keep ? strstr(msg, ref) : NULL;
    if (!at) {
        char *prefix = cli_strdup(ref);
        prefix[keep] = '\0';
        at = keep ? strstr(msg, prefix) : NULL;
        free(prefix);
    }
    if (!at)
        return NULL;
    size_t run = 0;
    while (at[run] && at[run] == ref[run])
        run++;
    size_t before = (size_t)(at - msg), len = strlen(msg) + 4;
    char *out = malloc(len);
    if (!out)
        abort();
    snprintf(out, len, "%.*s%.*s%s%s", (int)before, msg, (int)keep, at, run > keep ? "..." : "",
             at + run);
    return out;
}

int cli_fail_ref(sfa_status status, const sfa_agent *agent, const char *ref)
{
    const char *msg = "";
    if (agent)
        msg = sfa_agent_errmsg(agent);
    else if (sfa_error_last()->status == status)
        msg = sfa_error_last()->message;
    if (!msg || !*msg)
        msg = sfa_strerror(status);
    char *named = shorten_ref_in(msg, ref);
    if (named) { /* the message names the ref already: once is enough */
        report(cli_exit_code(status), named);
        free(named);
        return cli_exit_code(status);
    }
    char shown[CLI_ECHO_MAX + 4];
    cli_shorten(shown, sizeof shown, ref);
    return cli_fail(status, agent, shown);
}

static int verror(int code, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    return report(code, line);
}

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(CLI_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* What kind of file st is, for a message. */
static const char *file_kind(const struct stat *st)
{
    return S_ISDIR(st->st_mode)    ? "a directory"
           : S_ISFIFO(st->st_mode) ? "a FIFO"
           : S_ISCHR(st->st_mode)  ? "a character device"
           : S_ISBLK(st->st_mode)  ? "a block device"
           : S_ISSOCK(st->st_mode) ? "a socket"
                                   : "not a regular file";
}

int cli_check_db_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
        return CLI_EXIT_OK; /* missing (the caller decides) or a plain file */
    /* SQLite would block on a FIFO or write its journal next to a device: refuse first. */
    return cli_error(CLI_EXIT_NOINPUT, "%s is %s, not a database file", path, file_kind(&st));
}

int cli_load_config(sfa_config **out, const char *path)
{
    *out = NULL;
    if (!path) {
        path = getenv("SFAGENT_CONFIG");
        if (path && !*path)
            path = NULL;
    }
    struct stat st;
    if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cli_error(CLI_EXIT_CONFIG, "configuration %s is %s, not a file", path,
                         file_kind(&st));
    sfa_status s = sfa_config_load(out, path);
    return s == SFA_OK ? CLI_EXIT_OK : cli_fail(s, NULL, NULL);
}

/* The configuration that names the agent's idempotency field, when the environment points
 * at one ($SFAGENT_CONFIG, or SFAGENT_SYNC_IDEMPOTENCY_FIELD alone): a write command then
 * opens the database with that field, so a field other than Sync_Key__c is refused in
 * user input before the first sync records it. *out stays NULL when nothing is
 * configured (the database's remembered field applies). */
static int configured_idempotency_field(sfa_config **out)
{
    const char *path = getenv("SFAGENT_CONFIG"), *field = getenv("SFAGENT_SYNC_IDEMPOTENCY_FIELD");
    if ((!path || !*path) && !field)
        return CLI_EXIT_OK;
    /* A local write needs no configuration: one not written yet (`init` before the first
     * login) leaves the field the database remembers in force. */
    if (!field && access(path, F_OK) != 0 && errno == ENOENT)
        return CLI_EXIT_OK;
    return cli_load_config(out, NULL);
}

static int open_db(sfa_agent **out, bool create, bool read_only)
{
    *out = NULL;
    const char *path = cli_db_path();
    int rc = cli_check_db_file(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!create && access(path, F_OK) != 0 && errno == ENOENT)
        return cli_error(CLI_EXIT_NOINPUT, "no database at %s (run 'sfagent init' first)", path);
    sfa_open_options opts = SFA_OPEN_OPTIONS_INIT;
    opts.durability = cli_durability();
    opts.create = create;
    opts.read_only = read_only;
    sfa_config *cfg = NULL;
    if (!read_only && (rc = configured_idempotency_field(&cfg)) != CLI_EXIT_OK)
        return rc;
    if (cfg) /* remembered by the database and refused in user input from now on */
        opts.idempotency_field = sfa_config_get(cfg, "sync", "idempotency_field");
    sfa_agent *agent = NULL;
    sfa_status st = sfa_agent_open(&agent, path, &opts);
    if (st == SFA_ESTATE && read_only) { /* an older schema: migrate it once, then read */
        sfa_agent_free(agent);
        agent = NULL;
        opts.read_only = false;
        st = sfa_agent_open(&agent, path, &opts);
    }
    sfa_config_free(cfg);
    if (st != SFA_OK) {
        rc = cli_fail(st, agent, path);
        sfa_agent_free(agent);
        return rc;
    }
    *out = agent;
    return CLI_EXIT_OK;
}

int cli_open(sfa_agent **out, bool create)
{
    return open_db(out, create, false);
}

int cli_open_read_only(sfa_agent **out)
{
    return open_db(out, false, true);
}

bool cli_take_flag(cli_args *args, const char *name)
{
    if (args->i >= args->argc || strcmp(args->argv[args->i], name) != 0)
        return false;
    args->i++;
    return true;
}

bool cli_take_opt(cli_args *args, const char *name, const char **value, int *rc)
{
    if (args->i >= args->argc)
        return false;
    const char *arg = args->argv[args->i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        args->i++;
        return true;
    }
    if (arg[n] != '\0')
        return false;
    if (args->i + 1 >= args->argc) {
        *rc = cli_usage("%s needs a value", name);
        args->i++;
        return true;
    }
    *value = args->argv[args->i + 1];
    args->i += 2;
    return true;
}

bool cli_parse_count(const char *text, size_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > (unsigned long long)SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

char *cli_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (!copy)
        abort(); /* same OOM policy as the library: abort, the store survives kill -9 */
    memcpy(copy, s, n);
    return copy;
}

void cli_format_age(char *buf, size_t size, long long age_ms)
{
    long long s = age_ms < 0 ? 0 : age_ms / 1000;
    if (s < 120)
        snprintf(buf, size, "%lld s", s);
    else if (s < 2 * 3600)
        snprintf(buf, size, "%lld min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, size, "%lld h", s / 3600);
    else
        snprintf(buf, size, "%lld d", s / 86400);
}
