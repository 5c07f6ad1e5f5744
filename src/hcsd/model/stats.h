/* SPDX-License-Identifier: MIT */
/* docker stats (stats.c): samples of a container's cgroup (v1 or v2, the
 * group libhcs names in the system's inspect) in Docker's stats object:
 * memory_stats (usage, limit, the group's memory.stat), cpu_stats and
 * precpu_stats (cpu_usage.total_usage, usage_in_usermode and
 * usage_in_kernelmode, system_cpu_usage, online_cpus), pids_stats
 * (current, limit), blkio_stats and, for a container with an endpoint,
 * networks (its namespace's interfaces). Engine thread. */
#ifndef HCSD_STATS_H
#define HCSD_STATS_H

#include "hcsd/hcsd.h"
#include "hcsd/model/spec.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hcsd_stats_s hcsd_stats_t;

/* One stats object (its JSON text and a newline, lent for the call);
 * last: the stream ends with it (len may then be 0: nothing more). */
typedef void (*hcsd_stats_cb)(const char *text, size_t len, bool last,
                              void *data);

/* Stats of the container ref, as dockerd sends them: stream, a frame a
 * second; else one frame, after a second when not one_shot (so that
 * precpu_stats holds the sample before it), at once when one_shot. A
 * container not running gives frames with only its name and id. The
 * stream ends (last) once the container is removed. 0 with *out, frames
 * from the loop (never inside this call) until last or until
 * hcsd_stats_cancel(*out); or -1 with e: 404, 500. */
int hcsd_ctr_stats(hcsd_t *d, const char *ref, bool stream, bool one_shot,
                   hcsd_stats_cb frame, void *data, hcsd_stats_t **out,
                   hcsd_err_t *e);
/* Ends the stats before their last frame: frame is not called again. */
void hcsd_stats_cancel(hcsd_stats_t *s);

#endif
