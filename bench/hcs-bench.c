/* SPDX-License-Identifier: MIT */
/* hcs-bench: races hcs against the tightest kernel loop ("limit") and
 * plain libuv on the same workloads, and exec into a running container
 * against crun exec and runc exec, in one run on one machine, and reports
 * rates, latencies, CPU and memory with the ratios between them.
 *
 * Each idle cell runs in a fresh copy of this program (re-executed with
 * --worker-idle), so that memory an earlier contender freed and the
 * allocator kept cannot hide in a later contender's figure. */
#include "bench.h"
#include "gateway.h"
#include <hcs-async.h>
#include <hcs-version.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HCS_BENCH_PROGS_DIR
#define HCS_BENCH_PROGS_DIR "bench/progs"
#endif
#ifndef HCS_BENCH_PROGS_INSTALLED
#define HCS_BENCH_PROGS_INSTALLED "libexec/hcs/bench"
#endif

/* The directory of this binary, and its parent (the install prefix when
 * it is <prefix>/bin/hcs-bench); "" when unknown. */
static void self_dirs(char *dir, char *prefix, size_t size) {
  char exe[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[k > 0 ? k : 0] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash != NULL) {
    *slash = '\0';
  }
  snprintf(dir, size, "%s", exe);
  slash = strrchr(exe, '/');
  if (slash != NULL) {
    *slash = '\0';
  }
  snprintf(prefix, size, "%s", slash != NULL ? exe : "");
}

/* The child programs: installed beside the bench
 * (<prefix>/HCS_BENCH_PROGS_INSTALLED), else the build tree's. */
static const char *default_progs(void) {
  static char progs[PATH_MAX + sizeof(HCS_BENCH_PROGS_INSTALLED) + 1];
  char dir[PATH_MAX], prefix[PATH_MAX];
  self_dirs(dir, prefix, sizeof(dir));
  snprintf(progs, sizeof(progs), "%s/%s", prefix, HCS_BENCH_PROGS_INSTALLED);
  return prefix[0] != '\0' && access(progs, X_OK) == 0 ? progs
                                                       : HCS_BENCH_PROGS_DIR;
}

enum {
  MAX_CELLS = 64,
  MAX_C = 8,
  MIB = 1024 * 1024,
  MAX_ROUNDS = 9,
  IDLE_FDS = 4,     /* three pipes and a pidfd */
  FD_RESERVE = 128, /* the harness's own, libuv's, stdio */
};

extern char **environ;

typedef struct cell_s {
  scenario_t sc;
  uint64_t c, n;
  uint32_t msgs;
  uint64_t bytes; /* per session */
} cell_t;

typedef struct config_s {
  const char *mode;
  bool smoke;
  bool sc_on[SC_COUNT];
  bool ct_on[CT_COUNT];
  uint64_t spawn_c[MAX_C], echo_c[MAX_C], bulk_c[MAX_C], pty_c[MAX_C];
  uint64_t exec_c[MAX_C];
  size_t n_spawn_c, n_echo_c, n_bulk_c, n_pty_c, n_exec_c;
  uint64_t spawn_n;    /* 0: per C, see spawn_n_for */
  uint64_t echo_total; /* round trips per cell, spread over the sessions */
  uint32_t msgs;       /* 0: echo_total / C */
  uint32_t msg_len;
  uint64_t bulk_total; /* bytes per bulk cell, spread over the streams */
  uint64_t idle_n;
  uint64_t pty_n, pty_bytes;
  uint64_t exec_n;                    /* execs per exec cell, whatever its C */
  unsigned exec_hcs_mul;              /* hcs makes this many times exec_n */
  uint64_t gw_c[MAX_C], gws_c[MAX_C]; /* gateway, gateway-stream */
  size_t n_gw_c, n_gws_c;
  uint64_t gw_n, gws_n; /* execs per cell */
  bool gw_n_given;      /* --gateway-n: gw_n for every C, not scaled */
  uint64_t gws_bytes;   /* bytes each gateway-stream exec writes */
  const char *hcsd;     /* NULL: the hcsd next to this binary */
  uint64_t load_bytes;  /* load: the big layer of each image */
  unsigned load_rounds; /* load: its rounds (one load each) */

  /* runtime-run, runtime-exec: sessions per runtime, and their rounds */
  uint64_t rt_n, rt_exec_n;
  unsigned rt_rounds;
  uint32_t resize_every;
  unsigned rounds;      /* each cell runs this many times per contender */
  bool pick_best;       /* report the best round, else the median one */
  uint64_t ballast_mib; /* resident memory the host holds, like an embedder */
  const char *progs;
  const char *json, *svg;
} config_t;

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: hcs-bench [--smoke | --full] [options]\n"
      "  --smoke            every scenario with tiny N (CI)\n"
      "  --full             the big matrix (C up to 4096)\n"
      "  --scenario LIST    spawn,echo,bulk,idle,pty,exec,gateway,\n"
      "                     gateway-stream,load,runtime-run,runtime-exec\n"
      "                     (runtime: both; default all)\n"
      "  --contenders LIST  hcs,libuv,limit,crun,runc,hcs-sync,hcsd,dockerd,\n"
      "                     podman,hcs-1loop,hcs-sock,libuv-pipe\n"
      "                     (default all; crun, runc and hcs-sync race in\n"
      "                     exec only, hcsd, dockerd and hcs-1loop (hcs\n"
      "                     in-process with one engine loop, where hcs has\n"
      "                     one per CPU) in gateway and\n"
      "                     gateway-stream only, libuv and limit everywhere\n"
      "                     else; dockerd: a dockerd of the bench's own in a\n"
      "                     network namespace: 40 execs a gateway cell, 8 a\n"
      "                     gateway-stream cell, C <= 16; podman: its API\n"
      "                     service the same way, the same caps; load:\n"
      "                     hcsd, dockerd and podman; hcs-sock: hcs with\n"
      "                     stdout on a socketpair, bulk only; libuv-pipe:\n"
      "                     libuv with stdout on a pipe (libuv's own\n"
      "                     stdio is a socketpair), bulk only; runtime-run\n"
      "                     and runtime-exec: hcs (hcs-runc), runc and crun\n"
      "                     under one dockerd of the bench's own)\n"
      "  -c LIST            concurrency for spawn, echo and pty\n"
      "  --streams LIST     bulk streams (default 1,64)\n"
      "  -n N               sessions per spawn cell\n"
      "  --msgs M           echo round trips per session\n"
      "  --msg-size B       echo message bytes (default 64)\n"
      "  --bytes B          bulk bytes per cell, split over its rounds\n"
      "                     (default 1 GiB, 3 GiB with --full)\n"
      "  --idle N           idle sessions (default 10000)\n"
      "  --pty-n N          console sessions per pty cell\n"
      "  --pty-bytes B      bytes each console session writes\n"
      "  --exec-c LIST      exec concurrency (threads making execs)\n"
      "  --exec-n N         execs per exec cell (crun and runc; hcs makes\n"
      "                     8x as many, else its rounds are too short to\n"
      "                     time)\n"
      "  --gateway-c LIST   gateway concurrency (default 1,16,64)\n"
      "  --gateway-n N      execs per gateway cell (default 3000 at\n"
      "                     C=1, 6000 with --full; 4x as many from C=4)\n"
      "  --gateway-streams LIST  gateway-stream concurrency (default 1,8)\n"
      "  --gateway-bytes B  bytes each gateway-stream exec writes (rounded\n"
      "                     up to 64 KiB blocks)\n"
      "  --gateway-stream-n N    execs per gateway-stream cell\n"
      "  --load-bytes B     the big layer of each image the load cell loads\n"
      "                     (default 256 MiB; one load a round, 2 rounds\n"
      "                     unless --full or --rounds)\n"
      "  --runtime-n N      docker runs (--rm busybox true) per runtime\n"
      "                     (default 15, in 3 rounds unless --rounds)\n"
      "  --runtime-exec-n N docker execs (true) per runtime (default 30)\n"
      "  --hcsd PATH        the hcsd the gateway cells start (default: the\n"
      "                     one next to hcs-bench)\n"
      "  --rounds R         runs per cell and contender, 1 to 9 (default 5;\n"
      "                     load 2, runtime 3 unless given)\n"
      "  --pick best|median the round each row reports (default best)\n"
      "  --ballast MIB      hold MIB of resident memory in the host, as an\n"
      "                     embedding server would (fork() pays for it)\n"
      "  --json FILE        results as JSON\n"
      "  --svg FILE         rate against concurrency, per contender\n"
      "  --progs DIR        the child programs (default %s)\n"
      "  --version          print the version and exit\n",
      default_progs());
}

