/* `sfagent run --metrics-listen`: Prometheus text exposition on /metrics and a liveness
 * answer on /healthz (agent/metrics.c), served by libmicrohttpd on its own thread. */
#ifndef SFAGENT_METRICS_H
#define SFAGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <sfagent/status.h>
#include <sfagent/sync.h>

typedef struct metrics metrics;

/* Parse "[HOST:]PORT" ("9100", "127.0.0.1:9100", "[::1]:9100"). HOST must be a numeric
 * IPv4 or IPv6 address or "localhost"; without one it is 127.0.0.1. *loopback says whether
 * the address is a loopback one. False with err set when it cannot be parsed. */
bool metrics_parse_listen(const char *spec, char *host, size_t hostlen, unsigned short *port,
                          bool *loopback, char *err, size_t errlen);

/* Serve on host:port. The database at db_path is read through the server's own read-only
 * handle, opened and used on the server's thread only. False with err set. */
bool metrics_start(metrics **out, const char *host, unsigned short port, const char *db_path,
                   char *err, size_t errlen);
/* From the daemon's thread: a run ended; the loop is alive. */
void metrics_note_run(metrics *m, const sfa_sync_report *r, sfa_status st);
void metrics_note_tick(metrics *m);
/* Stop serving and free. NULL is a no-op. */
void metrics_stop(metrics *m);

#endif
