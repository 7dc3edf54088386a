/*
 * Command handlers of the sfagent program (signature documented in cli.h) and the
 * shared record verbs that `case`, `contact` and `record` are built from.
 */
#ifndef SFAGENT_CMD_H
#define SFAGENT_CMD_H

#include "cli.h"

int cmd_init(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_contact(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_outbox(int argc, char **argv);
int cmd_conflicts(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* `status --check`: agent/cmd_status_check.c. */
int cmd_status_check(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_version(int argc, char **argv);
/* agent/cmd_describe.c and agent/cmd_complete.c. */
int cmd_describe(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_complete(int argc, char **argv);

/* The command table of main.c: name, handler, summary, help (for completion). */
typedef struct cli_command {
    const char *name;
    cli_handler handler;
    const char *summary; /* one line for `sfagent --help` */
    const char *help;    /* full text for `sfagent COMMAND --help` */
} cli_command;
const cli_command *cli_command_table(size_t *count);
/* agent/cmd_sync.c and agent/cmd_login.c (talk to Salesforce). */
int cmd_sync(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
/* agent/cmd_run.c: the long-running sync process. */
int cmd_run(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_outbox_retry(int argc, char **argv);
int cmd_outbox_discard(int argc, char **argv);
/* agent/cmd_index.c: declared field indexes (reads the configuration). */
int cmd_index(int argc, char **argv);

/* How one kind of record is driven and shown by the record verbs. */
typedef struct record_kind {
    const char *command; /* "case", "contact", "record": used in messages */
    const char *sobject;
    /* Object-specific options for create/update (--subject, --last-name ...); may be NULL. */
    bool (*take_option)(cli_fields *fields, cli_args *args, int *rc);
    const char *required_field; /* must be set on create (NULL: none) */
    const char *const *columns; /* fields shown first by get and as list columns */
    size_t ncolumns;
} record_kind;

/*
 * Run verb (create, get, update, delete, list; upsert when allow_upsert) with the
 * verb's own arguments starting at args->i.
 */
int records_run(const record_kind *kind, const char *verb, cli_args *args, bool allow_upsert);

#endif
