/*
 * Secrets never leave (issue 13 item 4): every command of the real binary, at debug level
 * in both log formats, against the in-process emulator with known secrets (password,
 * security token, client secret, refresh token, the JWT private key's PEM text), through
 * the OAuth password, refresh-token and JWT flows, with secrets in the file, in _file
 * files and in the environment, and with a wrong password. After every command each byte
 * of its stdout and stderr (the log output) and of the database files (incl. -wal and
 * -shm) is searched for each secret, for any access token the emulator issued (they all
 * start with the org id's 15 characters and '!'), and for "Bearer ".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "agent/run.h"
#include "emulator.h"

#define PASSWORD      "Pw-SECRET-51c2e7"
#define TOKEN         "Tk-SECRET-88e1a0"
#define CLIENT_SECRET "Cs-SECRET-7f3a9d"
#define REFRESH       "Rt-SECRET-0d4b6c"
#define WRONG         "Wrong-SECRET-9f9f9f"
#define MAX_SECRETS   64

typedef struct fixture {
    char dir[64];
    char db[128];
    char key[128];
    emu *e;
    const char *secrets[MAX_SECRETS]; /* strings that must never appear */
    size_t nsecrets;
    char *pem;      /* the private key's text */
    char token[20]; /* org id's first 15 chars + '!': every issued access token */
    int commands;   /* commands scanned */
} fixture;

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    *len = 0;
    if (!fp)
        return NULL;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + *len, 1, cap - *len, fp)) > 0) {
        *len += n;
        if (*len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    assert_non_null(buf);
    return buf;
}

static void scan(const fixture *f, const char *where, const char *data, size_t len)
{
    for (size_t i = 0; i < f->nsecrets; i++)
        if (memmem(data, len, f->secrets[i], strlen(f->secrets[i])))
            fail_msg("%s holds the secret '%.24s...'", where, f->secrets[i]);
    if (f->token[0] && memmem(data, len, f->token, strlen(f->token)))
        fail_msg("%s holds an access token (%s...)", where, f->token);
    if (memmem(data, len, "Bearer ", 7))
        fail_msg("%s holds an Authorization header", where);
}

static void scan_db(const fixture *f)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", f->db, sides[i]);
        size_t len = 0;
        char *data = read_all(path, &len);
        if (data)
            scan(f, path, data, len);
        free(data);
    }
}

/* Run sfagent --db DB args... at debug (logfmt or json by turns) and scan everything. */
static int cmd(fixture *f, const char *const *args)
{
    const char *argv[32] = {"--db",  f->db,          "--log-level",
                            "debug", "--log-format", f->commands % 2 ? "json" : "logfmt"};
    size_t n = 6;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, argv);
    char where[160];
    snprintf(where, sizeof where, "stdout of '%s %s'", args[0], args[1] ? args[1] : "");
    scan(f, where, r.out, strlen(r.out));
    snprintf(where, sizeof where, "stderr (log) of '%s %s'", args[0], args[1] ? args[1] : "");
    scan(f, where, r.err, strlen(r.err));
    scan_db(f);
    f->commands++;
    int code = r.code;
    run_result_free(&r);
    return code;
}
#define CMD(f, ...) cmd((f), (const char *const[]){__VA_ARGS__, NULL})

static void add_secret(fixture *f, const char *s)
{
    assert_true(f->nsecrets < MAX_SECRETS);
    f->secrets[f->nsecrets++] = s;
}

/* The key and its PEM body lines as secrets (any one line leaking is a leak). */
static char *make_key(fixture *f)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    assert_non_null(key);
    FILE *fp = fopen(f->key, "w");
    PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    chmod(f->key, 0600);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *pub = strndup(data, (size_t)len);
    BIO_free(bio);
    EVP_PKEY_free(key);
    size_t n = 0;
    f->pem = read_all(f->key, &n);
    f->pem = realloc(f->pem, n + 1);
    f->pem[n] = '\0';
    for (char *save = NULL, *line = strtok_r(f->pem, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, "-----", 5) != 0 && strlen(line) >= 16)
            add_secret(f, line); /* f->pem keeps the lines alive */
    return pub;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-secrets-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    snprintf(f->key, sizeof f->key, "%s/jwt-key.pem", f->dir);
    static const char *const known[] = {PASSWORD, TOKEN, CLIENT_SECRET,
                                        REFRESH,  WRONG, PASSWORD TOKEN};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        add_secret(f, known[i]);
    char *pub = make_key(f);
    emu_options o = EMU_OPTIONS_INIT;
    o.client_secret = CLIENT_SECRET;
    o.password = PASSWORD TOKEN;
    o.refresh_token = REFRESH;
    o.jwt_public_key_pem = pub;
    int rc = emu_start(&f->e, &o);
    free(pub);
    unsetenv("SFAGENT_LOG_LEVEL");
    unsetenv("SFAGENT_LOG_FORMAT");
    *state = f;
    return rc;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    run_remove_dir(f->dir);
    free(f->pem);
    free(f);
    return 0;
}

static void write_file(const fixture *f, const char *name, const char *text, char *path)
{
    snprintf(path, 160, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
}

/* A configuration for flow (its lines after login_url) as file name. */
static void write_ini(const fixture *f, const char *name, const char *flow_lines, char *path)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[salesforce]\nlogin_url = %s\nclient_id = sfagent-test-client\n"
             "username = agent@example.com\ntimeout = 5\n%s",
             emu_base_url(f->e), flow_lines);
    write_file(f, name, text, path);
}

