/* Salesforce Id checksum: split the 15 chars into three 5-char chunks; bit j of a
 * chunk's number is set when its j-th char is upper-case A-Z; map 0..31 through
 * "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345". */
#include "util/sfid.h"

#include <ctype.h>
#include <string.h>

static const char checksum_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool all_alnum(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

static void checksum(const char *id15, char out[3])
{
    for (int chunk = 0; chunk < 3; chunk++) {
        int bits = 0;
        for (int j = 0; j < 5; j++) {
            char c = id15[chunk * 5 + j];
            if (c >= 'A' && c <= 'Z')
                bits |= 1 << j;
        }
        out[chunk] = checksum_alphabet[bits];
    }
}

bool sfid_is_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n != 15 && n != 18)
        return false;
    if (!all_alnum(s, n))
        return false;
    if (n == 15)
        return true;
    char sum[3];
    checksum(s, sum);
    /* The checksum is case-insensitive on input: Salesforce accepts lower-case suffixes. */
    for (int i = 0; i < 3; i++)
        if (toupper((unsigned char)s[15 + i]) != sum[i])
            return false;
    return true;
}

bool sfid_to18(const char *in, char out[SFID_LEN + 1])
{
    if (!sfid_is_valid(in))
        return false;
    memcpy(out, in, 15);
    checksum(in, out + 15);
    out[18] = '\0';
    return true;
}

bool sfid_equal(const char *a, const char *b)
{
    return sfid_is_valid(a) && sfid_is_valid(b) && memcmp(a, b, 15) == 0;
}

void sfid_make(const char prefix[3], uint64_t counter, char out[SFID_LEN + 1])
{
    /* prefix (3) + pod "5g" (2) + "0" (1) + 9-digit base-62 counter = 15 */
    memcpy(out, prefix, 3);
    out[3] = '5';
    out[4] = 'g';
    out[5] = '0';
    for (int i = 14; i >= 6; i--) {
        out[i] = base62[counter % 62];
        counter /= 62;
    }
    checksum(out, out + 15);
    out[18] = '\0';
}
