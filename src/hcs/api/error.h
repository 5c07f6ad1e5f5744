/* SPDX-License-Identifier: MIT */
/* Failing an HCS call: the error object of hcs.h, built in one line. */
#ifndef HCS_HCS_API_ERROR_H
#define HCS_HCS_API_ERROR_H

#include "hcs.h"

/* error.c: builds an error object and stores it in *err (when err is not
 * NULL); returns code, so that a failing path reads
 * `return hcs__fail(err, CODE, op, obj, errno, "fmt", ...)`. */
hcs_result_t hcs__fail(hcs_error_t **err, hcs_result_t code, const char *op,
                       const char *object, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
hcs_result_t hcs__ok(hcs_error_t **err);

#endif
