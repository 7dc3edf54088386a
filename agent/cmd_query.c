/*
 * `query "SELECT ..."`: local SOQL over the mirror, no network. Records stream from the
 * library (sfa_query_local_each) to stdout, so a query of a million rows runs in
 * constant memory: --json prints the Salesforce-shaped response with its records array
 * written as they come (totalSize after it, since it is known only at the end); the
 * table takes its columns and widths from the first rows and keeps them for the rest.
 * --explain prints the SQL the query compiles to and SQLite's plan instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define MAX_COLUMNS 32
#define HEAD_ROWS   256 /* rows that decide the table's columns and widths */

typedef struct printer {
    bool json;
    size_t n;
    cJSON *head[HEAD_ROWS];
    size_t nhead;
    bool flushed;
    char *cols[MAX_COLUMNS];
    size_t width[MAX_COLUMNS];
    size_t ncols;
} printer;

/* Terminal columns of s: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Column names: keys of the first rows except "attributes", first appearance first. */
static void collect_columns(printer *p)
{
    for (size_t i = 0; i < p->nhead; i++)
        for (const cJSON *f = p->head[i]->child; f; f = f->next) {
            if (strcmp(f->string, "attributes") == 0)
                continue;
            size_t j = 0;
            while (j < p->ncols && strcmp(p->cols[j], f->string) != 0)
                j++;
            if (j == p->ncols && p->ncols < MAX_COLUMNS) {
                p->cols[p->ncols] = cli_strdup(f->string);
                p->width[p->ncols] = text_width(f->string);
                p->ncols++;
            }
        }
}

static void print_cells(const printer *p, char *const *cells)
{
    for (size_t c = 0; c < p->ncols; c++) {
        const char *cell = cells[c] ? cells[c] : "";
        fputs(cell, stdout);
        size_t w = text_width(cell);
        if (c + 1 < p->ncols)
            printf("%*s", (int)(w < p->width[c] ? p->width[c] - w + 2 : 2), "");
    }
    fputc('\n', stdout);
}

static void print_row(const printer *p, const cJSON *rec)
{
    char *cells[MAX_COLUMNS];
    for (size_t c = 0; c < p->ncols; c++)
        cells[c] = cli_field_text(rec, p->cols[c]);
    print_cells(p, cells);
    for (size_t c = 0; c < p->ncols; c++)
        free(cells[c]);
}

/* Columns and widths from the rows held so far; print them and keep the layout. */
static void flush_head(printer *p)
{
    p->flushed = true;
    collect_columns(p);
    for (size_t i = 0; i < p->nhead; i++)
        for (size_t c = 0; c < p->ncols; c++) {
            char *t = cli_field_text(p->head[i], p->cols[c]);
            size_t w = text_width(t);
            if (w > p->width[c])
                p->width[c] = w;
            free(t);
        }
    if (p->ncols > 0)
        print_cells(p, p->cols);
    for (size_t i = 0; i < p->nhead; i++) {
        if (p->ncols > 0)
            print_row(p, p->head[i]);
        cJSON_Delete(p->head[i]);
        p->head[i] = NULL;
    }
    p->nhead = 0;
}

static int on_row(void *ctx, const char *record_json)
{
    printer *p = ctx;
    if (p->json) {
        if (p->n == 0)
            fputs("{\n  \"records\": [\n", stdout); /* opened with the first record */
        printf("%s    %s", p->n ? ",\n" : "", record_json);
        p->n++;
        return 0;
    }
    cJSON *rec = cli_json_parse_exact(record_json); /* 18-digit numbers print as stored */
    if (!rec)
        return 1;
    p->n++;
    if (!p->flushed) {
        p->head[p->nhead++] = rec;
        if (p->nhead == HEAD_ROWS)
            flush_head(p);
        return 0;
    }
    print_row(p, rec);
    cJSON_Delete(rec);
    return 0;
}

static void printer_clear(printer *p)
{
    for (size_t i = 0; i < p->nhead; i++)
        cJSON_Delete(p->head[i]);
    for (size_t c = 0; c < p->ncols; c++)
        free(p->cols[c]);
}

static int run_query(sfa_agent *agent, const char *soql)
{
    printer p;
    memset(&p, 0, sizeof p);
    p.json = cli_json();
    size_t total = 0;
    sfa_status st = sfa_query_local_each(&total, agent, soql, on_row, &p);
    int rc = CLI_EXIT_OK;
    if (st != SFA_OK) {
        /* A query refused before its first record leaves stdout to the error document
         * alone; one failing midway closes what was opened, so each document parses. */
        if (p.json && p.n)
            fputs("\n  ]\n}\n", stdout);
        rc = cli_fail(st, agent, "query");
    } else if (p.json) {
        if (p.n == 0)
            fputs("{\n  \"records\": [\n", stdout);
        printf("%s  ],\n  \"totalSize\": %zu,\n  \"done\": true\n}\n", p.n ? "\n" : "", total);
    } else {
        if (!p.flushed)
            flush_head(&p);
        printf("(totalSize %zu)\n", total);
    }
    printer_clear(&p);
    return rc;
}

static int explain(sfa_agent *agent, const char *soql)
{
    char *text = NULL;
    sfa_status st = sfa_query_explain(&text, agent, soql);
    if (st != SFA_OK)
        return cli_fail(st, agent, "query");
    fputs(text, stdout);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_query(int argc, char **argv)
{
    bool want_plan = argc > 1 && strcmp(argv[1], "--explain") == 0;
    int first = want_plan ? 2 : 1;
    if (argc <= first)
        return cli_usage("query: missing SOQL, e.g. sfagent query \"SELECT Id FROM Case\"");
    if (argc > first + 1)
        return cli_usage("query: quote the whole SOQL statement as one argument");
    sfa_agent *agent = NULL;
    int rc = cli_open_read_only(&agent);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = want_plan ? explain(agent, argv[first]) : run_query(agent, argv[first]);
    sfa_agent_free(agent);
    return rc;
}
