/* Small helpers shared by hcsd's modules. */
#ifndef HCSD_UTIL_H
#define HCSD_UTIL_H

#include <stddef.h>

/* 64 lower-case hex characters of random id, NUL-terminated. */
void hcsd_random_id(char out[65]);
/* {"message":"<text>"} with text JSON-escaped (malloc'ed). */
char *hcsd_message_json(const char *text);

#endif
