/* CSV helpers of the emulator's Bulk API 2.0 module (emu_bulk.c). */
#ifndef SFA_EMU_FEAT_CSV_H
#define SFA_EMU_FEAT_CSV_H

#include "util/strbuf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Rows of text as an array of arrays of strings; blank lines dropped. *ok is false when a
 * quoted field is not closed. Caller frees. */
cJSON *bulk_csv_parse(const char *text, size_t len, char delim, bool *ok);
/* Append value as a quoted CSV field (comma-separated; first: no leading comma). */
void bulk_csv_add_field(strbuf *out, const char *value, bool first);

#endif
