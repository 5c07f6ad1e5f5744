/* SPDX-License-Identifier: MIT */
/* Reports: the terminal tables, the targets with their ratios, the JSON
 * document and the SVG plot (written by hand: no plotting dependency). */
#include "bench.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum { MAX_TARGETS = 32, MAX_XS = 16 };

typedef struct machine_s {
  long nproc;
  char cpu[128];
  char kernel[128];
} machine_t;

static void machine_get(machine_t *m) {
  memset(m, 0, sizeof(*m));
  m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
  snprintf(m->cpu, sizeof(m->cpu), "unknown");
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f != NULL) {
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL) {
      char *colon = strchr(line, ':');
      if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
        snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
        m->cpu[strcspn(m->cpu, "\n")] = '\0';
        break;
      }
    }
    fclose(f);
  }
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
  }
}

void report_header(const report_t *rp) {
  machine_t m;
  machine_get(&m);
  printf("hcs-bench (%s): %ld cores, %s, Linux %s\n", rp->mode, m.nproc, m.cpu,
         m.kernel);
  printf("command: %s\n", rp->command);
  if (rp->ballast_mib > 0) {
    printf("the host holds %llu MiB resident (--ballast)\n",
           (unsigned long long)rp->ballast_mib);
  }
  printf("each row: the %s of %u rounds (N per round; idle: 1 round; "
         "runtime-run, runtime-exec: the rounds their tables say), "
         "contenders interleaved;\nspread: (max - min) / reported over the "
         "rounds; x limit, x libuv (exec: x crun, x runc): this row's figure "
         "over theirs\n",
         rp->pick, rp->rounds);
  fflush(stdout);
}

static const result_t *find(const report_t *rp, scenario_t sc, uint64_t c,
                            contender_t ct) {
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc == (int)sc && r->c == c && r->ct == (int)ct && !r->skipped) {
      return r;
    }
  }
  return NULL;
}

static double figure(const result_t *r) { return result_figure(r); }

static void ratio_str(char *buf, size_t size, const report_t *rp,
                      const result_t *r, contender_t base) {
  const result_t *b = find(rp, (scenario_t)r->sc, r->c, base);
  if (b == NULL || figure(b) <= 0 || r->err != 0 || b->err != 0) {
    snprintf(buf, size, "-");
    return;
  }
  snprintf(buf, size, "%.2f", figure(r) / figure(b));
}

static bool row_ok(const result_t *r) {
  return r->err == 0 && r->failed == 0 && r->completed == r->n &&
         r->bytes == r->bytes_expected;
}

static void print_title(scenario_t sc) {
  static const char *const title[SC_COUNT] = {
      "spawn: nop, stdout piped and read to EOF, every session waited",
      "echo: C echoer sessions, one message in flight each",
      "bulk: C blaster streams, the cell's bytes split between them",
      "idle: N idler sessions (stdin, stdout, stderr piped) held open",
      "pty: console sessions, blaster output, a resize every 4 chunks",
      "exec: nop exec'd into one running container, stdout to EOF, waited",
      "gateway: echo x exec'd via hcsd's (dockerd's, podman's) socket, "
      "against hcs in-process",
      "gateway-stream: dd of S bytes via hcsd's (dockerd's, podman's) socket, "
      "vs hcs in-process",
      "load: docker load (POST /images/load) of a new image each time: the "
      "busybox layer and S of random data",
      "runtime-run: docker run --rm busybox true (create, start, wait, "
      "delete) through one dockerd, --runtime hcs-runc, runc or crun",
      "runtime-exec: docker exec of true (create, attached start, inspect) "
      "into a container of each runtime, through the same dockerd"};
  printf("\n%s\n", title[sc]);
}

/* The spread of the figure over the rounds, in percent of the median. */
static void spread_str(char *buf, size_t size, const result_t *r) {
  double f = figure(r);
  if (r->rounds < 2 || f <= 0) {
    snprintf(buf, size, "-");
    return;
  }
  snprintf(buf, size, "%.0f%%", (r->fig_max - r->fig_min) / f * 100);
}

static void print_header(scenario_t sc) {
  switch (sc) {
  case SC_SPAWN:
  case SC_PTY:
    printf("%6s %7s  %-8s %7s %11s %6s %8s %8s %8s %8s %9s %8s\n", "C", "N",
           "who", "done", "sessions/s", "spread", "x limit", "x libuv",
           "p50 ms", "p99 ms", "CPU us/s", "host us");
    break;
  case SC_ECHO:
    printf("%6s %7s  %-8s %7s %11s %6s %8s %8s %8s %8s %9s %8s\n", "C", "msgs",
           "who", "done", "trips/s", "spread", "x limit", "x libuv", "p50 us",
           "p99 us", "CPU us/rt", "host us");
    break;
  case SC_BULK:
    printf("%6s %7s  %-8s %7s %11s %6s %8s %8s %8s %8s %9s\n", "C", "MiB",
           "who", "done", "GB/s", "spread", "x limit", "x libuv", "p50 ms",
           "p99 ms", "CPU s/GB");
    break;
  case SC_IDLE:
    printf("%6s %7s  %-8s %7s %11s %8s %8s %8s\n", "N", "", "who", "done",
           "RSS B/sess", "pool B", "fds/sess", "x libuv");
    break;
  case SC_EXEC:
    printf("%6s %7s  %-9s %6s %11s %6s %8s %8s %8s %8s %9s %8s\n", "C", "N",
           "who", "done", "execs/s", "spread", "x crun", "x runc", "p50 ms",
           "p99 ms", "CPU us/ex", "host us");
    break;
  case SC_GATEWAY:
  case SC_GWSTREAM:
    printf("%6s %7s  %-9s %6s %11s %6s %8s %8s %8s %9s %8s\n", "C", "N", "who",
           "done", sc == SC_GATEWAY ? "execs/s" : "GB/s", "spread", "x hcs",
           "p50 ms", "p99 ms", "CPU us/ex", "host us");
    break;
  case SC_LOAD:
    printf("%6s %7s  %-9s %6s %11s %6s %9s %8s %9s %9s\n", "MiB", "N", "who",
           "done", "MB/s", "spread", "x dockerd", "p50 s", "CPU s/ld",
           "daemon s");
    break;
  case SC_RTRUN:
  case SC_RTEXEC:
    printf("%6s %7s  %-9s %6s %11s %6s %8s %8s %8s %8s %8s\n", "C", "N", "who",
           "done", sc == SC_RTRUN ? "runs/s" : "execs/s", "spread", "x runc",
           "x crun", "p50 ms", "p50/runc", "p99 ms");
    break;
  default:
    break;
  }
}

