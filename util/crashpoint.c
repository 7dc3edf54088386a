/* Crash-point seam: read SFA_CRASH_AT / SFA_CRASH_COUNT once, then count passes. */
#include "util/crashpoint.h"

#ifdef SFA_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    int loaded;
    char name[128];
    long target;
    long seen;
    const char *count_file;
} cp;

static void load(void)
{
    cp.loaded = 1;
    cp.count_file = getenv("SFA_CRASH_COUNT");
    const char *at = getenv("SFA_CRASH_AT");
    if (!at)
        return;
    const char *colon = strrchr(at, ':');
    size_t n = colon ? (size_t)(colon - at) : strlen(at);
    if (n >= sizeof cp.name)
        return;
    memcpy(cp.name, at, n);
    cp.name[n] = '\0';
    cp.target = colon ? strtol(colon + 1, NULL, 10) : 1;
}

void crashpoint_hit(const char *name)
{
    if (!cp.loaded)
        load();
    if (cp.count_file) {
        FILE *f = fopen(cp.count_file, "a");
        if (f) {
            fprintf(f, "%s\n", name);
            fclose(f);
        }
    }
    if (cp.target > 0 && strcmp(cp.name, name) == 0 && ++cp.seen == cp.target)
        _exit(SFA_CRASH_EXIT_CODE);
}
#endif
