/*
 * The configuration file as the program reads it. In the network helper only: loading a
 * configuration checks its URLs with libcurl's parser (sync/client/sf_url.c), which the
 * local program is linked without; there agent/remote.c hands a command that needs the
 * configuration to the helper.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"

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
                         cli_file_kind(&st));
    sfa_status s = sfa_config_load(out, path);
    return s == SFA_OK ? CLI_EXIT_OK : cli_fail(s, NULL, NULL);
}

int cli_config_idempotency_field(char **out)
{
    *out = NULL;
    if (!cli_config_names_field())
        return CLI_EXIT_OK;
    sfa_config *cfg = NULL;
    int rc = cli_load_config(&cfg, NULL);
    const char *field = rc == CLI_EXIT_OK ? sfa_config_get(cfg, "sync", "idempotency_field") : NULL;
    *out = field ? cli_strdup(field) : NULL;
    sfa_config_free(cfg);
    return rc;
}