/* A comma-separated list of up to max positive numbers: their count, or
 * 0 when s is anything else. */
static size_t parse_list(const char *s, uint64_t *out, size_t max) {
  for (size_t n = 0; n < max;) {
    /* strtoull alone would take " 5", "+5" and "-1" (as 2^64-1). */
    if (*s < '0' || *s > '9') {
      return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (v == 0 || errno != 0) {
      return 0;
    }
    out[n++] = v;
    if (*end == '\0') {
      return n;
    }
    if (*end != ',') {
      return 0;
    }
    s = end + 1;
  }
  return 0; /* more than max */
}

static int parse_names(const char *s, bool *on, int count,
                       const char *(*name)(int)) {
  memset(on, 0, sizeof(bool) * (size_t)count);
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
       t = strtok_r(NULL, ",", &save)) {
    int i = 0;
    while (i < count && strcmp(t, name(i)) != 0) {
      i++;
    }
    if (i < count) {
      on[i] = true;
      continue;
    }
    /* Else a family: "runtime" names runtime-run and runtime-exec. */
    size_t tl = strlen(t);
    bool family = false;
    for (int j = 0; j < count; j++) {
      if (strncmp(name(j), t, tl) == 0 && name(j)[tl] == '-') {
        on[j] = family = true;
      }
    }
    if (!family) {
      fprintf(stderr, "hcs-bench: unknown name '%s'\n", t);
      return -1;
    }
  }
  return 0;
}

static const char *sc_name_i(int i) { return bench_sc_name((scenario_t)i); }
/* The contenders as --contenders and --worker-idle name them. */
static const char *ct_name_i(int i) {
  static const char *const names[CT_COUNT] = {
      "hcs",  "libuv",   "limit",  "crun",      "runc",     "hcs-sync",
      "hcsd", "dockerd", "podman", "hcs-1loop", "hcs-sock", "libuv-pipe"};
  return i >= 0 && i < CT_COUNT ? names[i] : "?";
}

static void set_list(uint64_t *dst, size_t *n, const uint64_t *src,
                     size_t count) {
  memcpy(dst, src, count * sizeof(*src));
  *n = count;
}

static void config_defaults(config_t *cf, const char *mode) {
  static const uint64_t def_c[] = {1, 64, 1024};
  static const uint64_t full_c[] = {1, 64, 1024, 4096};
  static const uint64_t streams[] = {1, 64};
  static const uint64_t smoke_c[] = {1, 4};
  static const uint64_t pty_def[] = {1, 64};
  static const uint64_t exec_def[] = {1, 8};
  static const uint64_t exec_full[] = {1, 8, 32};
  static const uint64_t exec_smoke[] = {1, 2};
  static const uint64_t gw_def[] = {1, 16, 64};
  static const uint64_t gws_def[] = {1, 8};
  memset(cf, 0, sizeof(*cf));
  cf->mode = mode;
  for (int i = 0; i < SC_COUNT; i++) {
    cf->sc_on[i] = true;
  }
  for (int i = 0; i < CT_COUNT; i++) {
    cf->ct_on[i] = true;
  }
  cf->msg_len = 64;
  cf->resize_every = 4;
  cf->progs = default_progs();
  cf->rounds = 5;
  cf->pick_best = true;
  if (strcmp(mode, "smoke") == 0) {
    cf->smoke = true;
    cf->rounds = 1;
    set_list(cf->spawn_c, &cf->n_spawn_c, smoke_c, 2);
    set_list(cf->echo_c, &cf->n_echo_c, smoke_c, 2);
    set_list(cf->bulk_c, &cf->n_bulk_c, smoke_c, 2);
    set_list(cf->pty_c, &cf->n_pty_c, smoke_c, 2);
    set_list(cf->exec_c, &cf->n_exec_c, exec_smoke, 2);
    cf->exec_n = 2;
    cf->exec_hcs_mul = 1;
    set_list(cf->gw_c, &cf->n_gw_c, exec_smoke, 2);
    set_list(cf->gws_c, &cf->n_gws_c, exec_smoke, 2);
    cf->gw_n = 4;
    cf->gws_n = 2;
    cf->gws_bytes = 256 * 1024;
    cf->load_bytes = 1024 * 1024;
    cf->load_rounds = 1;
    cf->rt_n = 1;
    cf->rt_exec_n = 2;
    cf->rt_rounds = 1;
    cf->spawn_n = 8;
    cf->echo_total = 32;
    cf->bulk_total = 256 * 1024;
    cf->idle_n = 16;
    cf->pty_n = 4;
    cf->pty_bytes = 64 * 1024;
    return;
  }
  bool full = strcmp(mode, "full") == 0;
  set_list(cf->spawn_c, &cf->n_spawn_c, full ? full_c : def_c, full ? 4 : 3);
  set_list(cf->echo_c, &cf->n_echo_c, full ? full_c : def_c, full ? 4 : 3);
  set_list(cf->bulk_c, &cf->n_bulk_c, streams, 2);
  set_list(cf->pty_c, &cf->n_pty_c, full ? def_c : pty_def, full ? 3 : 2);
  cf->echo_total = full ? 200000 : 80000;
  cf->bulk_total = (full ? 3072 : 1024) * (uint64_t)MIB;
  cf->idle_n = 10000;
  cf->pty_n = full ? 4096 : 1024;
  cf->pty_bytes = 256 * 1024;
  /* runc exec takes tens of ms here: a few seconds per contender. */
  set_list(cf->exec_c, &cf->n_exec_c, full ? exec_full : exec_def,
           full ? 3 : 2);
  cf->exec_n = full ? 1000 : 250;
  cf->exec_hcs_mul = 8;
  set_list(cf->gw_c, &cf->n_gw_c, gw_def, 3);
  set_list(cf->gws_c, &cf->n_gws_c, gws_def, 2);
  /* Rounds of 600 at least: at 200 a round of C=16 took 0.15 s, too
   * short for the loops target (a round's tail, with fewer in flight,
   * weighed as much as its body). */
  cf->gw_n = full ? 6000 : 3000;
  cf->gws_n = full ? 80 : 40;
  cf->gws_bytes = 64 * (uint64_t)MIB;
  cf->load_bytes = 256 * (uint64_t)MIB;
  /* A load takes seconds (podman's near 7 for 256 MiB): fewer rounds,
   * unless --full or --rounds asks. */
  cf->load_rounds = full ? cf->rounds : 2;
  /* A docker run takes 0.5-1.5 s here: three rounds of five, so that a
   * round's p50 is the middle of five. */
  cf->rt_n = full ? 30 : 15;
  cf->rt_exec_n = full ? 150 : 30;
  cf->rt_rounds = full ? cf->rounds : 3;
}

