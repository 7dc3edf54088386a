/* Configuration: an INI file (libinih) plus SFAGENT_<SECTION>_<KEY> environment overrides.
 *
 * Loading happens in three steps: the file fills raw string slots (remembering where each
 * came from), the environment replaces slots, then every value is validated once and
 * converted into typed fields. After sfa_config_load() returns SFA_OK nothing is left to
 * check, so the getters in config_internal.h cannot fail.
 *
 * Invariants:
 *   I1. A secret value never appears in an error message, a log line or sfa_config_get().
 *   I2. Every slot has an origin ("file:line" or the environment variable's name), so
 *       an error names where the bad value came from.
 *   I3. A typo (unknown section or key, in the file or in the SFAGENT_SALESFORCE_ /
 *       SFAGENT_SYNC_ / SFAGENT_DAEMON_ environment) is an error, never silently ignored.
 *   I4. Secret files, the JWT key and a configuration file holding a secret inline must
 *       not be readable by group or others.
 *   I5. The CA bundle must be a regular file that others cannot write.
 */
#include "sync/client/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "store/store.h"
#include "sync/client/sf_url.h"
#include "util/alloc.h"
#include "util/names.h"
#include "util/strbuf.h"

enum cfg_key {
    K_LOGIN_URL,
    K_API_VERSION,
    K_AUTH,
    K_CLIENT_ID,
    K_CLIENT_SECRET,
    K_USERNAME,
    K_PASSWORD,
    K_SECURITY_TOKEN,
    K_REFRESH_TOKEN,
    K_PRIVATE_KEY_FILE,
    K_CA_BUNDLE,
    K_TIMEOUT,
    K_OBJECTS,
    K_IDEMPOTENCY_FIELD,
    K_CONFLICT_POLICY,
    K_BACKOFF_BASE,
    K_BACKOFF_CAP,
    K_API_LIMIT_SHARE,
    K_SETTLE_TIME,
    K_PULL_SETTLE_TIME,
    K_ALLOWED_INSTANCE_HOSTS,
    K_MAX_RESPONSE_BYTES,
    K_DESCRIBE_MAX_AGE,
    K_COMPRESS_MIN_BYTES,
    K_MAX_RUN_SECONDS,
    K_DAEMON_INTERVAL,
    K_DAEMON_WRITE_DELAY,
    K_PARALLEL,
    K_COUNT
};

static const struct key_def {
    const char *section;
    const char *name;
    const char *def; /* default, or NULL */
    bool secret;     /* may also be given as <name>_file; never printed (I1) */
} keys[K_COUNT] = {
    [K_LOGIN_URL] = {"salesforce", "login_url", "https://login.salesforce.com", false},
    [K_API_VERSION] = {"salesforce", "api_version", "62.0", false},
    [K_AUTH] = {"salesforce", "auth", "password", false},
    [K_CLIENT_ID] = {"salesforce", "client_id", NULL, false},
    [K_CLIENT_SECRET] = {"salesforce", "client_secret", NULL, true},
    [K_USERNAME] = {"salesforce", "username", NULL, false},
    [K_PASSWORD] = {"salesforce", "password", NULL, true},
    [K_SECURITY_TOKEN] = {"salesforce", "security_token", NULL, true},
    [K_REFRESH_TOKEN] = {"salesforce", "refresh_token", NULL, true},
    [K_PRIVATE_KEY_FILE] = {"salesforce", "private_key_file", NULL, false},
    [K_CA_BUNDLE] = {"salesforce", "ca_bundle", NULL, false},
    [K_TIMEOUT] = {"salesforce", "timeout", "30", false},
    [K_OBJECTS] = {"sync", "objects", "Case,Contact", false},
    [K_IDEMPOTENCY_FIELD] = {"sync", "idempotency_field", SFA_DEFAULT_IDEMPOTENCY_FIELD, false},
    [K_CONFLICT_POLICY] = {"sync", "conflict_policy", "local-wins", false},
    [K_BACKOFF_BASE] = {"sync", "backoff_base", "2", false},
    [K_BACKOFF_CAP] = {"sync", "backoff_cap", "3600", false},
    [K_API_LIMIT_SHARE] = {"sync", "api_limit_share", "0.5", false},
    /* Salesforce runs a REST request for up to 10 minutes, even after its client left. */
    [K_SETTLE_TIME] = {"sync", "settle_time", "600", false},
    /* SystemModstamp has one-second resolution: a pull leaves the last seconds for the next
     * one, so its mark never enters a second Salesforce may still be writing. */
    [K_PULL_SETTLE_TIME] = {"sync", "pull_settle_time", "2", false},
    /* Hosts, besides Salesforce's domains and the login host's, that the token endpoint may
     * name as instance_url or id (sf_url.h). */
    [K_ALLOWED_INSTANCE_HOSTS] = {"salesforce", "allowed_instance_hosts", "", false},
    /* 64 MiB: the largest legitimate answers are a 200-record sObject Collections
     * retrieve or a query page of wide rows; 200 records of ~300 KB (two long text areas
     * of 131,072 characters plus the rest, JSON-escaped) fit, and Salesforce shrinks
     * query pages of large rows by itself (docs/salesforce.md "Query"). */
    [K_MAX_RESPONSE_BYTES] = {"salesforce", "max_response_bytes", "67108864", false},
    /* Seconds a cached describe is trusted before sync revalidates it (a day). */
    [K_DESCRIBE_MAX_AGE] = {"sync", "describe_max_age", "86400", false},
    /* Request bodies of at least this many bytes go gzip-compressed (0: never); below
     * ~1 KB the gzip header and the CPU cost more than they save. */
    [K_COMPRESS_MIN_BYTES] = {"sync", "compress_min_bytes", "1024", false},
    /* A run stops starting new batches after this many seconds (0: no limit). */
    [K_MAX_RUN_SECONDS] = {"sync", "max_run_seconds", "0", false},
    /* `sfagent run`: a sync at least this often even when nothing is written locally, so
     * Salesforce's changes reach the cache (seconds; jittered by the daemon). */
    [K_DAEMON_INTERVAL] = {"daemon", "interval", "300", false},
    /* `sfagent run`: seconds to wait after a local write before syncing, so a burst of
     * writes goes out in one run. */
    [K_DAEMON_WRITE_DELAY] = {"daemon", "write_delay", "2", false},
    /* Push requests in flight at once. Salesforce runs at most 25 long requests per org
     * and other integrations share them, so the ceiling is well below that. */
    [K_PARALLEL] = {"sync", "parallel", "4", false},
};