/* Every command that uses a configuration, with ini. */
static void online_commands(fixture *f, const char *ini)
{
    assert_int_equal(CMD(f, "login", "--config", ini), 0);
    assert_int_equal(CMD(f, "case", "create", "--subject", "secret scan"), 0);
    assert_int_equal(CMD(f, "sync", "--config", ini), 0);
    assert_int_equal(CMD(f, "doctor", "--config", ini), 0);
    assert_int_equal(CMD(f, "describe", "--config", ini), 0);
    assert_int_equal(CMD(f, "describe", "Case", "--refresh", "--config", ini), 0);
    assert_int_equal(CMD(f, "case", "get", "00001000", "--refresh", "--config", ini), 0);
    assert_int_equal(CMD(f, "sync", "--now", "--config", ini), 0);
}

/* The token prefix: the org id from login (the id's first 15 characters, then '!'). */
static void learn_token_prefix(fixture *f, const char *ini)
{
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL,
                (const char *const[]){"--db", f->db, "--json", "login", "--config", ini, NULL});
    assert_int_equal(r.code, 0);
    cJSON *j = cJSON_Parse(r.out);
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(j, "orgId");
    assert_true(cJSON_IsString(org) && strlen(org->valuestring) >= 15);
    snprintf(f->token, sizeof f->token, "%.15s!", org->valuestring);
    cJSON_Delete(j);
    run_result_free(&r);
}

static void test_no_command_leaks_a_secret(void **state)
{
    fixture *f = *state;
    char pw[160], jwt[160], refresh[160], wrong[160], env_ini[160], pw_file[160], files[160];
    write_ini(f, "password.ini",
              "auth = password\nclient_secret = " CLIENT_SECRET "\npassword = " PASSWORD
              "\nsecurity_token = " TOKEN "\n",
              pw);
    char jwt_lines[256];
    snprintf(jwt_lines, sizeof jwt_lines, "auth = jwt\nprivate_key_file = %s\n", f->key);
    write_ini(f, "jwt.ini", jwt_lines, jwt);
    write_ini(f, "refresh.ini",
              "auth = refresh_token\nclient_secret = " CLIENT_SECRET "\nrefresh_token = " REFRESH
              "\n",
              refresh);
    write_ini(f, "wrong.ini",
              "auth = password\nclient_secret = " CLIENT_SECRET "\npassword = " WRONG
              "\nsecurity_token = " TOKEN "\n",
              wrong);
    write_file(f, "password", PASSWORD "\n", pw_file);
    char file_lines[512];
    snprintf(file_lines, sizeof file_lines,
             "auth = password\nclient_secret = " CLIENT_SECRET "\npassword_file = %s\n"
             "security_token = " TOKEN "\n",
             pw_file);
    write_ini(f, "files.ini", file_lines, files);
    write_ini(f, "env.ini", "auth = password\n", env_ini);
    learn_token_prefix(f, pw);

    assert_int_equal(CMD(f, "init"), 0);
    assert_int_equal(CMD(f, "contact", "create", "--last-name", "Scan"), 0);
    assert_int_equal(CMD(f, "record", "create", "Account", "--set", "Name=Acme"), 0);
    online_commands(f, pw);
    online_commands(f, jwt);
    online_commands(f, refresh);
    online_commands(f, files);
    setenv("SFAGENT_SALESFORCE_CLIENT_SECRET", CLIENT_SECRET, 1);
    setenv("SFAGENT_SALESFORCE_PASSWORD", PASSWORD, 1);
    setenv("SFAGENT_SALESFORCE_SECURITY_TOKEN", TOKEN, 1);
    online_commands(f, env_ini);
    unsetenv("SFAGENT_SALESFORCE_CLIENT_SECRET");
    unsetenv("SFAGENT_SALESFORCE_PASSWORD");
    unsetenv("SFAGENT_SALESFORCE_SECURITY_TOKEN");

    /* Failures: refused credentials, and a session the server expired mid-way. */
    assert_int_equal(CMD(f, "case", "create", "--subject", "after a refusal"), 0);
    assert_int_equal(CMD(f, "login", "--config", wrong), 77);
    assert_int_equal(CMD(f, "sync", "--config", wrong), 77);
    assert_int_equal(CMD(f, "doctor", "--config", wrong), 77);
    emu_fault expire = EMU_FAULT_INIT;
    expire.kind = EMU_FAULT_EXPIRE_TOKEN;
    expire.path_pattern = "/services/data/*/composite";
    expire.count = 1;
    assert_true(emu_fault_add(f->e, &expire) > 0);
    assert_int_equal(CMD(f, "sync", "--config", pw), 0);

    /* Local commands: imports, the outbox, conflicts, completion, reads. */
    char jsonl[160];
    write_file(f, "cases.jsonl", "{\"Subject\":\"imported\"}\n", jsonl);
    assert_int_equal(CMD(f, "import", "Case", jsonl), 0);
    assert_int_equal(CMD(f, "sync", "--config", refresh), 0);
    assert_int_equal(CMD(f, "outbox", "show", "1"), 0);
    assert_int_equal(CMD(f, "outbox", "prune", "--older-than", "0"), 0);
    assert_int_equal(CMD(f, "conflicts"), 0);
    assert_int_equal(CMD(f, "completion", "bash"), 0);
    assert_int_equal(CMD(f, "complete", "--", "case", "create", "--set", "Sta"), 0);
    assert_int_equal(CMD(f, "status"), 0);
    assert_int_equal(CMD(f, "--json", "status"), 0);
    assert_true(CMD(f, "status", "--check") <= 2);
    assert_int_equal(CMD(f, "outbox", "list", "--state", "all"), 0);
    assert_int_equal(CMD(f, "query", "SELECT CaseNumber, Subject FROM Case"), 0);
    assert_int_equal(CMD(f, "case", "list"), 0);
    assert_int_equal(CMD(f, "version"), 0);
    assert_true(f->commands >= 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_command_leaks_a_secret, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
