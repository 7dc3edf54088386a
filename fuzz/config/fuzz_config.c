/* libFuzzer target for the configuration file parser: each input is an
 * INI text given to sync_config_load_string(). A violated property calls abort() so both
 * libFuzzer and the replay test notice.
 *
 * Properties beyond "no crash":
 *   - exactly one of (config, error message) comes back;
 *   - a loaded configuration keeps every validated range (timeout, backoff, API share,
 *     sObject names, login URL without trailing slash) and never hands out a secret
 *     through sfa_config_get() (config.c I1);
 *   - secrets never reach an error message (config.c I1), checked as non-interference:
 *     the input is loaded a second time with every letter and digit changed in the value
 *     of each key that is not a validated public one (so the secrets client_secret,
 *     password, security_token, refresh_token, and also misspelt keys such as
 *     "pasword"), which changes neither the INI structure nor any validated value, so
 *     status and message must be identical. Seeds carry password = SECRETVALUE...;
 *     additionally no message may contain "SECRETVALUE" unless it also appears outside
 *     those values.
 *
 * The corpus (fuzz/config/corpus) replays in every ctest run (test_fuzz_config_replay,
 * tests/sync/fuzz.cmake); turn each crash into a new corpus file. Run it with no
 * SFAGENT_SALESFORCE_* or SFAGENT_SYNC_* variables in the environment. Build and run from
 * the repository root (clang with libFuzzer), one line: */
/* clang-format off */
/* clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Iinclude fuzz/config/fuzz_config.c sync/client/config.c util/alloc.c util/strbuf.c util/names.c $(pkg-config --cflags --libs inih) -o /tmp/fuzz_config && mkdir -p /tmp/config-corpus && /tmp/fuzz_config -dict=fuzz/config/config.dict -max_total_time=90 -max_len=2048 /tmp/config-corpus fuzz/config/corpus */
/* clang-format on */
#include "sync/client/config_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Configuration files are small; longer inputs only slow the fuzzer down. */
#define INPUT_CAP 16384

static const char *const secret_keys[] = {"client_secret", "password", "security_token",
                                          "refresh_token"};

/* Keys whose values config.c validates and may quote in a message (paths included). */
static const char *const public_keys[] = {
    "login_url",        "api_version",  "auth",        "client_id",       "username",
    "private_key_file", "ca_bundle",    "timeout",     "objects",         "idempotency_field",
    "conflict_policy",  "backoff_base", "backoff_cap", "api_limit_share",
};

static bool is_public_key(const char *name, size_t n)
{
    if (n >= 5 && memcmp(name + n - 5, "_file", 5) == 0)
        return true; /* <secret>_file is a path, not the secret */
    for (size_t i = 0; i < sizeof public_keys / sizeof *public_keys; i++)
        if (strlen(public_keys[i]) == n && memcmp(name, public_keys[i], n) == 0)
            return true;
    return false;
}

static void rotate_alnum(char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)('a' + (*p - 'a' + 1) % 26);
        else if (*p >= 'A' && *p <= 'Z')
            *p = (char)('A' + (*p - 'A' + 1) % 26);
        else if (*p >= '0' && *p <= '9')
            *p = (char)('0' + (*p - '0' + 1) % 10);
    }
}

/* Copy of text where the value of every "<non-public key> = value" line is rotated. Only
 * lines starting with a letter, digit or '_' are touched (not sections, comments, a BOM or
 * inih continuation lines), and only letters and digits change, so white space, line
 * lengths and every '=' ':' ';' '#' '[' stay where inih sees them. */
static char *with_other_private_values(const char *text)
{
    char *copy = xstrdup(text);
    for (char *line = copy; *line;) {
        char *eol = strchr(line, '\n');
        char *end = eol ? eol : line + strlen(line);
        size_t n = strcspn(line, "=:\n");
        char *delim = line + n;
        size_t k = n;
        /* Not '[' (a section may hold '='), white space (continuation), a comment or a BOM. */
        bool starts_key = isalnum((unsigned char)line[0]) || line[0] == '_';
        while (k > 0 && isspace((unsigned char)line[k - 1]))
            k--;
        if (delim < end && starts_key && !is_public_key(line, k))
            rotate_alnum(delim + 1, end);
        line = eol ? eol + 1 : end;
    }
    return copy;
}

static void check_loaded(const sfa_config *cfg)
{
    int timeout = sync_config_timeout_s(cfg);
    int base = sync_config_backoff_base_s(cfg), cap = sync_config_backoff_cap_s(cfg);
    double share = sync_config_api_limit_share(cfg);
    if (timeout < 1 || timeout > 86400 || base < 1 || cap < base || cap > 7 * 86400 ||
        !(share > 0.0 && share <= 1.0))
        abort();
    size_t n = sync_config_object_count(cfg);
    if (n == 0 || sync_config_object(cfg, n) != NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!name_is_valid_api_name(sync_config_object(cfg, i)))
            abort();
    const char *url = sync_config_login_url(cfg);
    if (strncmp(url, "http", 4) != 0 || url[strlen(url) - 1] == '/' ||
        strlen(sync_config_api_version(cfg)) != 4)
        abort();
    const char *idf = sync_config_idempotency_field(cfg);
    if (idf && !name_is_valid_api_name(idf))
        abort();
    for (size_t i = 0; i < sizeof secret_keys / sizeof *secret_keys; i++)
        if (sfa_config_get(cfg, "salesforce", secret_keys[i]) != NULL) /* config.c I1 */
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_CAP)
        return 0;
    char *text = xstrndup((const char *)data, size);
    char *other = with_other_private_values(text);
    sfa_config *cfg = NULL, *cfg2 = NULL;
    char *err = NULL, *err2 = NULL;
    sfa_status st = sync_config_load_string(&cfg, text, "fuzz.ini", &err);
    sfa_status st2 = sync_config_load_string(&cfg2, other, "fuzz.ini", &err2);
    if ((st == SFA_OK) != (cfg != NULL) || (st == SFA_OK) == (err != NULL))
        abort();
    if (st != st2 || (err == NULL) != (err2 == NULL))
        abort();
    if (cfg)
        check_loaded(cfg);
    if (err && (strcmp(err, err2) != 0 || st != SFA_ECONFIG))
        abort();
    if (err && strstr(err, "SECRETVALUE") && !strstr(other, "SECRETVALUE"))
        abort();
    sfa_config_free(cfg);
    sfa_config_free(cfg2);
    free(err);
    free(err2);
    free(other);
    free(text);
    return 0;
}
