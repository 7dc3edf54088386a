/* `sfagent login [--config FILE]`: check the Salesforce credentials of a configuration.
 * Prints the instance URL, org id, user id, user name and API version (with --json, one
 * object). Exit codes come from the one table in cli.c (77 bad credentials, 75
 * unreachable, 78 configuration, ...). Uses only the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfagent/config.h>
#include <sfagent/login.h>

#include "cmd.h"

static void add_or_null(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
    else
        cJSON_AddNullToObject(obj, name);
}

static void print_info(const sfa_login_info *info)
{
    if (!cli_json()) {
        printf("instance_url: %s\norg_id: %s\nuser_id: %s\nusername: %s\napi_version: %s\n",
               info->instance_url, info->org_id ? info->org_id : "-",
               info->user_id ? info->user_id : "-", info->username ? info->username : "-",
               info->api_version);
        return;
    }
    cJSON *obj = cJSON_CreateObject();
    add_or_null(obj, "instanceUrl", info->instance_url);
    add_or_null(obj, "orgId", info->org_id);
    add_or_null(obj, "userId", info->user_id);
    add_or_null(obj, "username", info->username);
    add_or_null(obj, "apiVersion", info->api_version);
    cli_print_json(obj);
}

int cmd_login(int argc, char **argv)
{
    const char *path = NULL;
    int rc = CLI_EXIT_OK;
    cli_args args = {argc, argv, 1};
    while (args.i < argc && rc == CLI_EXIT_OK) {
        if (!cli_take_opt(&args, "--config", &path, &rc))
            return cli_usage("login: unknown argument '%s' (usage: sfagent login [--config FILE])",
                             argv[args.i]);
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_config *cfg = NULL;
    if ((rc = cli_load_config(&cfg, path && *path ? path : NULL)) != CLI_EXIT_OK)
        return rc;
    sfa_login_info info;
    sfa_status st = sfa_login_check(&info, cfg);
    if (st == SFA_OK)
        print_info(&info);
    else
        cli_fail(st, NULL, NULL);
    sfa_login_info_free(&info);
    sfa_config_free(cfg);
    return cli_exit_code(st);
}
