/*
 * sfagent: the command-line program. Parses the global options, then dispatches through
 * one table of {name, handler, summary, help}; adding a command is one line here plus one
 * file (handler signature in cli.h). The program reaches the library only through
 * include/sfagent/ headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

typedef cli_command command;

static const command commands[] = {
    {"init", cmd_init, "create (or migrate) the database", "usage: sfagent init\n"},
    {"case", cmd_case, "create, get, update, list, delete Cases",
     "usage: sfagent case create --subject TEXT [--set F=V] [--set-json F=JSON] [--fields JSON]\n"
     "       sfagent case get REF\n"
     "       sfagent case update REF [--subject TEXT] [--set F=V] [--set-json F=JSON] "
     "[--fields JSON]\n"
     "       sfagent case list [--status S] [--limit N] [--order FIELD] [--desc] "
     "[--include-deleted]\n"
     "                         [--fields A,B,C]\n"
     "       sfagent case delete REF\n"
     "REF is a local id (loc-...), a 15/18-char Salesforce Id or a CaseNumber.\n"
     "--set always gives a string; --set-json gives a typed value (true, 42, null, \"x\");\n"
     "--fields gives a JSON object of fields. Later options override earlier ones.\n"},
    {"contact", cmd_contact, "create, get, update, list, delete Contacts",
     "usage: sfagent contact create --last-name X [--first-name Y] [--email E] [--set F=V]\n"
     "                              [--set-json F=JSON] [--fields JSON]\n"
     "       sfagent contact get REF\n"
     "       sfagent contact update REF [--last-name X] [--first-name Y] [--email E] "
     "[--set F=V] ...\n"
     "       sfagent contact list [--limit N] [--order FIELD] [--desc] [--include-deleted]\n"
     "                            [--fields A,B,C]\n"
     "       sfagent contact delete REF\n"
     "REF is a local id (loc-...) or a 15/18-char Salesforce Id.\n"},
    {"record", cmd_record, "the same verbs for any sObject, plus upsert",
     "usage: sfagent record create SOBJECT [--set F=V] [--set-json F=JSON] [--fields JSON]\n"
     "       sfagent record get SOBJECT REF\n"
     "       sfagent record update SOBJECT REF [--set F=V] [--set-json F=JSON] [--fields JSON]\n"
     "       sfagent record list SOBJECT [--status S] [--limit N] [--order FIELD] [--desc]\n"
     "                               [--include-deleted] [--fields A,B,C]\n"
     "       sfagent record delete SOBJECT REF\n"
     "       sfagent record upsert SOBJECT EXTFIELD VALUE [--set F=V] [--fields JSON]\n"},
    {"import", cmd_import, "import JSON Lines records",
     "usage: sfagent import SOBJECT FILE|- [--batch N] [--restart]\n"
     "One JSON object of fields per line; blank lines are skipped. A bad line stops the\n"
     "import: batches before it stay imported, its batch (default 500 lines) is rolled back.\n"
     "Importing the same FILE again continues after its last committed line (an interrupted\n"
     "import resumes; a finished one adds nothing); --restart imports it from line 1.\n"},
    {"outbox", cmd_outbox, "list, show, retry or discard pending writes",
     "usage: sfagent outbox list [--state STATE[,STATE...]|all] [--limit N]\n"
     "         STATE: pending, inflight, done, conflict or dead\n"
     "       sfagent outbox show OP      (op id or seq number)\n"
     "       sfagent outbox retry OP     (a dead or conflict op: send again, due now;\n"
     "                                    a pending op: due now)\n"
     "       sfagent outbox discard OP   (a dead or conflict op: never send; local view\n"
     "                                    falls back to the server's values)\n"
     "       sfagent outbox prune [--older-than DAYS]   (drop done ops, default 30 days)\n"},
    {"conflicts", cmd_conflicts, "ops in conflict, field by field; resolve them",
     "usage: sfagent conflicts [list]\n"
     "       sfagent conflicts resolve OP --keep local|server\n"
     "list: each op in state conflict with, per field, the value the local edit started\n"
     "from (Base), the local value (Local) and Salesforce's value (Server).\n"
     "--keep local: the op is pending again and the next sync sends the local values;\n"
     "--keep server: the op is discarded and the record shows Salesforce's values.\n"},
    {"sync", cmd_sync, "push the outbox to Salesforce, then pull changes into the cache",
     "usage: sfagent sync [--push-only | --pull-only] [--now] [--max-ops N]\n"
     "                    [--max-run-seconds S] [--config FILE]\n"
     "--max-run-seconds: start no new batch after S seconds (overrides [sync]\n"
     "max_run_seconds); what is left goes with the next run (exit 75).\n"
     "Exit codes: 0 all done, 65 some ops dead or in conflict, 75 try again later\n"
     "(offline, backoff, API limit, another sync running), 77 login refused, 78 config.\n"},
    {"run", cmd_run, "keep syncing: soon after local writes, on an interval, when back online",
     "usage: sfagent run [--config FILE] [--metrics-listen [HOST:]PORT] [--metrics-allow-remote]\n"
     "Syncs a few seconds ([daemon] write_delay) after local writes (also by other\n"
     "processes), every [daemon] interval otherwise, and while Salesforce is unreachable\n"
     "only probes it (a connection, no API call) every 1-5 s. SIGTERM/SIGINT: stop (exit 0);\n"
     "SIGHUP: reload the configuration. One per database (a second exits 75).\n"
     "--metrics-listen: Prometheus metrics on http://HOST:PORT/metrics and /healthz\n"
     "(HOST defaults to 127.0.0.1; another address needs --metrics-allow-remote).\n"},
    {"login", cmd_login, "check the Salesforce credentials of a configuration",
     "usage: sfagent login [--config FILE]\n"},
    {"doctor", cmd_doctor, "check configuration, login and each object's idempotency field",
     "usage: sfagent doctor [--config FILE]\n"},
    {"status", cmd_status, "health: outbox counts, last sync, next attempt, API usage",
     "usage: sfagent status\n"
     "       sfagent status --check [--max-age SECONDS] [--max-sync-age SECONDS]\n"
     "--check: one monitoring-plugin line, exit 0 OK, 1 WARNING (oldest pending write older\n"
     "than --max-age, default 3600), 2 CRITICAL (dead or conflict ops, damaged database, no\n"
     "successful sync for --max-sync-age, default 86400), 3 UNKNOWN (database unreadable).\n"},
    {"query", cmd_query, "local SOQL over the cached records",
     "usage: sfagent query [--explain] \"SELECT Subject, Status FROM Case WHERE Status = "
     "'New'\"\n"
     "  results stream (--json too); --explain prints the SQL and SQLite's plan instead\n"},
    {"describe", cmd_describe, "the org's objects, or one object's fields (cached offline)",
     "usage: sfagent describe [SOBJECT] [--refresh] [--config FILE]\n"
     "Without SOBJECT: the org's objects (describe global); with one: its fields.\n"
     "Fetches when nothing is cached, the cache is older than [sync] describe_max_age, or\n"
     "--refresh is given (an unchanged describe costs a 304); offline, prints the cache\n"
     "and its age.\n"},
    {"index", cmd_index, "create or drop the field indexes the configuration declares",
     "usage: sfagent index [--config FILE]\n"
     "Fields listed in `index = A, B` of [pull.<Object>] sections get an index for local\n"
     "queries (one per field name, serving every sObject); indexes no longer listed are\n"
     "dropped. Id, CaseNumber, Status, OwnerId, ContactId, AccountId, CreatedDate and\n"
     "LastModifiedDate are always indexed. Creating an index reads every cached record.\n"},
    {"completion", cmd_completion, "print a shell completion script",
     "usage: sfagent completion bash|zsh|fish\n"
     "  bash: source <(sfagent completion bash)\n"
     "  zsh:  source <(sfagent completion zsh)\n"
     "  fish: sfagent completion fish | source\n"},
    {"complete", cmd_complete, "completion candidates (used by the completion scripts)",
     "usage: sfagent complete -- WORD...\n"
     "Prints one candidate per line for the last WORD. Never uses the network.\n"},
    {"version", cmd_version, "print the version", "usage: sfagent version\n"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

const cli_command *cli_command_table(size_t *count)
{
    *count = NCOMMANDS;
    return commands;
}

static void print_help(FILE *out)
{
    fputs("usage: sfagent [--db PATH] [--json] [--durability full|normal] [--log-level LEVEL]\n"
          "               [--log-format logfmt|json] COMMAND [ARGS]\n\n"
          "Offline-first Salesforce sync agent. Writes are durable when the command returns.\n\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nOptions:\n"
          "  --db PATH            database file (default: $SFAGENT_DB, else ./" CLI_DEFAULT_DB_PATH
          ")\n"
          "  --json               machine-readable JSON output\n"
          "  --durability MODE    full (default): survives power loss; normal: may lose the\n"
          "                       last writes on power loss (never on a crash)\n"
          "  --log-level LEVEL    error, warn (default), info or debug ($SFAGENT_LOG_LEVEL)\n"
          "  --log-format FORMAT  logfmt (default) or json lines on stderr ($SFAGENT_LOG_FORMAT)\n"
          "Run 'sfagent COMMAND --help' for a command's usage.\n",
          out);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

typedef struct globals {
    const char *db;
    bool json;
    sfa_durability durability;
    const char *log_level, *log_format; /* NULL: environment, else warn / logfmt */
} globals;

