/* systemd notifications (agent/notify.h). With libsystemd at build time (SFA_HAVE_LIBSYSTEMD)
 * these are sd_notify(3) calls, which do nothing unless systemd set NOTIFY_SOCKET; without
 * it they compile to nothing and the unit uses Type=simple. The watchdog is pinged at half
 * of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends, from the daemon's loop: a loop
 * stuck longer than the unit's WatchdogSec= gets the process restarted. */
#include "notify.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifdef SFA_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Process-wide like the service itself: set once by notify_init() on the main thread. */
static uint64_t watchdog_half_us;
static uint64_t last_ping_us;

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool notify_available(void)
{
#ifdef SFA_HAVE_LIBSYSTEMD
    return true;
#else
    return false;
#endif
}

#ifdef SFA_HAVE_LIBSYSTEMD
void notify_init(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        watchdog_half_us = usec / 2;
    last_ping_us = mono_us();
}

void notify_ready(void)
{
    sd_notify(0, "READY=1");
}

void notify_status(const char *line)
{
    sd_notifyf(0, "STATUS=%s", line);
}

void notify_reloading(void)
{
    /* MONOTONIC_USEC tells systemd which reload this is (systemd >= 253 wants it for
     * Type=notify-reload; older ones ignore it). */
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us());
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void)
{
    if (!watchdog_half_us)
        return;
    uint64_t now = mono_us();
    if (now - last_ping_us < watchdog_half_us)
        return;
    last_ping_us = now;
    sd_notify(0, "WATCHDOG=1");
}
#else
void notify_init(void)
{
    (void)watchdog_half_us, (void)last_ping_us, (void)mono_us;
}
void notify_ready(void) {}
void notify_status(const char *line)
{
    (void)line;
}
void notify_reloading(void) {}
void notify_stopping(void) {}
void notify_watchdog(void) {}
#endif
