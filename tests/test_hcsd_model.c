/* SPDX-License-Identifier: MIT */
/* hcsd's Docker model (src/hcsd/model/model.h) driven without a socket:
 * a daemon model on a scratch state dir over an hcs service whose loop
 * the test runs (no_thread), real containers from the built-in busybox
 * image, output caught through the model's listener ops.
 *
 * The model is called on the engine thread, as the HTTP adapter calls
 * it: each call is posted to the loop and the test runs the loop until
 * the call, and its callback when it returned HCSD_PENDING, are done.
 *
 * Each test runs in a network namespace of its own, made before the hcs
 * service starts, so nothing here touches the host's network. */
#include "hcsd/model/model.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <hcs-async.h>
#include <hcs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
  char dir[64];
  char hcs_dir[96];
  char state_dir[96];
  hcs_t *hcs;
  as_loop_t *loop;
  hcsd_t d;
  bool opened;
  /* A follower of a container's log (see wait_ready). */
  struct {
    char buf[4096];
    size_t len;
    bool ended;
  } follow;
} t;

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("containers need root (namespaces, mounts, cgroups)");
  }
  if (unshare(CLONE_NEWNET) != 0) {
    cr_skip_test("unshare(CLONE_NEWNET): %s: the tests never touch the "
                 "host's network",
                 strerror(errno));
  }
  memset(&t, 0, sizeof(t));
  strcpy(t.dir, "/tmp/hcsd-model-XXXXXX");
  cr_assert_not_null(mkdtemp(t.dir), "mkdtemp: %s", strerror(errno));
  snprintf(t.hcs_dir, sizeof(t.hcs_dir), "%s/hcs", t.dir);
  snprintf(t.state_dir, sizeof(t.state_dir), "%s/state", t.dir);
  hcs_options_t o = {
      .size = sizeof(o), .state_dir = t.hcs_dir, .no_thread = true};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&t.hcs, &o, &err), HCS_OK, "hcs_open: %s",
               err != NULL ? hcs_error_message(err) : "");
  t.loop = hcs_engine_loop(t.hcs);
  /* The loop waits for the test's posts between calls; see run(). */
  as_loop_keepalive(t.loop, 1);
  hcsd_options_t ho = {
      .state_dir = t.state_dir, .gid = -1, .log_max = 1u << 20};
  t.opened = true;
  cr_assert_eq(hcsd_open_stores(&t.d, t.hcs, &ho), 0);
}

