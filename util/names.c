/* API-name syntax check shared by the CLI, the store and the emulator. */
#include "util/names.h"

#include <ctype.h>
#include <string.h>

bool name_is_valid_api_name(const char *s)
{
    if (!s || !isalpha((unsigned char)s[0]))
        return false;
    size_t n = strlen(s);
    if (n > SFA_NAME_MAX || s[n - 1] == '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_')
            return false;
        /* "___" never occurs; "__" only as a namespace or suffix separator */
        if (c == '_' && i + 2 < n && s[i + 1] == '_' && s[i + 2] == '_')
            return false;
    }
    return true;
}
