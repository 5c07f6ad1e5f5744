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
#include <stdint.h>
#include <sys/types.h>

/* gateway-stream: the block the program writes; S is a multiple of it. */
#define GW_BLOCK 65536u

enum { GW_LOAD_MAX = 16 }; /* loads per daemon in a run */

/* A Docker-API daemon of the bench's own (dockerd, podman): everything
 * it keeps lives under dir, which goes when it stops. */
typedef struct gw_daemon_s {
  char dir[64];   /* its socket, data, state, log */
  char sock[128]; /* dir/<name>.sock */
  char log[128];  /* dir/<name>.log */
  pid_t pid;      /* 0 when not running */
  char ctr[80];   /* the bench's container in it */
  /* Its own mount namespace (GW_NEWNS), once it runs: every process in it
   * is of its family, waited for when it stops. 0: none. */
  ino_t mntns;
} gw_daemon_t;

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
  struct hcs_s *hcs;  /* direct: a service on hcsd's hcs state directory */
  struct hcs_s *hcs1; /* CT_HCS1: the same with one engine loop */
  char why[160];      /* what failed while setting up */
  struct sigaction old_sa[3];
  /* CT_DOCKERD (gw_dockerd.c): a dockerd of the bench's own, in a network
   * namespace of its own, with the same busybox image and container. */
  gw_daemon_t dk;
  /* CT_PODMAN (gw_podman.c): podman's API service, the same way. */
  gw_daemon_t pm;
  /* The busybox layer as a tar (gw_base_tar): dockerd's image, and the
   * base of every image load_img.c makes. */
  char base_tar[64];
  /* load (drv_load.c): the archives, the k-th loaded by each daemon as
   * its k-th load (new to each; made once for all), and the daemons
   * given the base image already. */
  struct {
    char dir[64]; /* removed by gw_env_close */
    uint64_t made, bytes;
    uint64_t size[GW_LOAD_MAX];
    unsigned used[CT_COUNT];
    bool warm[CT_COUNT];
  } ld;
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
 * this C. podman's likewise: about 5 execs/s, 0.1 GB/s. */
enum { GW_DOCKERD_N = 40, GW_DOCKERD_STREAM_N = 8, GW_DOCKERD_MAX_C = 16 };
enum { GW_PODMAN_N = 20, GW_PODMAN_STREAM_N = 4, GW_PODMAN_MAX_C = 16 };
/* The API version Debian's dockerd 20.10 speaks (it refuses newer);
 * podman 4.3's compatible API answers on the same paths. */
#define GW_DOCKERD_API "/v1.41"
#define GW_PODMAN_API "/v1.41"
/* Whether ct is a daemon the bench starts besides hcsd, slow enough to
 * get the caps above; its caps. */
bool gw_slow(contender_t ct);
void gw_slow_caps(contender_t ct, uint64_t *n, uint64_t *stream_n,
                  uint64_t *max_c);

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
 * own with GW_NEWNET (a child that cannot make one exits GW_EXIT_NETNS),
 * and with GW_NEWNS in a mount namespace of its own, all of it private:
 * what it and its children mount goes when the last of them exits. Its
 * environment env, or the bench's when NULL. The pid into *pid. 0 or a
 * negative errno. */
enum { GW_EXIT_NETNS = 126 };
enum { GW_NEWNET = 1 << 0, GW_NEWNS = 1 << 1 };
int gw_spawn_daemon(const char *bin, char *const argv[], char *const env[],
                    const char *log, unsigned ns, pid_t *pid);
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
/* Creates and starts the bench's container (image, `sleep 100000`, its
 * HostConfig's members host_config) through the API at sock; its id into
 * ctr. */
#define GW_HOST_NET "\"NetworkMode\":\"host\""
int gw_start_sleeper(const char *sock, const char *api, const char *image,
                     const char *host_config, char *ctr, size_t ctrsize,
                     char *buf, size_t bufsize, const char **why);
/* DELETE ?force=1 of the container; a failure is said on stderr. */
void gw_remove_ctr(const char *sock, const char *api, const char *ctr);
/* SIGTERM to the daemon pid (a child of the bench), a wait of up to ms,
 * then SIGKILL; what went wrong is said on stderr. */
