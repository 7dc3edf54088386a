/* bench_daemon: what `sfagent run` costs and how fast it reacts, against the in-process
 * emulator (prints figures; not a test).
 *
 *   build/bench/bench_daemon --sfagent build/agent/sfagent [--runs N] [--idle S] [--cases M]
 *
 * 1. idle cost: the daemon's CPU time (/proc/PID/schedstat) over S idle seconds, and
 *    that rate per hour: the data_version watch and the loop's ticks;
 * 2. write to Salesforce: one `sfagent case create` by another process until the Case is
 *    in the emulator, N times ([daemon] write_delay is the default 2 s);
 * 3. link back to drained: the emulator stopped, M Cases written, 3 s later the emulator
 *    started again on its port: time until all M are in it, N times, and the token
 *    requests the drain needed (each probe is a connection only);
 * 4. SIGTERM to exit, and the daemon's total CPU time (wait4's rusage).
 * Medians of N; the machine may be shared, so CPU time is the steadier figure. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emulator/emulator.h"

typedef struct bench {
    const char *bin;
    char dir[64], db[128], ini[128], state[128];
    unsigned short port;
    emu *e;
    pid_t daemon;
} bench;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_daemon: %s\n", what);
    exit(1);
}

static unsigned short free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        die("no free port");
    close(s);
    return ntohs(a.sin_port);
}

static void emu_up(bench *b)
{
    emu_options o = EMU_OPTIONS_INIT;
    o.port = b->port;
    o.state_file = b->state;
    for (int i = 0; i < 50 && emu_start(&b->e, &o) != 0; i++)
        usleep(100 * 1000);
    if (!b->e)
        die("cannot start the emulator");
}

static void emu_down(bench *b)
{
    emu_stop(b->e);
    b->e = NULL;
}

/* Run sfagent ARGS (NULL-terminated) with the bench's database and configuration. */
static pid_t spawn(bench *b, const char *const *args, bool wait_for_it)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        setenv("SFAGENT_DB", b->db, 1);
        setenv("SFAGENT_CONFIG", b->ini, 1);
        execv(b->bin, (char *const *)args);
        _exit(127);
    }
    int status = 0;
    if (wait_for_it &&
        (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        die("an sfagent command failed");
    return pid;
}

static void create_case(bench *b)
{
    const char *args[] = {b->bin, "case", "create", "--subject", "bench", NULL};
    spawn(b, args, true);
}

static size_t cases(bench *b)
{
    return b->e ? emu_record_count(b->e, "Case", false) : 0;
}

/* Poll until the emulator holds want Cases; ms waited, -1 after 60 s. */
static int64_t wait_cases(bench *b, size_t want)
{
    int64_t t0 = now_ms();
    while (cases(b) < want) {
        if (now_ms() - t0 > 60000)
            return -1;
        usleep(20 * 1000);
    }
    return now_ms() - t0;
}

/* CPU ms a running process's main thread has used, from /proc/PID/schedstat (nanoseconds:
 * /proc/PID/stat counts clock ticks of 10 ms, too coarse for an idle loop). */
static double cpu_ms_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (!f || fscanf(f, "%llu", &ns) != 1)
        die("cannot read /proc/PID/schedstat");
    fclose(f);
    return (double)ns / 1e6;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    return v[n / 2];
}

static void setup(bench *b)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/sfa-bench-daemon-XXXXXX");
    if (!mkdtemp(b->dir))
        die("mkdtemp");
    snprintf(b->db, sizeof b->db, "%s/t.db", b->dir);
    snprintf(b->ini, sizeof b->ini, "%s/sfagent.ini", b->dir);
    snprintf(b->state, sizeof b->state, "%s/emu.db", b->dir);
    b->port = free_port();
    emu_up(b);
    FILE *f = fopen(b->ini, "w");
    if (!f)
        die("cannot write the configuration");
    fprintf(f,
            "[salesforce]\nlogin_url = http://127.0.0.1:%u\nauth = password\n"
            "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
            "username = agent@example.com\npassword = password\n[sync]\nobjects = Case\n"
            "[daemon]\ninterval = 3600\n",
            (unsigned)b->port);
    fclose(f);
    chmod(b->ini, 0600);
    const char *init[] = {b->bin, "init", NULL};
    spawn(b, init, true);
}