/* x hcs: the gateway's figure over the direct one's, in-process. */
static void print_gateway_row(const report_t *rp, const result_t *r,
                              const char *done, const char *sp) {
  char xh[16] = "";
  if (r->skipped) {
    printf("%6llu %7s  %-9s %s\n", (unsigned long long)r->c, "-", r->name,
           r->note);
    return;
  }
  if (r->ct != CT_HCS) {
    ratio_str(xh, sizeof(xh), rp, r, CT_HCS);
  }
  printf("%6llu %7llu  %-9s %6s %11.*f %6s %8s %8.2f %8.2f %9.0f %8.0f\n",
         (unsigned long long)r->c, (unsigned long long)r->n, r->name, done,
         r->sc == SC_GATEWAY ? 0 : 2, figure(r), sp, xh, r->p50_us / 1e3,
         r->p99_us / 1e3, r->cpu_us, r->cpu_self_us);
}

/* load: MB/s (1e6 bytes of the archive a second), x dockerd, and the CPU
 * of a load: all of it (bench, daemon and its children) and the daemon's
 * share. */
static void print_load_row(const report_t *rp, const result_t *r,
                           const char *done, const char *sp) {
  char xd[16] = "";
  if (r->skipped) {
    printf("%6s %7s  %-9s %s\n", "-", "-", r->name, r->note);
    return;
  }
  if (r->ct != CT_DOCKERD) {
    ratio_str(xd, sizeof(xd), rp, r, CT_DOCKERD);
  }
  printf("%6llu %7llu  %-9s %6s %11.0f %6s %9s %8.2f %9.2f %9.2f\n",
         (unsigned long long)(r->bytes_per_session >> 20),
         (unsigned long long)r->n, r->name, done, figure(r) * 1e3, sp, xd,
         r->p50_us / 1e6, r->cpu_us / 1e6, (r->cpu_us - r->cpu_self_us) / 1e6);
}

/* runtime: the rate over runc's and crun's, and the p50 over runc's (the
 * figure issue 18's targets bound). */
static void print_runtime_row(const report_t *rp, const result_t *r,
                              const char *done, const char *sp) {
  char xr[16] = "", xc[16] = "", pr[16] = "-";
  if (r->skipped) {
    printf("%6llu %7s  %-9s %s\n", (unsigned long long)r->c, "-", r->name,
           r->note);
    return;
  }
  const result_t *runc = find(rp, (scenario_t)r->sc, r->c, CT_RUNC);
  if (r->ct != CT_RUNC) {
    ratio_str(xr, sizeof(xr), rp, r, CT_RUNC);
    if (runc != NULL && runc->err == 0 && r->err == 0 && runc->p50_us > 0) {
      snprintf(pr, sizeof(pr), "%.2f", r->p50_us / runc->p50_us);
    }
  }
  if (r->ct != CT_CRUN) {
    ratio_str(xc, sizeof(xc), rp, r, CT_CRUN);
  }
  printf("%6llu %7llu  %-9s %6s %11.2f %6s %8s %8s %8.1f %8s %8.1f\n",
         (unsigned long long)r->c, (unsigned long long)r->n, r->name, done,
         r->rate, sp, xr, xc, r->p50_us / 1e3, pr, r->p99_us / 1e3);
}