void gw_stop_pid(pid_t pid, const char *name, long ms, const char *log);

/* Finds name on PATH (and /usr/sbin, /usr/bin) into out. */
bool gw_find_bin(const char *name, char *out, size_t size);
/* Makes d->dir from template (/tmp/hcs-bench-XX-XXXXXX), d->sock and
 * d->log as dir/<name>.sock and dir/<name>.log. 0 or -errno. */
int gw_daemon_dir(gw_daemon_t *d, const char *tmpl, const char *name);
/* Waits for the daemon's ping; *why says what failed. */
int gw_daemon_ready(gw_env_t *g, gw_daemon_t *d, const char *name, long ms,
                    const char **why);
/* The contender's note after a failure to set it up: why, the errno, the
 * end of its log. */
void gw_daemon_note(gw_env_t *g, contender_t ct, gw_daemon_t *d,
                    const char *why, int err);
/* Removes the container, stops the daemon (SIGTERM, a wait of up to
 * stop_ms, SIGKILL), unmounts what it left under its directory and
 * removes that. */
void gw_daemon_close(gw_daemon_t *d, const char *name, const char *api,
                     long stop_ms);
/* The busybox layer (hcs_default_image_home()) as a tar file, made at
 * the first call (g->base_tar; gw_env_close removes it), its path into
 * *path. 0, or a negative errno with *why saying what failed. */
int gw_base_tar(gw_env_t *g, const char **path, const char **why);

/* gw_dockerd.c: starts dockerd (found on PATH) on a private socket, data
 * and exec root, in a new network namespace, imports the built-in busybox
 * layer as its image and starts the same container in it. On failure
 * sets g->note[CT_DOCKERD] (the contender is then skipped) and stops what
 * it started. Returns 0 or a negative errno. */
int gw_dockerd_open(gw_env_t *g);
/* What gw_dockerd_open does before the container, on d: dockerd started
 * with the extra arguments (NULL-terminated, or NULL) after the bench's
 * own, its ping awaited, the busybox layer imported as GW_DOCKERD_IMAGE.
 * g lends its base tar and its why buffer. 0, or a negative errno with
 * *why saying what failed; d is then to be closed (gw_daemon_close). */
#define GW_DOCKERD_IMAGE "hcs-bench-busybox"
int gw_dockerd_start(gw_env_t *g, gw_daemon_t *d, const char *const *extra,
                     const char **why);
/* Removes the container, stops dockerd (SIGTERM to its pid, then a
 * wait), unmounts what it left under its directory and removes that. */
void gw_dockerd_close(gw_env_t *g);

/* drv_load.c: removes the load cell's archives. */
void drv_load_close(gw_env_t *g);

/* gw_podman.c: starts `podman system service` (podman on PATH) on a
 * private socket, --root, --runroot and --tmpdir, in a new network
 * namespace, loads the busybox layer as its image (POST /images/load of
 * an archive load_img.c makes) and starts the same container in it, with
 * no network. On failure sets g->note[CT_PODMAN] and stops what it
 * started. Returns 0 or a negative errno. */
int gw_podman_open(gw_env_t *g);
void gw_podman_close(gw_env_t *g);

/* load_img.c: `docker save` archives made by the bench: manifest.json,
 * the config, and the layers as layer.tar files, uncompressed. */
typedef struct load_img_s {
  uint64_t size;   /* the archive's bytes */
  char tag[64];    /* its one RepoTag */
  char config[72]; /* sha256:<hex> of the config: the image's id */
} load_img_t;
/* Writes the archive at path: the layer tar base_tar, and above it, when
 * big > 0, a layer of big bytes of pseudo-random data in files of 4 MiB
 * (at most), unique to salt (so no daemon finds it already loaded), the
 * image tagged tag. 0 or a negative errno (*why says what). */
int load_img_write(const char *path, const char *base_tar, uint64_t big,
                   uint64_t salt, const char *tag, load_img_t *out,
                   const char **why);
/* POST /images/load?quiet=1 of the archive at path through sock (api the
 * path prefix), its answer read to the end: 0 when the daemon says it
 * loaded it; else a negative errno, what it said in why. */
int load_img_post(const char *sock, const char *api, const char *path,
                  char *why, size_t whysize);

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
