/*
 * Shell completion. `sfagent completion bash|zsh|fish` prints a script that calls
 * `sfagent complete -- WORD...` (the words after "sfagent", the last one being completed)
 * and offers its lines. `complete` answers from the command table (commands, and the
 * options named in each command's help text) and the describe cache (sObject names after
 * `record VERB`, `describe` and `import`; field names after --set / --set-json as
 * "Field=", after --order; picklist values after "--set Field="). It never uses the
 * network and opens the database read-only; with no database it offers static words only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include <sfagent/describe.h>

static const char *const GLOBAL_OPTS[] = {"--db", "--json", "--durability", "--help", NULL};

/* Print word when it starts with prefix. */
static void offer(const char *prefix, const char *word)
{
    if (word && strncmp(word, prefix, strlen(prefix)) == 0)
        puts(word);
}

static void offer_list(const char *prefix, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        offer(prefix, words[i]);
}

static const cli_command *find(const char *name)
{
    size_t n = 0;
    const cli_command *t = cli_command_table(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

/* Options ("--name") named in the command's help text, once each. */
static void offer_options(const cli_command *cmd, const char *prefix)
{
    const char *p = cmd->help;
    char seen[2048] = " ";
    while ((p = strstr(p, "--")) != NULL) {
        size_t n = 2;
        while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '-')
            n++;
        char opt[64];
        if (n > 2 && n < sizeof opt) {
            snprintf(opt, sizeof opt, " %.*s ", (int)n, p);
            size_t used = strlen(seen);
            if (!strstr(seen, opt) && used + n + 2 < sizeof seen) {
                snprintf(seen + used, sizeof seen - used, "%s", opt + 1);
                opt[n + 1] = '\0';
                offer(prefix, opt + 1);
            }
        }
        p += n;
    }
}

/* The describe cache, opened read-only on first use (NULL when there is none). */
typedef struct cache {
    sfa_agent *agent;
    bool tried;
} cache;

static cJSON *cached(cache *c, const char *sobject)
{
    if (!c->tried) {
        c->tried = true;
        if (access(cli_db_path(), R_OK) != 0 || cli_open_read_only(&c->agent) != CLI_EXIT_OK)
            c->agent = NULL;
    }
    char *json = NULL;
    if (!c->agent || sfa_describe_cached(&json, NULL, c->agent, sobject) != SFA_OK)
        return NULL;
    cJSON *d = cJSON_Parse(json);
    free(json);
    return d;
}

static void offer_sobjects(cache *c, const char *prefix)
{
    cJSON *g = cached(c, NULL);
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(g, "sobjects"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (cJSON_IsString(n))
            offer(prefix, n->valuestring);
    }
    if (!g) {
        static const char *const builtin[] = {"Case", "Contact", NULL};
        offer_list(prefix, builtin);
    }
    cJSON_Delete(g);
}

/* Field names of sobject (suffix "=" when assign), or after "Field=" its picklist values. */
static void offer_fields(cache *c, const char *sobject, const char *prefix, bool assign)
{
    cJSON *d = cached(c, sobject);
    const char *eq = assign ? strchr(prefix, '=') : NULL;
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (!cJSON_IsString(n))
            continue;
        const char *name = n->valuestring;
        if (!eq) {
            size_t size = strlen(name) + 2;
            char *word = malloc(size);
            if (!word)
                abort();
            snprintf(word, size, "%s%s", name, assign ? "=" : "");
            offer(prefix, word);
            free(word);
            continue;
        }
        if (strlen(name) != (size_t)(eq - prefix) || strncasecmp(name, prefix, strlen(name)))
            continue;
        const cJSON *p = NULL;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "picklistValues"))
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "value");
            if (!cJSON_IsString(v) || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "active")))
                continue;
            size_t size = strlen(prefix) + strlen(v->valuestring) + 2;
            char *word = malloc(size);
            if (!word)
                abort();
            snprintf(word, size, "%.*s%s", (int)(eq - prefix + 1), prefix, v->valuestring);
            offer(prefix, word);
            free(word);
        }
    }
    cJSON_Delete(d);
}

static const char *const VERBS[] = {"create", "get", "update", "list", "delete", NULL};
static const char *const RECORD_VERBS[] = {"create", "get",    "update", "list",
                                           "delete", "upsert", NULL};
static const char *const OUTBOX_VERBS[] = {"list", "show", "retry", "discard", "prune", NULL};
static const char *const SHELLS[] = {"bash", "zsh", "fish", NULL};