static void teardown(void) {
  if (t.opened) {
    hcsd_free(&t.d);
  }
  if (t.hcs != NULL) {
    as_loop_keepalive(t.loop, 0);
    hcs_close(t.hcs);
  }
  if (t.dir[0] != '\0') {
    nftw(t.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  }
}

TestSuite(hcsd_model, .init = setup, .fini = teardown, .timeout = 120);

/* ---- a model call on the engine thread ---- */

typedef struct call_s call_t;
struct call_s {
  void (*fn)(call_t *c); /* makes the call */
  /* What it is called with. */
  const char *ref;
  const char *arg;
  bool flag;
  int num;
  void *in;
  /* Its answer: rc, and e when it is -1. */
  int rc;
  hcsd_err_t e;
  /* The end: status 0 on success (a pending call's callback, or e). */
  bool done;
  int status;
  char msg[512];
  /* What it gave. */
  char id[65];
  int code;
  char *text;
  json_t *json;
  hcsd_logs_t logs;
  char out[4096];
  size_t out_len;
};

static void ended(call_t *c) {
  c->done = true;
  as_loop_stop(t.loop);
}

static void call_tramp(as_loop_t *loop, void *data) {
  call_t *c = data;
  (void)loop;
  c->fn(c);
  if (c->rc == HCSD_PENDING) {
    /* Never inside the call. */
    cr_assert_not(c->done, "a pending call's callback ran inside it");
    return;
  }
  /* A call that answered at once has no callback to come. */
  cr_assert_not(c->done, "the callback of a call that returned %d ran", c->rc);
  c->status = c->rc == 0 ? 0 : c->e.status;
  snprintf(c->msg, sizeof(c->msg), "%s", c->rc == 0 ? "" : c->e.msg);
  ended(c);
}

/* Makes fn's call on the engine thread and runs the loop until it has
 * ended; the suite's timeout is the watchdog. */
static call_t run(void (*fn)(call_t *c), call_t c) {
  c.fn = fn;
  cr_assert_eq(as_loop_post(t.loop, call_tramp, &c), 0);
  while (!c.done) {
    as_loop_run(t.loop, 0);
  }
  return c;
}

static void done_cb(const hcsd_err_t *e, void *data) {
  call_t *c = data;
  c->status = e != NULL ? e->status : 0;
  snprintf(c->msg, sizeof(c->msg), "%s", e != NULL ? e->msg : "");
  ended(c);
}

static void created_cb(const char *id, const hcsd_err_t *e, void *data) {
  call_t *c = data;
  snprintf(c->id, sizeof(c->id), "%s", id != NULL ? id : "");
  done_cb(e, data);
}

static void waited_cb(int code, void *data) {
  call_t *c = data;
  c->code = code;
  ended(c);
}

static void json_cb(const char *json, const hcsd_err_t *e, void *data) {
  call_t *c = data;
  c->text = json != NULL ? strdup(json) : NULL;
  done_cb(e, data);
}

static void net_cb(int status, const char *reply, void *data) {
  call_t *c = data;
  c->status = status;
  c->text = reply != NULL ? strdup(reply) : NULL;
  ended(c);
}

/* Output caught through the listener ops, into out[0..*len) of n. */
static void out_add(char *out, size_t *len, size_t n, const char *buf,
                    size_t blen) {
  size_t room = n - 1 - *len;
  size_t k = blen < room ? blen : room;
  memcpy(out + *len, buf, k);
  *len += k;
  out[*len] = '\0';
}

static void out_data(int stream, const char *buf, size_t len, hcsd_hold_t *hold,
                     void *data) {
  call_t *c = data;
  (void)stream;
  (void)hold; /* copied: no need to keep it */
  out_add(c->out, &c->out_len, sizeof(c->out), buf, len);
}

static void out_end(void *data) { ended(data); }

static const hcsd_out_ops_t out_ops = {out_data, out_end, NULL};

/* ---- the calls ---- */

static void do_create(call_t *c) {
  c->rc = hcsd_ctr_create(&t.d, c->in, c->ref, created_cb, c, &c->e);
}

static void do_start(call_t *c) {
  c->rc = hcsd_ctr_start(&t.d, c->ref, done_cb, c, &c->e);
}

static void do_stop(call_t *c) {
  c->rc = hcsd_ctr_stop(&t.d, c->ref, c->arg, c->num, done_cb, c, &c->e);
}

static void do_kill(call_t *c) {
  c->rc = hcsd_ctr_kill(&t.d, c->ref, c->arg, done_cb, c, &c->e);
}

static void do_remove(call_t *c) {
  c->rc = hcsd_ctr_remove(&t.d, c->ref, c->flag, done_cb, c, &c->e);
}

static void do_wait(call_t *c) {
  hcsd_wait_t *w = NULL;
  c->rc =
      hcsd_ctr_wait(&t.d, c->ref, c->arg, waited_cb, c, &w, &c->code, &c->e);
}

static void do_inspect(call_t *c) {
  c->json = hcsd_ctr_inspect(&t.d, c->ref, &c->e);
  c->rc = c->json != NULL ? 0 : -1;
}

static void do_list(call_t *c) {
  hcsd_ctr_list_opts_t o = {.all = c->flag};
  c->json = hcsd_ctr_list(&t.d, &o, &c->e);
  c->rc = c->json != NULL ? 0 : -1;
}

static void do_logs(call_t *c) {
  c->rc = hcsd_ctr_logs(&t.d, c->ref, c->in, &out_ops, c, &c->logs, &c->e);
}

static void do_resize(call_t *c) {
  c->rc = hcsd_ctr_resize(&t.d, c->ref, c->num, c->num, &c->e);
}

static void do_exec_create(call_t *c) {
  c->rc = hcsd_exec_create(&t.d, c->ref, c->in, c->id, &c->e);
}

/* Starts exec ref and listens to it until its end. */
static void do_exec_run(call_t *c) {
  hcsd_exec_start_opts_t so = {0};
  hcsd_exec_t *x = NULL;
  bool attached = false, tty = true;
  c->rc = hcsd_exec_start(&t.d, c->ref, &so, &x, &attached, &tty, &c->e);
  if (c->rc == 0) {
    cr_assert(attached);
    cr_assert_not(tty);
    hcsd_exec_listen(x, &out_ops, c);
    c->rc = HCSD_PENDING;
  }
}

static void do_exec_inspect(call_t *c) {
  c->json = hcsd_exec_inspect(&t.d, c->ref, &c->e);
  c->rc = c->json != NULL ? 0 : -1;
}

static void do_img_list(call_t *c) {
  c->rc = hcsd_img_list(&t.d, NULL, json_cb, c, &c->e);
}

static void do_img_inspect(call_t *c) {
  c->rc = hcsd_img_inspect(&t.d, c->ref, json_cb, c, &c->e);
}

static void do_net(call_t *c) {
  c->rc = hcsd_net_call(&t.d, (hcsd_net_op_t)c->num, c->arg, net_cb, c, &c->e);
}

/* A log follower's output, kept in t since it outlives the call that
 * registers it; the loop stops at each piece, so that the test can look. */
static void follow_data(int stream, const char *buf, size_t len,
                        hcsd_hold_t *hold, void *data) {
  (void)data;
  (void)stream;
  (void)hold;
  out_add(t.follow.buf, &t.follow.len, sizeof(t.follow.buf), buf, len);
  as_loop_stop(t.loop);
}

static void follow_end(void *data) {
  (void)data;
  t.follow.ended = true;
  as_loop_stop(t.loop);
}

static const hcsd_out_ops_t follow_ops = {follow_data, follow_end, NULL};

static void do_follow(call_t *c) {
  hcsd_logs_opts_t o = {.streams = 3, .tail = -1, .follow = true};
  memset(&t.follow, 0, sizeof(t.follow));
  c->rc = hcsd_ctr_logs(&t.d, c->ref, &o, &follow_ops, NULL, &c->logs, &c->e);
}

static void do_unfollow(call_t *c) {
  hcsd_follow_cancel(c->in);
  c->rc = 0;
}

/* ---- helpers ---- */

/* Creates name (NULL: one is made up) with cmd: its id. */
static call_t create(const char *name, const char *cmd) {
  char body[512];
  snprintf(body, sizeof(body),
           "{\"Image\":\"busybox\",\"Cmd\":%s,"
           "\"HostConfig\":{\"NetworkMode\":\"none\"}}",
           cmd);
  hcsd_ctr_spec_t spec;
  hcsd_err_t e;
  cr_assert_eq(hcsd_ctr_spec_decode(body, strlen(body), &spec, &e), 0, "%s",
               e.msg);
  call_t c = run(do_create, (call_t){.ref = name, .in = &spec});
  hcsd_ctr_spec_clear(&spec);
  return c;
}

static void create_ok(const char *name, const char *cmd, char id[65]) {
  call_t c = create(name, cmd);
  cr_assert_eq(c.rc, HCSD_PENDING, "%d %s", c.status, c.msg);
  cr_assert_eq(c.status, 0, "%d %s", c.status, c.msg);
  cr_assert_eq(strlen(c.id), 64);
  memcpy(id, c.id, 65);
}

static void ok(call_t c) {
  cr_assert_eq(c.status, 0, "%d %s", c.status, c.msg);
  cr_assert_eq(c.rc, HCSD_PENDING);
}

static void refused(call_t c, int status, const char *msg) {
  cr_assert_eq(c.rc, -1, "rc %d status %d", c.rc, c.status);
  cr_assert_eq(c.status, status, "%d %s", c.status, c.msg);
  if (msg != NULL) {
    cr_assert_str_eq(c.msg, msg);
  }
}

/* The exit code once it is not running. */
static int wait_exit(const char *id) {
  call_t c = run(do_wait, (call_t){.ref = id});
  cr_assert_geq(c.rc, 0, "%d %s", c.status, c.msg);
  return c.code;
}

static json_t *inspect(const char *id) {
  call_t c = run(do_inspect, (call_t){.ref = id});
  cr_assert_not_null(c.json, "%d %s", c.status, c.msg);
  return c.json;
}

static const char *state_str(json_t *o, const char *key) {
  const char *s =
      json_string_value(json_object_get(json_object_get(o, "State"), key));
  cr_assert_not_null(s, "no State.%s", key);
  return s;
}

static size_t list_size(bool all) {
  call_t c = run(do_list, (call_t){.flag = all});
  size_t n = json_array_size(c.json);
  json_decref(c.json);
  return n;
}

/* ---- tests ---- */

Test(hcsd_model, create_start_wait_inspect_remove) {
  char id[65];
  create_ok("m1", "[\"sh\",\"-c\",\"echo hi; echo oops >&2; exit 3\"]", id);
  json_t *o = inspect("m1");
  cr_assert_str_eq(state_str(o, "Status"), "created");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Name")), "/m1");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Id")), id);
  json_decref(o);

  ok(run(do_start, (call_t){.ref = id}));
  cr_assert_eq(wait_exit(id), 3);
  o = inspect(id);
  cr_assert_str_eq(state_str(o, "Status"), "exited");
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(o, "State"), "ExitCode")),
               3);
  json_decref(o);
  /* Not running: nothing to stop, no signal to send. */
  refused(run(do_stop, (call_t){.ref = id}), 304, "container already stopped");
  cr_assert_eq(run(do_kill, (call_t){.ref = id}).status, 409);

  /* The stored log, framed: stdout alone, then both in order. */
  hcsd_logs_opts_t lo = {.streams = 1, .tail = -1};
  call_t l = run(do_logs, (call_t){.ref = id, .in = &lo});
  cr_assert_eq(l.rc, 0, "%s", l.msg);
  cr_assert_null(l.logs.follow);
  cr_assert_not(l.logs.tty);
  cr_assert_eq(l.logs.len, 8 + 3);
  cr_assert_eq(l.logs.buf[0], 1);
  cr_assert_eq(memcmp(l.logs.buf + 8, "hi\n", 3), 0);
  free(l.logs.buf);
  lo.streams = 3;
  l = run(do_logs, (call_t){.ref = id, .in = &lo});
  cr_assert_eq(l.logs.len, 8 + 3 + 8 + 5);
  cr_assert_eq(l.logs.buf[11], 2);
  cr_assert_eq(memcmp(l.logs.buf + 19, "oops\n", 5), 0);
  free(l.logs.buf);
  lo.streams = 0;
  refused(run(do_logs, (call_t){.ref = id, .in = &lo}), 400, NULL);

  /* Listed with all, not without. */
  cr_assert_eq(list_size(true), 1);
  cr_assert_eq(list_size(false), 0);

  ok(run(do_remove, (call_t){.ref = id}));
  char want[128];
  snprintf(want, sizeof(want), "No such container: %s", id);
  refused(run(do_inspect, (call_t){.ref = id}), 404, want);
  cr_assert_eq(list_size(true), 0);
}

