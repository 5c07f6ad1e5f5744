/* SPDX-License-Identifier: MIT */
/* hcs demo: a batch of sessions on one loop, each echoing its number,
 * with a short report. A first look at the engine; hcs-bench measures. */
#include "cli.h"

#include <hcs-async.h>
#include <hcs.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct demo_s {
  hcs_t *hcs;
  int total, started, done, in_flight, concurrency;
  size_t bytes;
  int failures;
  char **argv;
} demo_t;

static void start_more(demo_t *d);

static void on_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  demo_t *d = data;
  (void)s;
  (void)stream;
  (void)buf;
  d->bytes += len;
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *r,
                    void *data) {
  demo_t *d = data;
  if (r->exit_code != 0) {
    d->failures++;
  }
  d->done++;
  d->in_flight--;
  hcs_session_unref(s);
  start_more(d);
}

static void start_more(demo_t *d) {
  while (d->started < d->total && d->in_flight < d->concurrency) {
    char num[16];
    snprintf(num, sizeof(num), "%d", d->started);
    const char *argv[] = {"sh", "-c", "echo session $0", num, NULL};
    hcs_session_options_t o;
    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.use_stdout = true;
    o.cb.data = on_data;
    o.cb.done = on_done;
    o.data = d;
    hcs_session_t *s;
    if (hcs_session_start(d->hcs, &o, &s) != 0) {
      d->failures++;
      d->done++;
    } else {
      d->in_flight++;
    }
    d->started++;
  }
}

static void demo_usage(FILE *f) {
  fprintf(f, "usage: hcs demo [SESSIONS [CONCURRENCY]]\n"
             "Starts SESSIONS (default 2000) host processes, CONCURRENCY "
             "(default 64)\nat a time, on one loop, and reports.\n");
}

/* Returns 0, 1 after --help, or -1 after printing the mistake. */
static int demo_parse(int argc, char **argv, demo_t *d) {
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
  int c;
  optind = 0;
  while ((c = cli_getopt(argc, argv, "hcs demo", "h", longs)) != -1) {
    if (c == 'h') {
      demo_usage(stdout);
      return 1;
    }
    demo_usage(stderr);
    return -1;
  }
  if (argc - optind > 2) {
    fprintf(stderr, "hcs demo: too many arguments\n");
    demo_usage(stderr);
    return -1;
  }
  if (optind < argc && cli_parse_int("hcs demo", "SESSIONS", argv[optind], 1,
                                     INT_MAX, &d->total) != 0) {
    return -1;
  }
  if (optind + 1 < argc &&
      cli_parse_int("hcs demo", "CONCURRENCY", argv[optind + 1], 1, INT_MAX,
                    &d->concurrency) != 0) {
    return -1;
  }
  return 0;
}

int cli_demo(int argc, char **argv) {
  demo_t d = {.total = 2000, .concurrency = 64};
  int r = demo_parse(argc, argv, &d);
  if (r != 0) {
    return r > 0 ? CLI_OK : CLI_USAGE;
  }
  hcs_options_t ho = {.no_thread = true};
  hcs_error_t *err = NULL;
  if (hcs_open(&d.hcs, &ho, &err) != HCS_OK) {
    fprintf(stderr, "hcs demo: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  start_more(&d);
  as_loop_run(hcs_engine_loop(d.hcs), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  hcs_stats_t st;
  hcs_stats(d.hcs, &st);
  printf("%-12s %10s %12s %10s %12s %14s\n", "sessions", "concurrent",
         "sessions/s", "failures", "bytes out", "buf high-water");
  printf("%-12d %10d %12.0f %10d %12zu %14zu\n", d.done, d.concurrency,
         d.done / secs, d.failures, d.bytes, st.buf_high_water);
  hcs_close(d.hcs);
  return d.failures == 0 ? 0 : 1;
}
