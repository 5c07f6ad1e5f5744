/* SPDX-License-Identifier: MIT */
/* The public asynchronous sessions (session.c), for process.c. */
#ifndef HCS_HCS_SYSTEM_SESSION_H
#define HCS_HCS_SYSTEM_SESSION_H

#include "hcs-async.h"
#include "hcs.h"

/* An engine result in the public shape (oom_killed false). */
void hcs__to_result(const as_result_t *r, hcs_process_result_t *out);
/* The public callbacks of a session, for process.c's pumped processes.
 * setup sets so's data/exit callbacks and extra_size; init stores cb and
 * data once spawned; done hands r to the done callback. */
void hcs__pub_setup(as_spawn_opts_t *so);
void hcs__pub_init(as_session_t *s, const hcs_session_callbacks_t *cb,
                   void *data);
void hcs__pub_done(as_session_t *s, const hcs_process_result_t *r);
/* Puts so's piped stdout and stderr on transport (hcs_stdio_transport_t):
 * 0, or -EINVAL for an unknown transport or a socket with a console. */
int hcs__stdio_transport(as_spawn_opts_t *so, int transport);

#endif