/* Sessions per spawn cell: enough for a few seconds per contender. */
static uint64_t spawn_n_for(const config_t *cf, uint64_t c) {
  if (cf->spawn_n != 0) {
    return cf->spawn_n;
  }
  bool full = strcmp(cf->mode, "full") == 0;
  uint64_t n = full ? (c == 1 ? 18000 : 45000) : (c == 1 ? 8000 : 20000);
  return n < 4 * c ? 4 * c : n;
}

enum {
  O_SCENARIO = 256,
  O_CONTENDERS,
  O_STREAMS,
  O_MSGS,
  O_MSG_SIZE,
  O_BYTES,
  O_IDLE,
  O_PTY_N,
  O_PTY_BYTES,
  O_EXEC_C,
  O_EXEC_N,
  O_GW_C,
  O_GW_STREAMS,
  O_GW_N,
  O_GWS_N,
  O_GW_BYTES,
  O_HCSD,
  O_LOAD_BYTES,
  O_RT_N,
  O_RT_EXEC_N,
  O_BALLAST,
  O_PICK,
  O_ROUNDS,
  O_JSON,
  O_SVG,
  O_PROGS,
  O_SMOKE,
  O_FULL,
  O_VERSION,
};

static const struct option bench_longs[] = {
    {"scenario", required_argument, 0, O_SCENARIO},
    {"contenders", required_argument, 0, O_CONTENDERS},
    {"streams", required_argument, 0, O_STREAMS},
    {"msgs", required_argument, 0, O_MSGS},
    {"msg-size", required_argument, 0, O_MSG_SIZE},
    {"bytes", required_argument, 0, O_BYTES},
    {"idle", required_argument, 0, O_IDLE},
    {"pty-n", required_argument, 0, O_PTY_N},
    {"pty-bytes", required_argument, 0, O_PTY_BYTES},
    {"exec-c", required_argument, 0, O_EXEC_C},
    {"exec-n", required_argument, 0, O_EXEC_N},
    {"gateway-c", required_argument, 0, O_GW_C},
    {"gateway-streams", required_argument, 0, O_GW_STREAMS},
    {"gateway-n", required_argument, 0, O_GW_N},
    {"gateway-stream-n", required_argument, 0, O_GWS_N},
    {"gateway-bytes", required_argument, 0, O_GW_BYTES},
    {"hcsd", required_argument, 0, O_HCSD},
    {"load-bytes", required_argument, 0, O_LOAD_BYTES},
    {"runtime-n", required_argument, 0, O_RT_N},
    {"runtime-exec-n", required_argument, 0, O_RT_EXEC_N},
    {"ballast", required_argument, 0, O_BALLAST},
    {"pick", required_argument, 0, O_PICK},
    {"rounds", required_argument, 0, O_ROUNDS},
    {"json", required_argument, 0, O_JSON},
    {"svg", required_argument, 0, O_SVG},
    {"progs", required_argument, 0, O_PROGS},
    {"smoke", no_argument, 0, O_SMOKE},
    {"full", no_argument, 0, O_FULL},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0}};

/* "+": argv stays in order for the command line the report records; a
 * leading ':' makes a missing value ':' rather than '?'. */
static const char bench_shorts[] = "+:c:n:h";

/* One number that parse_list takes (positive), at most max. */
static bool parse_one(const char *v, uint64_t max, uint64_t *out) {
  uint64_t m = 0;
  if (parse_list(v, &m, 1) != 1 || m > max) {
    return false;
  }
  *out = m;
  return true;
}

/* A list option: its values, or false when v is not a list of numbers. */
static bool parse_many(const char *v, uint64_t *out, size_t *n) {
  *n = parse_list(v, out, MAX_C);
  return *n > 0;
}

