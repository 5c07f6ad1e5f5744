/* SPDX-License-Identifier: MIT */
/* The public option structs' size field (include/hcs.h, "Option structs
 * grow"): what a caller's layout holds, read into this library's. */
#ifndef HCS_API_OPTS_H
#define HCS_API_OPTS_H

#include <hcs.h>

#include <stddef.h>

/* Copies the caller's struct at in (its first member the uint32_t size the
 * caller compiled, 0 for the first layout, first bytes) into out, known
 * bytes (this library's sizeof), zeroed first: the fields past the
 * caller's layout keep their 0 defaults. in NULL gives all zeros. 0, or
 * -EINVAL for a size below the first layout, or -E2BIG when bytes past
 * what this library knows are not zero (a newer caller asks for
 * something this library does not do). */
int hcs__opts_copy(void *out, size_t known, size_t first, const void *in);

/* hcs__opts_copy for a synchronous call: HCS_OK, or HCS_WSAEINVAL with
 * *err naming the struct type (e.g. "hcs_options_t") for operation op on
 * object obj. */
hcs_result_t hcs__opts_in(void *out, size_t known, const void *in,
                          const char *type, const char *op, const char *obj,
                          hcs_error_t **err);
/* The same for a struct that grew since hcs 0.1, whose first layout was
 * first bytes. */
hcs_result_t hcs__opts_in_first(void *out, size_t known, size_t first,
                                const void *in, const char *type,
                                const char *op, const char *obj,
                                hcs_error_t **err);
/* The first layouts of the structs that grew. */
#define HCS__PARAMS_FIRST offsetof(hcs_process_params_t, stdio_transport)
#define HCS__SESSION_FIRST offsetof(hcs_session_options_t, stdio_transport)
#define HCS__OPTIONS_FIRST offsetof(hcs_options_t, threads)

#endif
