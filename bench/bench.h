/* SPDX-License-Identifier: MIT */
/* hcs-bench: the pieces shared by the harness (hcs-bench.c), the scenario
 * logic (work.c), the contenders (drv_hcs.c, drv_uv.c, drv_limit.c; for
 * exec, drv_exec.c on the systems exec_env.c runs) and the reports
 * (report.c).
 *
 * A cell is one scenario at one concurrency. Each contender runs the cell
 * with the same programs, the same pipes and the same per-session logic
 * (work.c decides when to send, close stdin or resize); a driver only
 * moves bytes and processes its own way. */
#ifndef HCS_BENCH_BENCH_H
#define HCS_BENCH_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum scenario {
  SC_SPAWN,
  SC_ECHO,
  SC_BULK,
  SC_IDLE,
  SC_PTY,
  SC_EXEC,
  SC_GATEWAY,  /* execs through hcsd's socket: sessions per second */
  SC_GWSTREAM, /* the same, each exec streaming w->bytes: bytes per second */
  SC_LOAD,     /* docker load of a generated image through each daemon */
  /* docker run --rm busybox true, and docker exec, through one dockerd
   * with --runtime hcs-runc, runc and crun (drv_runtime.c) */
  SC_RTRUN,
  SC_RTEXEC,
  SC_COUNT
} scenario_t;

/* hcs, libuv and limit race in every scenario but exec; exec races hcs
 * (the async API on the engine's loop) and hcs sync (the synchronous
 * calls from the bench's threads) against crun exec and runc exec. */
typedef enum contender {
  CT_HCS,
  CT_UV,
  CT_LIMIT,
  CT_CRUN,
  CT_RUNC,
  CT_HCS_SYNC,
  CT_HCSD,    /* gateway: the Docker API flow through hcsd, against hcs */
  CT_DOCKERD, /* gateway: the same flow through a dockerd the bench starts */
  CT_PODMAN,  /* gateway: the same through podman's Docker-compatible API */
  CT_HCS1,    /* gateway: hcs in-process on a service of one engine loop */
  /* bulk: hcs with stdout on a socketpair (stdio_transport) */
  CT_HCS_SOCK,
  /* bulk: libuv with stdout on a pipe (libuv's own stdio is a socketpair) */
  CT_UV_PIPE,
  CT_COUNT
} contender_t;

typedef struct exec_env_s exec_env_t;
typedef struct gw_env_s gw_env_t; /* gateway.h */
typedef struct rt_env_s rt_env_t;

/* What one session does; the same for every contender. */
typedef struct work_s {
  scenario_t sc;
  const char *argv[3]; /* argv[0] is the program's absolute path */
  uint64_t n;          /* sessions */
  uint64_t c;          /* sessions in flight */
  bool use_stdin, use_stderr, pty;
  uint32_t msg_len;      /* echo: bytes per message */
  uint32_t msgs;         /* echo: round trips per session */
  uint64_t bytes;        /* bulk, pty: bytes each session writes */
  uint32_t resize_every; /* pty: output chunks between two resizes */
  exec_env_t *env;       /* exec: the running systems; argv inside them */
  gw_env_t *gw;          /* gateway: hcsd and its container */
  rt_env_t *rt;          /* runtime-run, runtime-exec: the dockerd */
} work_t;

/* Per-session state, embedded in each driver's session record. */
typedef struct sess_s {
  uint64_t t0;    /* start, ns */
  uint64_t t_msg; /* echo: when the message in flight was sent */
  uint64_t bytes; /* delivered to the consumer */
  uint32_t got;   /* echo: bytes of the current reply */
  uint32_t sent;  /* echo: messages sent */
  uint32_t chunks;
} sess_t;

/* What work_data asks of the driver. */
enum {
  ACT_SEND = 1u << 0,        /* write the next message (then work_sent) */
  ACT_CLOSE_STDIN = 1u << 1, /* every reply is in: close stdin */
  ACT_RESIZE = 1u << 2,      /* resize the console to rows x cols */
};

/* The measurements of one contender on one cell. Plain data: the idle
 * scenario's worker process hands it to the harness through a pipe. */