static const char *const auth_names[] = {"password", "refresh_token", "client_credentials", "jwt",
                                         NULL};
static const char *const policy_names[] = {"local-wins", "server-wins", "manual", NULL};

struct slot {
    char *value;  /* as written (secrets: the value itself) */
    char *file;   /* secrets only: path given as <name>_file */
    char *origin; /* I2 */
};

struct sfa_config {
    struct slot slots[K_COUNT];
    char *secrets[K_COUNT]; /* resolved secret values (from value or file) */
    sync_auth_flow auth;
    sync_conflict_policy policy;
    int timeout_s, backoff_base_s, backoff_cap_s, settle_s, pull_settle_s;
    double api_limit_share;
    int describe_max_age_s;
    int compress_min_bytes, max_run_s, parallel;
    int daemon_interval_s, daemon_write_delay_s;
    char **objects;
    size_t nobjects;
    char **allowed_hosts;
    size_t nallowed_hosts;
    int max_response_bytes;
    struct pull_scope_cfg *scopes; /* [pull.<Object>] sections, in file order */
    size_t nscopes;
    char **index_fields; /* every [pull.<Object>] index field, once (case-insensitively) */
    size_t nindex_fields;
};

/* ---- file parsing ---- */

struct parse_ctx {
    sfa_config *cfg;
    const char *name; /* file name for messages */
    int line;         /* counted by the reader: inih does not pass line numbers */
    char *err;        /* first error */
    const char *text; /* string source */
    FILE *file;       /* file source */
};

static int find_key(const char *section, const char *name, bool *is_file)
{
    size_t n = strlen(name);
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(keys[k].section, section) != 0)
            continue;
        if (strcmp(keys[k].name, name) == 0) {
            *is_file = false;
            return k;
        }
        size_t kn = strlen(keys[k].name);
        if (keys[k].secret && n == kn + 5 && strncmp(name, keys[k].name, kn) == 0 &&
            strcmp(name + kn, "_file") == 0) {
            *is_file = true;
            return k;
        }
    }
    return -1;
}

/* [pull.<Object>]: the pull scope of one sObject (docs/sync-protocol.md#pull): `fields`
 * (comma list of API names; default: describe's fields minus long text areas) and `where`
 * (a SOQL condition, sent as written inside parentheses). */
struct pull_scope_cfg {
    char *sobject;
    char *fields;
    char *where;
    char *index; /* fields to index locally (store/indexes.c), as written */
};

static const char PULL_PREFIX[] = "pull.";

static struct pull_scope_cfg *scope_slot(sfa_config *cfg, const char *sobject)
{
    for (size_t i = 0; i < cfg->nscopes; i++)
        if (strcmp(cfg->scopes[i].sobject, sobject) == 0)
            return &cfg->scopes[i];
    cfg->scopes = xrealloc(cfg->scopes, (cfg->nscopes + 1) * sizeof *cfg->scopes);
    struct pull_scope_cfg *sc = &cfg->scopes[cfg->nscopes++];
    memset(sc, 0, sizeof *sc);
    sc->sobject = xstrdup(sobject);
    return sc;
}

/* [pull.X] index: each field once over all sections (an index serves every sObject). */
static void add_index_field(sfa_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nindex_fields; i++)
        if (strcasecmp(cfg->index_fields[i], name) == 0)
            return;
    cfg->index_fields = xrealloc(cfg->index_fields, (cfg->nindex_fields + 1) * sizeof(char *));
    cfg->index_fields[cfg->nindex_fields++] = xstrdup(name);
}

