/* Did-you-mean suggestions for names the user typed (sObjects, fields, picklist values):
 * Damerau edit distance with adjacent transpositions and case-insensitive prefix matches.
 * Pure: no I/O, no database. */
#ifndef SFA_UTIL_SUGGEST_H
#define SFA_UTIL_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many names are suggested. */
#define SUGGEST_MAX 5

/* The closest candidates seen so far for one typed name. Candidates are copied. */
typedef struct suggest_set {
    const char *typed; /* borrowed */
    char *names[SUGGEST_MAX];
    size_t scores[SUGGEST_MAX];
    size_t count;
} suggest_set;

/* Optimal-string-alignment distance between a and b, ASCII letters compared without case:
 * insertions, deletions, substitutions and swaps of two adjacent characters cost 1. */
size_t suggest_distance(const char *a, const char *b);

void suggest_init(suggest_set *s, const char *typed);
/* Consider candidate: kept when close to the typed name (a small distance for its length,
 * or the typed name is a case-insensitive prefix of it), closest first, ties by name. */
void suggest_consider(suggest_set *s, const char *candidate);
/* "did you mean 'A'?" or "did you mean 'A', 'B' or 'C'?" (caller frees), NULL when no
 * candidate was close. */
char *suggest_text(const suggest_set *s);
void suggest_clear(suggest_set *s);

#endif
