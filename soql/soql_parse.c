/* SOQL subset parser: a hand-written lexer and recursive-descent parser producing
 * struct soql_query (soql_internal.h). Errors are worded the way Salesforce words them
 * ("unexpected token: 'FRM'" under an "ERROR at Row:1:Column:N" line) so the emulator can
 * return them verbatim. Hostile input is bounded: text length (SOQL_MAX_TEXT), nesting
 * depth (SOQL_MAX_DEPTH), and every allocation is proportional to the input. */
#include "soql/soql_internal.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind {
    TK_EOF,
    TK_IDENT, /* keywords too: the parser compares them case-insensitively */
    TK_STRING,
    TK_NUMBER,
    TK_DATE,
    TK_DATETIME,
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_OP,
    TK_BAD, /* a character no token starts with */
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t pos, len;
} token;

typedef struct parser {
    const char *text;
    size_t n;
    size_t at; /* lexer position */
    token tok; /* current token */
    soql_error *err;
    bool failed;
    int depth;
    bool having; /* parsing HAVING: a comparison may start with COUNT(field) */
} parser;

void soql_error_at(soql_error *err, const char *code, const char *query, size_t pos,
                   const char *text)
{
    if (!err)
        return;
    size_t row = 1, line_start = 0;
    for (size_t i = 0; i < pos && query[i]; i++) {
        if (query[i] == '\n') {
            row++;
            line_start = i + 1;
        }
    }
    size_t col = pos - line_start + 1, line_len = strcspn(query + line_start, "\n");
    strbuf sb = STRBUF_INIT;
    /* Salesforce echoes the offending line with a caret; skip it for huge lines so the
     * message (512 bytes) keeps the part that matters. */
    if (line_len <= 200 && col <= 201) {
        strbuf_add(&sb, query + line_start, line_len);
        strbuf_addc(&sb, '\n');
        for (size_t i = 1; i < col; i++)
            strbuf_addc(&sb, ' ');
        strbuf_adds(&sb, "^\n");
    }
    strbuf_addf(&sb, "ERROR at Row:%zu:Column:%zu\n%s", row, col, text);
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->message, sizeof err->message, "%s", strbuf_str(&sb));
    strbuf_free(&sb);
}

static void fail(parser *p, size_t pos, const char *text)
{
    if (p->failed)
        return;
    p->failed = true;
    soql_error_at(p->err, "MALFORMED_QUERY", p->text, pos, text);
}

/* "unexpected token: 'X'" for the current token (long tokens shortened). */
static void fail_unexpected(parser *p)
{
    char text[128];
    if (p->tok.kind == TK_EOF)
        snprintf(text, sizeof text, "unexpected token: '<EOF>'");
    else
        snprintf(text, sizeof text, "unexpected token: '%.*s'",
                 (int)(p->tok.len > 64 ? 64 : p->tok.len), p->text + p->tok.pos);
    fail(p, p->tok.pos, text);
}

/* ---- lexer ---- */

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static bool digits_at(const char *s, size_t n, size_t i, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (i + k >= n || !isdigit((unsigned char)s[i + k]))
            return false;
    return true;
}

/* YYYY-MM-DD[Thh:mm:ss[.fff](Z|+hh:mm|-hh:mm)] at i: token length, 0 if not a date. */
static size_t lex_date(const char *s, size_t n, size_t i, bool *is_datetime)
{
    if (!digits_at(s, n, i, 4) || i + 10 > n || s[i + 4] != '-' || !digits_at(s, n, i + 5, 2) ||
        s[i + 7] != '-' || !digits_at(s, n, i + 8, 2))
        return 0;
    size_t k = i + 10;
    *is_datetime = k < n && s[k] == 'T';
    if (!*is_datetime)
        return k - i;
    k++;
    while (k < n && (isdigit((unsigned char)s[k]) || s[k] == ':' || s[k] == '.'))
        k++;
    if (k < n && s[k] == 'Z')
        return k + 1 - i;
    if (k < n && (s[k] == '+' || s[k] == '-')) {
        k++;
        while (k < n && (isdigit((unsigned char)s[k]) || s[k] == ':'))
            k++;
    }
    return k - i;
}

static size_t lex_number(const char *s, size_t n, size_t i)
{
    size_t k = i;
    if (k < n && (s[k] == '-' || s[k] == '+'))
        k++;
    while (k < n && isdigit((unsigned char)s[k]))
        k++;
    if (k < n && s[k] == '.') {
        k++;
        while (k < n && isdigit((unsigned char)s[k]))
            k++;
    }
    return k - i;
}

/* A quoted string: length up to and including the closing quote, 0 if unterminated. */
static size_t lex_string(const char *s, size_t n, size_t i)
{
    for (size_t k = i + 1; k < n; k++) {
        if (s[k] == '\\')
            k++;
        else if (s[k] == '\'')
            return k + 1 - i;
    }
    return 0;
}