typedef struct result_s {
  int sc, ct;
  char name[16]; /* the contender as reported: "hcs", "crun exec", ... */
  int skipped;   /* the note says why */
  int err;       /* first failure (negative errno), 0 when none */
  uint64_t n, c;
  uint64_t completed; /* sessions done with exit code 0 */
  uint64_t failed;    /* sessions done otherwise */
  uint64_t bytes, bytes_expected;
  uint64_t units; /* what rate counts: sessions, or round trips (echo) */
  uint64_t resizes;
  uint32_t msgs, msg_len;     /* echo */
  uint64_t bytes_per_session; /* bulk, pty */
  unsigned rounds;            /* runs of the cell; this is the median one */
  double fig_min, fig_max;    /* the figure's range over the rounds */
  double wall_s;
  double rate;           /* units per second */
  double gbps;           /* bytes delivered per second, 1e9 */
  double p50_us, p99_us; /* per session (spawn to done) or round trip */
  double cpu_us;         /* (self + children) CPU per session */
  double cpu_self_us;    /* the host process's share */
  /* idle */
  double mem_per_session;  /* RSS delta / sessions, bytes */
  double pool_per_session; /* hcs: buffer-pool bytes out or cached */
  double fds_per_session;
  char note[160];
} result_t;

/* One contender's run of one cell, while it runs. */
typedef struct run_s {
  const work_t *w;
  result_t *res;
  uint64_t started, done;
  uint64_t *lat; /* ns samples */
  size_t nlat, lat_cap;
  /* idle: measured before the sessions start, and when all are up */
  uint64_t rss0, rss1;
  int fds0, fds1;
  size_t pool1;
  /* progress */
  const char *label;
  uint64_t next_progress_ns;
  uint64_t t0_ns;    /* run_begin */
  uint64_t first_ns; /* the first session's start */
  uint64_t last_ns;  /* the last session's end */
  double cpu0_self, cpu0_child;
  double cpu_other; /* CPU seconds of the run in a daemon (hcsd) */
} run_t;

typedef struct bench_opts_s {
  const char *progs;
  bool progress; /* stderr is a terminal */
} bench_opts_t;

/* work.c: time, resources, the per-session logic and a run's bookkeeping */
uint64_t bench_now_ns(void);
uint64_t bench_rss_bytes(void);
int bench_fd_count(void);
/* Raises RLIMIT_NOFILE to at least want where allowed (soft to hard
 * always); returns the soft limit in force. */
uint64_t bench_raise_nofile(uint64_t want);
/* Zeroed memory straight from mmap, for the session slots: a page counts
 * in RSS only once a session touches it, whatever the allocator (mimalloc
 * replaces malloc process-wide and may commit a large calloc at once). */
void *bench_slab_alloc(size_t size);
void bench_slab_free(void *p, size_t size);
/* A console pair, both ends close-on-exec, the master in *master. */
int bench_pty_open(int *master, int *slave, uint16_t rows, uint16_t cols);
const char *bench_sc_name(scenario_t sc);
const char *bench_ct_name(contender_t ct);
/* The contender's name in the runtime scenarios: "hcs-runc", "runc",
 * "crun"; elsewhere bench_ct_name's. */
const char *bench_ct_label(scenario_t sc, contender_t ct);
/* Whether contender ct races in scenario sc. */
bool bench_ct_in(scenario_t sc, contender_t ct);
/* The message the echo scenario sends (w->msg_len bytes). */
const char *work_msg(const work_t *w);

int run_begin(run_t *r, const work_t *w, result_t *res, contender_t ct,
              const char *label);
/* Ends the run: percentiles, rates, CPU per session; frees the samples. */
void run_end(run_t *r);
void run_fail(run_t *r, int err, const char *what);
/* The figure a result ranks by: GB/s for bulk, bytes per session for idle
 * (lower is better), the rate otherwise. */
double result_figure(const result_t *r);
/* A session starts. */
void work_begin(run_t *r, sess_t *s);
/* Whether every session sends its first message once all are up (echo):
 * the start-up burst belongs to the spawn scenario, not to round trips. */
bool work_kick(const run_t *r);
void work_sent(run_t *r, sess_t *s);
/* n bytes of output arrived; returns ACT_* for the driver to do. */
unsigned work_data(run_t *r, sess_t *s, size_t n, uint16_t *rows,
                   uint16_t *cols);
/* The session is complete with the given exit code. */
void work_end(run_t *r, sess_t *s, int exit_code);
/* idle: before the first session, and once all are up. */
void work_idle_base(run_t *r);
void work_idle_up(run_t *r, size_t pool_bytes);

/* The drivers. Each runs r->w to the end and fills r->res; 0, or a
 * negative errno when the contender could not run at all. */
int drv_hcs_run(run_t *r);
int drv_uv_run(run_t *r);
int drv_limit_run(run_t *r);
/* exec: r->w->c execs in flight into the contender's running system:
 * for CT_HCS on the engine's loop, for CT_HCS_SYNC, CT_CRUN and CT_RUNC
 * from r->w->c threads making one exec at a time. */
int drv_exec_run(run_t *r, contender_t ct);
/* gateway, gateway-stream: CT_HCSD through hcsd's socket, CT_HCS the same
 * execs through the hcs calls (drv_gateway.c). */
