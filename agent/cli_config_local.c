/*
 * The one configuration key a local write needs, as the local program reads it: [sync]
 * idempotency_field, which user input may not set (store/validate.c). The full loader
 * (sfa_config_load) checks every URL with libcurl's parser, which this program is linked
 * without (agent/remote.c), and a local write must not pay the network helper's start-up
 * or fail for a setting it never uses. So this reads the file with inih, the loader's own
 * parser, for that key alone, and the environment variable wins as in the loader. The
 * value is checked when the database is opened with it (store/agent.c); the rest of the
 * file is checked by every command that uses it (sync, run, login, doctor).
 */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define ENV_FIELD "SFAGENT_SYNC_IDEMPOTENCY_FIELD"

struct peek {
    char *field; /* the file's value, or NULL when it names none */
};

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct peek *p = user;
    if (strcmp(section, "sync") == 0 && strcmp(name, "idempotency_field") == 0) {
        free(p->field);
        p->field = cli_strdup(value);
    }
    return 1;
}

/* The file's value into *out (NULL when the key is absent). */
static int read_file_field(char **out, const char *path)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cli_error(CLI_EXIT_CONFIG, "configuration %s is %s, not a file", path,
                         cli_file_kind(&st));
    struct peek p = {NULL};
    int rc = ini_parse(path, on_value, &p);
    if (rc == -1)
        return cli_error(CLI_EXIT_CONFIG, "cannot read configuration %s: %s", path,
                         strerror(errno));
    if (rc != 0) {
        free(p.field);
        return cli_error(CLI_EXIT_CONFIG, "%s:%d: syntax error (expected [section] or key = value)",
                         path, rc);
    }
    *out = p.field;
    return CLI_EXIT_OK;
}

int cli_config_idempotency_field(char **out)
{
    *out = NULL;
    if (!cli_config_names_field())
        return CLI_EXIT_OK;
    const char *env = getenv(ENV_FIELD), *path = getenv("SFAGENT_CONFIG");
    char *field = NULL;
    if (env) {
        field = cli_strdup(env);
    } else { /* cli_config_names_field(): the file is there */
        int rc = read_file_field(&field, path);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    /* As the loader passes it: the default when the file names none, "" for none. */
    *out = field ? field : cli_strdup(SFA_DEFAULT_IDEMPOTENCY_FIELD);
    return CLI_EXIT_OK;
}
