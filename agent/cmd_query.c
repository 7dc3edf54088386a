/*
 * `query "SELECT ..."`: local SOQL over the mirror (sfa_query_local), no network.
 * --json prints the Salesforce-shaped response; otherwise a table whose columns are the
 * selected fields in the order they first appear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define MAX_COLUMNS 32

/* Column names: keys of the records except "attributes", first appearance first. */
static size_t collect_columns(const cJSON *records, const char **cols)
{
    size_t n = 0;
    for (const cJSON *r = records ? records->child : NULL; r; r = r->next)
        for (const cJSON *f = r->child; f; f = f->next) {
            if (strcmp(f->string, "attributes") == 0)
                continue;
            size_t j = 0;
            while (j < n && strcmp(cols[j], f->string) != 0)
                j++;
            if (j == n && n < MAX_COLUMNS)
                cols[n++] = f->string;
        }
    return n;
}

static void print_result(const cJSON *result)
{
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(result, "records");
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(result, "totalSize");
    const char *cols[MAX_COLUMNS];
    size_t ncols = collect_columns(records, cols);
    if (ncols > 0) {
        cli_table *t = cli_table_new(ncols, cols);
        for (const cJSON *r = records->child; r; r = r->next) {
            char *cells[MAX_COLUMNS];
            for (size_t c = 0; c < ncols; c++)
                cells[c] = cli_field_text(r, cols[c]);
            cli_table_add(t, (const char *const *)cells);
            for (size_t c = 0; c < ncols; c++)
                free(cells[c]);
        }
        cli_table_print(t);
        cli_table_free(t);
    }
    double n = cJSON_IsNumber(total) ? total->valuedouble : 0;
    printf("(totalSize %.0f)\n", n);
}

int cmd_query(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("query: missing SOQL, e.g. sfagent query \"SELECT Id FROM Case\"");
    if (argc > 2)
        return cli_usage("query: quote the whole SOQL statement as one argument");
    sfa_agent *agent = NULL;
    int rc = cli_open_read_only(&agent);
    if (rc != CLI_EXIT_OK)
        return rc;
    char *json = NULL;
    sfa_status st = sfa_query_local(&json, agent, argv[1]);
    if (st != SFA_OK) {
        rc = cli_fail(st, agent, "query");
    } else {
        cJSON *result = cJSON_Parse(json);
        if (!result)
            rc = cli_error(CLI_EXIT_SOFTWARE, "query: library returned invalid JSON");
        else if (cli_json())
            rc = cli_print_json(result);
        else {
            print_result(result);
            cJSON_Delete(result);
        }
    }
    free(json);
    sfa_agent_free(agent);
    return rc;
}
