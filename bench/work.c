/* SPDX-License-Identifier: MIT */
/* The per-session logic every contender shares, and the bookkeeping of a
 * run: clocks, resource counters, latency samples, the progress line. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { PROGRESS_NS = 100 * 1000 * 1000, MSG_MAX = 64 * 1024 };

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  unsigned long size = 0, resident = 0;
  if (f == NULL) {
    return 0;
  }
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
    resident = 0;
  }
  fclose(f);
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

int bench_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return -1;
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      n++;
    }
  }
  closedir(d);
  return n - 1; /* the directory's own fd */
}

uint64_t bench_raise_nofile(uint64_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return 0;
  }
  if (rl.rlim_max < want) {
    /* Root may raise the hard limit up to fs.nr_open. */
    struct rlimit up = {want, want};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
      return want;
    }
  }
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
  (void)getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

void *bench_slab_alloc(size_t size) {
  void *p = mmap(NULL, size > 0 ? size : 1, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void bench_slab_free(void *p, size_t size) {
  if (p != NULL) {
    munmap(p, size > 0 ? size : 1);
  }
}

int bench_pty_open(int *master, int *slave, uint16_t rows, uint16_t cols) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) {
    return -errno;
  }
  char name[64];
  int err = 0;
  if (grantpt(m) != 0 || unlockpt(m) != 0 ||
      ptsname_r(m, name, sizeof(name)) != 0) {
    err = -errno;
    close(m);
    return err;
  }
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    err = -errno;
    close(m);
    return err;
  }
  if (rows != 0 && cols != 0) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    (void)ioctl(m, TIOCSWINSZ, &ws);
  }
  *master = m;
  *slave = s;
  return 0;
}

const char *bench_sc_name(scenario_t sc) {
  static const char *const names[SC_COUNT] = {
      "spawn",   "echo",           "bulk", "idle",        "pty",         "exec",
      "gateway", "gateway-stream", "load", "runtime-run", "runtime-exec"};
  return sc < SC_COUNT ? names[sc] : "?";
}

const char *bench_ct_name(contender_t ct) {
  static const char *const names[CT_COUNT] = {
      "hcs",  "libuv",   "limit",  "crun exec", "runc exec", "hcs sync",
      "hcsd", "dockerd", "podman", "hcs 1loop", "hcs sock",  "libuv pipe"};
  return ct < CT_COUNT ? names[ct] : "?";
}

const char *bench_ct_label(scenario_t sc, contender_t ct) {
  if (sc == SC_RTRUN || sc == SC_RTEXEC) {
    return ct == CT_HCS ? "hcs-runc" : ct == CT_RUNC ? "runc" : "crun";
  }
  return bench_ct_name(ct);
}

bool bench_ct_in(scenario_t sc, contender_t ct) {
  bool daemon = ct == CT_HCSD || ct == CT_DOCKERD || ct == CT_PODMAN;
  if (sc == SC_LOAD) {
    return daemon; /* the daemons alone: docker load has no in-process form */
  }
  if (sc == SC_RTRUN || sc == SC_RTEXEC) {
    return ct == CT_HCS || ct == CT_RUNC || ct == CT_CRUN;
  }
  if (ct == CT_HCS) {
    return true;
  }
  if (ct == CT_HCS_SOCK || ct == CT_UV_PIPE) {
    return sc == SC_BULK; /* the transport matters for bulk output only */
  }
  if (sc == SC_GATEWAY || sc == SC_GWSTREAM) {
    return daemon || ct == CT_HCS1;
  }
  return sc == SC_EXEC ? ct == CT_CRUN || ct == CT_RUNC || ct == CT_HCS_SYNC
                       : ct == CT_UV || ct == CT_LIMIT;
}

const char *work_msg(const work_t *w) {
  static char msg[MSG_MAX];
  (void)w;
  if (msg[0] == '\0') {
    for (size_t i = 0; i < sizeof(msg); i++) {
      msg[i] = (char)((i + 1) % 64 == 0 ? '\n' : 'A' + i % 26);
    }
  }
  return msg;
}