static void print_row(const report_t *rp, const result_t *r) {
  char xl[16], xu[16], done[24], sp[16];
  spread_str(sp, sizeof(sp), r);
  ratio_str(xl, sizeof(xl), rp, r, CT_LIMIT);
  ratio_str(xu, sizeof(xu), rp, r, CT_UV);
  snprintf(done, sizeof(done), "%llu%s", (unsigned long long)r->completed,
           row_ok(r) ? "" : "!");
  double per_unit =
      r->units > 0
          ? r->cpu_us * (double)(r->completed + r->failed) / (double)r->units
          : 0;
  double host_unit = r->units > 0
                         ? r->cpu_self_us * (double)(r->completed + r->failed) /
                               (double)r->units
                         : 0;
  switch (r->sc) {
  case SC_SPAWN:
  case SC_PTY:
    printf("%6llu %7llu  %-8s %7s %11.0f %6s %8s %8s %8.2f %8.2f %9.0f "
           "%8.0f\n",
           (unsigned long long)r->c, (unsigned long long)r->n, r->name, done,
           r->rate, sp, xl, xu, r->p50_us / 1e3, r->p99_us / 1e3, r->cpu_us,
           r->cpu_self_us);
    break;
  case SC_ECHO:
    printf("%6llu %7llu  %-8s %7s %11.0f %6s %8s %8s %8.1f %8.1f %9.1f "
           "%8.1f\n",
           (unsigned long long)r->c, (unsigned long long)r->msgs, r->name, done,
           r->rate, sp, xl, xu, r->p50_us, r->p99_us, per_unit, host_unit);
    break;
  case SC_BULK: {
    double cpu_s = r->cpu_us * (double)(r->completed + r->failed) / 1e6;
    double gb = (double)r->bytes / 1e9;
    /* "libuv pipe" overflows the name column into done's, whose figures
     * are short: the columns after them stay where the header has them. */
    int over = (int)strlen(r->name) - 8;
    printf("%6llu %7llu  %-8s %*s %11.2f %6s %8s %8s %8.1f %8.1f %9.2f\n",
           (unsigned long long)r->c,
           (unsigned long long)(r->bytes_expected >> 20), r->name,
           over > 0 ? 7 - over : 7, done, r->gbps, sp, xl, xu, r->p50_us / 1e3,
           r->p99_us / 1e3, gb > 0 ? cpu_s / gb : 0);
    break;
  }
  case SC_IDLE:
    printf("%6llu %7s  %-8s %7s %11.0f %8.0f %8.2f %8s\n",
           (unsigned long long)r->n, "", r->name, done, r->mem_per_session,
           r->pool_per_session, r->fds_per_session, xu);
    break;
  case SC_EXEC: {
    char xc[16], xr[16];
    if (r->skipped) {
      printf("%6llu %7s  %-9s %s\n", (unsigned long long)r->c, "-", r->name,
             r->note);
      break;
    }
    ratio_str(xc, sizeof(xc), rp, r, CT_CRUN);
    ratio_str(xr, sizeof(xr), rp, r, CT_RUNC);
    printf("%6llu %7llu  %-9s %6s %11.0f %6s %8s %8s %8.2f %8.2f %9.0f "
           "%8.0f\n",
           (unsigned long long)r->c, (unsigned long long)r->n, r->name, done,
           r->rate, sp, xc, xr, r->p50_us / 1e3, r->p99_us / 1e3, r->cpu_us,
           r->cpu_self_us);
    break;
  }
  case SC_GATEWAY:
  case SC_GWSTREAM:
    print_gateway_row(rp, r, done, sp);
    break;
  case SC_LOAD:
    print_load_row(rp, r, done, sp);
    break;
  case SC_RTRUN:
  case SC_RTEXEC:
    print_runtime_row(rp, r, done, sp);
    break;
  default:
    printf("%6s %7s  %-8s %s\n", "-", "-", r->name, r->note);
    break;
  }
}

/* gateway, load: hcsd over dockerd and over podman at each C both ran:
 * the figure and p50. */
static void print_vs_dockerd(const report_t *rp, scenario_t sc) {
  static const contender_t others[] = {CT_DOCKERD, CT_PODMAN};
  for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
    for (size_t i = 0; i < rp->n; i++) {
      const result_t *h = &rp->res[i];
      const result_t *d = find(rp, sc, h->c, others[k]);
      if (h->sc != (int)sc || h->ct != CT_HCSD || h->skipped || h->err != 0 ||
          d == NULL || d->err != 0 || figure(d) <= 0 || d->p50_us <= 0) {
        continue;
      }
      printf("  hcsd / %s (C=%llu): %.1fx the %s, p50 %.3fx (%.2f vs "
             "%.2f ms)\n",
             d->name, (unsigned long long)h->c, figure(h) / figure(d),
             sc == SC_GATEWAY ? "execs/s"
             : sc == SC_LOAD  ? "MB/s"
                              : "GB/s",
             h->p50_us / d->p50_us, h->p50_us / 1e3, d->p50_us / 1e3);
    }
  }
}

/* runtime: rounds of their own (--runtime-n's, 3 by default), not the
 * header's. */
static void print_runtime_rounds(const report_t *rp, scenario_t sc) {
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc == (int)sc && !r->skipped && r->rounds > 0) {
      printf("each row: the %s of %u round%s of N %s, the runtimes' rounds "
             "interleaved; p50/p99 over one round\n",
             rp->pick, r->rounds, r->rounds == 1 ? "" : "s",
             sc == SC_RTRUN ? "runs" : "execs");
      return;
    }
  }
}

void report_table(const report_t *rp, scenario_t sc) {
  print_title(sc);
  if (sc == SC_RTRUN || sc == SC_RTEXEC) {
    print_runtime_rounds(rp, sc);
  }
  print_header(sc);
  for (size_t i = 0; i < rp->n; i++) {
    if (rp->res[i].sc == (int)sc) {
      print_row(rp, &rp->res[i]);
    }
  }
  if (sc == SC_GATEWAY || sc == SC_GWSTREAM || sc == SC_LOAD) {
    print_vs_dockerd(rp, sc);
  }
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc != (int)sc || r->skipped || r->note[0] == '\0') {
      continue;
    }
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) {
      seen = rp->res[j].sc == (int)sc && strcmp(rp->res[j].note, r->note) == 0;
    }
    if (!seen) {
      printf("  note (%s, C=%llu): %s\n", r->name, (unsigned long long)r->c,
             r->note);
    }
  }
  fflush(stdout);
}

typedef struct target_s {
  char name[48];
  char goal[48];
  char measured[192]; /* room for a contender name and its note */
  double ratio;
  const char *status; /* PASS, MISS, NOT RUN, SKIPPED */
} target_t;

