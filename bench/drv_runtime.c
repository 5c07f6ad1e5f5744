/* SPDX-License-Identifier: MIT */
/* The runtime scenarios (issue 18): one dockerd of the bench's own
 * (gw_dockerd_start: private socket, data root, network namespace, no
 * bridge) started with --add-runtime hcs=<hcs-runc> and crun=<crun>, runc
 * being its default, so that the three OCI runtimes race under the same
 * daemon, containerd, shim and image, and only the runtime differs:
 * - runtime-run: what `docker run --rm busybox true` asks of the Engine
 *   API, one at a time: POST /containers/create with HostConfig.Runtime,
 *   POST .../start, POST .../wait (its StatusCode is the session's exit
 *   code), DELETE /containers/{id}; timed from the create to the
 *   delete's answer.
 * - runtime-exec: what `docker exec` asks, into the runtime's one running
 *   container (`sleep 100000`, made when the environment opens): POST
 *   /containers/{id}/exec of `true` with stdout and stderr attached, POST
 *   /exec/{id}/start attached (dockerd hijacks the connection; its raw
 *   stream read to EOF), GET /exec/{id}/json, which must say the exec ended
 *   and give its exit code.
 * Every request goes through httpc.c's blocking client, a connection each:
 * a unix connect is microseconds, a runtime's create tens of
 * milliseconds. The harness interleaves the runtimes' rounds.
 *
 * crun 1.8.1 refuses a hybrid cgroup layout (v1 controllers and a cgroup2
 * with controllers at /sys/fs/cgroup/unified, as here): there dockerd
 * gets crun as a one-line script whose interpreter, progs/nocg2, runs
 * each of the shim's calls in a mount namespace without the cgroup2
 * hierarchy, where crun makes the v1 cgroups runc makes. That costs crun
 * about a millisecond a call (an exec and an unshare), which its figures
 * include and its rows' note says.
 *
 * A runtime whose container does not start when the environment opens is
 * skipped with the daemon's answer as the reason; hcs-runc's failure is
 * an error, not a skip. */
#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SHEBANG_MAX: the kernel reads a script's #! line from the first 256
 * bytes of the file (BINPRM_BUF_SIZE), its newline included. */
enum { STOP_MS = 30000, RESP_MAX = 4096, WHY_MAX = 200, SHEBANG_MAX = 255 };

#define RT_API GW_DOCKERD_API
#define RT_IMAGE GW_DOCKERD_IMAGE ":latest"

struct rt_daemon_s {
  /* Lends gw_dockerd_start its base tar and why buffer; g.dk is the
   * dockerd. Nothing else of it is used. */
  gw_env_t g;
  char ctr[CT_COUNT][80]; /* each runtime's running container */
  /* crun's script for dockerd on hybrid cgroups, in a directory of its
   * own (dockerd's is made when dockerd starts, after its arguments):
   * both "" when not made. */
  char wrap_dir[40], crun_wrap[48];
  struct sigaction old_sa[3];
};

/* The signal that interrupted the run while the environment was open, or
 * 0. A global because a signal handler sets it. */
static volatile sig_atomic_t interrupted;

static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void on_stop_signal(int sig) { interrupted = sig; }

int rt_env_interrupted(void) { return interrupted; }

static const contender_t runtimes[] = {CT_HCS, CT_RUNC, CT_CRUN};

/* The runtime's name for dockerd: --add-runtime's, or its default. */
static const char *rt_name(contender_t ct) {
  return ct == CT_HCS ? "hcs" : ct == CT_CRUN ? "crun" : "runc";
}

/* One request expecting status want, the answer's body in resp: 0, or a
 * negative errno with why saying what the daemon said (its "message"). */
static int call(const struct rt_daemon_s *d, const char *what,
                const char *method, const char *path, const char *json,
                int want, char *resp, char *why) {
  int code = 0;
  int err = httpc_call(d->g.dk.sock, method, path, json, &code, resp, RESP_MAX);
  if (err != 0) {
    snprintf(why, WHY_MAX, "%s: %s", what, strerror(-err));
    return err;
  }
  if (code == want) {
    return 0;
  }
  json_t *o = json_loads(resp, 0, NULL);
  const char *m = json_string_value(json_object_get(o, "message"));
  snprintf(why, WHY_MAX, "%s: %d %.180s", what, code, m != NULL ? m : resp);
  json_decref(o);
  return -EPROTO;
}