/* The next item of a comma list, spaces around it trimmed (caller frees); *s moves past
 * it and its comma. */
static char *next_list_item(const char **s)
{
    size_t n = strcspn(*s, ",");
    const char *b = *s, *e = *s + n;
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    *s += n + ((*s)[n] == ',');
    return xstrndup(b, (size_t)(e - b));
}

/* [pull.X] fields and index: a comma list of field API names (the query or the index is
 * built from them). index fields are collected as they are checked. */
static bool pull_fields_ok(struct parse_ctx *pc, const char *section, const char *key,
                           const char *value)
{
    const char *s = value;
    do {
        char *name = next_list_item(&s);
        bool ok = name_is_valid_api_name(name);
        if (!ok)
            pc->err = xasprintf("%s:%d: [%s] %s: '%s' is not a field API name", pc->name, pc->line,
                                section, key, name);
        else if (strcmp(key, "index") == 0)
            add_index_field(pc->cfg, name);
        free(name);
        if (!ok)
            return false;
    } while (*s);
    return true;
}

/* [pull.X] where: the pull sends it inside "(...)" and ANDs its marks after it, so it
 * must be one condition: parentheses balanced outside string literals and every literal
 * closed. "A) OR (B" would otherwise take the marks out of the condition (every pull a
 * full one, or records leaving the scope listed wrong). Salesforce checks the rest. */
static bool pull_where_ok(struct parse_ctx *pc, const char *section, const char *value)
{
    int depth = 0;
    bool quoted = false;
    for (const char *p = value; *p && depth >= 0; p++) {
        if (quoted && *p == '\\' && p[1])
            p++; /* SOQL escapes with a backslash: \' does not end the literal */
        else if (*p == '\'')
            quoted = !quoted;
        else if (!quoted)
            depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
    }
    if (depth == 0 && !quoted)
        return true;
    pc->err = xasprintf("%s:%d: [%s] where: %s (it is sent as one condition inside (...))",
                        pc->name, pc->line, section,
                        quoted ? "a string literal is not closed" : "unbalanced parentheses");
    return false;
}

static int on_pull_value(struct parse_ctx *pc, const char *section, const char *name,
                         const char *value)
{
    const char *sobject = section + strlen(PULL_PREFIX);
    if (!name_is_valid_api_name(sobject)) {
        pc->err = xasprintf("%s:%d: [%s]: '%s' is not an sObject name", pc->name, pc->line, section,
                            sobject);
        return 0;
    }
    struct pull_scope_cfg *sc = scope_slot(pc->cfg, sobject);
    char **slot = strcmp(name, "fields") == 0  ? &sc->fields
                  : strcmp(name, "where") == 0 ? &sc->where
                  : strcmp(name, "index") == 0 ? &sc->index
                                               : NULL;
    if (!slot || *slot) {
        pc->err = xasprintf("%s:%d: %s '%s' in [%s] (known: fields, where, index)", pc->name,
                            pc->line, slot ? "repeated key" : "unknown key", name, section);
        return 0;
    }
    if (slot != &sc->where && !pull_fields_ok(pc, section, name, value))
        return 0;
    if (slot == &sc->where && !pull_where_ok(pc, section, value))
        return 0;
    *slot = xstrdup(value);
    return 1;
}

static const struct pull_scope_cfg *scope_find(const sfa_config *cfg, const char *sobject)
{
    for (size_t i = 0; cfg && i < cfg->nscopes; i++)
        if (strcmp(cfg->scopes[i].sobject, sobject) == 0)
            return &cfg->scopes[i];
    return NULL;
}

const char *sync_config_pull_fields(const sfa_config *cfg, const char *sobject)
{
    const struct pull_scope_cfg *sc = scope_find(cfg, sobject);
    return sc && sc->fields && *sc->fields ? sc->fields : NULL;
}

const char *sync_config_pull_where(const sfa_config *cfg, const char *sobject)
{
    const struct pull_scope_cfg *sc = scope_find(cfg, sobject);
    return sc && sc->where && *sc->where ? sc->where : NULL;
}

const char *sfa_config_index_field(const sfa_config *cfg, size_t i)
{
    return cfg && i < cfg->nindex_fields ? cfg->index_fields[i] : NULL;
}

static bool section_known(const char *section)
{
    return strcmp(section, "salesforce") == 0 || strcmp(section, "sync") == 0 ||
           strcmp(section, "daemon") == 0;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *pc = user;
    if (pc->err)
        return 1; /* keep only the first error; inih goes on reading */
    if (strncmp(section, PULL_PREFIX, strlen(PULL_PREFIX)) == 0)
        return on_pull_value(pc, section, name, value);
    if (!section_known(section)) {
        pc->err =
            xasprintf("%s:%d: unknown section [%s] (key '%s')", pc->name, pc->line, section, name);
        return 0;
    }
    bool is_file = false;
    int k = find_key(section, name, &is_file);
    if (k < 0) {
        pc->err = xasprintf("%s:%d: unknown key '%s' in [%s]", pc->name, pc->line, name, section);
        return 0;
    }
    struct slot *s = &pc->cfg->slots[k];
    if (s->origin) {
        pc->err = xasprintf("%s:%d: %s.%s set twice (or with both %s and %s_file)", pc->name,
                            pc->line, section, keys[k].name, keys[k].name, keys[k].name);
        return 0;
    }
    if (is_file)
        s->file = xstrdup(value);
    else
        s->value = xstrdup(value);
    s->origin = xasprintf("%s:%d", pc->name, pc->line);
    return 1;
}

