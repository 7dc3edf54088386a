/* Reading a composite answer in place (push_answer.c): the answer stays text, and only one
 * sub-result, or one row of a query sub-result, is a tree at a time. */
#ifndef SFA_SYNC_ENGINE_PUSH_ANSWER_H
#define SFA_SYNC_ENGINE_PUSH_ANSWER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/client/sf_client.h"
#include "util/json_scan.h"

/* The text of a 2xx answer started with sf_client_start_text, when it is one JSON object
 * (the client checked it is valid JSON); false for anything else, which a composite
 * sender treats as a lost answer, as it did a parsed body that was not an object. */
bool push_answer_object(const sf_response *resp, json_span *out);
/* The first sub-result of compositeResponse whose referenceId is refs[i], into subs[i]
 * for each i < n; subs[i].p is NULL when there is none (also when compositeResponse is
 * missing or not an array, or an element is not an object). */
void push_answer_subs(json_span answer, const char *const *refs, size_t n, json_span *subs);
/* A sub-result found by push_answer_subs as a tree (caller deletes), NULL when missing. */
cJSON *push_answer_tree(json_span sub);
/* Call row for each element of a query sub-result's body.records, each parsed alone and
 * deleted after the call. False, with no call, when the sub-result is missing or its
 * body has no records array. */
bool push_answer_rows(json_span sub, void (*row)(const cJSON *r, void *arg), void *arg);

#endif
