/* Helpers shared by the store tests: a temp dir per test, a raw SQLite connection for
 * setting up states the API cannot reach, and a dump of the tables for "nothing changed"
 * checks. */
#ifndef SFA_TESTS_STORE_TEST_UTIL_H
#define SFA_TESTS_STORE_TEST_UTIL_H

#include <sqlite3.h>
#include <stddef.h>

#include "sfagent/agent.h"

typedef struct store_fixture {
    char dir[64];
    char path[128];
    sfa_agent *agent;
} store_fixture;

/* mkdtemp + open a fresh database at dir/test.db; asserts on failure. */
store_fixture *fixture_new(void);
/* Close the agent, remove the files and the directory. */
void fixture_free(store_fixture *f);
void remove_tree(const char *dir);

/* Raw connection to path (asserts); caller sqlite3_close()s it. */
sqlite3 *raw_open(const char *path);
/* Run SQL on path through a raw connection (asserts success). */
void raw_exec(const char *path, const char *sql);
/* One integer from a query on path (0 if no row). */
long long raw_int(const char *path, const char *sql);
/* Every row of records and outbox, as text; caller frees. */
char *dump_tables(const char *path);
/* Whole file as bytes; *len gets the size; caller frees. NULL if unreadable. */
unsigned char *read_file_bytes(const char *path, size_t *len);

#endif