static void cleanup(bench *b)
{
    const char *files[] = {"t.db",        "t.db-wal", "t.db-shm",   "t.db.run.lock",
                           "sfagent.ini", "emu.db",   "emu.db-wal", "emu.db-shm"};
    emu_stop(b->e);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[192];
        snprintf(p, sizeof p, "%s/%s", b->dir, files[i]);
        unlink(p);
    }
    rmdir(b->dir);
}

int main(int argc, char **argv)
{
    bench b = {0};
    int runs = 5, idle_s = 20, m = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--sfagent") == 0)
            b.bin = argv[i + 1];
        else if (strcmp(argv[i], "--runs") == 0)
            runs = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--idle") == 0)
            idle_s = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cases") == 0)
            m = (int)strtol(argv[i + 1], NULL, 10);
    }
    if (!b.bin || runs < 1 || runs > 100 || idle_s < 1 || m < 1)
        die("usage: bench_daemon --sfagent PATH [--runs N] [--idle S] [--cases M]");
    setup(&b);
    const char *run[] = {b.bin, "run", NULL};
    b.daemon = spawn(&b, run, false);
    while (emu_request_count(b.e, "POST", "/services/oauth2/token") < 1)
        usleep(20 * 1000);
    usleep(500 * 1000);

    double cpu0 = cpu_ms_of(b.daemon);
    sleep((unsigned)idle_s);
    double idle_cpu = cpu_ms_of(b.daemon) - cpu0;

    int64_t *lat = calloc((size_t)runs, sizeof *lat), *drain = calloc((size_t)runs, sizeof *drain);
    size_t have = cases(&b), logins_max = 0;
    for (int i = 0; i < runs; i++) {
        create_case(&b);
        lat[i] = wait_cases(&b, ++have);
    }
    for (int i = 0; i < runs; i++) {
        emu_down(&b);
        for (int k = 0; k < m; k++)
            create_case(&b);
        sleep(3);
        int64_t t0 = now_ms();
        emu_up(&b);
        have += (size_t)m;
        int64_t waited = wait_cases(&b, have);
        drain[i] = waited < 0 ? -1 : now_ms() - t0;
        size_t logins = emu_request_count(b.e, "POST", "/services/oauth2/token");
        logins_max = logins > logins_max ? logins : logins_max;
    }
    int64_t t0 = now_ms();
    kill(b.daemon, SIGTERM);
    int status = 0;
    struct rusage ru;
    wait4(b.daemon, &status, 0, &ru);
    int64_t stop_ms = now_ms() - t0;
    double total_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;

    printf("sfagent run against the in-process emulator (%d runs, medians; shared machine)\n",
           runs);
    printf("%-44s %10.2f ms CPU over %d s (%.0f ms CPU per hour)\n", "idle (watch + ticks)",
           idle_cpu, idle_s, idle_cpu * 3600.0 / idle_s);
    int64_t lat_med = median(lat, runs), drain_med = median(drain, runs); /* sorts */
    printf("%-44s %10lld ms median, %lld ms max (write_delay 2 s)\n",
           "write by another process -> in Salesforce", (long long)lat_med,
           (long long)lat[runs - 1]);
    printf("%-44s %10lld ms median, %lld ms max (bound 15000)\n", "link back -> outbox drained",
           (long long)drain_med, (long long)drain[runs - 1]);
    printf("%-44s %10zu (most in one drain; probes are connections only)\n",
           "token requests after the link came back", logins_max);
    printf("%-44s %10lld ms, exit status %d (bound 10000)\n", "SIGTERM (idle) -> exit",
           (long long)stop_ms, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("%-44s %10.1f ms\n", "daemon CPU, whole session", total_cpu);
    free(lat);
    free(drain);
    cleanup(&b);
    return 0;
}