/* Applies option c with value v; false when v is not a value for it. */
static bool apply_opt(config_t *cf, int c, const char *v) {
  uint64_t m = 0;
  bool ok = true;
  switch (c) {
  case O_SCENARIO:
    return parse_names(v, cf->sc_on, SC_COUNT, sc_name_i) == 0;
  case O_CONTENDERS:
    return parse_names(v, cf->ct_on, CT_COUNT, ct_name_i) == 0;
  case 'c':
    ok = parse_many(v, cf->spawn_c, &cf->n_spawn_c);
    set_list(cf->echo_c, &cf->n_echo_c, cf->spawn_c, cf->n_spawn_c);
    set_list(cf->pty_c, &cf->n_pty_c, cf->spawn_c, cf->n_spawn_c);
    return ok;
  case O_STREAMS:
    return parse_many(v, cf->bulk_c, &cf->n_bulk_c);
  case 'n':
    return parse_one(v, UINT64_MAX, &cf->spawn_n);
  case O_MSGS:
    ok = parse_one(v, UINT32_MAX, &m);
    cf->msgs = (uint32_t)m;
    return ok;
  case O_MSG_SIZE:
    ok = parse_one(v, 64 * 1024, &m);
    cf->msg_len = ok ? (uint32_t)m : cf->msg_len;
    return ok;
  case O_BYTES:
    return parse_one(v, UINT64_MAX, &cf->bulk_total);
  case O_IDLE:
    return parse_one(v, UINT64_MAX, &cf->idle_n);
  case O_PTY_N:
    return parse_one(v, UINT64_MAX, &cf->pty_n);
  case O_PTY_BYTES:
    return parse_one(v, UINT64_MAX, &cf->pty_bytes);
  case O_EXEC_C:
    return parse_many(v, cf->exec_c, &cf->n_exec_c);
  case O_EXEC_N:
    return parse_one(v, UINT64_MAX, &cf->exec_n);
  case O_GW_C:
    return parse_many(v, cf->gw_c, &cf->n_gw_c);
  case O_GW_STREAMS:
    return parse_many(v, cf->gws_c, &cf->n_gws_c);
  case O_GW_N:
    cf->gw_n_given = true;
    return parse_one(v, UINT64_MAX, &cf->gw_n);
  case O_GWS_N:
    return parse_one(v, UINT64_MAX, &cf->gws_n);
  case O_GW_BYTES:
    ok = parse_one(v, UINT64_MAX - GW_BLOCK, &cf->gws_bytes);
    /* Whole blocks of the stream's program (drv_gateway.c). */
    cf->gws_bytes = (cf->gws_bytes + GW_BLOCK - 1) / GW_BLOCK * GW_BLOCK;
    return ok;
  case O_HCSD:
    cf->hcsd = v;
    return true;
  case O_LOAD_BYTES:
    return parse_one(v, UINT64_MAX / 2, &cf->load_bytes);
  case O_RT_N:
    return parse_one(v, UINT64_MAX, &cf->rt_n);
  case O_RT_EXEC_N:
    return parse_one(v, UINT64_MAX, &cf->rt_exec_n);
  case O_BALLAST:
    return parse_one(v, UINT64_MAX / MIB, &cf->ballast_mib);
  case O_PICK:
    cf->pick_best = strcmp(v, "best") == 0;
    return cf->pick_best || strcmp(v, "median") == 0;
  case O_ROUNDS:
    ok = parse_one(v, MAX_ROUNDS, &m);
    cf->rounds = ok ? (unsigned)m : cf->rounds;
    cf->load_rounds = cf->rounds;
    cf->rt_rounds = cf->rounds;
    return ok;
  case O_JSON:
    cf->json = v;
    return true;
  case O_SVG:
    cf->svg = v;
    return true;
  case O_PROGS:
    cf->progs = v;
    return true;
  default:
    return true; /* --smoke and --full: taken in the first pass */
  }
}

/* The option as the user wrote it: "--rounds" for "--rounds=x" too. */
static const char *opt_name(int c, int li, char *buf, size_t size) {
  if (c < 256) {
    snprintf(buf, size, "-%c", c);
    return buf;
  }
  /* getopt_long gives no index with ':': the option is found by its
   * value. */
  for (int i = 0; li < 0 && bench_longs[i].name != NULL; i++) {
    li = bench_longs[i].val == c ? i : li;
  }
  snprintf(buf, size, "--%s", li >= 0 ? bench_longs[li].name : "?");
  return buf;
}

/* Returns 0, 1 when the program is to exit 0 (--help, --version), or -1
 * after printing the mistake. Two passes: --smoke or --full picks the
 * defaults, wherever it stands, that the other options then change. */
static int parse_args(config_t *cf, int argc, char **argv) {
  const char *mode = "default";
  int c, li;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, bench_shorts, bench_longs, NULL)) != -1) {
    mode = c == O_SMOKE ? "smoke" : c == O_FULL ? "full" : mode;
  }
  config_defaults(cf, mode);
  optind = 0;
  li = -1;
  while ((c = getopt_long(argc, argv, bench_shorts, bench_longs, &li)) != -1) {
    char name[64];
    if (c == ':' || c == '?') {
      /* optopt is the option's value; 0 for an unknown long one, which
       * is then in argv. */
      const char *what = optopt != 0 ? opt_name(optopt, -1, name, sizeof(name))
                                     : argv[optind - 1];
      fprintf(stderr, "hcs-bench: %s %s\n",
              c == ':' ? "missing value for" : "unknown option", what);
      return -1;
    }
    if (c == 'h') {
      usage(stdout);
      return 1;
    }
    if (c == O_VERSION) {
      printf("hcs-bench %s\n", HCS_VERSION_STRING);
      return 1;
    }
    if (!apply_opt(cf, c, optarg)) {
      fprintf(stderr, "hcs-bench: bad value for %s: %s\n",
              opt_name(c, li, name, sizeof(name)), optarg);
      return -1;
    }
    li = -1;
  }
  if (optind < argc) {
    fprintf(stderr, "hcs-bench: unexpected argument %s\n", argv[optind]);
    return -1;
  }
  return 0;
}

/* The execs of a default gateway cell: gw_n at C=1, up to 4x that from
 * C=4 on. With more in flight an exec round goes 3-4x faster here, and
 * rounds of a fixed count got as short as 0.35 s at C=16, where a burst
 * of the machine's other load decided the loops ratio (hcs vs hcs 1loop,
 * alternated: 0.98-1.39x in rounds of 600, 1.08-1.70x in rounds of
 * 2400). */
static uint64_t gw_cell_n(uint64_t gw_n, uint64_t c) {
  return gw_n * (c < 4 ? c : 4);
}

