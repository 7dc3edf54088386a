/*
 * `import SOBJECT FILE|-`: JSON Lines into the outbox and mirror through the library's
 * batched import. A bad line stops the import; the library names the line, keeps the
 * batches before it committed and rolls back the failing batch whole. An import of a file
 * that was interrupted resumes after its last committed line (--restart: from line 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

/* Open FILE ("-" is stdin) for reading; prints the error and returns -1 on failure. */
static int open_input(const char *path, int *rc)
{
    if (strcmp(path, "-") == 0)
        return STDIN_FILENO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *rc = cli_error(CLI_EXIT_NOINPUT, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        *rc = cli_error(CLI_EXIT_NOINPUT, "cannot read %s: is a directory", path);
        return -1;
    }
    return fd;
}

static int print_count(size_t imported)
{
    if (!cli_json()) {
        printf("imported %zu %s\n", imported, imported == 1 ? "record" : "records");
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "imported", (double)imported);
    return cli_print_json(obj);
}

int cmd_import(int argc, char **argv)
{
    cli_args args = {argc, argv, 1};
    const char *pos[2] = {NULL, NULL};
    const char *batch_text = NULL;
    size_t npos = 0, batch = 0;
    bool restart = false;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && args.i < argc) {
        if (cli_take_opt(&args, "--batch", &batch_text, &rc))
            continue;
        if (cli_take_flag(&args, "--restart")) {
            restart = true;
            continue;
        }
        const char *arg = argv[args.i++];
        if ((arg[0] == '-' && arg[1] != '\0') || npos == 2)
            return cli_usage("import: unexpected argument %s", arg);
        pos[npos++] = arg;
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (npos < 2)
        return cli_usage("import: usage: sfagent import SOBJECT FILE|-");
    if (batch_text && (!cli_parse_count(batch_text, &batch) || batch == 0))
        return cli_error(CLI_EXIT_DATA, "import: --batch expects a positive number");
    int fd = open_input(pos[1], &rc);
    if (fd < 0)
        return rc;
    sfa_agent *agent = NULL;
    rc = cli_open(&agent, false);
    if (rc == CLI_EXIT_OK) {
        sfa_import_result res = {0, 0};
        sfa_import_options o = SFA_IMPORT_OPTIONS_INIT;
        o.batch_size = batch;
        o.path = fd == STDIN_FILENO ? NULL : pos[1];
        o.restart = restart;
        size_t skipped = 0;
        sfa_status st = sfa_record_import_opts(&res, &skipped, agent, pos[0], fd, &o);
        if (skipped > 0) /* stderr: stdout keeps its one documented line */
            fprintf(stderr,
                    "sfagent: resumed %s after line %zu (committed by an earlier run; "
                    "--restart imports from line 1)\n",
                    pos[1], skipped);
        char what[96];
        snprintf(what, sizeof what, "import stopped (%zu records imported before)", res.imported);
        rc = st == SFA_OK ? print_count(res.imported) : cli_fail(st, agent, what);
    }
    sfa_agent_free(agent);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}