/* The answer's "Id" into id. */
static int answer_id(const char *resp, const char *what, char *id, size_t size,
                     char *why) {
  json_t *o = json_loads(resp, 0, NULL);
  const char *s = json_string_value(json_object_get(o, "Id"));
  bool ok = s != NULL && strlen(s) < size;
  if (ok) {
    snprintf(id, size, "%s", s);
  } else {
    snprintf(why, WHY_MAX, "%s: no Id in the answer", what);
  }
  json_decref(o);
  return ok ? 0 : -EPROTO;
}

/* Creates and starts a container of cmd (a JSON array) with the runtime
 * ct; its id into id. A container that does not start is removed. */
static int start_ctr(const struct rt_daemon_s *d, contender_t ct,
                     const char *cmd, char *id, size_t size, char *why) {
  char body[256], path[192], resp[RESP_MAX];
  snprintf(body, sizeof(body),
           "{\"Image\":\"%s\",\"Cmd\":%s,\"HostConfig\":{\"Runtime\":\"%s\"}}",
           RT_IMAGE, cmd, rt_name(ct));
  int err = call(d, "create", "POST", RT_API "/containers/create", body, 201,
                 resp, why);
  if (err == 0) {
    err = answer_id(resp, "create", id, size, why);
  }
  if (err != 0) {
    id[0] = '\0';
    return err;
  }
  snprintf(path, sizeof(path), "%s/containers/%s/start", RT_API, id);
  err = call(d, "start", "POST", path, NULL, 204, resp, why);
  if (err != 0) {
    char ignored[WHY_MAX];
    snprintf(path, sizeof(path), "%s/containers/%s?force=1", RT_API, id);
    (void)call(d, "delete", "DELETE", path, NULL, 204, resp, ignored);
    id[0] = '\0';
  }
  return err;
}

/* An integer member of the answer (wait's StatusCode, exec json's
 * ExitCode) into *out. */
static int answer_int(const char *resp, const char *key, const char *what,
                      int *out, char *why) {
  /* dockerd answers a wait chunked (its head goes out before the
   * container exits), which httpc.c leaves undecoded: the one object is
   * read from its brace, past the chunk's size line. */
  const char *brace = strchr(resp, '{');
  json_t *o =
      brace != NULL ? json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  json_t *v = json_object_get(o, key);
  bool running = json_is_true(json_object_get(o, "Running"));
  bool ok = json_is_integer(v) && !running;
  if (ok) {
    *out = (int)json_integer_value(v);
  } else {
    snprintf(why, WHY_MAX, "%s: no %s (or still running): %.120s", what, key,
             resp);
  }
  json_decref(o);
  return ok ? 0 : -EPROTO;
}

/* docker run --rm busybox true, as the Engine API sees it. */
static int run_once(const struct rt_daemon_s *d, contender_t ct, int *code,
                    char *why) {
  char id[80], path[192], resp[RESP_MAX];
  int err = start_ctr(d, ct, "[\"true\"]", id, sizeof(id), why);
  if (err != 0) {
    return err;
  }
  snprintf(path, sizeof(path), "%s/containers/%s/wait", RT_API, id);
  err = call(d, "wait", "POST", path, NULL, 200, resp, why);
  if (err == 0) {
    err = answer_int(resp, "StatusCode", "wait", code, why);
  }
  /* A wait that failed leaves the container perhaps running: force. */
  snprintf(path, sizeof(path), "%s/containers/%s%s", RT_API, id,
           err != 0 ? "?force=1" : "");
  char derr_why[WHY_MAX];
  int derr = call(d, "delete", "DELETE", path, NULL, 204, resp, derr_why);
  if (err == 0 && derr != 0) {
    memcpy(why, derr_why, WHY_MAX);
    err = derr;
  }
  return err;
}

/* docker exec <the runtime's container> true. */
static int exec_once(const struct rt_daemon_s *d, contender_t ct, int *code,
                     char *why) {
  char eid[80], path[192], resp[RESP_MAX];
  snprintf(path, sizeof(path), "%s/containers/%s/exec", RT_API, d->ctr[ct]);
  int err = call(d, "exec create", "POST", path,
                 "{\"AttachStdout\":true,\"AttachStderr\":true,"
                 "\"Cmd\":[\"true\"]}",
                 201, resp, why);
  if (err == 0) {
    err = answer_id(resp, "exec create", eid, sizeof(eid), why);
  }
  if (err != 0) {
    return err;
  }
  /* Attached: dockerd hijacks the connection, answers 200 with a raw
   * stream and closes it once the process's output ends. */
  snprintf(path, sizeof(path), "%s/exec/%s/start", RT_API, eid);
  err = call(d, "exec start", "POST", path, "{\"Detach\":false,\"Tty\":false}",
             200, resp, why);
  if (err != 0) {
    return err;
  }
  snprintf(path, sizeof(path), "%s/exec/%s/json", RT_API, eid);
  err = call(d, "exec inspect", "GET", path, NULL, 200, resp, why);
  return err != 0 ? err
                  : answer_int(resp, "ExitCode", "exec inspect", code, why);
}