static void target_ratio(target_t *t, const result_t *a, const result_t *b,
                         double goal, bool at_least, const char *what) {
  if (a == NULL || b == NULL || a->err != 0 || b->err != 0 || figure(b) <= 0) {
    t->status = "NOT RUN";
    snprintf(t->measured, sizeof(t->measured), "cell not run");
    return;
  }
  bool p99 = strcmp(what, "p99") == 0, p50 = strcmp(what, "p50") == 0;
  double va = p99 ? a->p99_us : p50 ? a->p50_us : figure(a);
  double vb = p99 ? b->p99_us : p50 ? b->p50_us : figure(b);
  t->ratio = vb > 0 ? va / vb : 0;
  bool pass = at_least ? t->ratio >= goal : t->ratio <= goal;
  t->status = pass && row_ok(a) && row_ok(b) ? "PASS" : "MISS";
  if (p99 || p50) {
    snprintf(t->measured, sizeof(t->measured), "%s %.0f us vs %s %.0f us",
             a->name, va, b->name, vb);
  } else if (a->sc == SC_BULK || a->sc == SC_GWSTREAM) {
    snprintf(t->measured, sizeof(t->measured), "%s %.2f vs %s %.2f GB/s",
             a->name, va, b->name, vb);
  } else {
    snprintf(t->measured, sizeof(t->measured), "%s %.0f vs %s %.0f /s", a->name,
             va, b->name, vb);
  }
}

/* Why an exec target could not be measured: the hcs or crun exec row
 * that was skipped or failed, else NULL. */
static const result_t *exec_missing(const report_t *rp, uint64_t c) {
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc == SC_EXEC && (r->ct == CT_HCS || r->ct == CT_CRUN) &&
        (c == 0 || r->c == c) && (r->skipped || r->err != 0)) {
      return r;
    }
  }
  return NULL;
}

static void exec_not_measured(target_t *x, const result_t *m) {
  x->status = m->skipped ? "SKIPPED" : "NOT RUN";
  snprintf(x->measured, sizeof(x->measured), "%s: %s", m->name, m->note);
}

/* exec, at every concurrency run: hcs's rate >= 20x crun exec's, and its
 * median latency <= 1/20 of crun exec's. */
static size_t eval_exec_targets(const report_t *rp, target_t *t, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < rp->n && n + 2 <= max; i++) {
    const result_t *h = &rp->res[i];
    if (h->sc != SC_EXEC || h->ct != CT_HCS || h->skipped) {
      continue;
    }
    const result_t *c = find(rp, SC_EXEC, h->c, CT_CRUN);
    const result_t *m = exec_missing(rp, h->c);
    for (int k = 0; k < 2; k++) {
      target_t *x = &t[n++];
      memset(x, 0, sizeof(*x));
      snprintf(x->name, sizeof(x->name), "exec %s C=%llu",
               k == 0 ? "rate" : "p50", (unsigned long long)h->c);
      snprintf(x->goal, sizeof(x->goal), "%s",
               k == 0 ? ">= 20x crun exec" : "<= 0.05x crun exec");
      target_ratio(x, h, c, k == 0 ? 20 : 0.05, k == 0,
                   k == 0 ? "rate" : "p50");
      if (m != NULL) {
        exec_not_measured(x, m);
      }
    }
  }
  if (n == 0 && max > 0) {
    const result_t *m = exec_missing(rp, 0);
    target_t *x = &t[n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "exec vs crun exec");
    snprintf(x->goal, sizeof(x->goal), ">= 20x rate, <= 0.05x p50");
    x->status = "NOT RUN";
    snprintf(x->measured, sizeof(x->measured), "cell not run");
    if (m != NULL) {
      exec_not_measured(x, m);
    }
  }
  return n;
}

/* gateway, C=1 and C=16: hcsd's rate >= 30x dockerd's, its p50 <= 1/30
 * of dockerd's. A dockerd that was skipped says why. */
static size_t eval_gateway_targets(const report_t *rp, target_t *t) {
  static const uint64_t cs[] = {1, 16};
  size_t n = 0;
  for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
    const result_t *h = find(rp, SC_GATEWAY, cs[i], CT_HCSD);
    const result_t *d = find(rp, SC_GATEWAY, cs[i], CT_DOCKERD);
    const result_t *skip = NULL;
    for (size_t j = 0; j < rp->n && d == NULL; j++) {
      const result_t *r = &rp->res[j];
      if (r->sc == SC_GATEWAY && r->c == cs[i] && r->ct == CT_DOCKERD) {
        skip = r;
      }
    }
    for (int k = 0; k < 2; k++) {
      target_t *x = &t[n++];
      memset(x, 0, sizeof(*x));
      snprintf(x->name, sizeof(x->name), "gateway %s C=%llu",
               k == 0 ? "rate" : "p50", (unsigned long long)cs[i]);
      snprintf(x->goal, sizeof(x->goal), "%s",
               k == 0 ? "hcsd >= 30x dockerd" : "hcsd <= 0.033x dockerd");
      target_ratio(x, h, d, k == 0 ? 30 : 1.0 / 30, k == 0,
                   k == 0 ? "rate" : "p50");
      if (skip != NULL && skip->skipped) {
        x->status = "SKIPPED";
        snprintf(x->measured, sizeof(x->measured), "dockerd: %s", skip->note);
      }
    }
  }
  /* Every core: hcs in-process with its engine loops (one per CPU)
   * against one loop, where the machine has more than one CPU. */
  target_t *x = &t[n++];
  memset(x, 0, sizeof(*x));
  snprintf(x->name, sizeof(x->name), "gateway loops C=16");
  snprintf(x->goal, sizeof(x->goal), "hcs >= 1.7x one loop");
  target_ratio(x, find(rp, SC_GATEWAY, 16, CT_HCS),
               find(rp, SC_GATEWAY, 16, CT_HCS1), 1.7, true, "rate");
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) < 2) {
    x->status = "SKIPPED";
    snprintf(x->measured, sizeof(x->measured), "one CPU: one loop either way");
  }
  return n;
}

