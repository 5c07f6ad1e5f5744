/* SPDX-License-Identifier: MIT */
/* hcs-bench's gateway scenarios: an hcsd of the bench's own on a private
 * socket, one busybox container it runs, and the two ways into it that
 * race (gw_env.c); the HTTP pieces both need (httpc.c); the drivers
 * (drv_gateway.c). */
#ifndef HCS_BENCH_GATEWAY_H
#define HCS_BENCH_GATEWAY_H

#include "bench.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* gateway-stream: the block the program writes; S is a multiple of it. */
#define GW_BLOCK 65536u

struct gw_env_s {
  char dir[64];      /* the temporary directory, removed at the end */
  char sock[128];    /* dir/hcsd.sock */
  char state[128];   /* dir/state: hcsd's --state-dir */
  char log[128];     /* dir/hcsd.log: hcsd's stdout and stderr */
  pid_t pid;         /* hcsd, started by gw_env_open; 0 when not running */
  char ctr[80];      /* the container's id (the hcs system's id too) */
  bool up[CT_COUNT]; /* CT_HCSD: through the socket; CT_HCS: direct */
  int err[CT_COUNT]; /* as exec_env_t's */
  char note[CT_COUNT][160];
  struct hcs_s *hcs; /* direct: a service on hcsd's hcs state directory */
  char why[160];     /* what failed while setting up */
  struct sigaction old_sa[3];
};

/* Starts hcsd (the binary at hcsd_bin) on a private socket and state
 * directory, creates and starts one busybox container through it, and
 * opens the direct service on the same container, as far as it can: a
 * contender that cannot run has up false and err or a note saying why.
 * Always to be closed. */
void gw_env_open(gw_env_t *g, const char *hcsd_bin, const bool *want);
/* Removes the container, stops hcsd (SIGTERM to the pid it started, then
 * waits), removes the directory. Returns the signal that interrupted the
 * run meanwhile, or 0. */
int gw_env_close(gw_env_t *g);
/* SIGINT, SIGTERM or SIGHUP while the environment is open, else 0. */
int gw_env_interrupted(void);
/* CPU seconds (user + system, its children's included) hcsd has used. */
double gw_env_hcsd_cpu(const gw_env_t *g);

/* httpc.c: a client-side HTTP/1.1 response head. */
typedef struct httpc_head_s {
  int status;
  long long content_length; /* -1: not given */
  bool close;               /* Connection: close */
  bool chunked;
} httpc_head_t;
/* Parses the head at the start of buf: its length through the blank line,
 * 0 when it is not complete yet, -EPROTO when it is not HTTP. */
int httpc_parse_head(const char *buf, size_t len, httpc_head_t *h);
/* A connected unix stream socket (close-on-exec; O_NONBLOCK when asked);
 * the fd or a negative errno. */
int httpc_connect(const char *path, bool nonblock);
/* One blocking request on a connection of its own: status in *status,
 * the body (NUL-terminated, cut to size - 1) in resp. 0 or -errno. */
int httpc_call(const char *sock, const char *method, const char *path,
               const char *json, int *status, char *resp, size_t size);

#endif