static void lex_op(parser *p, size_t i)
{
    const char *s = p->text;
    size_t len = 1;
    if ((s[i] == '!' || s[i] == '<' || s[i] == '>') && i + 1 < p->n && s[i + 1] == '=')
        len = 2;
    else if (s[i] == '<' && i + 1 < p->n && s[i + 1] == '>')
        len = 2;
    p->tok.kind = (s[i] == '!' && len == 1) ? TK_BAD : TK_OP;
    p->tok.len = len;
}

static void lex_string_tok(parser *p, size_t i)
{
    size_t len = lex_string(p->text, p->n, i);
    if (len == 0) {
        char text[96];
        /* Salesforce's lexer error for an unterminated literal. */
        snprintf(text, sizeof text, "line 1:%zu mismatched character '<EOF>' expecting '''", p->n);
        fail(p, i, text);
        p->tok.kind = TK_EOF;
        p->tok.len = 0;
        return;
    }
    p->tok.kind = TK_STRING;
    p->tok.len = len;
}

static void lex_numeric(parser *p, size_t i)
{
    bool dt = false;
    size_t len = lex_date(p->text, p->n, i, &dt);
    if (len) {
        p->tok.kind = dt ? TK_DATETIME : TK_DATE;
    } else {
        len = lex_number(p->text, p->n, i);
        p->tok.kind = TK_NUMBER;
    }
    /* "10abc" is one bad token, not a number followed by an identifier. */
    while (i + len < p->n && (is_ident_char(p->text[i + len]) || p->text[i + len] == '.')) {
        len++;
        p->tok.kind = TK_BAD;
    }
    p->tok.len = len;
}

