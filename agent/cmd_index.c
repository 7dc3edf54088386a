/*
 * `index [--config FILE]`: make the mirror's declared field indexes match the
 * configuration (`index = A, B` in [pull.<Object>] sections): create the new ones, drop the
 * ones no longer declared, then list what local queries can use. In the network helper
 * (it reads the configuration, agent/cli_config.c), though it never uses the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

/* Indexed by migrations 0006/0009 for every sObject (CaseNumber: Case's column). */
static const char *const BUILT_IN[] = {"Id",          "CaseNumber",      "Status",
                                       "OwnerId",     "ContactId",       "AccountId",
                                       "CreatedDate", "LastModifiedDate"};

static void print_result(size_t created, size_t dropped, const char *declared)
{
    size_t nbuilt = sizeof BUILT_IN / sizeof BUILT_IN[0];
    if (cli_json()) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddNumberToObject(doc, "created", (double)created);
        cJSON_AddNumberToObject(doc, "dropped", (double)dropped);
        cJSON_AddItemToObject(doc, "builtIn", cJSON_CreateStringArray(BUILT_IN, (int)nbuilt));
        cJSON *arr = cJSON_AddArrayToObject(doc, "declared");
        for (const char *p = declared; *p; p += strcspn(p, "\n") + 1) {
            char *name = cli_strdup(p);
            name[strcspn(name, "\n")] = '\0';
            cJSON_AddItemToArray(arr, cJSON_CreateString(name));
            free(name);
        }
        cli_print_json(doc);
        return;
    }
    printf("created %zu, dropped %zu\nbuilt-in:", created, dropped);
    for (size_t i = 0; i < nbuilt; i++)
        printf("%s %s", i ? "," : "", BUILT_IN[i]);
    printf("\ndeclared:");
    for (const char *p = declared; *p; p += strcspn(p, "\n") + 1)
        printf("%s %.*s", p == declared ? "" : ",", (int)strcspn(p, "\n"), p);
    printf("%s\n", *declared ? "" : " (none)");
}

int cmd_index(int argc, char **argv)
{
    cli_args args = {argc, argv, 1};
    const char *config = NULL;
    int rc = CLI_EXIT_OK;
    while (args.i < argc && rc == CLI_EXIT_OK)
        if (!cli_take_opt(&args, "--config", &config, &rc))
            return cli_usage("index: unexpected argument '%s'", argv[args.i]);
    sfa_config *cfg = NULL;
    sfa_agent *agent = NULL;
    if (rc != CLI_EXIT_OK || (rc = cli_load_config(&cfg, config)) != CLI_EXIT_OK ||
        (rc = cli_open(&agent, false)) != CLI_EXIT_OK) {
        sfa_config_free(cfg);
        return rc;
    }
    size_t created = 0, dropped = 0;
    char *declared = NULL;
    sfa_status st = sfa_index_apply_config(&created, &dropped, agent, cfg);
    if (st == SFA_OK)
        st = sfa_index_list(&declared, agent);
    if (st == SFA_OK)
        print_result(created, dropped, declared);
    else
        rc = cli_fail(st, agent, "index");
    free(declared);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return rc;
}
