/* A scripted HTTP server for push tests; see script_server.h. */
#include "script_server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

struct script_server {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_mutex_t lock;
    const script_reply *replies;
    size_t n, served;
    char *seen[SCRIPT_SERVER_LOG]; /* "METHOD url?k=v&..." of the scripted requests */
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    strbuf *sb = cls;
    strbuf_addf(sb, "%c%s=%s", strchr(strbuf_str(sb), '?') ? '&' : '?', key, value ? value : "");
    return MHD_YES;
}

/* Note one scripted request (its arguments decoded, in the order sent). */
static void note_request(script_server *s, struct MHD_Connection *mc, const char *method,
                         const char *url)
{
    if (s->served >= SCRIPT_SERVER_LOG)
        return;
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s %s", method, url);
    MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, add_arg, &sb);
    s->seen[s->served] = strbuf_detach(&sb);
}

static enum MHD_Result send_text(struct MHD_Connection *mc, int status, const char *type,
                                 const char *hname, const char *hvalue, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        body ? strlen(body) : 0, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
    char date[32]; /* from the clock the test pins, as the agent's is */
    time_format_http(time_now_ms(), date);
    MHD_add_response_header(r, "Date", date);
    if (hname)
        MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result rc = MHD_queue_response(mc, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload;
    script_server *s = cls;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = s;
        return MHD_YES;
    }
    if (*upload_size) { /* the body is not looked at */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/services/oauth2/token") == 0) {
        char *tok = xasprintf("{\"access_token\":\"tok\",\"instance_url\":\"%s\",\"id\":\"%s/id/"
                              "00D000000000001AAA/005000000000001AAA\",\"token_type\":\"Bearer\"}",
                              s->url, s->url);
        enum MHD_Result rc = send_text(mc, 200, NULL, NULL, NULL, tok);
        free(tok);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    script_reply r = {500, NULL, NULL, NULL, "[]"};
    if (s->n > 0)
        r = s->replies[s->served < s->n ? s->served : s->n - 1];
    note_request(s, mc, method, url);
    s->served++;
    pthread_mutex_unlock(&s->lock);
    return send_text(mc, r.status, r.content_type, r.header_name, r.header_value, r.body);
}

script_server *script_server_start(void)
{
    script_server *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                                     MHD_USE_SUPPRESS_DATE_NO_CLOCK,
                                 0, NULL, NULL, on_request, s, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        script_server_stop(s);
        return NULL;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)info->port);
    return s;
}

void script_server_stop(script_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    for (size_t i = 0; i < SCRIPT_SERVER_LOG; i++)
        free(s->seen[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *script_server_url(const script_server *s)
{
    return s->url;
}

void script_server_set(script_server *s, const script_reply *replies, size_t n)
{
    pthread_mutex_lock(&s->lock);
    s->replies = replies;
    s->n = n;
    s->served = 0;
    for (size_t i = 0; i < SCRIPT_SERVER_LOG; i++) {
        free(s->seen[i]);
        s->seen[i] = NULL;
    }
    pthread_mutex_unlock(&s->lock);
}

size_t script_server_requests(script_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->served;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *script_server_request(script_server *s, size_t i)
{
    pthread_mutex_lock(&s->lock);
    char *r = i < SCRIPT_SERVER_LOG && s->seen[i] ? xstrdup(s->seen[i]) : NULL;
    pthread_mutex_unlock(&s->lock);
    return r;
}