/* libinih reads at most INI_MAX_LINE - 1 bytes per line and would parse the rest of a
 * longer line as a line of its own (a value silently cut short): refuse such lines. */
static void check_line_length(struct parse_ctx *pc, const char *str, int num, bool at_eof)
{
    size_t n = strlen(str);
    if (!pc->err && n == (size_t)num - 1 && str[n - 1] != '\n' && !at_eof)
        pc->err = xasprintf("%s:%d: line longer than %d characters (put long secrets in a "
                            "<key>_file)",
                            pc->name, pc->line, num - 2);
}

/* ini_reader over a FILE: counts lines for messages (I2). */
static char *read_file_line(char *str, int num, void *stream)
{
    struct parse_ctx *pc = stream;
    char *r = fgets(str, num, pc->file);
    if (r) {
        pc->line++;
        int c = fgetc(pc->file);
        if (c != EOF)
            ungetc(c, pc->file);
        check_line_length(pc, str, num, c == EOF);
    }
    return r;
}

/* ini_reader over a NUL-terminated string. */
static char *read_string_line(char *str, int num, void *stream)
{
    struct parse_ctx *pc = stream;
    if (!*pc->text || num < 2)
        return NULL;
    int i = 0;
    while (i < num - 1 && pc->text[i] && pc->text[i] != '\n')
        i++;
    if (i < num - 1 && pc->text[i] == '\n')
        i++;
    memcpy(str, pc->text, (size_t)i);
    str[i] = '\0';
    pc->text += i;
    pc->line++;
    check_line_length(pc, str, num, *pc->text == '\0');
    return str;
}

static sfa_status parse_ini(sfa_config *cfg, ini_reader reader, struct parse_ctx *pc, char **errmsg)
{
    pc->cfg = cfg;
    int rc = ini_parse_stream(reader, pc, on_ini_value, pc);
    if (pc->err) {
        *errmsg = pc->err;
        pc->err = NULL;
        return SFA_ECONFIG;
    }
    if (rc != 0) {
        *errmsg =
            xasprintf("%s:%d: syntax error (expected [section] or key = value)", pc->name, rc);
        return SFA_ECONFIG;
    }
    return SFA_OK;
}

/* ---- environment overrides ---- */

static char *env_name(const struct key_def *kd, bool file)
{
    char *n = xasprintf("SFAGENT_%s_%s%s", kd->section, kd->name, file ? "_FILE" : "");
    for (char *p = n; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return n;
}

static sfa_status apply_env_key(sfa_config *cfg, int k, char **errmsg)
{
    char *plain = env_name(&keys[k], false);
    char *file = keys[k].secret ? env_name(&keys[k], true) : NULL;
    const char *pv = getenv(plain);
    const char *fv = file ? getenv(file) : NULL;
    sfa_status st = SFA_OK;
    struct slot *s = &cfg->slots[k];
    if (pv && fv) {
        *errmsg = xasprintf("both %s and %s are set; use one", plain, file);
        st = SFA_ECONFIG;
    } else if (pv || fv) {
        /* The environment replaces the file's value in either form. */
        free(s->value);
        free(s->file);
        free(s->origin);
        s->value = pv ? xstrdup(pv) : NULL;
        s->file = fv ? xstrdup(fv) : NULL;
        s->origin = xstrdup(pv ? plain : file);
    }
    free(plain);
    free(file);
    return st;
}

extern char **environ;

/* I3: an SFAGENT_SALESFORCE_* or SFAGENT_SYNC_* or SFAGENT_DAEMON_* variable that names no key is a
 * typo. */
static sfa_status check_env_typos(char **errmsg)
{
    for (char **e = environ; e && *e; e++) {
        const char *v = *e;
        const char *rest = NULL, *section = NULL;
        if (strncmp(v, "SFAGENT_SALESFORCE_", 19) == 0) {
            rest = v + 19;
            section = "salesforce";
        } else if (strncmp(v, "SFAGENT_SYNC_", 13) == 0) {
            rest = v + 13;
            section = "sync";
        } else if (strncmp(v, "SFAGENT_DAEMON_", 15) == 0) {
            rest = v + 15;
            section = "daemon";
        } else {
            continue;
        }
        const char *eq = strchr(rest, '=');
        size_t n = eq ? (size_t)(eq - rest) : strlen(rest);
        char *name = xstrndup(rest, n);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        bool is_file;
        int k = find_key(section, name, &is_file);
        free(name);
        if (k < 0) {
            *errmsg =
                xasprintf("unknown configuration variable %.*s", (int)(n + (size_t)(rest - v)), v);
            return SFA_ECONFIG;
        }
    }
    return SFA_OK;
}

static sfa_status apply_env(sfa_config *cfg, char **errmsg)
{
    sfa_status st = check_env_typos(errmsg);
    for (int k = 0; st == SFA_OK && k < K_COUNT; k++)
        st = apply_env_key(cfg, k, errmsg);
    return st;
}

/* ---- validation ---- */

static char *err_at(const sfa_config *cfg, int k, const char *what)
{
    const char *origin = cfg->slots[k].origin;
    if (origin)
        return xasprintf("%s: %s.%s: %s", origin, keys[k].section, keys[k].name, what);
    return xasprintf("%s.%s: %s", keys[k].section, keys[k].name, what);
}

static const char *raw(const sfa_config *cfg, int k)
{
    return cfg->slots[k].value ? cfg->slots[k].value : keys[k].def;
}

/* I4: refuse a file that group or others may read. */
static sfa_status check_private_file(const sfa_config *cfg, int k, const char *path, char **errmsg)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        char *what = xasprintf("cannot read %s: %s", path, strerror(errno));
        *errmsg = err_at(cfg, k, what);
        free(what);
        return SFA_ECONFIG;
    }
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
        char *what = xasprintf("%s must be a regular file readable only by its owner "
                               "(chmod 600 %s)",
                               path, path);
        *errmsg = err_at(cfg, k, what);
        free(what);
        return SFA_ECONFIG;
    }
    return SFA_OK;
}