static size_t build_cells(const config_t *cf, cell_t *cells) {
  size_t n = 0;
  if (cf->sc_on[SC_SPAWN]) {
    for (size_t i = 0; i < cf->n_spawn_c && n < MAX_CELLS; i++) {
      uint64_t c = cf->spawn_c[i];
      cells[n++] = (cell_t){SC_SPAWN, c, spawn_n_for(cf, c), 0, 0};
    }
  }
  if (cf->sc_on[SC_ECHO]) {
    for (size_t i = 0; i < cf->n_echo_c && n < MAX_CELLS; i++) {
      uint64_t c = cf->echo_c[i];
      uint64_t m = cf->msgs != 0 ? cf->msgs : cf->echo_total / c;
      cells[n++] = (cell_t){SC_ECHO, c, c, (uint32_t)(m > 0 ? m : 1), 0};
    }
  }
  if (cf->sc_on[SC_BULK]) {
    for (size_t i = 0; i < cf->n_bulk_c && n < MAX_CELLS; i++) {
      uint64_t c = cf->bulk_c[i];
      cells[n++] = (cell_t){SC_BULK, c, c, 0, cf->bulk_total / c};
    }
  }
  if (cf->sc_on[SC_IDLE] && n < MAX_CELLS) {
    cells[n++] = (cell_t){SC_IDLE, cf->idle_n, cf->idle_n, 0, 0};
  }
  if (cf->sc_on[SC_PTY]) {
    for (size_t i = 0; i < cf->n_pty_c && n < MAX_CELLS; i++) {
      uint64_t c = cf->pty_c[i];
      uint64_t sessions = cf->pty_n < c ? c : cf->pty_n;
      if (c == 1 && !cf->smoke) {
        sessions /= 4; /* one at a time: a quarter keeps the cell short */
      }
      cells[n++] = (cell_t){SC_PTY, c, sessions, 0, cf->pty_bytes};
    }
  }
  if (cf->sc_on[SC_EXEC]) {
    for (size_t i = 0; i < cf->n_exec_c && n < MAX_CELLS; i++) {
      uint64_t c = cf->exec_c[i];
      cells[n++] = (cell_t){SC_EXEC, c, cf->exec_n < c ? c : cf->exec_n, 0, 0};
    }
  }
  /* gateway: `echo x`, 2 bytes an exec; gateway-stream: gws_bytes. */
  for (size_t i = 0; cf->sc_on[SC_GATEWAY] && i < cf->n_gw_c; i++) {
    uint64_t c = cf->gw_c[i];
    uint64_t gn = cf->gw_n_given ? cf->gw_n : gw_cell_n(cf->gw_n, c);
    if (n < MAX_CELLS) {
      cells[n++] = (cell_t){SC_GATEWAY, c, gn < c ? c : gn, 0, 2};
    }
  }
  for (size_t i = 0; cf->sc_on[SC_GWSTREAM] && i < cf->n_gws_c; i++) {
    uint64_t c = cf->gws_c[i];
    if (n < MAX_CELLS) {
      cells[n++] = (cell_t){SC_GWSTREAM, c, cf->gws_n < c ? c : cf->gws_n, 0,
                            cf->gws_bytes};
    }
  }
  /* load: one image a round, a new one each time. */
  if (cf->sc_on[SC_LOAD] && n < MAX_CELLS) {
    cells[n++] = (cell_t){SC_LOAD, 1, cf->load_rounds, 0, cf->load_bytes};
  }
  /* runtime: one at a time, as docker run and docker exec are typed. */
  if (cf->sc_on[SC_RTRUN] && n < MAX_CELLS) {
    cells[n++] = (cell_t){SC_RTRUN, 1, cf->rt_n, 0, 0};
  }
  if (cf->sc_on[SC_RTEXEC] && n < MAX_CELLS) {
    cells[n++] = (cell_t){SC_RTEXEC, 1, cf->rt_exec_n, 0, 0};
  }
  return n;
}

typedef struct prog_paths_s {
  char nop[PATH_MAX], echoer[PATH_MAX], blaster[PATH_MAX], idler[PATH_MAX];
  char bytes_arg[32];
} prog_paths_t;

static int find_progs(const char *dir, prog_paths_t *p) {
  struct {
    char *dst;
    const char *name;
  } t[] = {{p->nop, "nop"},
           {p->echoer, "echoer"},
           {p->blaster, "blaster"},
           {p->idler, "idler"}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    snprintf(t[i].dst, PATH_MAX, "%s/%s", dir, t[i].name);
    if (access(t[i].dst, X_OK) != 0) {
      fprintf(stderr, "hcs-bench: %s: %s (build them, or pass --progs DIR)\n",
              t[i].dst, strerror(errno));
      return -1;
    }
  }
  return 0;
}

static void make_work(const config_t *cf, const cell_t *cell, prog_paths_t *pp,
                      exec_env_t *env, gw_env_t *gw, work_t *w) {
  memset(w, 0, sizeof(*w));
  w->sc = cell->sc;
  w->n = cell->n;
  w->c = cell->c < cell->n ? cell->c : cell->n;
  w->msg_len = cf->msg_len;
  w->msgs = cell->msgs;
  w->bytes = cell->bytes;
  w->resize_every = cf->resize_every;
  w->env = env;
  w->gw = gw;
  switch (cell->sc) {
  case SC_SPAWN:
    w->argv[0] = pp->nop;
    break;
  case SC_ECHO:
    w->argv[0] = pp->echoer;
    w->use_stdin = true;
    break;
  case SC_BULK:
  case SC_PTY:
    snprintf(pp->bytes_arg, sizeof(pp->bytes_arg), "%llu",
             (unsigned long long)cell->bytes);
    w->argv[0] = pp->blaster;
    w->argv[1] = pp->bytes_arg;
    w->pty = cell->sc == SC_PTY;
    break;
  case SC_IDLE:
    w->argv[0] = pp->idler;
    w->use_stdin = true;
    w->use_stderr = true;
    break;
  case SC_EXEC:
    w->argv[0] = env != NULL ? env->prog : NULL;
    break;
  default:
    break;
  }
}

static int run_contender(contender_t ct, const work_t *w, result_t *res,
                         const char *label) {
  run_t r;
  int err = run_begin(&r, w, res, ct, label);
  if (err != 0) {
    res->err = err;
    return err;
  }
  if (w->sc == SC_EXEC) {
    err = drv_exec_run(&r, ct);
  } else if (w->sc == SC_GATEWAY || w->sc == SC_GWSTREAM) {
    err = drv_gateway_run(&r, ct);
  } else if (w->sc == SC_LOAD) {
    err = drv_load_run(&r, ct);
  } else if (w->sc == SC_RTRUN || w->sc == SC_RTEXEC) {
    err = drv_runtime_run(&r, ct);
  } else if (ct == CT_HCS || ct == CT_HCS_SOCK) {
    err = drv_hcs_run(&r);
  } else if (ct == CT_UV || ct == CT_UV_PIPE) {
    err = drv_uv_run(&r);
  } else {
    err = drv_limit_run(&r);
  }
  run_end(&r);
  return err;
}

/* --worker-idle CT N: one idle cell in this fresh process; the result goes
 * to stdout as the raw struct (the reader is this same binary). */
