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
 * A runtime whose container does not start when the environment opens is
 * skipped with the daemon's answer as the reason (crun refuses hybrid
 * cgroup hierarchies); hcs-runc's failure is an error, not a skip. */
#include "gateway.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { STOP_MS = 30000, RESP_MAX = 4096, WHY_MAX = 200 };

#define RT_API GW_DOCKERD_API
#define RT_IMAGE GW_DOCKERD_IMAGE ":latest"

struct rt_daemon_s {
  /* Lends gw_dockerd_start its base tar and why buffer; g.dk is the
   * dockerd. Nothing else of it is used. */
  gw_env_t g;
  char ctr[CT_COUNT][80]; /* each runtime's running container */
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
  if (err == 0) {
    e->up[ct] = true;
    return;
  }
  e->err[ct] = ct == CT_HCS ? err : 0;
  snprintf(e->note[ct], sizeof(e->note[ct]), "%.150s%s", why,
           ct == CT_HCS ? "" : "; skipped");
}

void rt_env_open(rt_env_t *e, const char *hcs_runc, const bool *want) {
  memset(e, 0, sizeof(*e));
  struct rt_daemon_s *d = calloc(1, sizeof(*d));
  char hcs[PATH_MAX + 8], crun[PATH_MAX], crun_arg[PATH_MAX + 8];
  const char *extra[5] = {NULL};
  size_t k = 0;
  bool have[CT_COUNT] = {false};
  have[CT_RUNC] = true; /* dockerd's default: dockerd fails without it */
  have[CT_HCS] = hcs_runc[0] != '\0' && access(hcs_runc, X_OK) == 0;
  have[CT_CRUN] = gw_find_bin("crun", crun, sizeof(crun));
  if (have[CT_HCS] && want[CT_HCS]) {
    snprintf(hcs, sizeof(hcs), "hcs=%s", hcs_runc);
    extra[k++] = "--add-runtime";
    extra[k++] = hcs;
  }
  if (have[CT_CRUN] && want[CT_CRUN]) {
    snprintf(crun_arg, sizeof(crun_arg), "crun=%s", crun);
    extra[k++] = "--add-runtime";
    extra[k++] = crun_arg;
  }
  const char *why = "out of memory";
  int err = -ENOMEM;
  if (!want[CT_HCS] && !want[CT_RUNC] && !want[CT_CRUN]) {
    free(d); /* no dockerd for none */
    d = NULL;
  }
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
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &d->old_sa[i], NULL);
  }
  free(d);
  e->d = NULL;
  memset(e->up, 0, sizeof(e->up));
  return interrupted;
}
