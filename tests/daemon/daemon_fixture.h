/* Helpers for the `sfagent run` tests: an emulator on a fixed port that can be stopped and
 * started again with its records (the link going down and coming back), the daemon as a
 * child process, and small probes of what it did. */
#ifndef SFA_TEST_DAEMON_FIXTURE_H
#define SFA_TEST_DAEMON_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "emulator.h"

typedef struct dfix {
    char dir[64];
    char db[128];
    char ini[128];
    char state[128]; /* the emulator's records, kept across a stop and start */
    unsigned short port;
    emu *e;        /* NULL while "the link is down" */
    pid_t daemon;  /* 0 when not running */
    char err[160]; /* the daemon's stderr file */
} dfix;

/* Make dir, database (init) and emulator; write the configuration with these [daemon] and
 * [sync] values. */
void dfix_setup(dfix *f, int interval, int write_delay, const char *extra_ini);
void dfix_teardown(dfix *f);
/* (Re)write the configuration pointing at login_url (NULL: the fixture's emulator). */
void dfix_write_config(const dfix *f, const char *login_url, int interval, int write_delay,
                       const char *extra_ini);
/* The link: stop the emulator (connections refused), start it again on the same port. */
void dfix_link_down(dfix *f);
void dfix_link_up(dfix *f);

/* Start `sfagent run ARGS...` (NULL-terminated) with SFAGENT_DB/SFAGENT_CONFIG set. */
void dfix_daemon_start(dfix *f, ...);
/* The same with extra "NAME=VALUE" variables (env NULL-terminated) in its environment. */
void dfix_daemon_start_env(dfix *f, const char *const *env, ...);
/* Send sig and wait at most max_ms for the exit: its status (128+signal when killed) and
 * *elapsed_ms. Fails the test if it does not exit. */
int dfix_daemon_signal_wait(dfix *f, int sig, int max_ms, int64_t *elapsed_ms);

/* Monotonic milliseconds. */
int64_t dfix_now_ms(void);
/* Poll pred every 100 ms for at most max_ms; the elapsed ms when it held, -1 if never. */
int64_t dfix_wait(bool (*pred)(dfix *f, void *arg), dfix *f, void *arg, int max_ms);

/* `sfagent --json status` outbox count of state ("pending", "done", ...); -1 on failure. */
long dfix_outbox(dfix *f, const char *state);
/* Cases in the emulator (not deleted). */
size_t dfix_server_cases(dfix *f);
/* Create n Cases with `sfagent case create` (another process). */
void dfix_create_cases(dfix *f, int n, const char *subject);

/* A port nobody listens on right now (bound and released). */
unsigned short dfix_free_port(void);
/* GET http://127.0.0.1:port/path: the status (0 when it could not connect) and the body
 * (caller frees). */
int dfix_http_get(unsigned short port, const char *path, char **body);

#endif
