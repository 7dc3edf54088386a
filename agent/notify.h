/* systemd service notifications for `sfagent run` (agent/notify.c): READY=1, STATUS=,
 * RELOADING=1, STOPPING=1 and the watchdog. No-ops when not started by systemd (no
 * NOTIFY_SOCKET). */
#ifndef SFAGENT_NOTIFY_H
#define SFAGENT_NOTIFY_H

#include <stdbool.h>

/* Read the watchdog interval systemd asked for (WATCHDOG_USEC), once at start. */
void notify_init(void);
void notify_ready(void);
void notify_status(const char *line);
void notify_reloading(void);
void notify_stopping(void);
/* Ping the watchdog if half its interval has passed since the last ping. */
void notify_watchdog(void);
/* True: the protocol is spoken directly, whatever the build found. */
bool notify_available(void);

#endif
