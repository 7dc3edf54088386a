/* `sfagent login [--config FILE]`: check the Salesforce credentials of a configuration.
 * Prints the instance URL, org id, user id and user name. Exit codes come from the one
 * table in cli.c (77 bad credentials, 75 unreachable, 78 configuration, ...). Uses only
 * the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfagent/config.h>
#include <sfagent/login.h>

#include "cmd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sfagent login [--config FILE]\n"
            "  FILE defaults to $SFAGENT_CONFIG; SFAGENT_<SECTION>_<KEY> variables override it.\n");
}

/* Returns the config path from --config FILE / --config=FILE / SFAGENT_CONFIG (may be
 * NULL: defaults and environment only), or sets *bad on a usage error. */
static const char *config_path(int argc, char **argv, int *bad)
{
    const char *path = getenv("SFAGENT_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *bad = 0;
            return NULL;
        } else {
            *bad = CLI_EXIT_USAGE;
            return NULL;
        }
    }
    *bad = -1;
    return path && *path ? path : NULL;
}

int cmd_login(int argc, char **argv)
{
    int bad = -1;
    const char *path = config_path(argc, argv, &bad);
    if (bad >= 0) {
        usage(bad ? stderr : stdout);
        return bad;
    }
    sfa_config *cfg = NULL;
    sfa_status st = sfa_config_load(&cfg, path);
    if (st != SFA_OK)
        return cli_fail(st, NULL, NULL);
    sfa_login_info info;
    st = sfa_login_check(&info, cfg);
    if (st == SFA_OK) {
        printf("instance_url: %s\norg_id: %s\nuser_id: %s\nusername: %s\napi_version: %s\n",
               info.instance_url, info.org_id ? info.org_id : "-",
               info.user_id ? info.user_id : "-", info.username ? info.username : "-",
               info.api_version);
    } else {
        cli_fail(st, NULL, NULL);
    }
    int code = cli_exit_code(st);
    sfa_login_info_free(&info);
    sfa_config_free(cfg);
    return code;
}