static sfa_status read_secret_file(sfa_config *cfg, int k, char **errmsg)
{
    const char *path = cfg->slots[k].file;
    sfa_status st = check_private_file(cfg, k, path, errmsg);
    if (st != SFA_OK)
        return st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        char *what = xasprintf("cannot open %s: %s", path, strerror(errno));
        *errmsg = err_at(cfg, k, what);
        free(what);
        return SFA_ECONFIG;
    }
    strbuf sb = STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && sb.len < 65536)
        strbuf_add(&sb, buf, n);
    fclose(f);
    /* Editors add a final newline; it is never part of a secret. */
    while (sb.len > 0 && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
        sb.buf[--sb.len] = '\0';
    cfg->secrets[k] = strbuf_detach(&sb);
    return SFA_OK;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || !isdigit((unsigned char)s[0]) || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int parse_enum(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* https://host[:port][/path] anywhere; http:// only on loopback (the emulator). Parsed by
 * libcurl (sf_url.c I1), so userinfo cannot pass for a loopback host (issue 8.1). */
static const char *check_url(const char *url)
{
    sf_url u;
    const char *why = sf_url_parse(url, &u);
    if (!why && !u.https && !u.loopback)
        why = "plain http:// is allowed only for loopback hosts; use https://";
    sf_url_clear(&u);
    return why;
}

static bool version_ok(const char *v)
{
    return strlen(v) == 4 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
           v[2] == '.' && isdigit((unsigned char)v[3]);
}

static sfa_status fail(sfa_config *cfg, int k, const char *what, char **errmsg)
{
    *errmsg = err_at(cfg, k, what);
    return SFA_ECONFIG;
}

static sfa_status validate_objects(sfa_config *cfg, char **errmsg)
{
    const char *s = raw(cfg, K_OBJECTS);
    while (*s) {
        char *name = next_list_item(&s);
        if (!name_is_valid_api_name(name)) {
            char *what = xasprintf("'%s' is not an sObject API name", name);
            free(name);
            sfa_status st = fail(cfg, K_OBJECTS, what, errmsg);
            free(what);
            return st;
        }
        cfg->objects = xrealloc(cfg->objects, (cfg->nobjects + 1) * sizeof *cfg->objects);
        cfg->objects[cfg->nobjects++] = name;
    }
    if (cfg->nobjects == 0)
        return fail(cfg, K_OBJECTS, "must name at least one sObject", errmsg);
    return SFA_OK;
}

/* I5: whoever may write the CA bundle decides whom the agent trusts with its secrets. */
static sfa_status check_ca_bundle(const sfa_config *cfg, const char *path, char **errmsg)
{
    struct stat sb;
    char *what = NULL;
    if (stat(path, &sb) != 0)
        what = xasprintf("cannot read %s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode) || (sb.st_mode & S_IWOTH) != 0)
        what = xasprintf("%s must be a regular file not writable by others (chmod o-w %s)", path,
                         path);
    if (!what)
        return SFA_OK;
    *errmsg = err_at(cfg, K_CA_BUNDLE, what);
    free(what);
    return SFA_ECONFIG;
}

static bool host_name_ok(const char *h)
{
    if (!*h || *h == '.' || *h == '-')
        return false;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            return false;
    return true;
}

/* allowed_instance_hosts: comma-separated host names, each matching itself and its
 * subdomains ("*." or "." in front is accepted and dropped). */
static sfa_status validate_allowed_hosts(sfa_config *cfg, char **errmsg)
{
    const char *s = raw(cfg, K_ALLOWED_INSTANCE_HOSTS);
    while (*s) {
        char *host = next_list_item(&s);
        size_t skip = strncmp(host, "*.", 2) == 0 ? 2 : host[0] == '.' ? 1 : 0;
        memmove(host, host + skip, strlen(host + skip) + 1);
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!host_name_ok(host)) {
            free(host);
            return fail(cfg, K_ALLOWED_INSTANCE_HOSTS,
                        "must be a comma-separated list of host names (example.com)", errmsg);
        }
        cfg->allowed_hosts =
            xrealloc(cfg->allowed_hosts, (cfg->nallowed_hosts + 1) * sizeof *cfg->allowed_hosts);
        cfg->allowed_hosts[cfg->nallowed_hosts++] = host;
    }
    return SFA_OK;
}

static sfa_status validate_salesforce(sfa_config *cfg, char **errmsg)
{
    const char *why = check_url(raw(cfg, K_LOGIN_URL));
    if (why)
        return fail(cfg, K_LOGIN_URL, why, errmsg);
    /* Normalise: no trailing slash, so "<login_url>/services/..." is well formed. */
    char *url = xstrdup(raw(cfg, K_LOGIN_URL));
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
    free(cfg->slots[K_LOGIN_URL].value);
    cfg->slots[K_LOGIN_URL].value = url;
    if (!version_ok(raw(cfg, K_API_VERSION)))
        return fail(cfg, K_API_VERSION, "must look like 62.0 (NN.N)", errmsg);
    int a = parse_enum(raw(cfg, K_AUTH), auth_names);
    if (a < 0)
        return fail(cfg, K_AUTH, "must be one of password, refresh_token, client_credentials, jwt",
                    errmsg);
    cfg->auth = (sync_auth_flow)a;
    if (!parse_int(raw(cfg, K_TIMEOUT), 1, 86400, &cfg->timeout_s))
        return fail(cfg, K_TIMEOUT, "must be a whole number of seconds from 1 to 86400", errmsg);
    if (!parse_int(raw(cfg, K_MAX_RESPONSE_BYTES), 65536, 1 << 30, &cfg->max_response_bytes))
        return fail(cfg, K_MAX_RESPONSE_BYTES,
                    "must be a whole number of bytes from 65536 to 1073741824", errmsg);
    sfa_status st = validate_allowed_hosts(cfg, errmsg);
    if (st == SFA_OK && cfg->slots[K_CA_BUNDLE].value)
        st = check_ca_bundle(cfg, cfg->slots[K_CA_BUNDLE].value, errmsg);
    if (st != SFA_OK)
        return st;
    if (cfg->slots[K_PRIVATE_KEY_FILE].value)
        return check_private_file(cfg, K_PRIVATE_KEY_FILE, cfg->slots[K_PRIVATE_KEY_FILE].value,
                                  errmsg);
    return SFA_OK;
}

static sfa_status validate_sync(sfa_config *cfg, char **errmsg)
{
    sfa_status st = validate_objects(cfg, errmsg);
    if (st != SFA_OK)
        return st;
    const char *idf = raw(cfg, K_IDEMPOTENCY_FIELD);
    if (*idf && !name_is_valid_api_name(idf))
        return fail(cfg, K_IDEMPOTENCY_FIELD, "must be a field API name (or empty)", errmsg);
    int p = parse_enum(raw(cfg, K_CONFLICT_POLICY), policy_names);
    if (p < 0)
        return fail(cfg, K_CONFLICT_POLICY, "must be local-wins, server-wins or manual", errmsg);
    cfg->policy = (sync_conflict_policy)p;
    if (!parse_int(raw(cfg, K_BACKOFF_BASE), 1, 86400, &cfg->backoff_base_s))
        return fail(cfg, K_BACKOFF_BASE, "must be a whole number of seconds from 1 to 86400",
                    errmsg);
    if (!parse_int(raw(cfg, K_BACKOFF_CAP), 1, 7 * 86400, &cfg->backoff_cap_s) ||
        cfg->backoff_cap_s < cfg->backoff_base_s)
        return fail(cfg, K_BACKOFF_CAP,
                    "must be a whole number of seconds, at least backoff_base, at most 604800",
                    errmsg);
    if (!parse_int(raw(cfg, K_SETTLE_TIME), 0, 86400, &cfg->settle_s))
        return fail(cfg, K_SETTLE_TIME, "must be a whole number of seconds from 0 to 86400",
                    errmsg);
    if (!parse_int(raw(cfg, K_PULL_SETTLE_TIME), 0, 3600, &cfg->pull_settle_s))
        return fail(cfg, K_PULL_SETTLE_TIME, "must be a whole number of seconds from 0 to 3600",
                    errmsg);
    const char *s = raw(cfg, K_API_LIMIT_SHARE);
    char *end = NULL;
    errno = 0;
    double share = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(share) || share <= 0.0 || share > 1.0)
        return fail(cfg, K_API_LIMIT_SHARE, "must be a number greater than 0 and at most 1",
                    errmsg);
    cfg->api_limit_share = share;
    if (!parse_int(raw(cfg, K_DESCRIBE_MAX_AGE), 0, 365 * 86400, &cfg->describe_max_age_s))
        return fail(cfg, K_DESCRIBE_MAX_AGE, "must be a whole number of seconds from 0 to 31536000",
                    errmsg);
    if (!parse_int(raw(cfg, K_COMPRESS_MIN_BYTES), 0, 1 << 30, &cfg->compress_min_bytes))
        return fail(cfg, K_COMPRESS_MIN_BYTES,
                    "must be a whole number of bytes from 0 (never) to 1073741824", errmsg);
    if (!parse_int(raw(cfg, K_MAX_RUN_SECONDS), 0, 7 * 86400, &cfg->max_run_s))
        return fail(cfg, K_MAX_RUN_SECONDS,
                    "must be a whole number of seconds from 0 (no limit) to 604800", errmsg);
    if (!parse_int(raw(cfg, K_DAEMON_INTERVAL), 10, 86400, &cfg->daemon_interval_s))
        return fail(cfg, K_DAEMON_INTERVAL, "must be a whole number of seconds from 10 to 86400",
                    errmsg);
    if (!parse_int(raw(cfg, K_DAEMON_WRITE_DELAY), 0, 600, &cfg->daemon_write_delay_s))
        return fail(cfg, K_DAEMON_WRITE_DELAY, "must be a whole number of seconds from 0 to 600",
                    errmsg);
    if (!parse_int(raw(cfg, K_PARALLEL), 1, SYNC_PARALLEL_MAX, &cfg->parallel))
        return fail(cfg, K_PARALLEL, "must be a whole number of requests in flight from 1 to 10",
                    errmsg);
    return SFA_OK;
}

static sfa_status resolve_secrets(sfa_config *cfg, char **errmsg)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (!keys[k].secret)
            continue;
        if (cfg->slots[k].file) {
            sfa_status st = read_secret_file(cfg, k, errmsg);
            if (st != SFA_OK)
                return st;
        } else if (cfg->slots[k].value) {
            cfg->secrets[k] = xstrdup(cfg->slots[k].value);
        }
    }
    return SFA_OK;
}

