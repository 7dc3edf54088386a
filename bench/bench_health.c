/*
 * bench_health: the cost of one health snapshot (sfa_health_get(), what `status`,
 * `status --check` and the daemon's metrics read) on a small and on a large database.
 * The snapshot reads maintained counters, index probes and a few rows, so its cost should
 * not grow with the outbox or the mirror: the large/small ratio is the figure to watch.
 *
 * Each database gets N Cases through the public import API; then, with raw SQL as sync
 * runs would leave it, 90% of their ops are marked done (the rest stay pending). Times are
 * CPU time (getrusage: user + system) per call, the median of --reps repetitions of
 * --calls calls each on a read-only handle, so other load on the machine moves them less
 * than wall time would. Not a test: it prints figures.
 *
 *   bench_health [--small N] [--large N] [--calls N] [--reps N] [--dir DIR]
 *                (defaults 1000, 200000, 200, 11, $TMPDIR or /tmp)
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "sfagent.h"

typedef struct opts {
    long small, large, calls, reps;
    const char *dir;
} opts;

/* A database of n Cases, 90% of their ops done. */
static void build(const char *path, const char *jsonl, long n)
{
    FILE *f = fopen(jsonl, "w");
    if (!f)
        bench_die("cannot write", jsonl);
    for (long i = 0; i < n; i++)
        fprintf(f, "{\"Subject\":\"Case %ld\",\"Status\":\"New\"}\n", i);
    fclose(f);
    bench_remove_db(path);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.durability = SFA_DURABILITY_NORMAL; /* building is not what is measured */
    if (sfa_agent_open(&a, path, &o) != SFA_OK)
        bench_die("open", a ? sfa_agent_errmsg(a) : path);
    int fd = open(jsonl, O_RDONLY);
    sfa_import_result r;
    if (fd < 0 || sfa_record_import(&r, a, "Case", fd, 5000) != SFA_OK)
        bench_die("import", sfa_agent_errmsg(a));
    close(fd);
    sfa_agent_free(a);
    unlink(jsonl);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "UPDATE outbox SET state = 'done' WHERE seq % 10 != 0", NULL, NULL,
                     NULL) != SQLITE_OK)
        bench_die("marking ops done", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* Median CPU microseconds per sfa_health_get() on a read-only handle. */
static double measure(const char *path, const opts *o, size_t *pending)
{
    sfa_agent *a = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.read_only = true;
    if (sfa_agent_open(&a, path, &oo) != SFA_OK)
        bench_die("open read-only", path);
    double *per = calloc((size_t)o->reps, sizeof *per);
    sfa_health h;
    if (!per || sfa_health_get(&h, a) != SFA_OK) /* warm: statements prepared, pages cached */
        bench_die("health", sfa_agent_errmsg(a));
    *pending = h.outbox.pending;
    sfa_health_free(&h);
    for (long r = 0; r < o->reps; r++) {
        double t0 = bench_cpu_s();
        for (long i = 0; i < o->calls; i++) {
            if (sfa_health_get(&h, a) != SFA_OK)
                bench_die("health", sfa_agent_errmsg(a));
            sfa_health_free(&h);
        }
        per[r] = (bench_cpu_s() - t0) / (double)o->calls * 1e6;
    }
    qsort(per, (size_t)o->reps, sizeof *per, bench_cmp_double);
    double median = per[o->reps / 2];
    free(per);
    sfa_agent_free(a);
    return median;
}

static long arg_long(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        bench_die("missing value for", argv[*i]);
    char *end = NULL;
    long v = strtol(argv[++*i], &end, 10);
    if (!end || *end || v <= 0)
        bench_die("not a positive number", argv[*i]);
    return v;
}

static void parse(int argc, char **argv, opts *o)
{
    const char *tmp = getenv("TMPDIR");
    *o = (opts){1000, 200000, 200, 11, tmp && *tmp ? tmp : "/tmp"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--small") == 0)
            o->small = arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--large") == 0)
            o->large = arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--calls") == 0)
            o->calls = arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--reps") == 0)
            o->reps = arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            o->dir = argv[++i];
        else
            bench_die("unknown argument", argv[i]);
    }
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    char small[512], large[512], jsonl[512];
    snprintf(small, sizeof small, "%s/bench_health_small.db", o.dir);
    snprintf(large, sizeof large, "%s/bench_health_large.db", o.dir);
    snprintf(jsonl, sizeof jsonl, "%s/bench_health.jsonl", o.dir);
    build(small, jsonl, o.small);
    build(large, jsonl, o.large);
    size_t ps = 0, pl = 0;
    double s = measure(small, &o, &ps);
    double l = measure(large, &o, &pl);
    printf("sfa_health_get, CPU per call (median of %ld x %ld calls, read-only handle)\n", o.reps,
           o.calls);
    printf("  %8ld Cases (%zu pending): %8.1f us\n", o.small, ps, s);
    printf("  %8ld Cases (%zu pending): %8.1f us\n", o.large, pl, l);
    printf("  ratio large/small: %.2f (constant cost: close to 1)\n", s > 0 ? l / s : 0.0);
    bench_remove_db(small);
    bench_remove_db(large);
    return 0;
}
