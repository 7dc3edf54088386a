/*
 * Shared helpers of the sfagent program: global options, exit codes, error output,
 * option parsing, field maps (--set / --set-json / --fields) and output (tables, JSON).
 *
 * Adding a command is one line in the table in main.c plus one file. A command handler is
 *
 *     int handler(int argc, char **argv);
 *
 * argv[0] is the command name ("case", "outbox", ...), argv[1..argc-1] its own arguments;
 * the global options (--db, --json, --durability) are already consumed and read through
 * cli_db_path(), cli_json() and cli_durability(). `COMMAND --help` never reaches the
 * handler: main.c prints the table's help text. The handler prints its result to stdout,
 * at most one error line to stderr (cli_fail / cli_usage), and returns an exit code below.
 *
 * The program uses the library only through include/sfagent/ headers, plus cJSON for JSON.
 */
#ifndef SFAGENT_CLI_H
#define SFAGENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "sfagent.h"

/* Exit codes (sysexits.h values), one table for every command (cli_exit_code). README
 * "Errors and exit codes" lists them for operators; keep the two in step. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 64,       /* EX_USAGE: unknown command/option, missing argument */
    CLI_EXIT_DATA = 65,        /* EX_DATAERR: invalid input, ambiguous ref, wrong op state,
                                  ops left dead or in conflict by sync */
    CLI_EXIT_NOINPUT = 66,     /* EX_NOINPUT: missing input file, unknown ref or op, no database */
    CLI_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: Salesforce answered with an error */
    CLI_EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: unclassified failure (a bug: please report) */
    CLI_EXIT_CANTCREAT = 73,   /* EX_CANTCREAT: database file or directory not writable */
    CLI_EXIT_IO = 74,          /* EX_IOERR: disk error or full, corrupt or too-new database */
    CLI_EXIT_TEMP = 75,        /* EX_TEMPFAIL: busy, offline, backoff, API limit: try later */
    CLI_EXIT_PROTOCOL = 76,    /* EX_PROTOCOL: the server's certificate failed verification */
    CLI_EXIT_NOPERM = 77,      /* EX_NOPERM: Salesforce refused the credentials */
    CLI_EXIT_CONFIG = 78,      /* EX_CONFIG: configuration missing or invalid */
};

/* The one exception to the table above: `sfagent status --check` is a monitoring plugin
 * and exits with the monitoring-plugins convention (Nagios, Icinga, Sensu, Zabbix agents)
 * instead, whatever went wrong, usage errors included (cli_check_exit_code). */
typedef enum cli_check_state {
    CLI_CHECK_OK = 0,
    CLI_CHECK_WARNING = 1,
    CLI_CHECK_CRITICAL = 2,
    CLI_CHECK_UNKNOWN = 3,
} cli_check_state;

/* Exit code of `status --check` for a state (the plugin convention, not sysexits). */
int cli_check_exit_code(cli_check_state state);
/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *cli_check_state_name(cli_check_state state);

/* While buf is set (not NULL), error lines are kept in it (the last one wins) instead of
 * being printed: `status --check` turns them into its own one status line. */
void cli_capture_errors(char *buf, size_t size);

/* Route the library's log messages to stderr as logfmt or JSON lines (agent/cli_log.c).
 * level / format: the --log-level / --log-format values, or NULL to use
 * $SFAGENT_LOG_LEVEL / $SFAGENT_LOG_FORMAT, else warn and logfmt. A bad value prints a
 * usage error and returns its exit code. */
int cli_log_setup(const char *level, const char *format);

/* Database used when neither --db nor SFAGENT_DB is given (a program concern: the
 * library always takes an explicit path). */
#define CLI_DEFAULT_DB_PATH "sfagent.db"

typedef int (*cli_handler)(int argc, char **argv);

/* Global options, set once by main() before a handler runs. */
void cli_set_globals(const char *db_path, bool json, sfa_durability durability);
const char *cli_db_path(void);
bool cli_json(void);
sfa_durability cli_durability(void);

/* Exit code for a library status: one switch over every sfa_status, no default, so
 * -Wswitch flags a new status until it is given a code here. */
int cli_exit_code(sfa_status status);

/*
 * Print "sfagent: <what>: <library message>" as one line on stderr and return the exit
 * code for status. The message is the handle's, or with agent NULL the thread's last
 * error (sfa_error_last()), or sfa_strerror(status) when there is none. what NULL
 * prints the message alone.
 */
int cli_fail(sfa_status status, const sfa_agent *agent, const char *what);

/* Bytes of a user's argument (a REF, an op) echoed in an error message; longer ones are
 * cut there and end in "...". */
#define CLI_ECHO_MAX 64