/* load: hcsd's MB/s >= 2x dockerd's. A dockerd that was skipped says
 * why. */
static size_t eval_load_target(const report_t *rp, target_t *t) {
  const result_t *h = NULL, *d = NULL, *skip = NULL;
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc != SC_LOAD) {
      continue;
    }
    h = r->ct == CT_HCSD && !r->skipped ? r : h;
    d = r->ct == CT_DOCKERD && !r->skipped ? r : d;
    skip = r->ct == CT_DOCKERD && r->skipped ? r : skip;
  }
  memset(t, 0, sizeof(*t));
  snprintf(t->name, sizeof(t->name), "load %llu MiB",
           (unsigned long long)((h != NULL && h->bytes_per_session > 0
                                     ? h->bytes_per_session
                                     : 256ull << 20) >>
                                20));
  snprintf(t->goal, sizeof(t->goal), "hcsd >= 2x dockerd");
  target_ratio(t, h, d, 2, true, "rate");
  if (skip != NULL) {
    t->status = "SKIPPED";
    snprintf(t->measured, sizeof(t->measured), "dockerd: %s", skip->note);
  } else if (h != NULL && d != NULL && h->err == 0 && d->err == 0) {
    snprintf(t->measured, sizeof(t->measured), "hcsd %.0f vs dockerd %.0f MB/s",
             figure(h) * 1e3, figure(d) * 1e3);
  }
  return 1;
}

/* runtime (issue 18), through one dockerd: hcs-runc's p50 against
 * runc's (docker exec and docker run --rm: <= 0.8x) and crun's (docker
 * exec: below). A runtime skipped or failed says why. */
static size_t eval_runtime_targets(const report_t *rp, target_t *t) {
  static const struct {
    scenario_t sc;
    contender_t base;
    double goal;
    bool below; /* strictly below goal */
    const char *name, *goal_text;
  } spec[] = {
      {SC_RTEXEC, CT_RUNC, 0.8, false, "runtime exec p50 runc",
       "hcs-runc <= 0.8x runc"},
      {SC_RTEXEC, CT_CRUN, 1, true, "runtime exec p50 crun", "hcs-runc < crun"},
      {SC_RTRUN, CT_RUNC, 0.8, false, "runtime run p50 runc",
       "hcs-runc <= 0.8x runc"},
  };
  for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
    target_t *x = &t[i];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "%s", spec[i].name);
    snprintf(x->goal, sizeof(x->goal), "%s", spec[i].goal_text);
    const result_t *h = NULL, *b = NULL, *missing = NULL;
    for (size_t j = 0; j < rp->n; j++) {
      const result_t *r = &rp->res[j];
      if (r->sc != (int)spec[i].sc ||
          (r->ct != CT_HCS && r->ct != (int)spec[i].base)) {
        continue;
      }
      if (r->skipped || r->err != 0) {
        missing = missing != NULL ? missing : r;
      } else if (r->ct == CT_HCS) {
        h = r;
      } else {
        b = r;
      }
    }
    target_ratio(x, h, b, spec[i].goal, false, "p50");
    if (spec[i].below && x->ratio >= spec[i].goal &&
        strcmp(x->status, "PASS") == 0) {
      x->status = "MISS";
    }
    if (missing != NULL) {
      exec_not_measured(x, missing);
    }
  }
  return sizeof(spec) / sizeof(spec[0]);
}

