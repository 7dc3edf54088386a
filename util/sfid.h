/* Salesforce record Ids: 15-char case-sensitive base-62, or 18-char with a 3-char
 * case checksum (docs/salesforce.md#ids). */
#ifndef SFA_UTIL_SFID_H
#define SFA_UTIL_SFID_H

#include <stdbool.h>
#include <stdint.h>

#define SFID_LEN 18

/* True for 15 alphanumerics, or 18 whose last 3 are the correct checksum. */
bool sfid_is_valid(const char *s);
/* Write the 18-char form of a valid 15- or 18-char Id into out (19 bytes). False if invalid. */
bool sfid_to18(const char *in, char out[SFID_LEN + 1]);
/* Same record? Compares the first 15 chars case-sensitively (both must be valid). */
bool sfid_equal(const char *a, const char *b);
/* Build an 18-char Id: 3-char key prefix, then pod "0" + instance chars and a base-62
 * counter, plus checksum. Used by the emulator to mint Ids. */
void sfid_make(const char prefix[3], uint64_t counter, char out[SFID_LEN + 1]);

#endif
