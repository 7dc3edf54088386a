/* Local id shape check (util/localid.h). */
#include "util/localid.h"

#include <string.h>

static bool is_crockford(char c)
{
    if (c >= '0' && c <= '9')
        return true;
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    return c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
}

bool local_id_is_valid(const char *s)
{
    if (!s || strncmp(s, "loc-", 4) != 0 || strlen(s) != LOCAL_ID_LEN)
        return false;
    for (size_t i = 4; i < LOCAL_ID_LEN; i++)
        if (!is_crockford(s[i]))
            return false;
    return true;
}