static double cpu_seconds(int who) {
  struct rusage ru;
  if (getrusage(who, &ru) != 0) {
    return 0;
  }
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int run_begin(run_t *r, const work_t *w, result_t *res, contender_t ct,
              const char *label) {
  memset(r, 0, sizeof(*r));
  memset(res, 0, sizeof(*res));
  r->w = w;
  r->res = res;
  r->label = label;
  res->sc = w->sc;
  res->ct = ct;
  snprintf(res->name, sizeof(res->name), "%s", bench_ct_label(w->sc, ct));
  res->n = w->n;
  res->c = w->c;
  if (w->sc == SC_ECHO) {
    res->msgs = w->msgs;
    res->msg_len = w->msg_len;
  }
  res->bytes_per_session = w->bytes;
  if (w->sc == SC_ECHO) {
    res->bytes_expected = w->n * w->msgs * (uint64_t)w->msg_len;
    r->lat_cap = (size_t)(w->n * w->msgs);
  } else {
    res->bytes_expected = w->sc == SC_BULK || w->sc == SC_PTY ||
                                  w->sc == SC_GATEWAY || w->sc == SC_GWSTREAM
                              ? w->n * w->bytes
                              : 0;
    r->lat_cap = (size_t)w->n;
  }
  if (w->msg_len > MSG_MAX) {
    return -EINVAL;
  }
  r->lat = malloc((r->lat_cap > 0 ? r->lat_cap : 1) * sizeof(*r->lat));
  if (r->lat == NULL) {
    return -ENOMEM;
  }
  r->cpu0_self = cpu_seconds(RUSAGE_SELF);
  r->cpu0_child = cpu_seconds(RUSAGE_CHILDREN);
  r->t0_ns = bench_now_ns();
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *v, size_t n, double p) {
  if (n == 0) {
    return 0;
  }
  /* Nearest rank. */
  size_t k = (size_t)(p * (double)n + 0.999999);
  k = k == 0 ? 0 : k - 1;
  if (k >= n) {
    k = n - 1;
  }
  return (double)v[k] / 1e3;
}

void run_end(run_t *r) {
  result_t *res = r->res;
  uint64_t t1 = bench_now_ns();
  double self = cpu_seconds(RUSAGE_SELF) - r->cpu0_self;
  double child = cpu_seconds(RUSAGE_CHILDREN) - r->cpu0_child;
  /* Wall time runs from the first start to the last end: setting up and
   * tearing down a contender's loop is not per-session work. */
  uint64_t from = r->first_ns != 0 ? r->first_ns : r->t0_ns;
  uint64_t to = r->last_ns != 0 ? r->last_ns : t1;
  res->wall_s = (double)(to - from) / 1e9;
  res->units = r->w->sc == SC_ECHO ? r->nlat : res->completed;
  if (res->wall_s > 0) {
    res->rate = (double)res->units / res->wall_s;
    res->gbps = (double)res->bytes / res->wall_s / 1e9;
  }
  uint64_t sessions = res->completed + res->failed;
  if (sessions > 0) {
    res->cpu_us = (self + child + r->cpu_other) * 1e6 / (double)sessions;
    res->cpu_self_us = self * 1e6 / (double)sessions;
  }
  qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u64);
  res->p50_us = percentile_us(r->lat, r->nlat, 0.50);
  res->p99_us = percentile_us(r->lat, r->nlat, 0.99);
  if (r->w->sc == SC_IDLE && r->w->n > 0) {
    res->mem_per_session =
        ((double)r->rss1 - (double)r->rss0) / (double)r->w->n;
    res->fds_per_session = (double)(r->fds1 - r->fds0) / (double)r->w->n;
    res->pool_per_session = (double)r->pool1 / (double)r->w->n;
  }
  free(r->lat);
  r->lat = NULL;
  if (r->label != NULL && r->next_progress_ns != 0) {
    fprintf(stderr, "\r\033[K");
  }
}

double result_figure(const result_t *r) {
  switch (r->sc) {
  case SC_BULK:
  case SC_GWSTREAM:
  case SC_LOAD:
    return r->gbps;
  case SC_IDLE:
    return r->mem_per_session;
  default:
    return r->rate;
  }
}

void run_fail(run_t *r, int err, const char *what) {
  if (r->res->err == 0) {
    r->res->err = err;
    snprintf(r->res->note, sizeof(r->res->note), "%s: %s", what,
             strerror(-err));
  }
}

static void lat_add(run_t *r, uint64_t ns) {
  if (r->nlat < r->lat_cap) {
    r->lat[r->nlat++] = ns;
  }
}

void work_begin(run_t *r, sess_t *s) {
  memset(s, 0, sizeof(*s));
  s->t0 = bench_now_ns();
  if (r->started++ == 0) {
    r->first_ns = s->t0;
  }
}

bool work_kick(const run_t *r) { return r->w->sc == SC_ECHO && r->w->msgs > 0; }

void work_sent(run_t *r, sess_t *s) {
  (void)r;
  s->t_msg = bench_now_ns();
  s->sent++;
}

unsigned work_data(run_t *r, sess_t *s, size_t n, uint16_t *rows,
                   uint16_t *cols) {
  const work_t *w = r->w;
  unsigned act = 0;
  s->bytes += n;
  r->res->bytes += n;
  if (w->sc == SC_ECHO) {
    s->got += (uint32_t)n;
    if (s->got >= w->msg_len) {
      /* One message is in flight at a time: this is its whole reply. */
      lat_add(r, bench_now_ns() - s->t_msg);
      s->got -= w->msg_len;
      act = s->sent < w->msgs ? ACT_SEND : ACT_CLOSE_STDIN;
    }
  } else if (w->sc == SC_PTY && w->resize_every > 0) {
    if (++s->chunks % w->resize_every == 0) {
      int big = (s->chunks / w->resize_every) % 2;
      *rows = big ? 50 : 24;
      *cols = big ? 132 : 80;
      r->res->resizes++;
      act = ACT_RESIZE;
    }
  }
  return act;
}

static void progress(run_t *r, uint64_t now) {
  if (r->label == NULL || now < r->next_progress_ns) {
    return;
  }
  r->next_progress_ns = now + PROGRESS_NS;
  fprintf(stderr, "\r\033[K%s %llu/%llu", r->label, (unsigned long long)r->done,
          (unsigned long long)r->w->n);
}

void work_end(run_t *r, sess_t *s, int exit_code) {
  uint64_t now = bench_now_ns();
  r->done++;
  r->last_ns = now;
  if (exit_code == 0) {
    r->res->completed++;
  } else {
    r->res->failed++;
    if (r->res->note[0] == '\0') {
      snprintf(r->res->note, sizeof(r->res->note),
               "a session ended with exit code %d", exit_code);
    }
  }
  if (r->w->sc != SC_ECHO) {
    lat_add(r, now - s->t0);
  }
  progress(r, now);
}

void work_idle_base(run_t *r) {
  r->rss0 = bench_rss_bytes();
  r->fds0 = bench_fd_count();
}

void work_idle_up(run_t *r, size_t pool_bytes) {
  r->rss1 = bench_rss_bytes();
  r->fds1 = bench_fd_count();
  r->pool1 = pool_bytes;
}

static int rm_one(const char *path, const struct stat *st, int type,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0) {
    fprintf(stderr, "hcs-bench: removing %s: %s\n", path, strerror(errno));
  }
  return 0;
}

void bench_rmtree(const char *dir) {
  (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