static int worker_idle(const char *ct_name, const char *n_str,
                       const char *progs) {
  prog_paths_t pp;
  if (find_progs(progs, &pp) != 0) {
    return 2;
  }
  int ct = 0;
  while (ct < CT_COUNT && strcmp(ct_name_i(ct), ct_name) != 0) {
    ct++;
  }
  uint64_t n = strtoull(n_str, NULL, 10);
  if (ct == CT_COUNT || n == 0) {
    return 2;
  }
  config_t cf;
  config_defaults(&cf, "default");
  cell_t cell = {SC_IDLE, n, n, 0, 0};
  work_t w;
  make_work(&cf, &cell, &pp, NULL, NULL, &w);
  result_t res;
  (void)run_contender((contender_t)ct, &w, &res, NULL);
  const char *p = (const char *)&res;
  size_t left = sizeof(res);
  while (left > 0) {
    ssize_t k = write(1, p, left);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      return 1;
    }
    p += k;
    left -= (size_t)k;
  }
  return 0;
}

static int run_idle_worker(contender_t ct, uint64_t n, const char *progs,
                           result_t *res) {
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) {
    return -errno;
  }
  self[len] = '\0';
  char n_arg[32];
  snprintf(n_arg, sizeof(n_arg), "%llu", (unsigned long long)n);
  char *args[] = {self,  "--worker-idle", (char *)ct_name_i((int)ct),
                  n_arg, "--progs",       (char *)progs,
                  NULL};
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    return -errno;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  pid_t pid;
  /* /proc/self/exe: this very binary, even if a rebuild replaced the file
   * since (the worker writes this binary's struct layout). */
  int err = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (err != 0) {
    close(p[0]);
    return -err;
  }
  size_t got = 0;
  char *dst = (char *)res;
  for (;;) {
    ssize_t k = read(p[0], dst + got, sizeof(*res) - got);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0 || (got += (size_t)k) == sizeof(*res)) {
      break;
    }
  }
  close(p[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    memset(res, 0, sizeof(*res));
    res->sc = SC_IDLE;
    res->ct = (int)ct;
    res->n = res->c = n;
    res->err = -EIO;
    snprintf(res->note, sizeof(res->note),
             "the idle worker failed (status 0x%x)", status);
    return -EIO;
  }
  return 0;
}

/* The round of a cell: its share of the sessions, messages or bytes. */
static cell_t round_cell(const cell_t *cell, unsigned rounds) {
  cell_t r = *cell;
  if (cell->sc == SC_SPAWN || cell->sc == SC_PTY || cell->sc == SC_EXEC ||
      cell->sc == SC_GATEWAY || cell->sc == SC_GWSTREAM ||
      cell->sc == SC_LOAD || cell->sc == SC_RTRUN || cell->sc == SC_RTEXEC) {
    r.n = cell->n / rounds > cell->c ? cell->n / rounds : cell->c;
  } else if (cell->sc == SC_ECHO) {
    r.msgs = cell->msgs / rounds > 0 ? cell->msgs / rounds : 1;
  } else if (cell->sc == SC_BULK) {
    r.bytes = cell->bytes / rounds > 0 ? cell->bytes / rounds : 1;
  }
  return r;
}

/* A failed round is the one reported, so that the failure shows; else the
 * best round (or the median one), with the range over all rounds. On a
 * shared machine interference only ever makes a round slower (or, for
 * idle, bigger), so the best round is the least disturbed estimate. */
