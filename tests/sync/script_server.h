/* A scripted HTTP server for push tests that need answers the emulator never gives: a
 * redirect from a captive portal, an HTML page, a Retry-After header. It issues a token
 * to any password login and answers every other request from a script, in order, the
 * last reply repeating. One server per test; not thread-safe beyond its own lock. */
#ifndef SFA_TESTS_SCRIPT_SERVER_H
#define SFA_TESTS_SCRIPT_SERVER_H

#include <stddef.h>

typedef struct script_reply {
    int status;
    const char *content_type; /* NULL: application/json */
    const char *header_name;  /* one extra header, or NULL */
    const char *header_value;
    const char *body; /* NULL: empty */
} script_reply;

typedef struct script_server script_server;

/* Scripted requests remembered (script_server_request). */
#define SCRIPT_SERVER_LOG 64

/* Start on a free loopback port; NULL on failure. */
script_server *script_server_start(void);
void script_server_stop(script_server *s);
/* "http://127.0.0.1:<port>" */
const char *script_server_url(const script_server *s);
/* Replace the script (replies are borrowed and must outlive the server's use of them). */
void script_server_set(script_server *s, const script_reply *replies, size_t n);
/* Requests answered from the script so far (token requests not counted). */
size_t script_server_requests(script_server *s);
/* The i-th scripted request since the script was set, as "GET /path?k=v&k=v" (arguments
 * URL-decoded), or NULL; caller frees. */
char *script_server_request(script_server *s, size_t i);

#endif
