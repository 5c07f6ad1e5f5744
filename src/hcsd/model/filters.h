/* SPDX-License-Identifier: MIT */
/* moby's list filters, shared by the container, image and network lists:
 * the query's JSON text read into one form, and the matches every list
 * has. Pure functions: any thread. */
#ifndef HCSD_FILTERS_H
#define HCSD_FILTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* text: a JSON object of key -> values, the values an array of strings
 * or the older {"value":true}. 0 with *out {key: ["value", ...]}
 * (json_decref; an empty object for text NULL or ""), or -1 with msg set
 * (a bad text, or "Invalid filter 'k'" for a key not in keys, as moby
 * words it): a 400. */
int hcsd__filters_parse(const char *text, const char *const *keys, size_t nkeys,
                        json_t **out, char *msg, size_t n);
/* label=k (labels has k) or label=k=v (with that value); labels may be
 * NULL. */
bool hcsd__filters_label(const json_t *labels, const char *want);
/* Every label value of f (NULL: none asked) matches labels. */
bool hcsd__filters_labels(const json_t *f, const json_t *labels);
/* moby's Match: an unanchored POSIX extended regular expression (one
 * that does not compile matches nothing). */
bool hcsd__filters_regex(const char *re, const char *s);

#endif
