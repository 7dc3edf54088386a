/* The reading record verbs (get, list) shared by case, contact and record. */
#ifndef SFAGENT_RECORD_SHOW_H
#define SFAGENT_RECORD_SHOW_H

#include "cmd.h"

/* `KIND get REF`: one record as key/value lines or a JSON object. */
int record_show_get(const record_kind *kind, cli_args *args);

/* `KIND list [--status S] [--limit N] [--order FIELD] [--desc] [--include-deleted]`. */
int record_show_list(const record_kind *kind, cli_args *args);

#endif
