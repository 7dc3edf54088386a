/* Did-you-mean suggestions (util/suggest.h). A candidate is close when its Damerau
 * distance (optimal string alignment, letters without case) to the typed name is at most
 * a third of the typed length (at least 1, at most 3), or when the typed name is a
 * case-insensitive prefix of it (of at least two characters). Scores: the distance, and
 * for a prefix match 1, so "Stauts" -> "Status" (one swap) and "Sta" -> "Status" rank
 * alike; the closest SUGGEST_MAX are kept. */
#include "util/suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/strbuf.h"

/* Names longer than this are never close (and the distance table stays on the stack). */
#define NAME_MAX_LEN 255

static bool same_letter(char x, char y)
{
    return tolower((unsigned char)x) == tolower((unsigned char)y);
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t suggest_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > NAME_MAX_LEN || m > NAME_MAX_LEN)
        return (size_t)-1;
    /* Three rows of the (n+1) x (m+1) table: the swap rule looks two rows back. */
    size_t rows[3][NAME_MAX_LEN + 1];
    for (size_t j = 0; j <= m; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = same_letter(a[i - 1], b[j - 1]) ? 0 : 1;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) &&
                same_letter(a[i - 2], b[j - 1]) && prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
    }
    return rows[n % 3][m];
}

void suggest_init(suggest_set *s, const char *typed)
{
    memset(s, 0, sizeof *s);
    s->typed = typed;
}

/* Score of candidate, or SIZE_MAX when it is not close. */
static size_t score_of(const char *typed, const char *candidate)
{
    size_t len = strlen(typed);
    if (len >= 2 && strlen(candidate) > len && strncasecmp(typed, candidate, len) == 0)
        return 1;
    size_t limit = len / 3;
    limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
    size_t d = suggest_distance(typed, candidate);
    return d <= limit ? d : (size_t)-1;
}

void suggest_consider(suggest_set *s, const char *candidate)
{
    if (!candidate || !*candidate)
        return;
    size_t score = score_of(s->typed, candidate);
    if (score == (size_t)-1)
        return;
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->names[i], candidate) == 0)
            return; /* listed twice by the source */
    /* Insertion point: after every better (or equal and alphabetically earlier) entry. */
    size_t at = 0;
    while (at < s->count && (s->scores[at] < score ||
                             (s->scores[at] == score && strcmp(s->names[at], candidate) < 0)))
        at++;
    if (at >= SUGGEST_MAX)
        return;
    if (s->count == SUGGEST_MAX)
        free(s->names[--s->count]);
    memmove(&s->names[at + 1], &s->names[at], (s->count - at) * sizeof s->names[0]);
    memmove(&s->scores[at + 1], &s->scores[at], (s->count - at) * sizeof s->scores[0]);
    s->names[at] = xstrdup(candidate);
    s->scores[at] = score;
    s->count++;
}

char *suggest_text(const suggest_set *s)
{
    if (s->count == 0)
        return NULL;
    strbuf b = STRBUF_INIT;
    strbuf_adds(&b, "did you mean ");
    for (size_t i = 0; i < s->count; i++) {
        if (i > 0)
            strbuf_adds(&b, i + 1 == s->count ? " or " : ", ");
        strbuf_addf(&b, "'%s'", s->names[i]);
    }
    strbuf_addc(&b, '?');
    return strbuf_detach(&b);
}

void suggest_clear(suggest_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->names[i]);
    s->count = 0;
}