static void advance(parser *p)
{
    const char *s = p->text;
    size_t i = p->at;
    while (i < p->n && isspace((unsigned char)s[i]))
        i++;
    p->tok.pos = i;
    p->tok.len = 0;
    if (i >= p->n) {
        p->tok.kind = TK_EOF;
    } else if (is_ident_start(s[i])) {
        size_t k = i;
        /* Dotted paths (Account.Name) are one identifier token. */
        while (k < p->n &&
               (is_ident_char(s[k]) || (s[k] == '.' && k + 1 < p->n && is_ident_start(s[k + 1]))))
            k++;
        p->tok.kind = TK_IDENT;
        p->tok.len = k - i;
    } else if (isdigit((unsigned char)s[i]) ||
               ((s[i] == '-' || s[i] == '+' || s[i] == '.') && i + 1 < p->n &&
                (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.'))) {
        lex_numeric(p, i);
    } else if (s[i] == '\'') {
        lex_string_tok(p, i);
    } else if (strchr("=!<>", s[i])) {
        lex_op(p, i);
    } else {
        p->tok.kind = s[i] == '('   ? TK_LPAREN
                      : s[i] == ')' ? TK_RPAREN
                      : s[i] == ',' ? TK_COMMA
                                    : TK_BAD;
        p->tok.len = 1;
    }
    p->at = p->tok.pos + p->tok.len;
}

/* ---- parser helpers ---- */

static bool tok_is(const parser *p, const char *kw)
{
    size_t n = strlen(kw);
    if (p->tok.kind != TK_IDENT || p->tok.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (toupper((unsigned char)p->text[p->tok.pos + i]) != kw[i])
            return false;
    return true;
}

static bool accept_kw(parser *p, const char *kw)
{
    if (!tok_is(p, kw))
        return false;
    advance(p);
    return true;
}

static bool expect_kw(parser *p, const char *kw)
{
    if (accept_kw(p, kw))
        return true;
    fail_unexpected(p);
    return false;
}

static bool accept(parser *p, tok_kind kind)
{
    if (p->tok.kind != kind)
        return false;
    advance(p);
    return true;
}

static bool expect(parser *p, tok_kind kind)
{
    if (p->tok.kind == kind) {
        advance(p);
        return true;
    }
    fail_unexpected(p);
    return false;
}

/* Words that end a field list or start a clause cannot be field names. */
static bool is_reserved(const parser *p)
{
    static const char *const words[] = {
        "SELECT", "FROM", "WHERE", "AND",  "OR",    "NOT", "ORDER", "BY",    "LIMIT", "OFFSET",
        "IN",     "LIKE", "NULL",  "TRUE", "FALSE", "ASC", "DESC",  "NULLS", "GROUP", "HAVING"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (tok_is(p, words[i]))
            return true;
    return false;
}

static bool parse_fieldref(parser *p, struct soql_fieldref *out)
{
    if (p->tok.kind != TK_IDENT || is_reserved(p)) {
        fail_unexpected(p);
        return false;
    }
    out->name = xstrndup(p->text + p->tok.pos, p->tok.len);
    out->pos = p->tok.pos;
    advance(p);
    return true;
}

/* ---- WHERE ---- */

static void lit_free(struct soql_lit *l)
{
    free(l->str);
    free(l->wild);
}

void soql_node_free(struct soql_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        soql_node_free(n->kids[i]);
    free(n->kids);
    free(n->field.name);
    for (size_t i = 0; i < n->nlits; i++)
        lit_free(&n->lits[i]);
    free(n->lits);
    free(n);
}

static struct soql_node *node_new(soql_node_kind kind)
{
    struct soql_node *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    return n;
}

static void node_add_kid(struct soql_node *n, struct soql_node *kid, size_t *cap)
{
    if (n->nkids == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        n->kids = xrealloc(n->kids, *cap * sizeof *n->kids);
    }
    n->kids[n->nkids++] = kid;
}

static bool parse_string_lit(parser *p, struct soql_lit *out, bool like)
{
    size_t bad = 0;
    const char *raw = p->text + p->tok.pos + 1;
    if (!soql_literal_decode(out, raw, p->tok.len - 2, like, &bad)) {
        char text[256];
        int seq = bad + 1 < p->tok.len - 2 ? 2 : 1;
        snprintf(text, sizeof text,
                 "Invalid string literal '%.*s'. Illegal character sequence '%.*s' in string "
                 "literal.",
                 (int)(p->tok.len - 2 > 64 ? 64 : p->tok.len - 2), raw, seq, raw + bad);
        fail(p, p->tok.pos, text);
        return false;
    }
    advance(p);
    return true;
}

static bool parse_time_lit(parser *p, struct soql_lit *out)
{
    char *s = xstrndup(p->text + p->tok.pos, p->tok.len);
    bool ok = time_parse_sf(s, &out->ms);
    free(s);
    if (!ok) {
        fail_unexpected(p);
        return false;
    }
    out->kind = p->tok.kind == TK_DATE ? SOQL_LIT_DATE : SOQL_LIT_DATETIME;
    advance(p);
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

#define DAY_MS     INT64_C(86400000)
#define MAX_N_DAYS 100000 /* LAST_N_DAYS:n (any :n) beyond any stored date stays in range */

/* Day number of the first day of the month `delta` months after (y, m). */
static int64_t month_start(int64_t y, int64_t m, int64_t delta)
{
    int64_t k = y * 12 + (m - 1) + delta;
    int64_t yy = k >= 0 ? k / 12 : (k - 11) / 12;
    return days_from_civil(yy, k - yy * 12 + 1, 1);
}

/* The calendar periods date literals count in: the day number where period i (0 = the
 * current one, -1 the previous, ...) starts. Weeks start on Sunday, as in Salesforce's
 * default (en_US) locale; quarters are calendar quarters (no fiscal year). */
typedef enum period { P_DAY, P_WEEK, P_MONTH, P_QUARTER, P_YEAR } period;

static int64_t period_start(period unit, int64_t today, int64_t i)
{
    int64_t y = 0, m = 0;
    civil_from_days(today, &y, &m);
    switch (unit) {
    case P_DAY:
        return today + i;
    case P_WEEK:
        return today - ((today + 4) % 7 + 7) % 7 + 7 * i; /* 1970-01-01 was a Thursday */
    case P_MONTH:
        return month_start(y, m, i);
    case P_QUARTER:
        return month_start(y, m - (m - 1) % 3, 3 * i);
    case P_YEAR:
        return month_start(y, 1, 12 * i);
    }
    return today;
}

/* Which periods a literal spans, relative to the current one: [from, to). */
typedef struct date_literal {
    const char *name;
    period unit;
    bool takes_n;
    int from, to; /* offsets; with takes_n, each is a multiple of n plus a constant */
    int from_n, to_n;
} date_literal;

static const date_literal date_literals[] = {
    {"TODAY", P_DAY, false, 0, 1, 0, 0},
    {"YESTERDAY", P_DAY, false, -1, 0, 0, 0},
    {"TOMORROW", P_DAY, false, 1, 2, 0, 0},
    {"LAST_90_DAYS", P_DAY, false, -90, 1, 0, 0}, /* today and the 90 days before it */
    {"NEXT_90_DAYS", P_DAY, false, 1, 91, 0, 0},
    {"LAST_N_DAYS", P_DAY, true, 0, 1, -1, 0}, /* today and the n days before it */
    {"NEXT_N_DAYS", P_DAY, true, 1, 1, 0, 1},  /* the n days after today */
    {"N_DAYS_AGO", P_DAY, true, 0, 1, -1, -1},
    {"THIS_WEEK", P_WEEK, false, 0, 1, 0, 0},
    {"LAST_WEEK", P_WEEK, false, -1, 0, 0, 0},
    {"NEXT_WEEK", P_WEEK, false, 1, 2, 0, 0},
    {"LAST_N_WEEKS", P_WEEK, true, 0, 0, -1, 0},
    {"NEXT_N_WEEKS", P_WEEK, true, 1, 1, 0, 1},
    {"N_WEEKS_AGO", P_WEEK, true, 0, 1, -1, -1},
    {"THIS_MONTH", P_MONTH, false, 0, 1, 0, 0},
    {"LAST_MONTH", P_MONTH, false, -1, 0, 0, 0},
    {"NEXT_MONTH", P_MONTH, false, 1, 2, 0, 0},
    {"LAST_N_MONTHS", P_MONTH, true, 0, 0, -1, 0},
    {"NEXT_N_MONTHS", P_MONTH, true, 1, 1, 0, 1},
    {"N_MONTHS_AGO", P_MONTH, true, 0, 1, -1, -1},
    {"THIS_QUARTER", P_QUARTER, false, 0, 1, 0, 0},
    {"LAST_QUARTER", P_QUARTER, false, -1, 0, 0, 0},
    {"NEXT_QUARTER", P_QUARTER, false, 1, 2, 0, 0},
    {"LAST_N_QUARTERS", P_QUARTER, true, 0, 0, -1, 0},
    {"NEXT_N_QUARTERS", P_QUARTER, true, 1, 1, 0, 1},
    {"N_QUARTERS_AGO", P_QUARTER, true, 0, 1, -1, -1},
    {"THIS_YEAR", P_YEAR, false, 0, 1, 0, 0},
    {"LAST_YEAR", P_YEAR, false, -1, 0, 0, 0},
    {"NEXT_YEAR", P_YEAR, false, 1, 2, 0, 0},
    {"LAST_N_YEARS", P_YEAR, true, 0, 0, -1, 0},
    {"NEXT_N_YEARS", P_YEAR, true, 1, 1, 0, 1},
    {"N_YEARS_AGO", P_YEAR, true, 0, 1, -1, -1},
};

static const date_literal *date_literal_find(const char *name)
{
    for (size_t i = 0; i < sizeof date_literals / sizeof date_literals[0]; i++)
        if (strcmp(date_literals[i].name, name) == 0)
            return &date_literals[i];
    return NULL;
}

/* A date literal (TODAY, LAST_N_DAYS:n, LAST_QUARTER...) as the UTC range [first, end) of
 * whole days it names, from time_now_ms() (the test clock seam), as the SOQL reference
 * defines each (docs/salesforce.md#query). n: the number after ':' (-1 when the literal
 * takes none). */
static bool date_range(const char *name, long n, int64_t *lo, int64_t *hi)
{
    const date_literal *d = date_literal_find(name);
    if (!d || d->takes_n != (n >= 0))
        return false;
    int64_t now = time_now_ms();
    int64_t today = (now >= 0 ? now : now - DAY_MS + 1) / DAY_MS; /* days since epoch */
    int64_t k = d->takes_n ? n : 0;
    *lo = period_start(d->unit, today, d->from + d->from_n * k) * DAY_MS;
    *hi = period_start(d->unit, today, d->to + d->to_n * k) * DAY_MS;
    return true;
}

/* TODAY, LAST_N_DAYS:7...: the current token is an identifier. false (no error set): it
 * is not a date literal name. A name that needs ":n" and lacks it (or has a bad n) is
 * MALFORMED_QUERY. */
static bool parse_date_range_lit(parser *p, struct soql_lit *out, bool *is_date)
{
    char name[16] = "";
    *is_date = false;
    if (p->tok.len >= sizeof name)
        return false;
    for (size_t i = 0; i < p->tok.len; i++)
        name[i] = (char)toupper((unsigned char)p->text[p->tok.pos + i]);
    name[p->tok.len] = '\0';
    long n = -1;
    size_t at = p->at;
    if (at < p->n && p->text[at] == ':') {
        size_t k = at + 1;
        n = 0;
        while (k < p->n && isdigit((unsigned char)p->text[k]) && n <= MAX_N_DAYS)
            n = n * 10 + (p->text[k++] - '0');
        if (k == at + 1 || n > MAX_N_DAYS || (k < p->n && is_ident_char(p->text[k]))) {
            fail(p, at, "unexpected token: ':'");
            return false;
        }
        at = k;
    }
    if (!date_range(name, n, &out->ms, &out->hi)) {
        const date_literal *d = date_literal_find(name);
        if (n >= 0 || (d && d->takes_n)) {
            char text[64];
            snprintf(text, sizeof text, "unexpected token: '%s'", name);
            fail(p, p->tok.pos, text);
        }
        return false;
    }
    *is_date = true;
    out->kind = SOQL_LIT_DATERANGE;
    p->at = at;
    advance(p);
    return true;
}

static bool parse_number_lit(parser *p, struct soql_lit *out)
{
    char *s = xstrndup(p->text + p->tok.pos, p->tok.len), *end = NULL;
    errno = 0;
    out->num = strtod(s, &end);
    bool ok = end && *end == '\0' && errno == 0 && end != s;
    free(s);
    if (!ok) {
        fail_unexpected(p);
        return false;
    }
    out->kind = SOQL_LIT_NUM;
    advance(p);
    return true;
}

static bool parse_literal(parser *p, struct soql_lit *out)
{
    memset(out, 0, sizeof *out);
    switch (p->tok.kind) {
    case TK_STRING:
        return parse_string_lit(p, out, false);
    case TK_NUMBER:
        return parse_number_lit(p, out);
    case TK_DATE:
    case TK_DATETIME:
        return parse_time_lit(p, out);
    case TK_IDENT:
        if (accept_kw(p, "NULL")) {
            out->kind = SOQL_LIT_NULL;
            return true;
        }
        if (tok_is(p, "TRUE") || tok_is(p, "FALSE")) {
            out->kind = SOQL_LIT_BOOL;
            out->b = tok_is(p, "TRUE");
            advance(p);
            return true;
        }
        bool is_date = false;
        if (parse_date_range_lit(p, out, &is_date) || p->failed)
            return is_date;
        break;
    default:
        break;
    }
    fail_unexpected(p);
    return false;
}

static bool parse_in_list(parser *p, struct soql_node *n)
{
    size_t cap = 0;
    if (!expect(p, TK_LPAREN))
        return false;
    do {
        if (n->nlits == cap) {
            cap = cap ? cap * 2 : 4;
            n->lits = xrealloc(n->lits, cap * sizeof *n->lits);
        }
        memset(&n->lits[n->nlits], 0, sizeof n->lits[0]);
        n->nlits++; /* counted before parsing so a failed literal is still freed */
        if (!parse_literal(p, &n->lits[n->nlits - 1]))
            return false;
    } while (accept(p, TK_COMMA));
    return expect(p, TK_RPAREN);
}

static bool parse_op(parser *p, soql_op *op)
{
    static const struct {
        const char *text;
        soql_op op;
    } ops[] = {{"=", SOQL_OP_EQ}, {"!=", SOQL_OP_NE}, {"<>", SOQL_OP_NE}, {"<", SOQL_OP_LT},
               {">", SOQL_OP_GT}, {"<=", SOQL_OP_LE}, {">=", SOQL_OP_GE}};
    for (size_t i = 0; p->tok.kind == TK_OP && i < sizeof ops / sizeof ops[0]; i++) {
        if (strlen(ops[i].text) == p->tok.len &&
            memcmp(ops[i].text, p->text + p->tok.pos, p->tok.len) == 0) {
            *op = ops[i].op;
            advance(p);
            return true;
        }
    }
    fail_unexpected(p);
    return false;
}

/* field op literal | field LIKE 'pattern' | field [NOT] IN (literal, ...) */
static bool parse_cmp_rhs(parser *p, struct soql_node *n)
{
    if (accept_kw(p, "LIKE")) {
        n->op = SOQL_OP_LIKE;
        n->lits = xcalloc(1, sizeof *n->lits);
        n->nlits = 1;
        if (p->tok.kind != TK_STRING) {
            fail_unexpected(p);
            return false;
        }
        return parse_string_lit(p, &n->lits[0], true);
    }
    if (accept_kw(p, "IN") || (accept_kw(p, "NOT") && expect_kw(p, "IN"))) {
        return parse_in_list(p, n);
    }
    if (p->failed || !parse_op(p, &n->op))
        return false;
    n->lits = xcalloc(1, sizeof *n->lits);
    n->nlits = 1;
    return parse_literal(p, &n->lits[0]);
}

static bool next_is_lparen(const parser *p);
static bool parse_count_ref(parser *p, struct soql_fieldref *out);

static struct soql_node *parse_cmp(parser *p)
{
    struct soql_node *n = node_new(SOQL_NODE_CMP);
    if (p->having && tok_is(p, "COUNT") && next_is_lparen(p)) {
        n->count = true;
        if (!parse_count_ref(p, &n->field))
            goto fail;
    } else if (!parse_fieldref(p, &n->field)) {
        goto fail;
    }
    /* NOT IN is told from IN by peeking before parse_cmp_rhs consumes the words. */
    n->op = tok_is(p, "NOT") ? SOQL_OP_NOT_IN : SOQL_OP_IN;
    if (!parse_cmp_rhs(p, n))
        goto fail;
    return n;
fail:
    soql_node_free(n);
    return NULL;
}

static struct soql_node *parse_cond(parser *p);

/* NOT term | ( cond ) | comparison. Depth counts both parentheses and NOT. */
static struct soql_node *parse_term(parser *p)
{
    struct soql_node *n = NULL;
    if (++p->depth > SOQL_MAX_DEPTH) {
        fail(p, p->tok.pos, "Query is too complicated: too many nested conditions.");
        return NULL;
    }
    if (accept_kw(p, "NOT")) {
        struct soql_node *kid = parse_term(p);
        if (kid) {
            size_t cap = 0;
            n = node_new(SOQL_NODE_NOT);
            node_add_kid(n, kid, &cap);
        }
    } else if (p->tok.kind == TK_LPAREN) {
        advance(p);
        n = parse_cond(p);
        if (n && !expect(p, TK_RPAREN)) {
            soql_node_free(n);
            n = NULL;
        }
    } else {
        n = parse_cmp(p);
    }
    p->depth--;
    return n;
}

/* term (AND term)* | term (OR term)*: Salesforce requires parentheses whenever AND and
 * OR are mixed ("Parentheses are required whenever you mix the operators", SOQL guide,
 * Logical Operators), so `a AND b OR c` is MALFORMED_QUERY at the OR. */
static struct soql_node *parse_cond(parser *p)
{
    struct soql_node *first = parse_term(p);
    if (!first || (!tok_is(p, "AND") && !tok_is(p, "OR")))
        return first;
    bool is_and = tok_is(p, "AND");
    const char *kw = is_and ? "AND" : "OR", *other = is_and ? "OR" : "AND";
    struct soql_node *n = node_new(is_and ? SOQL_NODE_AND : SOQL_NODE_OR);
    size_t cap = 0;
    node_add_kid(n, first, &cap);
    while (accept_kw(p, kw)) {
        struct soql_node *kid = parse_term(p);
        if (!kid)
            goto fail;
        node_add_kid(n, kid, &cap);
    }
    if (tok_is(p, other)) {
        fail_unexpected(p);
        goto fail;
    }
    return n;
fail:
    soql_node_free(n);
    return NULL;
}

/* ---- clauses ---- */

/* COUNT(field), the current token being COUNT followed by '(': the field. */
static bool parse_count_ref(parser *p, struct soql_fieldref *out)
{
    advance(p); /* COUNT */
    advance(p); /* ( */
    return parse_fieldref(p, out) && expect(p, TK_RPAREN);
}

static bool next_is_lparen(const parser *p)
{
    size_t i = p->at;
    while (i < p->n && isspace((unsigned char)p->text[i]))
        i++;
    return i < p->n && p->text[i] == '(';
}

/* COUNT() with nothing inside, at the current token. */
static bool at_count_star(const parser *p)
{
    if (!tok_is(p, "COUNT") || !next_is_lparen(p))
        return false;
    size_t i = p->at;
    while (p->text[i] != '(')
        i++;
    i++;
    while (i < p->n && isspace((unsigned char)p->text[i]))
        i++;
    return i < p->n && p->text[i] == ')';
}

/* An alias after a SELECT entry: a plain word that is not a keyword. */
static void parse_alias(parser *p, struct soql_item *it)
{
    if (p->tok.kind != TK_IDENT || is_reserved(p) || memchr(p->text + p->tok.pos, '.', p->tok.len))
        return;
    it->alias = xstrndup(p->text + p->tok.pos, p->tok.len);
    it->alias_pos = p->tok.pos;
    advance(p);
}

static void push_item(struct soql_query *q, size_t *cap, struct soql_item it)
{
    if (q->nitems == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        q->items = xrealloc(q->items, *cap * sizeof *q->items);
    }
    q->items[q->nitems++] = it;
}

static void item_free(struct soql_item *it)
{
    free(it->field.name);
    free(it->alias);
    free(it->key);
}

/* COUNT() alone, or entries `field [alias]` / `COUNT(field) [alias]`; finish_select()
 * decides afterwards whether they make a plain or an aggregate query. */
static bool parse_select_list(parser *p, struct soql_query *q)
{
    if (at_count_star(p)) {
        advance(p); /* COUNT */
        advance(p); /* ( */
        advance(p); /* ) */
        q->is_count = true;
        return true;
    }
    size_t cap = 0;
    do {
        struct soql_item it = {0};
        bool ok = tok_is(p, "COUNT") && next_is_lparen(p)
                      ? (it.count = true, parse_count_ref(p, &it.field))
                      : parse_fieldref(p, &it.field);
        if (ok)
            parse_alias(p, &it);
        push_item(q, &cap, it);
        if (!ok)
            return false;
    } while (accept(p, TK_COMMA));
    return true;
}

static bool parse_order_item(parser *p, struct soql_order *o)
{
    if (tok_is(p, "COUNT") && next_is_lparen(p)) {
        o->count = true;
        if (!parse_count_ref(p, &o->field))
            return false;
    } else if (!parse_fieldref(p, &o->field)) {
        return false;
    }
    if (accept_kw(p, "DESC"))
        o->desc = true;
    else
        accept_kw(p, "ASC");
    if (accept_kw(p, "NULLS")) {
        if (accept_kw(p, "LAST"))
            o->nulls_last = true;
        else if (!expect_kw(p, "FIRST"))
            return false;
    }
    return true;
}

static bool parse_order_by(parser *p, struct soql_query *q)
{
    size_t cap = 0;
    if (!expect_kw(p, "BY"))
        return false;
    do {
        if (q->norder == cap) {
            cap = cap ? cap * 2 : 4;
            q->order = xrealloc(q->order, cap * sizeof *q->order);
        }
        struct soql_order *o = &q->order[q->norder++];
        memset(o, 0, sizeof *o);
        if (!parse_order_item(p, o))
            return false;
    } while (accept(p, TK_COMMA));
    return true;
}

/* LIMIT/OFFSET take a non-negative integer literal. */
static bool parse_count_value(parser *p, long *out)
{
    if (p->tok.kind != TK_NUMBER || !isdigit((unsigned char)p->text[p->tok.pos])) {
        fail_unexpected(p);
        return false;
    }
    long v = 0;
    for (size_t i = 0; i < p->tok.len; i++) {
        char c = p->text[p->tok.pos + i];
        if (!isdigit((unsigned char)c) || v > (2147483647L - (c - '0')) / 10) {
            fail_unexpected(p);
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *out = v;
    advance(p);
    return true;
}

static bool parse_group_by(parser *p, struct soql_query *q)
{
    size_t cap = 0;
    if (!expect_kw(p, "BY"))
        return false;
    do {
        if (q->ngroup == cap) {
            cap = cap ? cap * 2 : 4;
            q->group = xrealloc(q->group, cap * sizeof *q->group);
        }
        struct soql_fieldref *g = &q->group[q->ngroup++];
        memset(g, 0, sizeof *g);
        if (!parse_fieldref(p, g))
            return false;
    } while (accept(p, TK_COMMA));
    return true;
}

static bool parse_having(parser *p, struct soql_query *q)
{
    p->having = true;
    q->having = parse_cond(p);
    p->having = false;
    return q->having != NULL;
}

static bool parse_tail(parser *p, struct soql_query *q)
{
    if (accept_kw(p, "WHERE") && !(q->where = parse_cond(p)))
        return false;
    if (accept_kw(p, "GROUP") && !parse_group_by(p, q))
        return false;
    if (tok_is(p, "HAVING") && q->ngroup == 0) { /* HAVING filters groups */
        fail_unexpected(p);
        return false;
    }
    if (accept_kw(p, "HAVING") && !parse_having(p, q))
        return false;
    if (accept_kw(p, "ORDER") && !parse_order_by(p, q))
        return false;
    if (accept_kw(p, "LIMIT") && !parse_count_value(p, &q->limit))
        return false;
    if (accept_kw(p, "OFFSET") && !parse_count_value(p, &q->offset))
        return false;
    if (p->tok.kind != TK_EOF) {
        fail_unexpected(p);
        return false;
    }
    return true;
}

/* ---- what the SELECT list means ---- */

static bool has_count(const struct soql_query *q)
{
    for (size_t i = 0; i < q->nitems; i++)
        if (q->items[i].count)
            return true;
    return false;
}

static bool is_grouped(const struct soql_query *q, const char *name)
{
    for (size_t i = 0; i < q->ngroup; i++)
        if (soql_strcasecmp(q->group[i].name, name) == 0)
            return true;
    return false;
}

/* Salesforce's words: "Field must be grouped or aggregated: Subject". */
static bool fail_ungrouped(parser *p, const char *what, const struct soql_fieldref *f)
{
    char text[160];
    snprintf(text, sizeof text, "%s must be grouped or aggregated: %.64s", what, f->name);
    fail(p, f->pos, text);
    return false;
}

static bool having_is_grouped(parser *p, const struct soql_query *q, const struct soql_node *n)
{
    if (n->kind == SOQL_NODE_CMP)
        return n->count || is_grouped(q, n->field.name) || fail_ungrouped(p, "Field", &n->field);
    for (size_t i = 0; i < n->nkids; i++)
        if (!having_is_grouped(p, q, n->kids[i]))
            return false;
    return true;
}

/* The keys of the AggregateResult rows: the alias; else exprN for a COUNT, N counting
 * the COUNTs without an alias from 0 (the SOQL guide, "Using Aliases with GROUP BY");
 * else the field's last segment (Account.Name -> Name). */
static bool name_items(parser *p, struct soql_query *q)
{
    int expr = 0;
    for (size_t i = 0; i < q->nitems; i++) {
        struct soql_item *it = &q->items[i];
        const char *dot = strrchr(it->field.name, '.');
        it->key = it->alias   ? xstrdup(it->alias)
                  : it->count ? xasprintf("expr%d", expr++)
                              : xstrdup(dot ? dot + 1 : it->field.name);
        for (size_t j = 0; j < i; j++) {
            if (soql_strcasecmp(q->items[j].key, it->key) != 0)
                continue;
            char text[128];
            snprintf(text, sizeof text, "duplicate alias: %.64s", it->key);
            fail(p, it->alias ? it->alias_pos : it->field.pos, text);
            return false;
        }
    }
    return true;
}

/* Every entry is counted or grouped, and so is every ORDER BY and HAVING field. */
static bool finish_aggregate(parser *p, struct soql_query *q)
{
    q->aggregate = true;
    for (size_t i = 0; i < q->nitems; i++)
        if (!q->items[i].count && !is_grouped(q, q->items[i].field.name))
            return fail_ungrouped(p, "Field", &q->items[i].field);
    for (size_t i = 0; i < q->norder; i++)
        if (!q->order[i].count && !is_grouped(q, q->order[i].field.name))
            return fail_ungrouped(p, "Ordered field", &q->order[i].field);
    if (q->having && !having_is_grouped(p, q, q->having))
        return false;
    return name_items(p, q);
}

/* A query with COUNT(field) or GROUP BY is an aggregate query; any other keeps its
 * entries as the plain field list, where an alias or an aggregate has no place. */
static bool finish_select(parser *p, struct soql_query *q)
{
    bool aggregate = q->ngroup > 0 || has_count(q);
    if (q->is_count && q->ngroup) {
        fail(p, q->group[0].pos, "COUNT() cannot be used with GROUP BY: use COUNT(fieldName)");
        return false;
    }
    if (aggregate)
        return finish_aggregate(p, q);
    for (size_t i = 0; i < q->norder; i++)
        if (q->order[i].count) {
            fail(p, q->order[i].field.pos,
                 "COUNT(fieldName) in ORDER BY needs GROUP BY or COUNT(fieldName) in SELECT");
            return false;
        }
    q->fields = xcalloc(q->nitems + 1, sizeof *q->fields);
    for (size_t i = 0; i < q->nitems; i++) {
        struct soql_item *it = &q->items[i];
        if (it->alias) {
            char text[128];
            snprintf(text, sizeof text, "unexpected token: '%.64s'", it->alias);
            fail(p, it->alias_pos, text);
            return false;
        }
        q->fields[q->nfields++] = it->field; /* ownership moves to the field list */
        it->field.name = NULL;
    }
    return true;
}

/* The FROM name. Order and Case are real sObjects, so reserved words are allowed here
 * unless they start the next clause (WHERE, LIMIT, OFFSET, ORDER BY). */
static bool is_object_name(const parser *p)
{
    if (p->tok.kind != TK_IDENT || memchr(p->text + p->tok.pos, '.', p->tok.len))
        return false;
    if (tok_is(p, "WHERE") || tok_is(p, "LIMIT") || tok_is(p, "OFFSET"))
        return false;
    if (tok_is(p, "ORDER") || tok_is(p, "GROUP")) { /* Group is an sObject too */
        parser ahead = *p;                          /* a copy: peeking must not consume or report */
        ahead.err = NULL;
        advance(&ahead);
        return !tok_is(&ahead, "BY");
    }
    return true;
}

static bool parse_query(parser *p, struct soql_query *q)
{
    advance(p);
    if (!expect_kw(p, "SELECT") || !parse_select_list(p, q))
        return false;
    if (!tok_is(p, "FROM") && q->nitems && q->items[q->nitems - 1].alias && !has_count(q)) {
        /* `SELECT Id FRM Case`: the word read as an alias is the mistake, not Case. */
        struct soql_item *last = &q->items[q->nitems - 1];
        char text[128];
        snprintf(text, sizeof text, "unexpected token: '%.64s'", last->alias);
        fail(p, last->alias_pos, text);
        return false;
    }
    if (!expect_kw(p, "FROM"))
        return false;
    if (!is_object_name(p)) {
        fail_unexpected(p);
        return false;
    }
    q->from = xstrndup(p->text + p->tok.pos, p->tok.len);
    q->from_pos = p->tok.pos;
    advance(p);
    return parse_tail(p, q) && finish_select(p, q);
}

soql_query *soql_parse(const char *text, soql_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!text || strlen(text) > SOQL_MAX_TEXT) {
        if (err) {
            snprintf(err->code, sizeof err->code, "MALFORMED_QUERY");
            snprintf(err->message, sizeof err->message,
                     text ? "SOQL statements cannot be longer than 100000 characters."
                          : "unexpected token: '<EOF>'");
        }
        return NULL;
    }
    parser p = {.text = text, .n = strlen(text), .err = err};
    struct soql_query *q = xcalloc(1, sizeof *q);
    q->limit = -1;
    q->offset = -1;
    q->text = xstrdup(text);
    if (!parse_query(&p, q) || p.failed) {
        if (!p.failed) /* defensive: every false path reports, but never return silently */
            fail_unexpected(&p);
        soql_free(q);
        return NULL;
    }
    return q;
}

static void fieldref_free(struct soql_fieldref *f)
{
    free(f->name);
}

void soql_free(soql_query *q)
{
    if (!q)
        return;
    free(q->text);
    free(q->from);
    for (size_t i = 0; i < q->nfields; i++)
        fieldref_free(&q->fields[i]);
    free(q->fields);
    for (size_t i = 0; i < q->nitems; i++)
        item_free(&q->items[i]);
    free(q->items);
    soql_node_free(q->where);
    for (size_t i = 0; i < q->ngroup; i++)
        fieldref_free(&q->group[i]);
    free(q->group);
    soql_node_free(q->having);
    for (size_t i = 0; i < q->norder; i++)
        fieldref_free(&q->order[i].field);
    free(q->order);
    free(q);
}
