/* The reachability probe used while Salesforce is unreachable: a TCP connect and a TLS
 * handshake to the instance host the last login was answered with (the caller reads it
 * from the store, where a run keeps it: the instance URL is not a secret), or to the login
 * host before any login succeeded, then nothing. Salesforce counts API requests, not
 * connections, so probing every second while the link is down costs the org nothing,
 * where a sync run would spend a token request as soon as the link is back but the
 * instance is not.
 *
 * Invariants:
 *   I1. No HTTP request is sent (CURLOPT_CONNECT_ONLY): no credentials, no path, no body
 *       ever leave the machine from here.
 *   I2. The connection is made exactly as the client makes it (sync/client/sf_client.c):
 *       peer and host verification on, [salesforce] ca_bundle honoured, proxies for https
 *       only, plain http only for the loopback host configuration allows. A probe that
 *       connected therefore means a run's first request can connect too.
 *   I3. A certificate that fails verification is SFA_ETLS, never "offline": the caller
 *       must not keep probing a man in the middle as if the link were down.
 *   I4. A stored instance URL is probed only if the client would accept it from a token
 *       response today (sf_url_check_returned with today's login_url and
 *       allowed_instance_hosts): an edited database or configuration cannot make the probe
 *       connect to a host the client would refuse to talk to. Otherwise the login host is
 *       probed.
 */
#include "sync/client/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/global.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_url.h"
#include "util/log.h"

/* A handful of seconds: the probe runs on a 1-5 s schedule and a connect that takes
 * longer than that is as good as down for a daemon waiting to drain its outbox. */
#define PROBE_TIMEOUT_MAX_S 5L

static bool cert_failed(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
           rc == CURLE_SSL_INVALIDCERTSTATUS || rc == CURLE_SSL_ISSUER_ERROR;
}

static void set_probe_options(CURL *h, const sfa_config *cfg, const char *url)
{
    long timeout = sync_config_timeout_s(cfg);
    if (timeout > PROBE_TIMEOUT_MAX_S)
        timeout = PROBE_TIMEOUT_MAX_S;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L); /* I1 */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L); /* I2 */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = sfa_config_get(cfg, "salesforce", "ca_bundle");
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    if (strncmp(url, "http://", 7) == 0) { /* I2: as sf_client.c I8 */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
}

/* I4: the URL to probe: the instance when the client would accept it, else login_url. */
static const char *probe_target(const sfa_config *cfg, const char *instance_url)
{
    const char *login = sync_config_login_url(cfg);
    if (!instance_url || !instance_url[0])
        return login;
    size_t n = 0;
    const char *const *allowed = sync_config_allowed_hosts(cfg, &n);
    char *why = NULL;
    if (sf_url_check_returned(instance_url, login, allowed, n, &why))
        return instance_url;
    /* debug, not warn: a daemon offline for hours would repeat it every 5 s. */
    log_debug("probe: the recorded instance is not trusted by this configuration (%s);"
              " probing the login host instead",
              why ? why : "refused");
    free(why);
    return login;
}

sfa_status sync_probe_connect(const sfa_config *cfg, const char *instance_url, char *err,
                              size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!cfg)
        return SFA_EINVAL;
    if (sfa_global_init() != SFA_OK) {
        if (err)
            snprintf(err, errlen, "libcurl initialisation failed");
        return SFA_ERROR;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        if (err)
            snprintf(err, errlen, "libcurl: cannot create a handle");
        return SFA_ERROR;
    }
    set_probe_options(h, cfg, probe_target(cfg, instance_url));
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (rc == CURLE_OK)
        return SFA_OK;
    /* curl_easy_strerror is generic text: no URL or host name. */
    if (err)
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    return cert_failed(rc) ? SFA_ETLS : SFA_ENETWORK; /* I3 */
}
