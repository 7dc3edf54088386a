/*
 * The commands that talk to Salesforce, as the local sfagent program runs them: it hands
 * its whole command line to the network helper, sfagent-remote, the same program built
 * with the Salesforce client (libcurl, OpenSSL). The local program is linked without
 * them, so the commands run most often (get, list, query, status, create) do not load
 * some thirty shared libraries at every start; git keeps its HTTP transport out of the
 * git binary the same way (git-remote-http). The helper is found, in order, in
 * $SFAGENT_EXEC_PATH, next to this program (a build tree), in ../<libexecdir>/sfagent
 * relative to it (an installed prefix, moved or not), then in the configured
 * SFA_LIBEXECDIR.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "record_show.h"

#define HELPER "sfagent-remote"

/* This program's directory (from /proc/self/exe: argv[0] may be a bare name). */
static bool self_dir(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return false;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

/* exec the helper at dir/rel with the command line as given; returns only on failure. */
static void try_exec(const char *dir, const char *rel, char *tried, size_t size)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return;
    size_t used = strlen(tried);
    snprintf(tried + used, size - used, "%s%s", used ? ", " : "", path);
    if (access(path, X_OK) != 0)
        return;
    fflush(NULL); /* nothing written so far may be lost by exec */
    execv(path, cli_command_line());
}

int cli_run_remote(void)
{
    char tried[4 * PATH_MAX] = "", dir[PATH_MAX];
    const char *env = getenv("SFAGENT_EXEC_PATH");
    if (env && *env) {
        try_exec(env, HELPER, tried, sizeof tried);
    } else {
        if (self_dir(dir, sizeof dir)) {
            try_exec(dir, HELPER, tried, sizeof tried);
            try_exec(dir, "../" SFA_LIBEXECDIR_REL "/sfagent/" HELPER, tried, sizeof tried);
        }
        try_exec(SFA_LIBEXECDIR, HELPER, tried, sizeof tried);
    }
    int err = errno;
    return cli_error(CLI_EXIT_SOFTWARE,
                     "this command runs in %s (sfagent with the Salesforce client), which "
                     "could not be run (%s; looked at %s): reinstall sfagent or set "
                     "SFAGENT_EXEC_PATH",
                     HELPER, strerror(err), tried);
}

int cmd_sync(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

int cmd_doctor(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

int cmd_login(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

/* describe fetches when its cache is missing or stale. */
int cmd_describe(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

/* run is sync on a schedule, with the metrics endpoint (libmicrohttpd) and systemd
 * notifications; exec keeps the pid, so a Type=notify unit sees the helper as the service. */
int cmd_run(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

/* index reads the configuration (agent/cli_config.c). */
int cmd_index(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

/* retry and discard live with sync's commands (agent/cmd_sync.c). */
int cmd_outbox_retry(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

int cmd_outbox_discard(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_run_remote();
}

/* Returns only when the helper could not be run (cli_run_remote said why): the cached
 * copy is shown, as when Salesforce cannot be reached. */
void record_refresh(const record_kind *kind, const char *ref, const char *config, char **ref_out)
{
    (void)kind, (void)ref, (void)config;
    *ref_out = NULL;
    cli_run_remote();
    fprintf(stderr, "warning: not refreshed; showing the cached copy\n");
}
