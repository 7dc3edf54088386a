/* sfagent-emulator: the Salesforce emulator as a standalone program for demos and manual
 * tests. Serves until SIGTERM/SIGINT, then stops cleanly (exit 0). Flags and the
 * /__emulator/ control endpoints are documented in docs/emulator.md. */
#include "emulator.h"

#include "util/alloc.h"
#include "util/names.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 64 /* sysexits.h EX_USAGE */

static void usage(FILE *to)
{
    fputs("usage: sfagent-emulator [--port N] [--state FILE] [--client-id ID]\n"
          "         [--client-secret S] [--username U] [--password P] [--refresh-token T]\n"
          "         [--token-ttl SECONDS] [--api-limit N] [--latency-ms N] [--jwt-key FILE]\n"
          "         [--custom-objects LIST] [--seed N] [--tls-cert FILE --tls-key FILE]\n"
          "         [--query-page-max N]\n",
          to);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || end == s || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "A__c,B__c": custom object API names only. */
static bool custom_list_ok(const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    bool ok = true;
    for (char *t = strtok_r(copy, ", ", &save); t && ok; t = strtok_r(NULL, ", ", &save)) {
        size_t n = strlen(t);
        ok = name_is_valid_api_name(t) && n > 3 && strcmp(t + n - 3, "__c") == 0;
    }
    free(copy);
    return ok;
}

/* Whole file into a new string, or NULL. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = xrealloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = xstrdup("");
    else
        buf[len] = '\0';
    return buf;
}

enum {
    O_PORT = 1,
    O_STATE,
    O_CID,
    O_CSEC,
    O_USER,
    O_PASS,
    O_RT,
    O_TTL,
    O_LIMIT,
    O_LAT,
    O_JWT,
    O_CUSTOM,
    O_SEED,
    O_TLS_CERT,
    O_TLS_KEY,
    O_PAGE_MAX,
    O_HELP
};

static const struct option long_opts[] = {
    {"port", required_argument, NULL, O_PORT},
    {"state", required_argument, NULL, O_STATE},
    {"client-id", required_argument, NULL, O_CID},
    {"client-secret", required_argument, NULL, O_CSEC},
    {"username", required_argument, NULL, O_USER},
    {"password", required_argument, NULL, O_PASS},
    {"refresh-token", required_argument, NULL, O_RT},
    {"token-ttl", required_argument, NULL, O_TTL},
    {"api-limit", required_argument, NULL, O_LIMIT},
    {"latency-ms", required_argument, NULL, O_LAT},
    {"jwt-key", required_argument, NULL, O_JWT},
    {"custom-objects", required_argument, NULL, O_CUSTOM},
    {"seed", required_argument, NULL, O_SEED},
    {"tls-cert", required_argument, NULL, O_TLS_CERT},
    {"tls-key", required_argument, NULL, O_TLS_KEY},
    {"query-page-max", required_argument, NULL, O_PAGE_MAX},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Fill opts from argv; files[] receives the JWT key, TLS certificate and TLS key read from
 * their files. Returns 0, EXIT_USAGE, or -1 after --help. */
static int parse_args(int argc, char **argv, emu_options *o, char *files[3])
{
    int c;
    long v = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        const char *a = optarg;
        bool ok = true;
        switch (c) {
        case O_PORT:
            ok = parse_long(a, 0, 65535, &v);
            o->port = (unsigned short)v;
            break;
        case O_STATE:
            o->state_file = a;
            break;
        case O_CID:
            o->client_id = a;
            break;
        case O_CSEC:
            o->client_secret = a;
            break;
        case O_USER:
            o->username = a;
            break;
        case O_PASS:
            o->password = a;
            break;
        case O_RT:
            o->refresh_token = a;
            break;
        case O_TTL:
            ok = parse_long(a, 1, INT_MAX, &v);
            o->token_ttl_s = (int)v;
            break;
        case O_LIMIT:
            ok = parse_long(a, 1, LONG_MAX, &v);
            o->api_limit = v;
            break;
        case O_LAT:
            ok = parse_long(a, 0, 600000, &v);
            o->latency_ms = (int)v;
            break;
        case O_CUSTOM:
            ok = custom_list_ok(a);
            o->custom_objects = a;
            break;
        case O_SEED:
            ok = parse_long(a, 1, LONG_MAX, &v);
            o->seed = (uint64_t)v;
            break;
        case O_PAGE_MAX:
            ok = parse_long(a, 1, 2000, &v);
            o->query_page_max = (int)v;
            break;
        case O_JWT:
        case O_TLS_CERT:
        case O_TLS_KEY: {
            char **slot = &files[c == O_JWT ? 0 : c == O_TLS_CERT ? 1 : 2];
            free(*slot);
            *slot = read_file(a);
            if (!*slot) {
                fprintf(stderr, "sfagent-emulator: cannot read %s\n", a);
                return EXIT_USAGE;
            }
            o->jwt_public_key_pem = files[0];
            o->tls_cert_pem = files[1];
            o->tls_key_pem = files[2];
            break;
        }
        case O_HELP:
            usage(stdout);
            return -1;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            fprintf(stderr, "sfagent-emulator: bad option or value: %s\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sfagent-emulator: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    emu_options opts = EMU_OPTIONS_INIT;
    char *files[3] = {NULL, NULL, NULL};
    int rc = parse_args(argc, argv, &opts, files);
    if (rc == 0 && (!opts.tls_cert_pem) != (!opts.tls_key_pem)) {
        fprintf(stderr, "sfagent-emulator: --tls-cert and --tls-key go together\n");
        rc = EXIT_USAGE;
    }
    if (rc) {
        for (int i = 0; i < 3; i++)
            free(files[i]);
        return rc < 0 ? 0 : rc;
    }
    /* Block the stop signals before the server threads exist, so they inherit the mask
     * and only sigwait() below ever sees SIGTERM/SIGINT. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    emu *e = NULL;
    if (emu_start(&e, &opts) != 0) {
        for (int i = 0; i < 3; i++)
            free(files[i]);
        return 1;
    }
    printf("sfagent-emulator listening on %s\n", emu_base_url(e));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    emu_stop(e);
    for (int i = 0; i < 3; i++)
        free(files[i]);
    return 0;
}
