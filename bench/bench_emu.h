/* The emulator for the benchmarks: in-process, or a separate program when
 * SFAGENT_EMULATOR_BIN names it (then the peak RSS a bench prints is the agent's alone). */
#ifndef SFA_BENCH_EMU_H
#define SFA_BENCH_EMU_H

#include <sys/types.h>

#include "emulator/emulator.h"

typedef struct bench_emu {
    emu *in_process;
    pid_t pid;
    char url[128];
} bench_emu;

/* Start it with eo (in-process) or, as a program, with the same latency and state file.
 * 0 on success, with b->url set. */
int bench_emu_start(bench_emu *b, const emu_options *eo);
void bench_emu_stop(bench_emu *b);
/* Peak resident set size of this process, KiB. */
long bench_peak_rss_kb(void);

#endif
