/* libcurl client for emulator tests (emu_http.h). */
#include "emu_http.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    strbuf_add(ud, data, size * n);
    return size * n;
}

void eh_response_free(eh_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

int eh_request_ex(emu *e, const eh_request_opts *o, eh_response *out)
{
    pthread_once(&init_once, global_init);
    memset(out, 0, sizeof *out);
    strbuf body = STRBUF_INIT, hdrs = STRBUF_INIT;
    char *url = strncmp(o->path, "http", 4) == 0 ? xstrdup(o->path)
                                                 : xasprintf("%s%s", emu_base_url(e), o->path);
    struct curl_slist *list = NULL;
    char *auth = o->token ? xasprintf("Authorization: Bearer %s", o->token) : NULL;
    char *ctype = o->body ? xasprintf("Content-Type: %s",
                                      o->content_type ? o->content_type : "application/json")
                          : NULL;
    if (auth)
        list = curl_slist_append(list, auth);
    if (ctype)
        list = curl_slist_append(list, ctype);
    for (size_t i = 0; o->headers && o->headers[i]; i++)
        list = curl_slist_append(list, o->headers[i]);
    list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    if (strcmp(o->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (o->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (o->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file); /* verification stays on */
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    free(auth);
    free(ctype);
    free(url);
    out->curl_code = (int)rc;
    out->body_len = body.len;
    out->body = body.buf ? strbuf_detach(&body) : xstrdup("");
    out->headers = hdrs.buf ? strbuf_detach(&hdrs) : xstrdup("");
    out->json = out->body_len ? cJSON_Parse(out->body) : NULL;
    return (int)rc;
}

int eh_request(emu *e, const char *method, const char *path, const char *token, const char *body,
               eh_response *out)
{
    eh_request_opts o = {.method = method, .path = path, .token = token, .body = body};
    return eh_request_ex(e, &o, out);
}

int eh_token_request(emu *e, const char *form, const char *basic_user, const char *basic_pass,
                     eh_response *out)
{
    pthread_once(&init_once, global_init);
    char *hdr = NULL;
    if (basic_user) {
        char *pair = xasprintf("%s:%s", basic_user, basic_pass ? basic_pass : "");
        /* base64 by hand: tests must not depend on the emulator's helpers */
        static const char tbl[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(pair);
        strbuf b = STRBUF_INIT;
        strbuf_adds(&b, "Authorization: Basic ");
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned char)pair[i] << 16;
            if (i + 1 < n)
                v |= (unsigned char)pair[i + 1] << 8;
            if (i + 2 < n)
                v |= (unsigned char)pair[i + 2];
            strbuf_addc(&b, tbl[(v >> 18) & 63]);
            strbuf_addc(&b, tbl[(v >> 12) & 63]);
            strbuf_addc(&b, i + 1 < n ? tbl[(v >> 6) & 63] : '=');
            strbuf_addc(&b, i + 2 < n ? tbl[v & 63] : '=');
        }
        hdr = strbuf_detach(&b);
        free(pair);
    }
    const char *headers[] = {hdr, NULL};
    eh_request_opts o = {.method = "POST",
                         .path = "/services/oauth2/token",
                         .body = form,
                         .content_type = "application/x-www-form-urlencoded",
                         .headers = hdr ? headers : NULL};
    int rc = eh_request_ex(e, &o, out);
    free(hdr);
    return rc;
}

char *eh_login(emu *e)
{
    eh_response r;
    char *token = NULL;
    if (eh_token_request(e,
                         "grant_type=password&client_id=sfagent-test-client&client_secret="
                         "sfagent-test-secret&username=agent%40example.com&password=password",
                         NULL, NULL, &r) == 0 &&
        r.status == 200 && json_str(r.json, "access_token"))
        token = xstrdup(json_str(r.json, "access_token"));
    eh_response_free(&r);
    return token;
}

char *eh_header(const eh_response *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        size_t len = strcspn(p, "\r\n");
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return xstrndup(v, len - (size_t)(v - p));
        }
        p += len;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    return NULL;
}
