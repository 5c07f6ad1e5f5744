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
  /* CT_DOCKERD (gw_dockerd.c): a dockerd of the bench's own, in a network
   * namespace of its own, with the same busybox image and container. */
  struct {
    char dir[64];   /* its socket, data root, exec root, pidfile, log */
    char sock[128]; /* dir/docker.sock */
    char log[128];  /* dir/dockerd.log */
    pid_t pid;      /* 0 when not running */
    char ctr[80];
  } dk;
};

/* Where a contender that speaks the Docker API goes: its socket, the
 * container's id and the API path prefix ("/v1.50" for hcsd, "/v1.41"
 * for Debian's dockerd 20.10, which refuses newer ones). */
typedef struct gw_target_s {
  const char *sock, *ctr, *api;
  pid_t pid; /* the daemon, for its CPU time */
} gw_target_t;
gw_target_t gw_env_target(const gw_env_t *g, contender_t ct);

/* dockerd caps: about 10 execs/s here, so a gateway cell gives it this
 * many execs (gateway-stream: _STREAM_N of 64 MiB), and no cell past
 * this C. */
enum { GW_DOCKERD_N = 40, GW_DOCKERD_STREAM_N = 8, GW_DOCKERD_MAX_C = 16 };
/* The API version Debian's dockerd 20.10 speaks (it refuses newer). */
#define GW_DOCKERD_API "/v1.41"

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
/* CPU seconds (user + system, its reaped children's included) the
 * daemon pid has used. */
double gw_env_cpu(pid_t pid);

/* gw_env.c's pieces that gw_dockerd.c uses too. */
/* Starts bin with argv as the bench's child, its stdout and stderr into
 * log, SIGTERM to it when the bench dies, in a network namespace of its
 * own when newnet (a child that cannot make one exits GW_EXIT_NETNS). The
 * pid into *pid. 0 or a negative errno. */
enum { GW_EXIT_NETNS = 126 };
int gw_spawn_daemon(const char *bin, char *const argv[], const char *log,
                    bool newnet, pid_t *pid);
void gw_nap_ms(long ms);
/* The end of a daemon's log, on one line, for a note. */
void gw_log_end(const char *log, char *out, size_t size);
/* Waits up to ms for GET /_ping on sock to answer 200: 0; -ECHILD (the
 * status in *status, *pid set to 0) when the daemon *pid exits first;
 * -ETIMEDOUT. */
int gw_wait_ping(const char *sock, pid_t *pid, long ms, int *status);
/* POST path with json (or none), expecting status want; the "Id" of the
 * answer into id when id. A failure: *why says what, made in buf. */
int gw_post(const char *sock, const char *path, const char *json, int want,
            char *id, size_t idsize, char *buf, size_t bufsize,
            const char **why);
/* Creates and starts the bench's container (image, `sleep 100000`,
 * NetworkMode host) through the API at sock; its id into ctr. */
int gw_start_sleeper(const char *sock, const char *api, const char *image,
                     char *ctr, size_t ctrsize, char *buf, size_t bufsize,
                     const char **why);
/* DELETE ?force=1 of the container; a failure is said on stderr. */
void gw_remove_ctr(const char *sock, const char *api, const char *ctr);
/* SIGTERM to the daemon pid (a child of the bench), a wait of up to ms,
 * then SIGKILL; what went wrong is said on stderr. */
void gw_stop_pid(pid_t pid, const char *name, long ms, const char *log);

/* gw_dockerd.c: starts dockerd (found on PATH) on a private socket, data
 * and exec root, in a new network namespace, imports the built-in busybox
 * layer as its image and starts the same container in it. On failure
 * sets g->note[CT_DOCKERD] (the contender is then skipped) and stops what
 * it started. Returns 0 or a negative errno. */
int gw_dockerd_open(gw_env_t *g);
/* Removes the container, stops dockerd (SIGTERM to its pid, then a
 * wait), unmounts what it left under its directory and removes that. */
void gw_dockerd_close(gw_env_t *g);

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
/* The same with the body read from fd (len bytes) as content type ctype. */
int httpc_call_fd(const char *sock, const char *method, const char *path,
                  const char *ctype, int fd, size_t len, int *status,
                  char *resp, size_t size);

#endif
