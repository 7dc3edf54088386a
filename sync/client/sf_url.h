/* URL checks for every URL the client is configured with or told about (login_url, the
 * token response's instance_url and id): parsed with libcurl's own URL parser
 * (curl_url(3)), so the host we check is the host curl connects to. A hand-written
 * "host is what precedes ':' or '/'" reading let http://127.0.0.1:1@192.0.2.2/ pass as
 * loopback while curl sent the credentials to 192.0.2.2 (issue 8.1). */
#ifndef SFA_SYNC_SF_URL_H
#define SFA_SYNC_SF_URL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sf_url {
    bool https; /* else http */
    char *host; /* lower case; IPv6 in brackets ("[::1]"); curl normalises 127.1 */
    bool loopback;
} sf_url;

void sf_url_clear(sf_url *u);

/* Parse an http(s) URL. Returns NULL and fills out, or a fixed reason (never quoting the
 * URL, which may hold userinfo) and leaves out cleared. Refused: other schemes, no host,
 * white space or control characters, userinfo ("user:password@"), query or fragment. */
const char *sf_url_parse(const char *url, sf_url *out);

/* Is host (as in sf_url.host) a loopback name or address: localhost, 127.0.0.0/8, [::1]? */
bool sf_host_is_loopback(const char *host);

/* host equals domain or is a subdomain of it (label-wise, case-insensitive). */
bool sf_host_in_domain(const char *host, const char *domain);

/* Is host within Salesforce's own domains (docs/salesforce.md "Token response"; README "TLS")? */
bool sf_host_is_salesforce(const char *host);

/* Check a URL the token endpoint handed back (instance_url, id) before any request,
 * least of all one carrying the bearer token, goes there (issue 8.2):
 *   - parsed as above (no userinfo, query, fragment);
 *   - https, or http only when login_url is loopback http and this host is loopback;
 *   - host within Salesforce's domains, within the login host's parent domain (login
 *     host minus its first label, when that leaves at least two labels) or the login host
 *     itself, or listed in allowed (entries are host names: "a.example.com" matches itself
 *     and its subdomains).
 * True when acceptable; else false with *why set to a reason that names only the host
 * (caller frees). */
bool sf_url_check_returned(const char *url, const char *login_url, const char *const *allowed,
                           size_t nallowed, char **why);

#endif