/* Consume global options from argv[1..]; *first gets the command's index. */
static int parse_globals(int argc, char **argv, globals *g, int *first)
{
    cli_args args = {argc, argv, 1};
    int rc = CLI_EXIT_OK;
    const char *durability = NULL;
    while (rc == CLI_EXIT_OK && args.i < argc && argv[args.i][0] == '-') {
        if (cli_take_opt(&args, "--db", &g->db, &rc) ||
            cli_take_opt(&args, "--durability", &durability, &rc) ||
            cli_take_opt(&args, "--log-level", &g->log_level, &rc) ||
            cli_take_opt(&args, "--log-format", &g->log_format, &rc))
            continue;
        if (cli_take_flag(&args, "--json")) {
            g->json = true;
            continue;
        }
        if (strcmp(argv[args.i], "--help") == 0 || strcmp(argv[args.i], "-h") == 0)
            break;
        return cli_usage("unknown option %s (see 'sfagent --help')", argv[args.i]);
    }
    if (rc == CLI_EXIT_OK && durability) {
        if (strcmp(durability, "full") == 0)
            g->durability = SFA_DURABILITY_FULL;
        else if (strcmp(durability, "normal") == 0)
            g->durability = SFA_DURABILITY_NORMAL;
        else
            rc = cli_usage("--durability is full or normal, not '%s'", durability);
    }
    if (rc == CLI_EXIT_OK && g->db && !*g->db)
        rc = cli_usage("--db needs a non-empty path");
    if (rc == CLI_EXIT_OK)
        rc = cli_log_setup(g->log_level, g->log_format);
    *first = args.i;
    return rc;
}