int drv_runtime_run(run_t *r, contender_t ct) {
  const rt_env_t *e = r->w->rt;
  if (e == NULL || e->d == NULL || !e->up[ct]) {
    run_fail(r, -ENODEV, "the runtime's container is not running");
    return r->res->err;
  }
  /* How the runtime was run, when not as itself (crun through nocg2). */
  snprintf(r->res->note, sizeof(r->res->note), "%s", e->note[ct]);
  for (uint64_t i = 0; i < r->w->n && interrupted == 0; i++) {
    char why[WHY_MAX];
    int code = 0;
    sess_t s;
    work_begin(r, &s);
    int err = r->w->sc == SC_RTRUN ? run_once(e->d, ct, &code, why)
                                   : exec_once(e->d, ct, &code, why);
    if (err != 0 && r->res->err == 0) {
      r->res->err = err;
      snprintf(r->res->note, sizeof(r->res->note), "%.159s", why);
    }
    work_end(r, &s, err == 0 ? code : 1);
    if (err != 0) {
      break;
    }
  }
  return r->res->err;
}

/* The runtime's container for the execs; a runtime that cannot start one
 * is skipped (hcs-runc has an error), its note the daemon's answer. */
static void open_runtime(rt_env_t *e, contender_t ct, bool have) {
  struct rt_daemon_s *d = e->d;
  char why[WHY_MAX];
  if (!have) {
    snprintf(e->note[ct], sizeof(e->note[ct]), "%s",
             ct == CT_HCS ? "no hcs-runc next to hcs-bench (build the "
                            "hcs-runc target); skipped"
                          : "not installed; skipped");
    return;
  }
  int err = start_ctr(d, ct, "[\"sleep\",\"100000\"]", d->ctr[ct],
                      sizeof(d->ctr[ct]), why);
  bool wrapped = ct == CT_CRUN && d->crun_wrap[0] != '\0';
  if (err == 0) {
    e->up[ct] = true;
    if (wrapped) {
      snprintf(e->note[ct], sizeof(e->note[ct]),
               "crun refuses these hybrid cgroups: run through nocg2, each "
               "call in a mount namespace without /sys/fs/cgroup/unified");
    }
    return;
  }
  e->err[ct] = ct == CT_HCS ? err : 0;
  snprintf(e->note[ct], sizeof(e->note[ct]), "%.130s%s", why,
           ct == CT_HCS ? ""
           : wrapped    ? " (through nocg2); skipped"
                        : "; skipped");
}

/* On a host whose cgroups crun refuses, dockerd gets crun as the script
 * "#!<progs>/nocg2 <crun>" (see progs/nocg2.c). Its path into
 * d->crun_wrap; 0, or a negative errno with why. */