static void pick_round(result_t *rounds, unsigned n, bool best, result_t *out) {
  unsigned idx[MAX_ROUNDS];
  for (unsigned i = 0; i < n; i++) {
    idx[i] = i;
    const result_t *r = &rounds[i];
    if (r->err != 0 || r->failed != 0 || r->completed != r->n ||
        r->bytes != r->bytes_expected) {
      *out = *r;
      out->rounds = n;
      return;
    }
  }
  for (unsigned i = 1; i < n; i++) {
    for (unsigned j = i; j > 0 && result_figure(&rounds[idx[j - 1]]) >
                                      result_figure(&rounds[idx[j]]);
         j--) {
      unsigned t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  }
  bool lower_better = rounds[0].sc == SC_IDLE;
  unsigned k = !best ? (n - 1) / 2 : (lower_better ? 0 : n - 1);
  *out = rounds[idx[k]];
  out->rounds = n;
  out->fig_min = result_figure(&rounds[idx[0]]);
  out->fig_max = result_figure(&rounds[idx[n - 1]]);
}

static void skip_result(result_t *res, scenario_t sc, contender_t ct,
                        uint64_t c, const char *note) {
  memset(res, 0, sizeof(*res));
  res->sc = sc;
  res->ct = ct;
  res->c = c;
  res->skipped = 1;
  snprintf(res->name, sizeof(res->name), "%s", bench_ct_label(sc, ct));
  snprintf(res->note, sizeof(res->note), "%s", note);
}

/* An exec contender whose system is not running: skipped (not root, the
 * runtime not installed), or failed when setting it up went wrong. */
static void exec_unavailable(result_t *res, const cell_t *cell, contender_t ct,
                             const char *note, int err) {
  skip_result(res, cell->sc, ct, cell->c, note);
  if (err != 0) {
    res->skipped = 0;
    res->err = err;
    res->n = cell->n;
  }
}

/* dockerd and podman make about 10 execs/s here: a gateway cell gives
 * one its cap of execs (gw_slow_caps; gateway-stream its stream cap), a
 * round's share at least C and at most the others' (w->n), in as many
 * rounds as they fill. Returns those rounds. */
static unsigned slow_plan(contender_t ct, scenario_t sc, unsigned rounds,
                          work_t *w) {
  uint64_t n, stream_n, max_c;
  gw_slow_caps(ct, &n, &stream_n, &max_c);
  uint64_t total = sc == SC_GWSTREAM ? stream_n : n;
  uint64_t share = (total + rounds - 1) / rounds;
  uint64_t per = share > w->c ? share : w->c;
  w->n = per < w->n ? per : w->n;
  uint64_t need = w->n > 0 ? (total + w->n - 1) / w->n : rounds;
  return need < rounds ? (unsigned)need : rounds;
}

/* Runs every contender on the cell, in rounds whose order rotates, so that
 * a burst of noise on this shared machine hits one round of each. The
 * rows come out in contender order. */
static size_t run_cell(const config_t *cf, const cell_t *cell, prog_paths_t *pp,
                       exec_env_t *env, gw_env_t *gw, rt_env_t *rt,
                       bool progress, const char *idle_note, result_t *out) {
  bool gw_sc = cell->sc == SC_GATEWAY || cell->sc == SC_GWSTREAM;
  bool daemon_sc = gw_sc || cell->sc == SC_LOAD;
  bool rt_sc = cell->sc == SC_RTRUN || cell->sc == SC_RTEXEC;
  unsigned rounds = cell->sc == SC_IDLE   ? 1
                    : cell->sc == SC_LOAD ? (unsigned)cell->n
                    : rt_sc               ? cf->rt_rounds
                                          : cf->rounds;
  contender_t order[CT_COUNT];
  bool in[CT_COUNT] = {false}, runs[CT_COUNT] = {false};
  bool slow[CT_COUNT] = {false};
  uint64_t max_c[CT_COUNT] = {0};
  size_t nct = 0;
  for (int ct = 0; ct < CT_COUNT; ct++) {
    uint64_t cap_n, cap_sn;
    slow[ct] = gw_sc && gw_slow((contender_t)ct);
    gw_slow_caps((contender_t)ct, &cap_n, &cap_sn, &max_c[ct]);
    in[ct] = cf->ct_on[ct] && bench_ct_in(cell->sc, (contender_t)ct);
    runs[ct] = in[ct] && (cell->sc != SC_EXEC || env->up[ct]) &&
               (!daemon_sc || gw->up[ct]) && (!rt_sc || rt->up[ct]) &&
               (!slow[ct] || cell->c <= max_c[ct]);
    if (runs[ct]) {
      order[nct++] = (contender_t)ct;
    }
  }
  result_t per[MAX_ROUNDS][CT_COUNT];
  cell_t rc = round_cell(cell, rounds);
  work_t w;
  make_work(cf, &rc, pp, env, gw, &w);
  w.rt = rt;
  work_t ws[CT_COUNT];
  unsigned ct_rounds[CT_COUNT];
  for (int ct = 0; ct < CT_COUNT; ct++) {
    ws[ct] = w;
    ct_rounds[ct] = slow[ct]
                        ? slow_plan((contender_t)ct, cell->sc, rounds, &ws[ct])
                        : rounds;
  }
  for (unsigned r = 0; r < rounds && nct > 0; r++) {
    for (size_t k = 0; k < nct; k++) {
      contender_t ct = order[(k + r) % nct];
      result_t *res = &per[r][ct];
      char label[96];
      snprintf(label, sizeof(label), "[%s C=%llu %s %u/%u]",
               bench_sc_name(w.sc), (unsigned long long)w.c, ct_name_i(ct),
               r + 1, rounds);
      if (cell->sc == SC_EXEC && (ct == CT_HCS || ct == CT_HCS_SYNC)) {
        work_t wh = w;
        wh.n *= cf->exec_hcs_mul;
        (void)run_contender(ct, &wh, res, progress ? label : NULL);
        continue;
      }
      if (slow[ct]) {
        if (r >= ct_rounds[ct]) {
          continue;
        }
        (void)run_contender(ct, &ws[ct], res, progress ? label : NULL);
        if (res->note[0] == '\0' &&
            (ws[ct].n < w.n || ct_rounds[ct] < rounds)) {
          snprintf(res->note, sizeof(res->note),
                   "fewer execs (N: a round's) in fewer rounds: a slow "
                   "exec path; no cell past C=%llu; CPU: %s",
                   (unsigned long long)max_c[ct],
                   ct == CT_PODMAN ? "the service's own, not conmon's or "
                                     "crun's"
                                   : "dockerd's own, not containerd's or "
                                     "the shims'");
        }
        continue;
      }
      if (cell->sc != SC_IDLE) {
        (void)run_contender(ct, &w, res, progress ? label : NULL);
        continue;
      }
      if (progress) {
        fprintf(stderr, "\r\033[K%s %llu sessions", label,
                (unsigned long long)w.n);
      }
      (void)run_idle_worker(ct, w.n, cf->progs, res);
      if (idle_note[0] != '\0' && res->note[0] == '\0') {
        snprintf(res->note, sizeof(res->note), "%s", idle_note);
      }
      if (progress) {
        fprintf(stderr, "\r\033[K");
      }
    }
  }
  size_t n = 0;
  for (int ct = 0; ct < CT_COUNT; ct++) {
    if (runs[ct]) {
      result_t col[MAX_ROUNDS];
      unsigned ran = ct_rounds[ct];
      for (unsigned r = 0; r < ran; r++) {
        col[r] = per[r][ct];
      }
      pick_round(col, ran, cf->pick_best, &out[n++]);
    } else if (in[ct] && slow[ct] && gw->up[ct]) {
      char note[96];
      snprintf(note, sizeof(note),
               "not run past C=%llu (%s makes about 10 execs/s)",
               (unsigned long long)max_c[ct], bench_ct_name((contender_t)ct));
      skip_result(&out[n++], cell->sc, ct, cell->c, note);
    } else if (in[ct]) {
      exec_unavailable(&out[n++], &rc, (contender_t)ct,
                       daemon_sc ? gw->note[ct]
                       : rt_sc   ? rt->note[ct]
                                 : env->note[ct],
                       daemon_sc ? gw->err[ct]
                       : rt_sc   ? rt->err[ct]
                                 : env->err[ct]);
    }
  }
  return n;
}

/* The hcsd the gateway cells start (the hcs-runc the runtime cells give
 * dockerd, name): opt (--hcsd), else the one built next to this binary,
 * else the installed one (<prefix>/sbin/name). */
static void sbin_path(const char *opt, const char *name, char *out,
                      size_t size) {
  if (opt != NULL) {
    snprintf(out, size, "%s", opt);
    return;
  }
  char dir[PATH_MAX], prefix[PATH_MAX];
  self_dirs(dir, prefix, sizeof(dir));
  int n = snprintf(out, size, "%s/%s", dir, name);
  if (n > 0 && (size_t)n < size && access(out, X_OK) != 0) {
    n = snprintf(out, size, "%s/sbin/%s", prefix, name);
  }
  if (n < 0 || (size_t)n >= size) {
    out[0] = '\0'; /* no such hcsd: the gateway cells say so */
  }
}

/* A workload of the same programs must never see a closed 0-2: a pipe
 * could land there and be clobbered by a child's dup2. */
static void keep_std_fds(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) < 0) {
      int nul = open("/dev/null", O_RDWR);
      if (nul >= 0 && nul != fd) {
        dup2(nul, fd);
        close(nul);
      }
    }
  }
}

static void build_command(int argc, char **argv, char *buf, size_t size) {
  size_t off = 0;
  buf[0] = '\0';
  for (int i = 0; i < argc && off < size; i++) {
    const char *a = i == 0 ? "hcs-bench" : argv[i];
    off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? " " : "", a);
  }
}

