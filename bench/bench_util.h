/* Small helpers every benchmark program needs: a fatal error, wall and CPU clocks, a
 * comparator for medians, and removing a database with its side files. */
#ifndef SFA_BENCH_UTIL_H
#define SFA_BENCH_UTIL_H

/* "<program>: what: detail" on stderr (detail may be NULL), then exit(1). */
_Noreturn void bench_die(const char *what, const char *detail);
/* Monotonic wall-clock seconds. */
double bench_now_s(void);
/* CPU seconds (user + system) this process has used so far. */
double bench_cpu_s(void);
/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* Remove path and its -wal, -shm and -journal files; missing ones are fine. */
void bench_remove_db(const char *path);

/* One run of a program: what a user waits for, measured from outside (wait4). */
typedef struct bench_child {
    int status;     /* its exit status, 128 + signal when killed, -1 when it could not run */
    double wall_ms; /* fork to exit */
    double cpu_ms;  /* user + system of the whole process */
    long rss_kb;    /* its peak resident set size */
} bench_child;
/* Run argv (execvp) with stdout to out_path (NULL: /dev/null); stderr is this process's. */
bench_child bench_run_child(char *const argv[], const char *out_path);

#endif
