/* URL parsing and host rules for the Salesforce client (sf_url.h).
 *
 * Invariants:
 *   I1. Every host decision uses the host libcurl will connect to: curl_url(3) parses,
 *       never a hand-written scanner.
 *   I2. A message about a URL names at most its host, never its userinfo, path or query.
 */
#include "sync/client/sf_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"

void sf_url_clear(sf_url *u)
{
    free(u->host);
    memset(u, 0, sizeof *u);
}

bool sf_host_is_loopback(const char *host)
{
    if (!host)
        return false;
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Is part present (and non-empty) in the parsed URL? */
static bool has_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    bool present = curl_url_get(h, part, &v, 0) == CURLUE_OK && v && *v;
    curl_free(v);
    return present;
}

const char *sf_url_parse(const char *url, sf_url *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = url; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return "is not a valid URL (contains white space)";
    CURLU *h = curl_url();
    if (!h)
        abort(); /* OOM policy  */
    const char *why = NULL;
    char *scheme = NULL, *host = NULL;
    if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        why = strncmp(url, "http", 4) == 0 ? "is not a valid URL" : "must start with https://";
        goto out;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        why = "must start with https://";
        goto out;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        why = "is not a valid URL (no host)";
        goto out;
    }
    /* I2: say what is wrong, not what was written (it may be a password). */
    if (has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD) ||
        has_part(h, CURLUPART_OPTIONS) || strchr(url, '@')) {
        why = "must not contain user information (user:password@); put credentials in "
              "their own keys";
        goto out;
    }
    if (has_part(h, CURLUPART_QUERY) || has_part(h, CURLUPART_FRAGMENT) || strchr(url, '?') ||
        strchr(url, '#')) {
        why = "must not contain a query (?) or fragment (#)";
        goto out;
    }
    out->https = strcmp(scheme, "https") == 0;
    out->host = xstrdup(host);
    for (char *p = out->host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    out->loopback = sf_host_is_loopback(out->host);
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(h);
    return why;
}

bool sf_host_in_domain(const char *host, const char *domain)
{
    size_t hn = strlen(host), dn = strlen(domain);
    if (dn == 0 || hn < dn)
        return false;
    if (strcasecmp(host + hn - dn, domain) != 0)
        return false;
    return hn == dn || host[hn - dn - 1] == '.';
}

/* Where Salesforce serves orgs' API hosts (docs/salesforce.md "Token response"; README "TLS"): My
 * Domain
 * (*.my.salesforce.com, *.sandbox.my.salesforce.com), legacy instances (na1.salesforce.com),
 * sites and older formats (*.force.com, *.cloudforce.com, *.database.com), Government
 * Cloud Plus (*.salesforce.mil) and Salesforce on Alibaba Cloud (*.sfcrmproducts.cn). */
static const char *const salesforce_domains[] = {
    "salesforce.com",   "force.com", "cloudforce.com", "database.com", "salesforce.mil",
    "sfcrmproducts.cn", NULL,
};

bool sf_host_is_salesforce(const char *host)
{
    for (int i = 0; salesforce_domains[i]; i++)
        if (sf_host_in_domain(host, salesforce_domains[i]))
            return true;
    return false;
}

/* The login host's parent domain ("login.example.co.uk" -> "example.co.uk"), or the host
 * itself when dropping a label would leave a single label ("example.com" stays). An IP
 * address is its own domain. */
static const char *login_domain(const char *host)
{
    struct in_addr a;
    if (host[0] == '[' || inet_pton(AF_INET, host, &a) == 1)
        return host;
    const char *dot = strchr(host, '.');
    if (!dot || !strchr(dot + 1, '.'))
        return host;
    return dot + 1;
}

bool sf_url_check_returned(const char *url, const char *login_url, const char *const *allowed,
                           size_t nallowed, char **why)
{
    *why = NULL;
    sf_url u = {0}, login = {0};
    const char *reason = sf_url_parse(url, &u);
    if (reason) {
        *why = xstrdup(reason);
        goto out;
    }
    if (sf_url_parse(login_url, &login) != NULL) { /* configuration checked it already */
        *why = xstrdup("the configured login_url is not a valid URL");
        goto out;
    }
    if (!u.https && !(u.loopback && login.loopback && !login.https)) {
        *why = xasprintf("host %s: plain http:// is refused (https is required unless the "
                         "login URL itself is loopback http)",
                         u.host);
        goto out;
    }
    if (u.loopback && login.loopback)
        goto out; /* the emulator on this machine */
    bool ok = sf_host_is_salesforce(u.host) || sf_host_in_domain(u.host, login_domain(login.host));
    for (size_t i = 0; !ok && i < nallowed; i++)
        ok = sf_host_in_domain(u.host, allowed[i]);
    if (!ok)
        *why = xasprintf("host %s is neither a Salesforce domain nor in the login host's "
                         "domain; add it to [salesforce] allowed_instance_hosts if it is yours",
                         u.host);
out:
    sf_url_clear(&u);
    sf_url_clear(&login);
    return *why == NULL;
}