int main(int argc, char **argv) {
  keep_std_fds();
  /* libuv (the baseline) and the engine share this process; the engine's
   * allocator must be installed into libuv before any libuv call. */
  as_alloc_init();
  if (argc == 6 && strcmp(argv[1], "--worker-idle") == 0) {
    (void)bench_raise_nofile(strtoull(argv[3], NULL, 10) * IDLE_FDS +
                             FD_RESERVE);
    return worker_idle(argv[2], argv[3], argv[5]);
  }
  config_t cf;
  int parsed = parse_args(&cf, argc, argv);
  if (parsed != 0) {
    if (parsed < 0) {
      usage(stderr);
    }
    return parsed > 0 ? 0 : 2;
  }
  prog_paths_t pp;
  if (find_progs(cf.progs, &pp) != 0) {
    return 2;
  }
  cell_t cells[MAX_CELLS];
  size_t ncells = build_cells(&cf, cells);
  uint64_t need = 0;
  for (size_t i = 0; i < ncells; i++) {
    uint64_t want = cells[i].c * IDLE_FDS + FD_RESERVE;
    need = want > need ? want : need;
  }
  uint64_t nofile = bench_raise_nofile(need);
  char idle_note[160] = "";
  for (size_t i = 0; i < ncells; i++) {
    /* An idle session holds up to IDLE_FDS fds; where the hard limit
     * cannot be raised (no CAP_SYS_RESOURCE), fewer sessions are held. */
    uint64_t fit = nofile > FD_RESERVE ? (nofile - FD_RESERVE) / IDLE_FDS : 0;
    if (cells[i].sc == SC_IDLE && cells[i].n > fit) {
      snprintf(idle_note, sizeof(idle_note),
               "N=%llu, not %llu: RLIMIT_NOFILE is %llu and cannot be raised "
               "here (%d fds a session)",
               (unsigned long long)fit, (unsigned long long)cells[i].n,
               (unsigned long long)nofile, IDLE_FDS);
      fprintf(stderr, "hcs-bench: idle: %s\n", idle_note);
      cells[i].n = cells[i].c = fit;
    }
  }
  size_t ballast = (size_t)cf.ballast_mib * MIB;
  void *ballast_mem = NULL;
  if (ballast > 0) {
    /* Touched, so that it is resident and in the page tables. */
    ballast_mem = bench_slab_alloc(ballast);
    if (ballast_mem == NULL) {
      fprintf(stderr, "hcs-bench: --ballast %llu: %s\n",
              (unsigned long long)cf.ballast_mib, strerror(errno));
      return 2;
    }
    memset(ballast_mem, 1, ballast);
  }
  result_t *res = calloc(MAX_CELLS * CT_COUNT, sizeof(*res));
  if (res == NULL) {
    return 1;
  }
  size_t nres = 0;
  bool progress = isatty(2);
  char command[512];
  build_command(argc, argv, command, sizeof(command));
  report_t rp = {.res = res,
                 .command = command,
                 .mode = cf.mode,
                 .smoke = cf.smoke,
                 .rounds = cf.rounds,
                 .pick = cf.pick_best ? "best" : "median",
                 .ballast_mib = cf.ballast_mib};
  report_header(&rp);
  /* The exec cells share one set of running systems, made before the
   * first of them and removed after the last. */
  exec_env_t env;
  bool env_open = false;
  /* Likewise the gateway cells' hcsd and container. */
  gw_env_t gw;
  bool gw_open = false;
  /* And the runtime cells' dockerd. */
  rt_env_t rt;
  bool rt_open = false;
  for (size_t i = 0; i < ncells; i++) {
    const cell_t *cell = &cells[i];
    if ((cell->sc == SC_GATEWAY || cell->sc == SC_GWSTREAM ||
         cell->sc == SC_LOAD) &&
        !gw_open) {
      if (progress) {
        fprintf(stderr, "\r\033[K[gateway] starting hcsd (dockerd, podman) "
                        "and the containers");
      }
      char hcsd[PATH_MAX];
      sbin_path(cf.hcsd, "hcsd", hcsd, sizeof(hcsd));
      gw_env_open(&gw, hcsd, cf.ct_on);
      gw_open = true;
      if (progress) {
        fprintf(stderr, "\r\033[K");
      }
    }
    if ((cell->sc == SC_RTRUN || cell->sc == SC_RTEXEC) && !rt_open) {
      if (progress) {
        fprintf(stderr, "\r\033[K[runtime] starting dockerd and the "
                        "containers");
      }
      char runc[PATH_MAX];
      sbin_path(NULL, "hcs-runc", runc, sizeof(runc));
      rt_env_open(&rt, runc, cf.progs, cf.ct_on);
      rt_open = true;
      if (progress) {
        fprintf(stderr, "\r\033[K");
      }
    }
    if (cell->sc == SC_EXEC && !env_open) {
      if (progress) {
        fprintf(stderr, "\r\033[K[exec] starting the containers");
      }
      exec_env_open(&env, pp.nop, cf.ct_on);
      env_open = true;
      if (progress) {
        fprintf(stderr, "\r\033[K");
      }
    }
    nres +=
        run_cell(&cf, cell, &pp, env_open ? &env : NULL, gw_open ? &gw : NULL,
                 rt_open ? &rt : NULL, progress, idle_note, &res[nres]);
    rp.n = nres;
    if (i + 1 == ncells || cells[i + 1].sc != cell->sc) {
      report_table(&rp, cell->sc);
    }
    if ((env_open && exec_env_interrupted() != 0) ||
        (gw_open && gw_env_interrupted() != 0) ||
        (rt_open && rt_env_interrupted() != 0)) {
      break;
    }
  }
  /* Closed before the gateway's: its signal handlers went in after the
   * gateway's, and put those back. */
  int rsig = rt_open ? rt_env_close(&rt) : 0;
  int gsig = gw_open ? gw_env_close(&gw) : 0;
  gsig = gsig != 0 ? gsig : rsig;
  int sig = env_open ? exec_env_close(&env) : 0;
  sig = sig != 0 ? sig : gsig;
  if (sig != 0) {
    /* The systems are gone: now die of the signal, as asked. */
    fprintf(stderr, "hcs-bench: interrupted (%s)\n", strsignal(sig));
    raise(sig);
  }
  rp.n = nres;
  report_targets(&rp);
  int rc = 0;
  if (cf.json != NULL && report_json(&rp, cf.json) != 0) {
    fprintf(stderr, "hcs-bench: writing %s: %s\n", cf.json, strerror(errno));
    rc = 1;
  }
  if (cf.svg != NULL && report_svg(&rp, cf.svg) != 0) {
    fprintf(stderr, "hcs-bench: writing %s: %s\n", cf.svg, strerror(errno));
    rc = 1;
  }
  for (size_t i = 0; i < nres; i++) {
    const result_t *r = &res[i];
    if (!r->skipped && (r->err != 0 || r->completed != r->n ||
                        r->bytes != r->bytes_expected)) {
      rc = 1;
    }
  }
  free(res);
  bench_slab_free(ballast_mem, ballast);
  return rc;
}