static sfa_status finish(sfa_config *cfg, char **errmsg)
{
    sfa_status st = apply_env(cfg, errmsg);
    if (st == SFA_OK)
        st = validate_salesforce(cfg, errmsg);
    if (st == SFA_OK)
        st = validate_sync(cfg, errmsg);
    if (st == SFA_OK)
        st = resolve_secrets(cfg, errmsg);
    return st;
}

/* ---- public API ---- */

/* I4 for the configuration file itself: a secret written inline (password = ...) is as
 * exposed as the file, so such a file must be readable by its owner only. fd is the open
 * file (fstat: the file read is the file checked). */
static sfa_status check_inline_secrets(const sfa_config *cfg, int fd, const char *path,
                                       char **errmsg)
{
    int inline_k = -1;
    for (int k = 0; k < K_COUNT && inline_k < 0; k++)
        if (keys[k].secret && cfg->slots[k].value)
            inline_k = k;
    struct stat sb;
    if (inline_k < 0 || fstat(fd, &sb) != 0 || (sb.st_mode & 077) == 0)
        return SFA_OK;
    *errmsg =
        xasprintf("configuration file %s holds %s.%s inline but group or others may read "
                  "it: chmod 600 %s, or put the secret in %s_file (a file only you can read)",
                  path, keys[inline_k].section, keys[inline_k].name, path, keys[inline_k].name);
    return SFA_ECONFIG;
}

