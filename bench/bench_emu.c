/* See bench_emu.h. */
#include "bench_emu.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program on a free port; its one stdout line names the URL. */
static int spawn(bench_emu *b, const char *bin, const emu_options *eo)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    char lat[16];
    snprintf(lat, sizeof lat, "%d", eo->latency_ms);
    b->pid = fork();
    if (b->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        if (eo->state_file)
            execl(bin, bin, "--port", "0", "--latency-ms", lat, "--state", eo->state_file,
                  (char *)NULL);
        else
            execl(bin, bin, "--port", "0", "--latency-ms", lat, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "";
    int rc = f && fgets(line, sizeof line, f) ? 0 : -1;
    const char *at = strstr(line, "http://");
    if (rc == 0 && at) {
        snprintf(b->url, sizeof b->url, "%s", at);
        b->url[strcspn(b->url, "\r\n")] = '\0';
    } else {
        rc = -1;
    }
    if (f)
        fclose(f);
    return rc;
}

int bench_emu_start(bench_emu *b, const emu_options *eo)
{
    memset(b, 0, sizeof *b);
    const char *bin = getenv("SFAGENT_EMULATOR_BIN");
    if (bin && *bin)
        return spawn(b, bin, eo);
    if (emu_start(&b->in_process, eo) != 0)
        return -1;
    snprintf(b->url, sizeof b->url, "%s", emu_base_url(b->in_process));
    return 0;
}

void bench_emu_stop(bench_emu *b)
{
    emu_stop(b->in_process);
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
    }
}

long bench_peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}
