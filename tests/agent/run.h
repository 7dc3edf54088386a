/* Run the real sfagent binary ($SFAGENT_BIN) and capture its exit code and output. */
#ifndef SFA_TEST_AGENT_RUN_H
#define SFA_TEST_AGENT_RUN_H

#include <stdarg.h>
#include <stddef.h>

typedef struct run_result {
    int code;  /* exit status, or 128 + signal */
    char *out; /* stdout, NUL-terminated */
    char *err; /* stderr, NUL-terminated */
} run_result;

/*
 * Run sfagent with args (NULL-terminated, without argv[0]) in a child process.
 * stdin_text (may be NULL: /dev/null) is fed on stdin. env_db, when not NULL, is put in
 * SFAGENT_DB for the child; otherwise SFAGENT_DB is removed from its environment.
 * scratch_dir holds the temporary capture files. Aborts the test on spawn failure.
 */
void run_sfagent(run_result *res, const char *scratch_dir, const char *env_db,
                 const char *stdin_text, const char *const *args);

void run_result_free(run_result *res);

/* sfagent --db DB ARG... (arguments NULL-terminated), as run_sfagent. */
void run_sfagent_db(run_result *res, const char *scratch_dir, const char *db, const char *arg0,
                    ...);
/* The same with stdin_text (NULL: /dev/null) and the arguments after arg0 in ap. */
void run_sfagent_vdb(run_result *res, const char *scratch_dir, const char *db,
                     const char *stdin_text, const char *arg0, va_list ap);

/* Run sfagent on db (scratch dir as for run_sfagent_db) and check it with run_expect. */
#define RUN_DB(dir, db, code, out_has, err_has, ...)                                               \
    do {                                                                                           \
        run_result r_;                                                                             \
        run_sfagent_db(&r_, (dir), (db), __VA_ARGS__, (const char *)NULL);                         \
        run_expect(&r_, (code), (out_has), (err_has));                                             \
        run_result_free(&r_);                                                                      \
    } while (0)

/* Fail the test unless res exited with code and its stdout / stderr contain out_has /
 * err_has (NULL: anything). */
void run_expect(const run_result *res, int code, const char *out_has, const char *err_has);
/* Fail the test unless res exited with code (its stdout and stderr in the message). */
void run_expect_exit(const run_result *res, int code);
/* Run sql on the database at db behind the program's back; an error fails the test.
 * In run_sql.c: a test that uses it links SQLite. */
void run_sql(const char *db, const char *sql);

/* Number of '\n'-terminated lines in s. */
int run_count_lines(const char *s);

/* Read a whole file (caller frees), NULL if it cannot be read. */
char *run_read_file(const char *path);

/* Remove dir and the files directly in it. */
void run_remove_dir(const char *dir);

/* A fresh scratch directory made from tmpl ("/tmp/sfa-...-XXXXXX") into dir, and in it an
 * initialised database (`sfagent --db <dir>/t.db init`) whose path goes into db. 0, or -1
 * when either step fails (for a cmocka setup to return). */
int run_init_scratch(char *dir, size_t dir_size, char *db, size_t db_size, const char *tmpl);

/* The password-flow configuration of the emulator's default test client, logging in at
 * login_url, then extra lines (NULL: none), written to path with mode 0600 (sfagent refuses
 * a configuration with secrets that others can read). Fails the test on error. */
void run_write_emu_config(const char *path, const char *login_url, const char *extra);

#endif