int drv_gateway_run(run_t *r, contender_t ct);
/* load: r->w->n docker loads of a generated image of r->w->bytes, one at
 * a time, through the contender's socket (drv_load.c). */
int drv_load_run(run_t *r, contender_t ct);

/* runtime-run, runtime-exec: r->w->n sessions one at a time through the
 * dockerd of r->w->rt with the runtime ct names (CT_HCS: hcs-runc,
 * CT_RUNC, CT_CRUN): run, a container of busybox true created, started,
 * waited for and deleted; exec, `true` exec'd into the runtime's running
 * container and inspected (drv_runtime.c). */
int drv_runtime_run(run_t *r, contender_t ct);

/* drv_runtime.c: the runtime scenarios' dockerd, set up once for all
 * their cells: --add-runtime hcs=<hcs-runc> and crun=<crun> (runc is its
 * default), the busybox image, and one running container per runtime for
 * the execs (crun through progs/nocg2 where it refuses the host's
 * cgroups, which its note says). A runtime whose container cannot start
 * is not up, its note says why (the daemon's answer). */
struct rt_env_s {
  bool up[CT_COUNT];
  int err[CT_COUNT];
  char note[CT_COUNT][160];
  struct rt_daemon_s *d; /* drv_runtime.c's */
};
/* hcs_runc: the hcs-runc binary ("" when none was found); progs: the
 * bench's programs, where nocg2 is (crun's wrapper on hybrid cgroups).
 * Always to be closed. */
void rt_env_open(rt_env_t *e, const char *hcs_runc, const char *progs,
                 const bool *want);
/* Removes the containers, stops dockerd, removes its directory. Returns
 * the signal that interrupted the run meanwhile, or 0. */
int rt_env_close(rt_env_t *e);
/* SIGINT, SIGTERM or SIGHUP while the environment is open, else 0. */
int rt_env_interrupted(void);

/* exec_env.c: the exec scenario's systems, set up once for every exec
 * cell: a busybox root in a temporary directory, an hcs compute system on
 * it, and a crun and a runc container on the same root. */
struct exec_env_s {
  char dir[64];      /* the temporary directory, removed at the end */
  char rootfs[128];  /* dir/rootfs */
  const char *prog;  /* the program every exec runs, inside the root */
  bool up[CT_COUNT]; /* the contender's system is running */
  /* A failure setting the contender up (negative errno): reported as its
   * error. Not up and no error: skipped, note says why. */
  int err[CT_COUNT];
  char note[CT_COUNT][160];
  struct hcs_s *hcs; /* the service the system runs on */
  char hcs_id[64];
  struct {
    char bin[256];   /* absolute path of the runtime */
    char state[128]; /* its --root */
    char id[64];
  } rt[2];                    /* crun, runc: index ct - CT_CRUN */
  struct sigaction old_sa[3]; /* SIGINT, SIGTERM, SIGHUP before open */
};
/* Sets up the contenders want[] asks for, as far as it can: one that
 * cannot run has up false, and err or a note saying why (not root, the
 * runtime not installed, a failure). nop is the host path of the program
 * copied into the root. Always to be closed. */
void exec_env_open(exec_env_t *e, const char *nop, const bool *want);
/* Deletes the containers and the system, removes the directory. Returns
 * the signal that interrupted the run meanwhile (see below), or 0. */
int exec_env_close(exec_env_t *e);
/* While the systems are up, SIGINT, SIGTERM and SIGHUP only set a flag:
 * the signal, or 0. The exec drivers start no more execs once it is set,
 * so that the harness can remove the systems and then exit. */
int exec_env_interrupted(void);

/* Whether crun refuses this host's cgroups: a hybrid layout whose cgroup2
 * hierarchy (/sys/fs/cgroup/unified) has controllers ("cgroups in hybrid
 * mode not supported", libcrun cgroup.c); runc and hcs use the v1
 * controllers there. crun runs in a mount namespace without that
 * hierarchy then (exec_env.c, and progs/nocg2.c for the runtime
 * scenarios). */
bool bench_crun_refuses_cgroups(void);

/* report.c */
typedef struct report_s {
  result_t *res;
  size_t n;
  const char *command;
  const char *mode; /* "default", "full" or "smoke" */
  bool smoke;
  unsigned rounds;
  const char *pick; /* "best" or "median" */
  uint64_t ballast_mib;
} report_t;
/* The machine and the command, before the first table. */
void report_header(const report_t *rp);
/* The table of one scenario's results so far. */
void report_table(const report_t *rp, scenario_t sc);
/* Removes dir and everything below it (not crossing mounts), saying on
 * stderr what could not be removed. */
void bench_rmtree(const char *dir);

void report_targets(const report_t *rp);
int report_json(const report_t *rp, const char *path);
int report_svg(const report_t *rp, const char *path);

#endif