static size_t eval_targets(const report_t *rp, target_t *t) {
  size_t n = 0;
  static const struct {
    scenario_t sc;
    uint64_t c;
    contender_t base;
    double goal;
    bool at_least;
    const char *what;
    const char *name;
    const char *goal_text;
    contender_t who; /* whose figure races the base: hcs unless named */
  } spec[] = {
      {SC_SPAWN, 1, CT_LIMIT, 0.9, true, "rate", "spawn C=1", ">= 0.9x limit",
       CT_HCS},
      {SC_SPAWN, 64, CT_LIMIT, 0.8, true, "rate", "spawn C=64", ">= 0.8x limit",
       CT_HCS},
      {SC_SPAWN, 1024, CT_UV, 3, true, "rate", "spawn C=1024", ">= 3x libuv",
       CT_HCS},
      {SC_SPAWN, 4096, CT_UV, 3, true, "rate", "spawn C=4096", ">= 3x libuv",
       CT_HCS},
      {SC_BULK, 1, CT_LIMIT, 0.9, true, "rate", "bulk 1 stream",
       ">= 0.9x limit", CT_HCS},
      {SC_BULK, 64, CT_LIMIT, 0.9, true, "rate", "bulk 64 streams",
       ">= 0.9x limit", CT_HCS},
      {SC_BULK, 1, CT_UV, 0.9, true, "rate", "bulk 1 vs libuv", ">= 0.9x libuv",
       CT_HCS},
      {SC_BULK, 1, CT_UV_PIPE, 0.9, true, "rate", "bulk 1 vs libuv pipe",
       ">= 0.9x libuv-pipe", CT_HCS},
      {SC_BULK, 1, CT_UV, 1.0, true, "rate", "bulk 1 socket",
       "hcs-sock >= 1x libuv", CT_HCS_SOCK},
      {SC_ECHO, 1, CT_LIMIT, 0.9, true, "rate", "echo C=1", ">= 0.9x limit",
       CT_HCS},
      {SC_ECHO, 1024, CT_UV, 1.5, false, "p99", "echo p99 C=1024",
       "<= 1.5x libuv", CT_HCS},
      {SC_GWSTREAM, 8, CT_HCS, 0.8, true, "rate", "gateway-stream 8",
       "hcsd >= 0.8x hcs", CT_HCSD},
  };
  for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
    target_t *x = &t[n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "%s", spec[i].name);
    snprintf(x->goal, sizeof(x->goal), "%s", spec[i].goal_text);
    target_ratio(x, find(rp, spec[i].sc, spec[i].c, spec[i].who),
                 find(rp, spec[i].sc, spec[i].c, spec[i].base), spec[i].goal,
                 spec[i].at_least, spec[i].what);
  }
  /* idle: an absolute budget, and below libuv. */
  const result_t *h = NULL, *u = NULL;
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc == SC_IDLE && r->ct == CT_HCS && !r->skipped) {
      h = r;
    } else if (r->sc == SC_IDLE && r->ct == CT_UV && !r->skipped) {
      u = r;
    }
  }
  target_t *x = &t[n++];
  memset(x, 0, sizeof(*x));
  snprintf(x->name, sizeof(x->name), "idle memory N=%llu",
           h != NULL ? (unsigned long long)h->n : 10000ull);
  snprintf(x->goal, sizeof(x->goal), "<= 4096 B/session");
  if (h == NULL || h->err != 0) {
    x->status = "NOT RUN";
    snprintf(x->measured, sizeof(x->measured), "cell not run");
  } else {
    x->ratio = h->mem_per_session / 4096.0;
    x->status = h->mem_per_session <= 4096 && row_ok(h) ? "PASS" : "MISS";
    snprintf(x->measured, sizeof(x->measured), "hcs %.0f B/session",
             h->mem_per_session);
  }
  x = &t[n++];
  memset(x, 0, sizeof(*x));
  snprintf(x->name, sizeof(x->name), "idle memory vs libuv");
  snprintf(x->goal, sizeof(x->goal), "< 1x libuv");
  if (h == NULL || u == NULL || h->err != 0 || u->err != 0 ||
      u->mem_per_session <= 0) {
    x->status = "NOT RUN";
    snprintf(x->measured, sizeof(x->measured), "cell not run");
  } else {
    x->ratio = h->mem_per_session / u->mem_per_session;
    x->status = x->ratio < 1 && row_ok(h) && row_ok(u) ? "PASS" : "MISS";
    snprintf(x->measured, sizeof(x->measured), "hcs %.0f vs libuv %.0f B",
             h->mem_per_session, u->mem_per_session);
  }
  n += eval_exec_targets(rp, &t[n], MAX_TARGETS - 9 - n);
  n += eval_gateway_targets(rp, &t[n]);
  n += eval_load_target(rp, &t[n]);
  return n + eval_runtime_targets(rp, &t[n]);
}

void report_targets(const report_t *rp) {
  target_t t[MAX_TARGETS];
  size_t n = eval_targets(rp, t);
  printf("\ntargets (ratio = hcs over the baseline, within this run)\n");
  printf("%-22s %-26s %7s  %-8s %s\n", "target", "goal", "ratio", "status",
         "measured");
  for (size_t i = 0; i < n; i++) {
    char ratio[16] = "-";
    if (t[i].ratio > 0) {
      snprintf(ratio, sizeof(ratio), "%.2f", t[i].ratio);
    }
    printf("%-22s %-26s %7s  %-8s %s\n", t[i].name, t[i].goal, ratio,
           t[i].status, t[i].measured);
  }
  fflush(stdout);
}

static json_t *result_json(const result_t *r) {
  json_t *o = json_object();
  json_object_set_new(o, "scenario", json_string(bench_sc_name(r->sc)));
  json_object_set_new(o, "contender", json_string(r->name));
  json_object_set_new(o, "skipped", json_boolean(r->skipped));
  json_object_set_new(o, "note", json_string(r->note));
  if (r->skipped) {
    return o;
  }
  json_object_set_new(
      o, "error", r->err != 0 ? json_string(strerror(-r->err)) : json_null());
  json_object_set_new(o, "concurrency", json_integer((json_int_t)r->c));
  json_object_set_new(o, "requested", json_integer((json_int_t)r->n));
  json_object_set_new(o, "completed", json_integer((json_int_t)r->completed));
  json_object_set_new(o, "failed", json_integer((json_int_t)r->failed));
  json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
  json_object_set_new(o, "bytes_expected",
                      json_integer((json_int_t)r->bytes_expected));
  json_object_set_new(o, "units", json_integer((json_int_t)r->units));
  json_object_set_new(o, "unit",
                      json_string(r->sc == SC_ECHO ? "round trip"
                                  : r->sc == SC_EXEC || r->sc == SC_GATEWAY ||
                                          r->sc == SC_GWSTREAM
                                      ? "exec"
                                  : r->sc == SC_LOAD ? "load"
                                                     : "session"));
  json_object_set_new(o, "rounds", json_integer(r->rounds));
  json_object_set_new(o, "figure_min", json_real(r->fig_min));
  json_object_set_new(o, "figure_max", json_real(r->fig_max));
  json_object_set_new(o, "wall_s", json_real(r->wall_s));
  json_object_set_new(o, "rate_per_s", json_real(r->rate));
  json_object_set_new(o, "gb_per_s", json_real(r->gbps));
  json_object_set_new(o, "p50_us", json_real(r->p50_us));
  json_object_set_new(o, "p99_us", json_real(r->p99_us));
  json_object_set_new(o, "cpu_us_per_session", json_real(r->cpu_us));
  json_object_set_new(o, "host_cpu_us_per_session", json_real(r->cpu_self_us));
  if (r->sc == SC_ECHO) {
    json_object_set_new(o, "msgs_per_session", json_integer(r->msgs));
    json_object_set_new(o, "msg_bytes", json_integer(r->msg_len));
  }
  if (r->sc == SC_BULK || r->sc == SC_PTY || r->sc == SC_GATEWAY ||
      r->sc == SC_GWSTREAM || r->sc == SC_LOAD) {
    json_object_set_new(o, "bytes_per_session",
                        json_integer((json_int_t)r->bytes_per_session));
  }
  if (r->sc == SC_PTY) {
    json_object_set_new(o, "resizes", json_integer((json_int_t)r->resizes));
  }
  if (r->sc == SC_IDLE) {
    json_object_set_new(o, "rss_bytes_per_session",
                        json_real(r->mem_per_session));
    json_object_set_new(o, "pool_bytes_per_session",
                        json_real(r->pool_per_session));
    json_object_set_new(o, "fds_per_session", json_real(r->fds_per_session));
  }
  return o;
}