static int crun_wrapper(struct rt_daemon_s *d, const char *progs,
                        const char *crun, char *why) {
  char nocg2[PATH_MAX], line[PATH_MAX * 2];
  snprintf(nocg2, sizeof(nocg2), "%s/nocg2", progs);
  if (access(nocg2, X_OK) != 0) {
    int err = -errno;
    snprintf(why, WHY_MAX,
             "crun refuses these hybrid cgroups, and its wrapper %.100s: %s",
             nocg2, strerror(-err));
    return err;
  }
  /* The kernel ends the interpreter's path at the first blank. */
  int len = snprintf(line, sizeof(line), "#!%s %s\n", nocg2, crun);
  if (len > SHEBANG_MAX || strpbrk(nocg2, " \t") != NULL) {
    snprintf(why, WHY_MAX,
             "crun refuses these hybrid cgroups, and \"%.60s %.60s\" does not "
             "fit a #! line",
             nocg2, crun);
    return -ENAMETOOLONG;
  }
  snprintf(d->wrap_dir, sizeof(d->wrap_dir), "/tmp/hcs-bench-rt-XXXXXX");
  if (mkdtemp(d->wrap_dir) == NULL) {
    int err = -errno;
    d->wrap_dir[0] = '\0';
    snprintf(why, WHY_MAX, "mkdtemp /tmp/hcs-bench-rt-XXXXXX: %s",
             strerror(-err));
    return err;
  }
  snprintf(d->crun_wrap, sizeof(d->crun_wrap), "%s/crun", d->wrap_dir);
  int fd = open(d->crun_wrap, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
  int err = fd < 0 ? -errno : 0;
  if (err == 0 &&
      (write(fd, line, (size_t)len) != len || fchmod(fd, 0755) != 0)) {
    err = -EIO;
  }
  if (fd >= 0 && close(fd) != 0 && err == 0) {
    err = -errno;
  }
  if (err != 0) {
    snprintf(why, WHY_MAX, "writing %s: %s", d->crun_wrap, strerror(-err));
  }
  return err;
}

void rt_env_open(rt_env_t *e, const char *hcs_runc, const char *progs,
                 const bool *want) {
  memset(e, 0, sizeof(*e));
  if (!want[CT_HCS] && !want[CT_RUNC] && !want[CT_CRUN]) {
    for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
      snprintf(e->note[runtimes[i]], sizeof(e->note[0]), "not asked for");
    }
    return; /* no dockerd for none */
  }
  struct rt_daemon_s *d = calloc(1, sizeof(*d));
  char hcs[PATH_MAX + 8], crun[PATH_MAX], crun_arg[PATH_MAX + 8];
  char crun_why[WHY_MAX] = "";
  const char *extra[5] = {NULL};
  size_t k = 0;
  bool have[CT_COUNT] = {false};
  have[CT_RUNC] = true; /* dockerd's default: dockerd fails without it */
  have[CT_HCS] = hcs_runc[0] != '\0' && access(hcs_runc, X_OK) == 0;
  have[CT_CRUN] = gw_find_bin("crun", crun, sizeof(crun));
  if (d != NULL && have[CT_HCS] && want[CT_HCS]) {
    snprintf(hcs, sizeof(hcs), "hcs=%s", hcs_runc);
    extra[k++] = "--add-runtime";
    extra[k++] = hcs;
  }
  if (d != NULL && have[CT_CRUN] && want[CT_CRUN]) {
    int werr = bench_crun_refuses_cgroups()
                   ? crun_wrapper(d, progs, crun, crun_why)
                   : 0;
    snprintf(crun_arg, sizeof(crun_arg), "crun=%s",
             d->crun_wrap[0] != '\0' ? d->crun_wrap : crun);
    if (werr == 0) {
      extra[k++] = "--add-runtime";
      extra[k++] = crun_arg;
    }
  }
  const char *why = "out of memory";
  int err = -ENOMEM;
  if (d != NULL) {
    e->d = d;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
      (void)sigaction(stop_sigs[i], &sa, &d->old_sa[i]);
    }
    err = gw_dockerd_start(&d->g, &d->g.dk, extra, &why);
  }
  for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
    contender_t ct = runtimes[i];
    if (!want[ct]) {
      snprintf(e->note[ct], sizeof(e->note[ct]), "not asked for");
    } else if (err != 0 && d != NULL) {
      /* No dockerd: the whole scenario is skipped, with the reason. */
      gw_daemon_note(&d->g, ct, &d->g.dk, why, err);
      memcpy(e->note[ct], d->g.note[ct], sizeof(e->note[ct]));
    } else if (err != 0) {
      snprintf(e->note[ct], sizeof(e->note[ct]), "%s; skipped", why);
    } else if (ct == CT_CRUN && crun_why[0] != '\0') {
      snprintf(e->note[ct], sizeof(e->note[ct]), "%.150s; skipped", crun_why);
    } else {
      open_runtime(e, ct, have[ct]);
    }
  }
}

int rt_env_close(rt_env_t *e) {
  struct rt_daemon_s *d = e->d;
  if (d == NULL) {
    return interrupted;
  }
  for (int ct = 0; ct < CT_COUNT; ct++) {
    if (d->ctr[ct][0] != '\0' && d->g.dk.pid > 0) {
      gw_remove_ctr(d->g.dk.sock, RT_API, d->ctr[ct]);
    }
  }
  gw_daemon_close(&d->g.dk, "dockerd", RT_API, STOP_MS);
  if (d->g.base_tar[0] != '\0') {
    (void)unlink(d->g.base_tar);
  }
  if (d->crun_wrap[0] != '\0') {
    (void)unlink(d->crun_wrap);
  }
  if (d->wrap_dir[0] != '\0') {
    (void)rmdir(d->wrap_dir);
  }
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &d->old_sa[i], NULL);
  }
  free(d);
  e->d = NULL;
  memset(e->up, 0, sizeof(e->up));
  return interrupted;
}
