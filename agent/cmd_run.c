/* `sfagent run`: the long-running sync process (sfagent/daemon.h) with signals, systemd
 * notifications (agent/notify.c) and the optional metrics endpoint (agent/metrics.c).
 * SIGTERM/SIGINT stop it (exit 0 once the run in flight has finished or been abandoned),
 * SIGHUP reloads the configuration. Uses only the public API. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "metrics.h"
#include "notify.h"
#include <sfagent/daemon.h>

/* The daemon the signal handlers talk to: a handler gets no context argument, so this is
 * the one place it can be found. Set before the handlers are installed, cleared after
 * they are restored. */
static sfa_daemon *volatile signalled;

static void on_stop_signal(int sig)
{
    (void)sig;
    sfa_daemon_stop(signalled); /* an atomic store: async-signal-safe */
}

static void on_hup(int sig)
{
    (void)sig;
    sfa_daemon_reload(signalled);
}

static void handle_signals(bool install)
{
    struct sigaction stop = {0}, hup = {0};
    stop.sa_handler = install ? on_stop_signal : SIG_DFL;
    hup.sa_handler = install ? on_hup : SIG_DFL;
    sigemptyset(&stop.sa_mask);
    sigemptyset(&hup.sa_mask);
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGHUP, &hup, NULL);
    if (install)
        signal(SIGPIPE, SIG_IGN); /* a scraper hanging up must not kill the agent */
}

typedef struct run_ctx {
    metrics *m;
    const char *config; /* what SIGHUP reloads, for messages */
} run_ctx;

static void on_event(const sfa_daemon_event *ev, void *vctx)
{
    run_ctx *ctx = vctx;
    switch (ev->kind) {
    case SFA_DAEMON_READY:
        notify_ready();
        break;
    case SFA_DAEMON_STATUS:
        notify_status(ev->text);
        break;
    case SFA_DAEMON_TICK:
        notify_watchdog();
        metrics_note_tick(ctx->m);
        break;
    case SFA_DAEMON_RUN:
        metrics_note_run(ctx->m, ev->report, ev->status);
        break;
    case SFA_DAEMON_RELOADING:
        notify_reloading();
        break;
    case SFA_DAEMON_RELOADED:
        notify_ready();
        notify_status("configuration reloaded");
        /* The operator asked for it: say it was done (a failure is logged as an error). */
        fprintf(stderr, "sfagent: configuration reloaded%s%s\n", ctx->config ? " from " : "",
                ctx->config ? ctx->config : "");
        break;
    case SFA_DAEMON_RELOAD_FAILED:
        notify_ready(); /* still running, on the old configuration */
        notify_status(ev->text);
        break;
    case SFA_DAEMON_STOPPING:
        notify_stopping();
        break;
    }
}

typedef struct run_args {
    const char *config, *listen;
    bool allow_remote;
} run_args;

static int parse_args(run_args *a, int argc, char **argv)
{
    int rc = CLI_EXIT_OK;
    cli_args args = {argc, argv, 1};
    while (args.i < argc && rc == CLI_EXIT_OK) {
        if (cli_take_flag(&args, "--metrics-allow-remote"))
            a->allow_remote = true;
        else if (!cli_take_opt(&args, "--config", &a->config, &rc) &&
                 !cli_take_opt(&args, "--metrics-listen", &a->listen, &rc))
            return cli_usage("run: unknown argument '%s'", argv[args.i]);
    }
    if (rc == CLI_EXIT_OK && !a->config) {
        const char *env = getenv("SFAGENT_CONFIG");
        a->config = env && *env ? env : NULL; /* what SIGHUP reloads */
    }
    return rc;
}

/* Metrics listen on loopback unless a remote address is asked for explicitly. */
static int start_metrics(metrics **out, const run_args *a)
{
    *out = NULL;
    if (!a->listen)
        return CLI_EXIT_OK;
    char host[64], err[256];
    unsigned short port = 0;
    bool loopback = false;
    if (!metrics_parse_listen(a->listen, host, sizeof host, &port, &loopback, err, sizeof err))
        return cli_usage("run: --metrics-listen %s", err);
    if (!loopback && !a->allow_remote)
        return cli_usage("run: --metrics-listen %s is not a loopback address: metrics would be"
                         " readable from the network; add --metrics-allow-remote to mean it",
                         host);
    if (!loopback)
        fprintf(stderr,
                "sfagent: warning: metrics are served on %s:%u, reachable from other"
                " machines (no authentication)\n",
                host, (unsigned)port);
    if (!metrics_start(out, host, port, cli_db_path(), err, sizeof err))
        return cli_error(CLI_EXIT_UNAVAILABLE, "run: %s", err);
    return CLI_EXIT_OK;
}

static int serve(sfa_daemon *d)
{
    sfa_agent *agent = NULL;
    int rc = cli_open(&agent, false);
    if (rc != CLI_EXIT_OK)
        return rc;
    notify_init();
    signalled = d;
    handle_signals(true);
    sfa_status st = sfa_daemon_run(d, agent);
    handle_signals(false);
    signalled = NULL;
    if (st != SFA_OK)
        rc = cli_error(cli_exit_code(st), "run: %s", sfa_daemon_errmsg(d));
    sfa_agent_free(agent);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    sfa_config *cfg = NULL;
    if ((rc = cli_load_config(&cfg, a.config)) != CLI_EXIT_OK)
        return rc;
    run_ctx ctx = {NULL, a.config};
    sfa_daemon_options o = SFA_DAEMON_OPTIONS_INIT;
    o.config_path = a.config;
    o.on_event = on_event;
    o.ctx = &ctx;
    sfa_daemon *d = NULL;
    sfa_status st = sfa_daemon_new(&d, cli_db_path(), cfg, &o); /* cfg is the daemon's now */
    if (st != SFA_OK)
        rc = cli_error(cli_exit_code(st), "run: %s", sfa_daemon_errmsg(d));
    if (rc == CLI_EXIT_OK)
        rc = start_metrics(&ctx.m, &a);
    if (rc == CLI_EXIT_OK)
        rc = serve(d);
    metrics_stop(ctx.m);
    sfa_daemon_free(d);
    return rc;
}