Test(hcsd_model, unknown_ids_are_404) {
  const char *no = "no-such-thing";
  const char *want = "No such container: no-such-thing";
  refused(run(do_start, (call_t){.ref = no}), 404, want);
  refused(run(do_stop, (call_t){.ref = no}), 404, want);
  refused(run(do_kill, (call_t){.ref = no}), 404, want);
  refused(run(do_remove, (call_t){.ref = no, .flag = true}), 404, want);
  refused(run(do_wait, (call_t){.ref = no}), 404, want);
  refused(run(do_inspect, (call_t){.ref = no}), 404, want);
  refused(run(do_resize, (call_t){.ref = no, .num = 10}), 404, want);
  hcsd_logs_opts_t lo = {.streams = 1, .tail = -1};
  refused(run(do_logs, (call_t){.ref = no, .in = &lo}), 404, want);
  const char *xwant = "No such exec instance: no-such-thing";
  refused(run(do_exec_run, (call_t){.ref = no}), 404, xwant);
  refused(run(do_exec_inspect, (call_t){.ref = no}), 404, xwant);

  /* An image that is not there: the create's callback says so. */
  const char *body = "{\"Image\":\"nosuch\",\"Cmd\":[\"true\"]}";
  hcsd_ctr_spec_t spec;
  hcsd_err_t e;
  cr_assert_eq(hcsd_ctr_spec_decode(body, strlen(body), &spec, &e), 0);
  call_t c = run(do_create, (call_t){.in = &spec});
  hcsd_ctr_spec_clear(&spec);
  cr_assert_eq(c.rc, HCSD_PENDING);
  cr_assert_eq(c.status, 404, "%d %s", c.status, c.msg);
  cr_assert_not_null(strstr(c.msg, "No such image: nosuch"), "%s", c.msg);
  cr_assert_eq(list_size(true), 0);
}