static sfa_status load_file(sfa_config **out, const char *path, char **errmsg)
{
    sfa_config *cfg = xcalloc(1, sizeof *cfg);
    sfa_status st = SFA_OK;
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            *errmsg = xasprintf("cannot open configuration file %s: %s", path, strerror(errno));
            st = SFA_ECONFIG;
            goto out;
        }
        struct parse_ctx pc = {.name = path, .file = f};
        st = parse_ini(cfg, read_file_line, &pc, errmsg);
        if (st == SFA_OK)
            st = check_inline_secrets(cfg, fileno(f), path, errmsg);
        fclose(f);
        if (st != SFA_OK)
            goto out;
    }
    st = finish(cfg, errmsg);
out:
    if (st != SFA_OK) {
        sfa_config_free(cfg);
        return st;
    }
    *out = cfg;
    return SFA_OK;
}

sfa_status sfa_config_load(sfa_config **out, const char *path)
{
    if (!out)
        return store_error_set(SFA_EINVAL, "sfa_config_load: out is NULL");
    *out = NULL;
    char *err = NULL;
    sfa_status st = load_file(out, path, &err);
    if (st != SFA_OK)
        store_error_set(st, "%s", err ? err : sfa_strerror(st)); /* I1 */
    free(err);
    return st;
}

