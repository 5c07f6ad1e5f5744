/* SPDX-License-Identifier: MIT */
/* The library's log (hcs_set_log_cb in hcs.h): messages about what the
 * library meets on its own, for the embedder's callback. */
#ifndef HCS_HCS_API_LOG_H
#define HCS_HCS_API_LOG_H

#include "hcs.h"

#include <stdbool.h>

/* Whether a message at level would reach a callback: to skip work that
 * only a message needs. Any thread. */
bool hcs__log_on(hcs_log_level_t level);
/* One message at level, formatted as printf does, cut at 1 KiB; nothing
 * when no callback takes level. Any thread. */
void hcs__log(hcs_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