Test(hcsd_model, bad_bodies_are_400) {
  static const struct {
    const char *body, *msg;
  } bad[] = {
      {"{", "invalid JSON in the request body"},
      {"[]", NULL},
      {"{\"Cmd\":[\"true\"]}", "config: Image is required"},
      {"{\"Image\":7}", "json: cannot unmarshal"},
      {"{\"Image\":\"busybox\",\"Tty\":\"yes\"}", "json: cannot unmarshal"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hcsd_ctr_spec_t spec;
    hcsd_err_t e = {0};
    cr_assert_eq(
        hcsd_ctr_spec_decode(bad[i].body, strlen(bad[i].body), &spec, &e), -1,
        "%s was taken", bad[i].body);
    cr_assert_eq(e.status, 400, "%s: %d", bad[i].body, e.status);
    cr_assert(bad[i].msg == NULL || strstr(e.msg, bad[i].msg) != NULL, "%s: %s",
              bad[i].body, e.msg);
  }
  hcsd_exec_spec_t x;
  hcsd_err_t e = {0};
  const char *none = "{\"Cmd\":[]}";
  cr_assert_eq(hcsd_exec_spec_decode(none, strlen(none), &x, &e), -1);
  cr_assert_eq(e.status, 400);
  cr_assert_str_eq(e.msg, "No exec command specified");
  cr_assert_eq(hcsd_exec_spec_decode("{", 1, &x, &e), -1);
  cr_assert_eq(e.status, 400);
}

Test(hcsd_model, name_conflict_is_409) {
  char id[65];
  create_ok("twin", "[\"true\"]", id);
  call_t c = create("twin", "[\"true\"]");
  refused(c, 409, NULL);
  cr_assert_not_null(strstr(c.msg, "is already in use by container"), "%s",
                     c.msg);
  cr_assert_not_null(strstr(c.msg, id), "%s", c.msg);
  refused(create("bad name!", "[\"true\"]"), 400, NULL);
  cr_assert_eq(list_size(true), 1);
  ok(run(do_remove, (call_t){.ref = "/twin"}));
}

/* A main process that ignores SIGTERM (sleep inherits that) and says so
 * once it does. */
#define DEAF_SLEEPER "[\"sh\",\"-c\",\"trap '' TERM; echo ready; sleep 60\"]"

/* Waits until the running id has written "ready" (stored or followed). */
static void wait_ready(const char *id) {
  call_t c = run(do_follow, (call_t){.ref = id});
  cr_assert_eq(c.rc, 0, "%d %s", c.status, c.msg);
  out_add(t.follow.buf, &t.follow.len, sizeof(t.follow.buf), c.logs.buf,
          c.logs.len);
  free(c.logs.buf);
  while (memmem(t.follow.buf, t.follow.len, "ready\n", 6) == NULL &&
         !t.follow.ended) {
    as_loop_run(t.loop, 0);
  }
  cr_assert_not(t.follow.ended, "it ended before it was ready");
  run(do_unfollow, (call_t){.in = c.logs.follow});
}

Test(hcsd_model, running_container_exec_kill_remove) {
  char id[65];
  create_ok("sleeper", DEAF_SLEEPER, id);
  ok(run(do_start, (call_t){.ref = id}));
  wait_ready(id);
  refused(run(do_start, (call_t){.ref = id}), 304, "container already started");
  cr_assert_eq(list_size(false), 1);

  /* Bad signal, remove without force, bad size: refused, nothing
   * changed. */
  refused(run(do_kill, (call_t){.ref = id, .arg = "NOPE"}), 400,
          "Invalid signal: NOPE");
  refused(run(do_remove, (call_t){.ref = id}), 409, NULL);
  refused(run(do_resize, (call_t){.ref = id, .num = 70000}), 400, NULL);
  json_t *o = inspect(id);
  cr_assert_str_eq(state_str(o, "Status"), "running");
  json_decref(o);

  /* An exec, its output through the listener. */
  const char *body = "{\"Cmd\":[\"sh\",\"-c\",\"echo from-exec; exit 4\"],"
                     "\"AttachStdout\":true,\"AttachStderr\":true}";
  hcsd_exec_spec_t spec;
  hcsd_err_t e;
  cr_assert_eq(hcsd_exec_spec_decode(body, strlen(body), &spec, &e), 0, "%s",
               e.msg);
  call_t x = run(do_exec_create, (call_t){.ref = "sleeper", .in = &spec});
  hcsd_exec_spec_clear(&spec);
  cr_assert_eq(x.rc, 0, "%s", x.msg);
  call_t out = run(do_exec_run, (call_t){.ref = x.id});
  cr_assert_eq(out.rc, HCSD_PENDING, "%d %s", out.status, out.msg);
  cr_assert_str_eq(out.out, "from-exec\n");
  call_t xi = run(do_exec_inspect, (call_t){.ref = x.id});
  cr_assert_not_null(xi.json, "%s", xi.msg);
  cr_assert_eq(json_integer_value(json_object_get(xi.json, "ExitCode")), 4);
  cr_assert(json_is_false(json_object_get(xi.json, "Running")));
  json_decref(xi.json);
  refused(run(do_exec_run, (call_t){.ref = x.id}), 409, NULL);

  /* A signal that is not KILL is sent and answered at once: one it
   * ignores leaves it running. */
  cr_assert_eq(run(do_kill, (call_t){.ref = id, .arg = "SIGTERM"}).rc, 0);
  o = inspect(id);
  cr_assert_str_eq(state_str(o, "Status"), "running");
  json_decref(o);

  /* Forced: killed, then gone with its execs. */
  ok(run(do_remove, (call_t){.ref = id, .flag = true}));
  refused(run(do_inspect, (call_t){.ref = "sleeper"}), 404, NULL);
  refused(run(do_exec_inspect, (call_t){.ref = x.id}), 404, NULL);
}

Test(hcsd_model, stop_kill_and_exec_into_stopped) {
  char id[65];
  create_ok(NULL, DEAF_SLEEPER, id);
  /* Not running yet: no exec. */
  const char *body = "{\"Cmd\":[\"true\"]}";
  hcsd_exec_spec_t spec;
  hcsd_err_t e;
  cr_assert_eq(hcsd_exec_spec_decode(body, strlen(body), &spec, &e), 0);
  refused(run(do_exec_create, (call_t){.ref = id, .in = &spec}), 409, NULL);

  ok(run(do_start, (call_t){.ref = id}));
  wait_ready(id);
  /* SIGTERM is ignored: KILL after 1 s. */
  ok(run(do_stop, (call_t){.ref = id, .num = 1}));
  json_t *o = inspect(id);
  cr_assert_str_eq(state_str(o, "Status"), "exited");
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(o, "State"), "ExitCode")),
               137);
  json_decref(o);

  ok(run(do_start, (call_t){.ref = id}));
  ok(run(do_kill, (call_t){.ref = id, .arg = "KILL"}));
  cr_assert_eq(wait_exit(id), 137);
  refused(run(do_exec_create, (call_t){.ref = id, .in = &spec}), 409, NULL);
  hcsd_exec_spec_clear(&spec);
  ok(run(do_remove, (call_t){.ref = id}));
}

