/*
 * `case`, `contact` and `record`: thin front ends over the shared record verbs. Case and
 * Contact add their everyday fields as options; `record` works for any sObject.
 */
#include <string.h>

#include "cmd.h"

static bool case_option(cli_fields *fields, cli_args *args, int *rc)
{
    const char *value = NULL;
    if (!cli_take_opt(args, "--subject", &value, rc))
        return false;
    if (value)
        cli_fields_put_string(fields, "Subject", value);
    return true;
}

static bool contact_option(cli_fields *fields, cli_args *args, int *rc)
{
    static const char *const opts[][2] = {
        {"--last-name", "LastName"}, {"--first-name", "FirstName"}, {"--email", "Email"}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *value = NULL;
        if (!cli_take_opt(args, opts[i][0], &value, rc))
            continue;
        if (value)
            cli_fields_put_string(fields, opts[i][1], value);
        return true;
    }
    return false;
}

/* Arguments after "COMMAND VERB"; argv[1] is the verb (checked by the caller). */
static cli_args args_after(int argc, char **argv, int first)
{
    cli_args args = {argc, argv, first};
    return args;
}

int cmd_case(int argc, char **argv)
{
    static const char *const columns[] = {"Subject", "Status"};
    static const record_kind kind = {"case", "Case", case_option, "Subject", columns, 2};
    if (argc < 2)
        return cli_usage("case: missing action (see 'sfagent case --help')");
    cli_args args = args_after(argc, argv, 2);
    return records_run(&kind, argv[1], &args, false);
}

int cmd_contact(int argc, char **argv)
{
    static const char *const columns[] = {"FirstName", "LastName", "Email"};
    /* LastName is the one field Salesforce requires on a Contact. */
    static const record_kind kind = {"contact", "Contact", contact_option, "LastName", columns, 3};
    if (argc < 2)
        return cli_usage("contact: missing action (see 'sfagent contact --help')");
    cli_args args = args_after(argc, argv, 2);
    return records_run(&kind, argv[1], &args, false);
}

int cmd_record(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("record: missing action (see 'sfagent record --help')");
    if (argc < 3 || argv[2][0] == '-')
        return cli_usage("record %s: missing SOBJECT (e.g. Account)", argv[1]);
    /* The sObject name itself is validated by the library (SFA_EINVAL -> exit 65). */
    record_kind kind = {"record", argv[2], NULL, NULL, NULL, 0};
    cli_args args = args_after(argc, argv, 3);
    return records_run(&kind, argv[1], &args, true);
}
