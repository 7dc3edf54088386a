/* systemd notifications (agent/notify.h), spoken directly: sd_notify(3) is one datagram of
 * "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace), a protocol systemd documents as stable (systemd's sd_notify(3) and
 * "Interface Portability and Stability"). Without NOTIFY_SOCKET (not started by systemd)
 * every call does nothing. Linking libsystemd for these few datagrams mapped it and its
 * own libraries (libgcrypt, liblzma, liblz4, libzstd, libcap: about 0.7 MB of resident
 * pages) into every network command, `sfagent sync` included (docs/sync-protocol.md#memory).
 *
 * The watchdog is pinged at half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends,
 * from the daemon's loop: a loop stuck longer than the unit's WatchdogSec= gets the
 * process restarted. WATCHDOG_PID, when set, must be this process. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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
    return true;
}

/* A decimal of digits only, within uint64_t; false otherwise. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* One datagram to $NOTIFY_SOCKET; failures are ignored, as sd_notify's callers do: a
 * notification is advice to the service manager, never a reason to stop. */
static void send_state(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@'))
        return; /* unset, or an address family this build does not speak (vsock:) */
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* the abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n;
    do
        n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    while (n < 0 && errno == EINTR);
    close(fd);
}

void notify_init(void)
{
    uint64_t usec = 0, pid = 0;
    const char *wpid = getenv("WATCHDOG_PID");
    bool ours = !wpid || (parse_u64(wpid, &pid) && pid == (uint64_t)getpid());
    if (ours && parse_u64(getenv("WATCHDOG_USEC"), &usec) && usec > 0)
        watchdog_half_us = usec / 2;
    last_ping_us = mono_us();
}

void notify_ready(void)
{
    send_state("READY=1");
}

void notify_status(const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "STATUS=%s", line);
    send_state(buf);
}

void notify_reloading(void)
{
    /* MONOTONIC_USEC tells systemd which reload this is (systemd >= 253 wants it for
     * Type=notify-reload; older ones ignore it). */
    char buf[64];
    snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us());
    send_state(buf);
}

void notify_stopping(void)
{
    send_state("STOPPING=1");
}

void notify_watchdog(void)
{
    if (!watchdog_half_us)
        return;
    uint64_t now = mono_us();
    if (now - last_ping_us < watchdog_half_us)
        return;
    last_ping_us = now;
    send_state("WATCHDOG=1");
}