Test(hcsd_model, images_list_and_inspect) {
  call_t c = run(do_img_list, (call_t){0});
  ok(c);
  json_t *a = json_loads(c.text, 0, NULL);
  free(c.text);
  cr_assert(json_is_array(a));
  cr_assert_geq(json_array_size(a), 1);
  const char *id =
      json_string_value(json_object_get(json_array_get(a, 0), "Id"));
  cr_assert_not_null(id);
  cr_assert_eq(strncmp(id, "sha256:", 7), 0);

  c = run(do_img_inspect, (call_t){.ref = "busybox"});
  ok(c);
  json_t *o = json_loads(c.text, 0, NULL);
  free(c.text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Id")), id);
  json_decref(o);
  json_decref(a);

  c = run(do_img_inspect, (call_t){.ref = "no-such-image"});
  cr_assert_eq(c.rc, HCSD_PENDING);
  cr_assert_eq(c.status, 404);
  cr_assert_str_eq(c.msg, "No such image: no-such-image");
  cr_assert_null(c.text);
}

/* A network call's status and its reply as JSON (NULL without one). */
static int net(hcsd_net_op_t op, const char *arg, json_t **reply) {
  call_t c = run(do_net, (call_t){.num = (int)op, .arg = arg});
  cr_assert_eq(c.rc, HCSD_PENDING, "%d %s", c.status, c.msg);
  *reply = c.text != NULL ? json_loads(c.text, 0, NULL) : NULL;
  cr_assert(c.text == NULL || *reply != NULL, "not JSON: %s", c.text);
  free(c.text);
  return c.status;
}

static bool net_listed(const char *name) {
  json_t *a;
  cr_assert_eq(net(HCSD_NET_LIST, NULL, &a), 200);
  bool found = false;
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    const char *n = json_string_value(json_object_get(v, "Name"));
    found = found || (n != NULL && strcmp(n, name) == 0);
  }
  json_decref(a);
  return found;
}

