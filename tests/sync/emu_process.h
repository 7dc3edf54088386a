/* The standalone emulator and the real `sfagent` program as child processes, for the tests
 * that kill them (test_sync_kill.c, test_pull_kill.c): start the emulator on an ephemeral
 * port, drive its /__emulator/ control endpoints over HTTP, spawn `sfagent` on a test
 * database and collect its exit code, and a seeded generator so kill delays replay. */
#ifndef SFA_TESTS_EMU_PROCESS_H
#define SFA_TESTS_EMU_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#include "util/json.h"

/* Start $SFAGENT_EMULATOR_BIN --port 0 --seed 7 plus args (NULL-terminated, may be NULL);
 * returns its pid and writes its base URL (http://127.0.0.1:<port>) into base_url once it
 * listens (it prints the URL only then, so no wait is needed). Fails the test if it cannot. */
pid_t emu_process_start(char *base_url, size_t size, const char *const *args);
/* SIGTERM and reap; a no-op for pid 0. */
void emu_process_stop(pid_t pid);

/* One control request to <base_url>/__emulator/<path>; the answer body (caller frees), or
 * NULL with the reason on stderr when the request failed or the answer is not 2xx. */
char *emu_control(const char *base_url, const char *method, const char *path, const char *body);
/* A GET control request parsed as JSON (caller deletes); NULL on failure. */
cJSON *emu_control_json(const char *base_url, const char *path);

/* fork + exec $SFAGENT_BIN with args (NULL-terminated) on SFAGENT_DB=db and
 * SFAGENT_CONFIG=cfg, stdout and stderr to out_path. With a gate pipe the child first waits
 * for EOF on gate[0], so several processes can be let go at the same moment. */
pid_t emu_spawn_agent(const char *db, const char *cfg, const char *out_path, const int *gate,
                      const char *const *args);
/* Wait for pid: its exit code, or 128 + signal. */
int emu_wait_code(pid_t pid);

/* splitmix64 on *state: a fixed seed gives the same sequence on every machine. */
uint64_t emu_rand_next(uint64_t *state);
/* The seed from $SFA_KILL_SEED or dflt, printed with label so a failing run can be replayed. */
uint64_t emu_kill_seed(const char *label, uint64_t dflt);
void emu_sleep_us(long us);
/* A fresh scratch directory from tmpl ("/tmp/sfa-...-XXXXXX") into dir, with the paths of
 * its database (agent.db) and configuration (agent.ini) in db and cfg (each 128 bytes).
 * 0, or -1 when the directory cannot be made. */
int emu_scratch_make(char dir[64], char db[128], char cfg[128], const char *tmpl);
/* Remove the files in dir (the database, its side files, outputs) and dir itself. */
void emu_scratch_remove(const char *dir);
/* Write text to path (0600), failing the test on error. */
void emu_write_file(const char *path, const char *text);

#endif