sfa_status sync_config_load_string(sfa_config **out, const char *text, const char *name,
                                   char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    sfa_config *cfg = xcalloc(1, sizeof *cfg);
    struct parse_ctx pc = {.name = name ? name : "<string>", .text = text ? text : ""};
    sfa_status st = parse_ini(cfg, read_string_line, &pc, errmsg);
    if (st == SFA_OK)
        st = finish(cfg, errmsg);
    if (st != SFA_OK) {
        sfa_config_free(cfg);
        return st;
    }
    *out = cfg;
    return SFA_OK;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    /* Best effort: do not leave secrets lying in freed heap memory. */
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

void sfa_config_free(sfa_config *cfg)
{
    if (!cfg)
        return;
    for (int k = 0; k < K_COUNT; k++) {
        if (keys[k].secret)
            wipe_free(cfg->slots[k].value);
        else
            free(cfg->slots[k].value);
        free(cfg->slots[k].file);
        free(cfg->slots[k].origin);
        wipe_free(cfg->secrets[k]);
    }
    for (size_t i = 0; i < cfg->nobjects; i++)
        free(cfg->objects[i]);
    free(cfg->objects);
    for (size_t i = 0; i < cfg->nallowed_hosts; i++)
        free(cfg->allowed_hosts[i]);
    free(cfg->allowed_hosts);
    for (size_t i = 0; i < cfg->nscopes; i++) {
        free(cfg->scopes[i].sobject);
        free(cfg->scopes[i].fields);
        free(cfg->scopes[i].where);
        free(cfg->scopes[i].index);
    }
    free(cfg->scopes);
    for (size_t i = 0; i < cfg->nindex_fields; i++)
        free(cfg->index_fields[i]);
    free(cfg->index_fields);
    free(cfg);
}

const char *sfa_config_get(const sfa_config *cfg, const char *section, const char *key)
{
    if (!cfg || !section || !key)
        return NULL;
    bool is_file = false;
    int k = find_key(section, key, &is_file);
    if (k < 0)
        return NULL;
    if (keys[k].secret) /* I1; the path of a secret file is not itself secret */
        return is_file ? cfg->slots[k].file : NULL;
    return raw(cfg, k);
}

/* ---- internal getters ---- */

sync_auth_flow sync_config_auth_flow(const sfa_config *cfg)
{
    return cfg->auth;
}

sync_conflict_policy sync_config_conflict_policy(const sfa_config *cfg)
{
    return cfg->policy;
}

const char *sync_config_login_url(const sfa_config *cfg)
{
    return raw(cfg, K_LOGIN_URL);
}

const char *sync_config_api_version(const sfa_config *cfg)
{
    return raw(cfg, K_API_VERSION);
}

int sync_config_timeout_s(const sfa_config *cfg)
{
    return cfg->timeout_s;
}

int sync_config_backoff_base_s(const sfa_config *cfg)
{
    return cfg->backoff_base_s;
}

int sync_config_backoff_cap_s(const sfa_config *cfg)
{
    return cfg->backoff_cap_s;
}

int sync_config_settle_s(const sfa_config *cfg)
{
    return cfg->settle_s;
}

int sync_config_pull_settle_s(const sfa_config *cfg)
{
    return cfg->pull_settle_s;
}

int sync_config_describe_max_age(const sfa_config *cfg)
{
    return cfg->describe_max_age_s;
}

int sync_config_compress_min_bytes(const sfa_config *cfg)
{
    return cfg->compress_min_bytes;
}

int sync_config_max_run_s(const sfa_config *cfg)
{
    return cfg->max_run_s;
}

int sync_config_daemon_interval_s(const sfa_config *cfg)
{
    return cfg->daemon_interval_s;
}

int sync_config_daemon_write_delay_s(const sfa_config *cfg)
{
    return cfg->daemon_write_delay_s;
}

int sync_config_parallel(const sfa_config *cfg)
{
    return cfg->parallel;
}

double sync_config_api_limit_share(const sfa_config *cfg)
{
    return cfg->api_limit_share;
}

size_t sync_config_object_count(const sfa_config *cfg)
{
    return cfg->nobjects;
}

const char *sync_config_object(const sfa_config *cfg, size_t i)
{
    return i < cfg->nobjects ? cfg->objects[i] : NULL;
}

const char *sync_config_idempotency_field(const sfa_config *cfg)
{
    const char *f = raw(cfg, K_IDEMPOTENCY_FIELD);
    return *f ? f : NULL;
}

const char *sync_config_secret(const sfa_config *cfg, sync_secret which)
{
    static const int map[] = {K_CLIENT_SECRET, K_PASSWORD, K_SECURITY_TOKEN, K_REFRESH_TOKEN};
    return cfg->secrets[map[which]];
}

const char *const *sync_config_allowed_hosts(const sfa_config *cfg, size_t *count)
{
    *count = cfg->nallowed_hosts;
    return (const char *const *)cfg->allowed_hosts;
}

size_t sync_config_max_response_bytes(const sfa_config *cfg)
{
    return (size_t)cfg->max_response_bytes;
}
