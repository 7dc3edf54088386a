/* Local record ids as store/ids.c mints them: "loc-" + 26 Crockford base32 chars. The
 * one test of "is this a local id?" for code that must not mistake other text for one
 * (reference rewriting before a send and in the mirror). */
#ifndef SFA_UTIL_LOCALID_H
#define SFA_UTIL_LOCALID_H

#include <stdbool.h>

#define LOCAL_ID_LEN 30

/* True when s has exactly the shape of a local id. */
bool local_id_is_valid(const char *s);

#endif
