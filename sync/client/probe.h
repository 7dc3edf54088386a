/* The reachability probe: can Salesforce be reached right now, without spending an API
 * call? (sync/client/probe.c; docs/sync-protocol.md#reachability-probe) */
#ifndef SFA_SYNC_PROBE_H
#define SFA_SYNC_PROBE_H

#include <stddef.h>

#include "sfagent/config.h"
#include "sfagent/status.h"

/* Open a connection to instance_url's host when it is given and passes the checks the
 * client applies to a token response's instance_url (sf_url_check_returned: Salesforce's
 * domains, the login host's domain, [salesforce] allowed_instance_hosts), else to the
 * configured login host (TCP, then the TLS handshake with the same verification as every
 * request; plain TCP for a loopback http:// emulator), and close it without sending an
 * HTTP request. SFA_OK when it connected; SFA_ENETWORK when it could not (DNS, refused,
 * unreachable, timeout, handshake failure); SFA_ETLS when the server's certificate failed
 * verification. err (may be NULL) gets a short reason without the URL. Waits at most
 * min([salesforce] timeout, 5) seconds. */
sfa_status sync_probe_connect(const sfa_config *cfg, const char *instance_url, char *err,
                              size_t errlen);

#endif
