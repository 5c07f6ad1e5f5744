/* SPDX-License-Identifier: MIT */
/* The load contenders: `docker load` of an image the bench makes
 * (load_img.c: the busybox layer and above it a layer of w->bytes of
 * incompressible data), POST /images/load through hcsd's, dockerd's or
 * podman's socket, one at a time, timed from the connect to the end of
 * the daemon's answer, which must say the image loaded.
 *
 * A daemon's k-th load is the run's k-th archive: each has a big layer
 * of its own (its own salt), so no daemon ever finds a layer of it
 * already there, nothing needs removing between rounds (hcsd has no
 * DELETE /images), and every daemon loads the same bytes. An archive is
 * written once, by the first daemon to need it, before its clock starts,
 * and the CPU that takes is left out of the run's. Before its first timed
 * load a daemon is given the base alone, untimed, so that each timed load
 * brings exactly one new layer. */
#include "gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct lctx_s {
  run_t *r;
  gw_env_t *g;
  contender_t ct;
  gw_target_t t;
  const char *base;
  char why[200];
} lctx_t;

static double self_cpu(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) {
    return 0;
  }
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void archive_path(const gw_env_t *g, uint64_t k, char *out,
                         size_t size) {
  snprintf(out, size, "%s/load-%llu.tar", g->ld.dir, (unsigned long long)k);
}

/* The base alone, once per daemon, untimed. */
static int warm(lctx_t *x) {
  gw_env_t *g = x->g;
  if (g->ld.warm[x->ct]) {
    return 0;
  }
  char path[96];
  snprintf(path, sizeof(path), "%s/base.tar", g->ld.dir);
  load_img_t img;
  const char *why = NULL;
  int err =
      load_img_write(path, x->base, 0, 0, "hcs-bench-base:latest", &img, &why);
  if (err != 0) {
    snprintf(x->why, sizeof(x->why), "%s: %s", why, strerror(-err));
  } else {
    err = load_img_post(x->t.sock, x->t.api, path, x->why, sizeof(x->why));
  }
  (void)unlink(path);
  g->ld.warm[x->ct] = err == 0;
  return err;
}

/* The archives this run's loads need that are not made yet. */
static int make_upto(lctx_t *x, uint64_t last) {
  gw_env_t *g = x->g;
  const work_t *w = x->r->w;
  if (last >= GW_LOAD_MAX || (g->ld.made > 0 && g->ld.bytes != w->bytes)) {
    snprintf(x->why, sizeof(x->why),
             "more than %d loads, or two sizes, in one run", GW_LOAD_MAX);
    return -E2BIG;
  }
  for (uint64_t k = g->ld.made; k <= last; k++) {
    char path[96], tag[64];
    archive_path(g, k, path, sizeof(path));
    snprintf(tag, sizeof(tag), "hcs-bench-load:%d-%llu", (int)getpid(),
             (unsigned long long)k);
    load_img_t img;
    const char *why = NULL;
    int err =
        load_img_write(path, x->base, w->bytes,
                       (uint64_t)getpid() << 32 | (k + 1), tag, &img, &why);
    if (err != 0) {
      (void)unlink(path);
      snprintf(x->why, sizeof(x->why), "%s: %s", why, strerror(-err));
      return err;
    }
    g->ld.size[k] = img.size;
    g->ld.bytes = w->bytes;
    g->ld.made = k + 1;
  }
  return 0;
}

static int prepare(lctx_t *x) {
  gw_env_t *g = x->g;
  const char *why = NULL;
  int err = gw_base_tar(g, &x->base, &why);
  if (err != 0) {
    snprintf(x->why, sizeof(x->why), "%s", why);
    return err;
  }
  if (g->ld.dir[0] == '\0') {
    snprintf(g->ld.dir, sizeof(g->ld.dir), "/tmp/hcs-bench-load-XXXXXX");
    if (mkdtemp(g->ld.dir) == NULL) {
      g->ld.dir[0] = '\0';
      snprintf(x->why, sizeof(x->why), "mkdtemp: %s", strerror(errno));
      return -EIO;
    }
  }
  err = warm(x);
  if (err != 0) {
    char said[sizeof(x->why)];
    memcpy(said, x->why, sizeof(said));
    snprintf(x->why, sizeof(x->why), "the base image: %.180s", said);
    return err;
  }
  return make_upto(x, g->ld.used[x->ct] + x->r->w->n - 1);
}

static void load_all(lctx_t *x) {
  run_t *r = x->r;
  gw_env_t *g = x->g;
  for (uint64_t i = 0; i < r->w->n && gw_env_interrupted() == 0; i++) {
    uint64_t k = g->ld.used[x->ct]++;
    char path[96];
    archive_path(g, k, path, sizeof(path));
    sess_t s;
    work_begin(r, &s);
    double cpu0 = gw_env_cpu(x->t.pid);
    int err = load_img_post(x->t.sock, x->t.api, path, x->why, sizeof(x->why));
    r->cpu_other += gw_env_cpu(x->t.pid) - cpu0;
    r->res->bytes_expected += g->ld.size[k];
    if (err == 0) {
      uint16_t rows, cols;
      (void)work_data(r, &s, (size_t)g->ld.size[k], &rows, &cols);
    } else if (r->res->err == 0) {
      r->res->err = err;
      snprintf(r->res->note, sizeof(r->res->note), "%.159s", x->why);
    }
    work_end(r, &s, err == 0 ? 0 : 1);
    if (err != 0) {
      break;
    }
  }
}

int drv_load_run(run_t *r, contender_t ct) {
  gw_env_t *g = r->w->gw;
  if (g == NULL || !g->up[ct]) {
    run_fail(r, -ENODEV, "the daemon is not running");
    return r->res->err;
  }
  lctx_t x = {.r = r, .g = g, .ct = ct, .t = gw_env_target(g, ct)};
  double cpu0 = self_cpu();
  int err = prepare(&x);
  /* The archives' making is not the run's CPU. */
  r->cpu0_self += self_cpu() - cpu0;
  if (err != 0) {
    r->res->err = err;
    snprintf(r->res->note, sizeof(r->res->note), "%.159s", x.why);
    return err;
  }
  load_all(&x);
  return r->res->err;
}

void drv_load_close(gw_env_t *g) {
  if (g->ld.dir[0] != '\0') {
    bench_rmtree(g->ld.dir);
    g->ld.dir[0] = '\0';
  }
}