int report_json(const report_t *rp, const char *path) {
  machine_t m;
  machine_get(&m);
  json_t *root = json_object();
  json_t *mach = json_object();
  json_object_set_new(mach, "nproc", json_integer(m.nproc));
  json_object_set_new(mach, "cpu", json_string(m.cpu));
  json_object_set_new(mach, "kernel", json_string(m.kernel));
  json_object_set_new(root, "tool", json_string("hcs-bench"));
  json_object_set_new(root, "mode", json_string(rp->mode));
  json_object_set_new(root, "command", json_string(rp->command));
  json_object_set_new(root, "rounds", json_integer(rp->rounds));
  json_object_set_new(root, "pick", json_string(rp->pick));
  json_object_set_new(root, "ballast_mib",
                      json_integer((json_int_t)rp->ballast_mib));
  json_object_set_new(root, "machine", mach);
  json_t *scs = json_array();
  for (int sc = 0; sc < SC_COUNT; sc++) {
    for (size_t i = 0; i < rp->n; i++) {
      if (rp->res[i].sc == sc) {
        json_array_append_new(scs, json_string(bench_sc_name(sc)));
        break;
      }
    }
  }
  json_object_set_new(root, "scenarios", scs);
  json_t *arr = json_array();
  for (size_t i = 0; i < rp->n; i++) {
    json_array_append_new(arr, result_json(&rp->res[i]));
  }
  json_object_set_new(root, "results", arr);
  target_t t[MAX_TARGETS];
  size_t nt = eval_targets(rp, t);
  json_t *tj = json_array();
  for (size_t i = 0; i < nt; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "target", json_string(t[i].name));
    json_object_set_new(o, "goal", json_string(t[i].goal));
    json_object_set_new(o, "measured", json_string(t[i].measured));
    json_object_set_new(o, "ratio",
                        t[i].ratio > 0 ? json_real(t[i].ratio) : json_null());
    json_object_set_new(o, "status", json_string(t[i].status));
    json_array_append_new(tj, o);
  }
  json_object_set_new(root, "targets", tj);
  int r = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (r != 0 && errno == 0) {
    errno = EIO;
  }
  return r;
}

/* SVG: one panel per scenario with a rate, x the concurrency (evenly
 * spaced, labelled), y from zero; idle as bars of bytes per session. */
typedef struct panel_s {
  scenario_t sc;
  const char *ylabel;
} panel_t;