int main(int argc, char **argv)
{
    /* Before any database is opened, or it changes nothing. Nothing here reads SQLite's
     * allocation statistics; a failure leaves SQLite as it was, so it is not an error. */
    (void)sfa_global_lean_allocations();
    cli_set_command_line(argv);
    const char *env = getenv("SFAGENT_DB");
    globals g = {env && *env ? env : CLI_DEFAULT_DB_PATH, false, SFA_DURABILITY_FULL, NULL, NULL};
    int first = 1;
    /* --json before the command shapes even an error in the global options themselves. */
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            g.json = true;
        else if (strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--durability") == 0 ||
                 strcmp(argv[i], "--log-level") == 0 || strcmp(argv[i], "--log-format") == 0)
            i++; /* skip the option's value */
    }
    cli_set_globals(g.db, g.json, g.durability);
    int rc = parse_globals(argc, argv, &g, &first);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (first >= argc) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[first];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        const command *cmd = first + 1 < argc ? find_command(argv[first + 1]) : NULL;
        if (cmd)
            fputs(cmd->help, stdout);
        else
            print_help(stdout);
        return CLI_EXIT_OK;
    }
    const command *cmd = find_command(name);
    if (!cmd)
        return cli_usage("unknown command '%s' (see 'sfagent --help')", name);
    if (wants_help(argc - first, argv + first)) {
        fputs(cmd->help, stdout);
        return CLI_EXIT_OK;
    }
    cli_set_globals(g.db, g.json, g.durability);
    return cmd->handler(argc - first, argv + first);
}