/* text cut to CLI_ECHO_MAX bytes (on a UTF-8 boundary) + "..." into buf, which holds
 * CLI_ECHO_MAX + 4 bytes. */
void cli_shorten(char *buf, size_t size, const char *text);

/*
 * cli_fail() for a failure about a record or op reference the user typed: the ref is
 * echoed once and shortened (CLI_ECHO_MAX), whether the library's message names it (a
 * huge ref must not fill the terminal, or be printed twice) or not ("<ref>: <message>").
 */
int cli_fail_ref(sfa_status status, const sfa_agent *agent, const char *ref);

/* Print "sfagent: <formatted message>" on stderr and return code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shorthand for cli_error(CLI_EXIT_USAGE, ...). */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Open the database named by the global options. Only `init` passes create = true:
 * every other command refuses to make a new file (a typo in --db must not silently start
 * an empty outbox). On failure prints the error and returns its exit code; *out is NULL.
 */
int cli_open(sfa_agent **out, bool create);
/* As cli_open, read-only: for commands that only read (status, get, list, query), so they
 * work on a read-only file or directory, on a full disk and beside a writer holding the
 * lock, and write nothing. */
int cli_open_read_only(sfa_agent **out);

/* Refuse a database path that exists and is not a regular file (a FIFO, a device, a
 * directory: SQLite would block or write a journal beside it): prints the error, exit 66.
 * CLI_EXIT_OK for a regular file or a missing path. */
int cli_check_db_file(const char *path);

/* Load the configuration at path (NULL: $SFAGENT_CONFIG, else defaults and environment
 * only). A path that is a directory or other non-file is refused by name (exit 78).
 * Prints the error and returns its exit code; *out is the caller's on CLI_EXIT_OK. */
int cli_load_config(sfa_config **out, const char *path);

/* Option scanning over argv[*i]: accepts "--name VALUE" and "--name=VALUE". */
typedef struct cli_args {
    int argc;
    char **argv;
    int i; /* index of the argument being looked at */
} cli_args;

/* True when argv[i] is the flag name (no value); advances. */
bool cli_take_flag(cli_args *args, const char *name);

/*
 * True when argv[i] is option name; *value gets its value and i advances past it.
 * A missing value prints a usage error and sets *rc to CLI_EXIT_USAGE (still true).
 */
bool cli_take_opt(cli_args *args, const char *name, const char **value, int *rc);

/* Parse a non-negative decimal count (e.g. --limit); false on anything else. */
bool cli_parse_count(const char *text, size_t *out);

/* A field map built from --set / --set-json / --fields; later options override. */
typedef struct cli_fields {
    cJSON *obj;
} cli_fields;

/*
 * If argv[i] is --set, --set-json or --fields, apply it and advance: true. On bad input
 * prints one line and sets *rc (64 for a missing value, 65 for bad JSON or FIELD=VALUE).
 */
bool cli_fields_take(cli_fields *fields, cli_args *args, int *rc);

/* Put name = string value (used by --subject, --last-name, ...). */
void cli_fields_put_string(cli_fields *fields, const char *name, const char *value);

/* The map as compact JSON (caller frees with free()), "{}" when empty. */
char *cli_fields_json(const cli_fields *fields);

void cli_fields_free(cli_fields *fields);

/* Aligned text table, columns sized by their widest cell (UTF-8 aware); headers may be NULL. */
typedef struct cli_table cli_table;

cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Adds one row of ncols cells (NULL prints "-"); cells are copied. */
void cli_table_add(cli_table *table, const char *const *cells);
void cli_table_print(const cli_table *table);
void cli_table_free(cli_table *table);

/* A record as a JSON object for --json (localId, sobject, id, caseNumber, fields, ...). */
cJSON *cli_record_to_json(const sfa_record *record);

/* An outbox op as a JSON object for --json. */
cJSON *cli_op_to_json(const sfa_op *op);

/* Print item (pretty) on stdout and delete it; returns CLI_EXIT_OK. */
int cli_print_json(cJSON *item);

/* Field value of a record's fields object as display text (caller frees), NULL if absent. */
char *cli_field_text(const cJSON *fields, const char *name);
/* JSON text parsed with every number kept as its literal (a Raw item, printed verbatim):
 * cJSON's double would round 123456789012345678. NULL for NULL or bad JSON. */
cJSON *cli_json_parse_exact(const char *text);

/* Copy of s (aborts on out-of-memory, like the library's allocator policy). */
char *cli_strdup(const char *s);

/* "3 s", "4 min", "2 h", "5 d": an age in human units into buf. */
void cli_format_age(char *buf, size_t size, long long age_ms);

#endif