Test(hcsd_model, networks_create_list_remove) {
  json_t *r;
  cr_assert_eq(net(HCSD_NET_CREATE, "{\"Name\":\"mnet\"}", &r), 201);
  const char *id = json_string_value(json_object_get(r, "Id"));
  cr_assert_not_null(id);
  cr_assert_eq(strlen(id), 64);
  char nid[65];
  snprintf(nid, sizeof(nid), "%s", id);
  json_decref(r);
  cr_assert(net_listed("mnet"));

  cr_assert_eq(net(HCSD_NET_INSPECT, "mnet", &r), 200);
  cr_assert_str_eq(json_string_value(json_object_get(r, "Id")), nid);
  json_decref(r);

  /* Refusals: a name in use, a body that is not JSON. */
  cr_assert_eq(net(HCSD_NET_CREATE, "{\"Name\":\"mnet\"}", &r), 409);
  cr_assert_not_null(json_string_value(json_object_get(r, "message")));
  json_decref(r);
  cr_assert_eq(net(HCSD_NET_CREATE, "{", &r), 400);
  json_decref(r);

  cr_assert_eq(net(HCSD_NET_REMOVE, nid, &r), 204);
  cr_assert_null(r);
  cr_assert_not(net_listed("mnet"));
  cr_assert_eq(net(HCSD_NET_INSPECT, "mnet", &r), 404);
  json_decref(r);
  cr_assert_eq(net(HCSD_NET_REMOVE, "mnet", &r), 404);
  json_decref(r);
}