static const char *const colour[CT_COUNT] = {
    "#d62728", "#1f77b4", "#555555", "#2ca02c", "#9467bd", "#ff7f0e",
    "#8c564b", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#aec7e8"};

static double nice_max(double v) {
  if (v <= 0) {
    return 1;
  }
  double p = pow(10, floor(log10(v)));
  double steps[] = {1, 2, 2.5, 5, 10};
  for (size_t i = 0; i < 5; i++) {
    if (steps[i] * p >= v) {
      return steps[i] * p;
    }
  }
  return 10 * p;
}

static void tick_str(char *buf, size_t size, double v) {
  if (v >= 1e6) {
    snprintf(buf, size, "%gM", v / 1e6);
  } else if (v >= 1e4) {
    snprintf(buf, size, "%gk", v / 1e3);
  } else {
    snprintf(buf, size, "%g", v);
  }
}

/* Text inside the SVG: the command line may hold any character. */
static void xml_puts(FILE *f, const char *s) {
  for (; *s != '\0'; s++) {
    switch (*s) {
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '&':
      fputs("&amp;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*s, f);
    }
  }
}

static size_t panel_xs(const report_t *rp, scenario_t sc, uint64_t *xs) {
  size_t n = 0;
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    if (r->sc != (int)sc || r->skipped) {
      continue;
    }
    size_t j = 0;
    while (j < n && xs[j] != r->c) {
      j++;
    }
    if (j == n && n < MAX_XS) {
      xs[n++] = r->c;
    }
  }
  for (size_t i = 1; i < n; i++) {
    for (size_t j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
      uint64_t t = xs[j];
      xs[j] = xs[j - 1];
      xs[j - 1] = t;
    }
  }
  return n;
}

static void svg_panel(FILE *f, const report_t *rp, const panel_t *p, double ox,
                      double oy) {
  const double w = 380, h = 220, l = 70, top = 30;
  uint64_t xs[MAX_XS];
  size_t nx = panel_xs(rp, p->sc, xs);
  double ymax = 0;
  for (size_t i = 0; i < rp->n; i++) {
    const result_t *r = &rp->res[i];
    double top_of = r->fig_max > figure(r) ? r->fig_max : figure(r);
    if (r->sc == (int)p->sc && !r->skipped && r->err == 0 && top_of > ymax) {
      ymax = top_of;
    }
  }
  ymax = nice_max(ymax * 1.05);
  fprintf(f, "<g transform=\"translate(%.0f,%.0f)\">\n", ox, oy);
  fprintf(f,
          "<text x=\"%.0f\" y=\"18\" font-weight=\"bold\">%s</text>\n"
          "<text x=\"12\" y=\"%.0f\" transform=\"rotate(-90 12 %.0f)\" "
          "text-anchor=\"middle\">%s</text>\n",
          l, bench_sc_name(p->sc), top + h / 2, top + h / 2, p->ylabel);
  fprintf(f,
          "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"none\" stroke=\"#999\"/>\n",
          l, top, w, h);
  for (int k = 0; k <= 4; k++) {
    double y = top + h - h * k / 4;
    char tick[32];
    tick_str(tick, sizeof(tick), ymax * k / 4);
    fprintf(f,
            "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#eee\"/><text x=\"%.0f\" y=\"%.1f\" "
            "text-anchor=\"end\">%s</text>\n",
            l, l + w, y, y, l - 4, y + 4, tick);
  }
  double step = nx > 0 ? w / (double)nx : w;
  for (size_t i = 0; i < nx; i++) {
    fprintf(
        f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%llu</text>\n",
        l + step * ((double)i + 0.5), top + h + 16, (unsigned long long)xs[i]);
  }
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
          l + w / 2, top + h + 32,
          p->sc == SC_IDLE ? "sessions"
                           : (p->sc == SC_BULK ? "streams" : "concurrency"));
  for (int ct = 0; ct < CT_COUNT; ct++) {
    char pts[2048] = "";
    size_t off = 0;
    for (size_t i = 0; i < nx; i++) {
      const result_t *r = find(rp, p->sc, xs[i], (contender_t)ct);
      if (r == NULL || r->err != 0) {
        continue;
      }
      double x = l + step * ((double)i + 0.5);
      double y = top + h - h * figure(r) / ymax;
      if (p->sc == SC_IDLE) {
        double bw = step / 5;
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"%s\"/>\n",
                x + bw * (ct - 1.5), y, bw, top + h - y, colour[ct]);
        continue;
      }
      if (r->rounds > 1 && r->fig_max > r->fig_min) {
        /* The range over the rounds: how far this machine's noise went. */
        fprintf(f,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"1\" opacity=\"0.6\"/>\n",
                x + (ct - 1) * 3.0, x + (ct - 1) * 3.0,
                top + h - h * r->fig_min / ymax,
                top + h - h * r->fig_max / ymax, colour[ct]);
      }
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x,
              y, colour[ct]);
      if (off < sizeof(pts) - 32) {
        off +=
            (size_t)snprintf(pts + off, sizeof(pts) - off, "%.1f,%.1f ", x, y);
      }
    }
    if (off > 0) {
      fprintf(f,
              "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
              "stroke-width=\"2\"%s/>\n",
              pts, colour[ct],
              ct == CT_LIMIT ? " stroke-dasharray=\"5,3\"" : "");
    }
  }
  fprintf(f, "</g>\n");
}

int report_svg(const report_t *rp, const char *path) {
  static const panel_t panels[] = {{SC_SPAWN, "sessions/s"},
                                   {SC_ECHO, "round trips/s"},
                                   {SC_BULK, "GB/s"},
                                   {SC_PTY, "sessions/s"},
                                   {SC_IDLE, "RSS bytes/session"},
                                   {SC_EXEC, "execs/s"},
                                   {SC_GATEWAY, "execs/s"},
                                   {SC_GWSTREAM, "GB/s"}};
  enum { NPANELS = sizeof(panels) / sizeof(panels[0]) };
  size_t np = 0;
  const panel_t *use[NPANELS];
  for (size_t i = 0; i < NPANELS; i++) {
    uint64_t xs[MAX_XS];
    if (panel_xs(rp, panels[i].sc, xs) > 0) {
      use[np++] = &panels[i];
    }
  }
  FILE *f = fopen(path, "we");
  if (f == NULL) {
    return -1;
  }
  const double pw = 470, ph = 290;
  double width = 2 * pw + 20;
  double height = 86 + ph * (double)((np + 1) / 2);
  machine_t m;
  machine_get(&m);
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"10\" y=\"20\" font-size=\"14\">",
          width, height);
  xml_puts(f, rp->command);
  fprintf(f, "</text>\n<text x=\"10\" y=\"38\">%ld cores, ", m.nproc);
  xml_puts(f, m.cpu);
  fprintf(f, ", Linux ");
  xml_puts(f, m.kernel);
  fprintf(f, "; dots: the %s of %u rounds, bars: their range</text>\n",
          rp->pick, rp->rounds);
  int shown = 0;
  for (int ct = 0; ct < CT_COUNT; ct++) {
    bool ran = false;
    for (size_t i = 0; i < rp->n && !ran; i++) {
      ran = rp->res[i].ct == ct && !rp->res[i].skipped;
    }
    if (!ran) {
      continue;
    }
    fprintf(f,
            "<rect x=\"%d\" y=\"48\" width=\"12\" height=\"12\" "
            "fill=\"%s\"/><text x=\"%d\" y=\"59\">%s</text>\n",
            10 + shown * 90, colour[ct], 26 + shown * 90,
            bench_ct_name((contender_t)ct));
    shown++;
  }
  for (size_t i = 0; i < np; i++) {
    svg_panel(f, rp, use[i], 10 + pw * (double)(i % 2),
              72 + ph * (double)(i / 2));
  }
  fprintf(f, "</svg>\n");
  return fclose(f) == 0 ? 0 : -1;
}