/* Candidates for w[n-1] given the words before it. */
static void complete_words(cache *c, char **w, int n)
{
    const char *cur = w[n - 1];
    int i = 0;
    while (i < n - 1 && w[i][0] == '-') /* global options and their values */
        i += strcmp(w[i], "--db") == 0 || strcmp(w[i], "--durability") == 0 ? 2 : 1;
    if (i >= n - 1) {
        if (i > 0 && strcmp(w[i - 1], "--durability") == 0 && i == n) {
            static const char *const modes[] = {"full", "normal", NULL};
            offer_list(cur, modes);
            return;
        }
        if (cur[0] == '-') {
            offer_list(cur, GLOBAL_OPTS);
            return;
        }
        size_t count = 0;
        const cli_command *t = cli_command_table(&count);
        for (size_t k = 0; k < count; k++)
            if (strcmp(t[k].name, "complete") != 0)
                offer(cur, t[k].name);
        return;
    }
    const cli_command *cmd = find(w[i]);
    if (!cmd)
        return;
    int pos = n - 1 - (i + 1); /* index of cur among the command's own words */
    const char *prev = n >= 2 ? w[n - 2] : "";
    const char *sobject = strcmp(cmd->name, "case") == 0                 ? "Case"
                          : strcmp(cmd->name, "contact") == 0            ? "Contact"
                          : strcmp(cmd->name, "record") == 0 && pos >= 2 ? w[i + 2]
                                                                         : NULL;
    if (sobject && (strcmp(prev, "--set") == 0 || strcmp(prev, "--set-json") == 0)) {
        offer_fields(c, sobject, cur, true);
        return;
    }
    if (sobject && strcmp(prev, "--order") == 0) {
        offer_fields(c, sobject, cur, false);
        return;
    }
    if (cur[0] == '-') {
        offer_options(cmd, cur);
        return;
    }
    bool verbs = strcmp(cmd->name, "case") == 0 || strcmp(cmd->name, "contact") == 0;
    if (pos == 0 && verbs)
        offer_list(cur, VERBS);
    else if (pos == 0 && strcmp(cmd->name, "record") == 0)
        offer_list(cur, RECORD_VERBS);
    else if (pos == 0 && strcmp(cmd->name, "outbox") == 0)
        offer_list(cur, OUTBOX_VERBS);
    else if (pos == 0 && strcmp(cmd->name, "completion") == 0)
        offer_list(cur, SHELLS);
    else if ((pos == 1 && strcmp(cmd->name, "record") == 0) ||
             (pos == 0 && (strcmp(cmd->name, "describe") == 0 || strcmp(cmd->name, "import") == 0)))
        offer_sobjects(c, cur);
}

int cmd_complete(int argc, char **argv)
{
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    char *empty[] = {""};
    cache c = {NULL, false};
    if (first >= argc)
        complete_words(&c, empty, 1);
    else
        complete_words(&c, argv + first, argc - first);
    sfa_agent_free(c.agent);
    return CLI_EXIT_OK;
}

static const char BASH[] =
    "# sfagent bash completion: source <(sfagent completion bash)\n"
    "_sfagent() {\n"
    "    local line=\"${COMP_LINE:0:COMP_POINT}\" cur words\n"
    "    read -ra words <<< \"$line\"\n"
    "    [[ $line == *[[:space:]] ]] && words+=(\"\")\n"
    "    cur=\"${words[${#words[@]}-1]}\"\n"
    "    local IFS=$'\\n' out\n"
    "    out=($(\"${words[0]}\" complete -- \"${words[@]:1}\" 2>/dev/null))\n"
    "    # bash splits words at '=': offer only the part after the last one.\n"
    "    if [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then\n"
    "        out=(\"${out[@]#${cur%=*}=}\")\n"
    "    fi\n"
    "    COMPREPLY=(\"${out[@]}\")\n"
    "    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace\n"
    "}\n"
    "complete -F _sfagent sfagent\n";

static const char ZSH[] = "#compdef sfagent\n"
                          "# sfagent zsh completion: source <(sfagent completion zsh)\n"
                          "_sfagent() {\n"
                          "    local -a cands\n"
                          "    cands=(${(f)\"$(sfagent complete -- \"${(@)words[2,CURRENT]}\" "
                          "2>/dev/null)\"})\n"
                          "    compadd -S '' -- $cands\n"
                          "}\n"
                          "compdef _sfagent sfagent\n";

static const char FISH[] = "# sfagent fish completion: sfagent completion fish | source\n"
                           "function __sfagent_complete\n"
                           "    set -l words (commandline -opc) (commandline -ct)\n"
                           "    sfagent complete -- $words[2..-1] 2>/dev/null\n"
                           "end\n"
                           "complete -c sfagent -f -a '(__sfagent_complete)'\n";

int cmd_completion(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage("completion: which shell? (bash, zsh or fish)");
    if (strcmp(argv[1], "bash") == 0)
        fputs(BASH, stdout);
    else if (strcmp(argv[1], "zsh") == 0)
        fputs(ZSH, stdout);
    else if (strcmp(argv[1], "fish") == 0)
        fputs(FISH, stdout);
    else
        return cli_usage("completion: unknown shell '%s' (bash, zsh or fish)", argv[1]);
    return CLI_EXIT_OK;
}
