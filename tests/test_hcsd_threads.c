/* SPDX-License-Identifier: MIT */
/* hcsd --threads (issue 16): attached exec streams go to worker loops,
 * the model stays on loop 0, and nothing a client sees changes.
 *
 * - 40 concurrent `docker exec`s into one container, some of them over
 *   1 MiB out or in, each with its own payload: every output intact and
 *   every exit code right.
 * - A console exec: its ConsoleSize, then an API resize, seen by
 *   `stty size` inside.
 * - A running exec killed: its stream ends and inspect at once says
 *   Running false, ExitCode 137.
 * - A program that is not there, and a User that is not there: the same
 *   output and exit code as with --threads 1.
 * - SIGTERM while execs stream: hcsd exits 0 and leaves no child.
 * - --threads 0 or not a number: refused, naming the flag.
 * - The worker is used: the log names the thread that took the exec, and
 *   that thread's CPU time grows while a big exec streams. */
#include "hcsd_e2e.h"

#include <poll.h>

TestSuite(hcsd_threads, .init = he_setup, .fini = he_teardown, .timeout = 400);

#define NEXECS 40

/* The daemon again, with --threads n and more options (NULL-ended). */
static void restart_threads(const char *n, const char *more) {
  he_daemon_stop();
  memset(he.extra, 0, sizeof(he.extra));
  he.extra[0] = "--threads";
  he.extra[1] = n;
  he.extra[2] = more != NULL ? "--log-level" : NULL;
  he.extra[3] = more;
  he_daemon_start();
}

static void run_ctr(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", name, "busybox", "sleep", "600");
  he_cmd_free(&c);
}

static void rm_ctr(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", name);
  he_cmd_free(&c);
}

Test(hcsd_threads, many_execs_intact) {
  restart_threads("2", NULL);
  run_ctr("t");
  static he_cmd_t cs[NEXECS];
  static char scripts[NEXECS][160];
  static th_buf_t input;
  /* 1.2 MiB of stdin for every tenth exec, which echoes it. */
  he_seq_text(&input, 5000000, 5160000);
  for (int i = 0; i < NEXECS; i++) {
    if (i % 10 == 3) {
      he_cmd_start(&cs[i], HE_ARGV("docker", "exec", "-i", "t", "cat"), input.p,
                   input.len);
      continue;
    }
    /* Every fourth one prints about 1.6 MiB; each its own numbers. */
    long n = i % 4 == 0 ? 200000 : 500;
    snprintf(scripts[i], sizeof(scripts[i]),
             "seq %ld %ld; echo err%d >&2; exit %d", (long)i * 1000000,
             (long)i * 1000000 + n, i, i % 7);
    he_cmd_start(&cs[i], HE_ARGV("docker", "exec", "t", "sh", "-c", scripts[i]),
                 NULL, 0);
  }
  he_cmds_wait(cs, NEXECS, 240000);
  for (int i = 0; i < NEXECS; i++) {
    th_buf_t want = {0};
    char what[64];
    snprintf(what, sizeof(what), "exec %d's stdout", i);
    if (i % 10 == 3) {
      he_expect_code(&cs[i], 0);
      he_expect_same(&cs[i].o, &input, what);
    } else {
      he_expect_code(&cs[i], i % 7);
      long n = i % 4 == 0 ? 200000 : 500;
      he_seq_text(&want, (long)i * 1000000, (long)i * 1000000 + n);
      he_expect_same(&cs[i].o, &want, what);
      char err[16];
      snprintf(err, sizeof(err), "err%d\n", i);
      cr_assert_str_eq(cs[i].e.p, err, "exec %d's stderr", i);
    }
    th_buf_free(&want);
    he_cmd_free(&cs[i]);
  }
  th_buf_free(&input);
  rm_ctr("t");
  he_end();
}

static json_t *exec_inspect(const char *eid) {
  char path[160];
  snprintf(path, sizeof(path), "/v1.50/exec/%s/json", eid);
  he_http_t r;
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *j = he_json(r.body.p);
  he_http_free(&r);
  return j;
}

/* Starts exec eid attached on a fresh connection with body; returns it
 * past the 101. */
static he_conn_t start_attached(const char *eid, const char *body) {
  he_conn_t c = {.fd = he_raw_connect()};
  char req[512];
  snprintf(req, sizeof(req),
           "POST /v1.50/exec/%s/start HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nConnection: Upgrade\r\n"
           "Upgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
           eid, strlen(body), body);
  cr_assert(he_raw_send_str(c.fd, req));
  he_http_t r;
  cr_assert(he_conn_response(&c, &r, true, 30000), "no answer to the start");
  cr_assert_eq(r.status, 101, "%s", r.head.p);
  he_http_free(&r);
  return c;
}

Test(hcsd_threads, console_resize) {
  restart_threads("2", NULL);
  run_ctr("t");
  char eid[80];
  /* Its size first, then, once it changes, the new one. */
  he_exec_create("t",
                 "{\"AttachStdout\":true,\"Tty\":true,\"Cmd\":[\"sh\",\"-c\","
                 "\"s0=$(stty size); echo A=$s0=; i=0; while [ $i -lt 300 ];"
                 " do s=$(stty size); [ \\\"$s\\\" != \\\"$s0\\\" ] && break;"
                 " sleep 0.1; i=$((i+1)); done; echo B=$s=\"]}",
                 eid, sizeof(eid));
  he_conn_t c = start_attached(
      eid, "{\"Detach\":false,\"Tty\":true,\"ConsoleSize\":[24,80]}");
  int64_t deadline = th_now_ms() + 30000;
  cr_assert_geq(he_conn_find(&c, "A=24 80=", deadline), 0, "no first size");
  char path[160];
  snprintf(path, sizeof(path), "/v1.50/exec/%s/resize?h=33&w=77", eid);
  he_http_t r;
  he_request("POST", path, NULL, &r);
  cr_assert_eq(r.status, 200, "resize: %d %s", r.status, r.body.p);
  he_http_free(&r);
  cr_assert_geq(he_conn_find(&c, "B=33 77=", deadline), 0, "no new size");
  cr_assert_eq(he_raw_wait_closed(c.fd, 30000) >= 0, true, "no EOF");
  he_conn_close(&c);
  json_t *j = exec_inspect(eid);
  cr_assert(json_is_false(json_object_get(j, "Running")));
  cr_assert_eq(json_integer_value(json_object_get(j, "ExitCode")), 0);
  json_decref(j);
  rm_ctr("t");
  he_end();
}

Test(hcsd_threads, kill_then_inspect) {
  restart_threads("2", NULL);
  run_ctr("t");
  char eid[80];
  he_exec_create("t",
                 "{\"AttachStdout\":true,\"Cmd\":[\"sh\",\"-c\","
                 "\"echo $$ > /tmp/victim; echo ready; exec sleep 600\"]}",
                 eid, sizeof(eid));
  he_conn_t c = start_attached(eid, "{\"Detach\":false,\"Tty\":false}");
  cr_assert_geq(he_conn_find(&c, "ready", th_now_ms() + 30000), 0, "not ready");
  json_t *j = exec_inspect(eid);
  cr_assert(json_is_true(json_object_get(j, "Running")), "not running");
  cr_assert(json_is_null(json_object_get(j, "ExitCode")));
  cr_assert_gt(json_integer_value(json_object_get(j, "Pid")), 0);
  json_decref(j);
  he_cmd_t k;
  he_docker_ok(&k, "exec", "t", "sh", "-c", "kill -9 $(cat /tmp/victim)");
  he_cmd_free(&k);
  /* Right after EOF, the record has the exit. */
  cr_assert_geq(he_raw_wait_closed(c.fd, 30000), 0, "the stream never ended");
  he_conn_close(&c);
  j = exec_inspect(eid);
  cr_assert(json_is_false(json_object_get(j, "Running")));
  cr_assert_eq(json_integer_value(json_object_get(j, "ExitCode")), 137);
  json_decref(j);
  /* Started once: a second start is refused, as on loop 0. */
  char path[160];
  snprintf(path, sizeof(path), "/v1.50/exec/%s/start", eid);
  he_request_fails("POST", path, "{\"Detach\":true}", 409, "already running");
  rm_ctr("t");
  he_end();
}

/* docker exec's code, stdout and stderr for a program and a user that
 * are not in the container. */
static void failures(he_cmd_t *c) {
  he_docker(&c[0], "exec", "t", "no-such-program", "x");
  he_docker(&c[1], "exec", "-u", "nobody-here", "t", "true");
  he_docker(&c[2], "exec", "-w", "/no/such/dir", "t", "true");
}

Test(hcsd_threads, start_failures_as_one_loop) {
  restart_threads("1", NULL);
  run_ctr("t");
  he_cmd_t one[3], two[3];
  failures(one);
  rm_ctr("t");
  restart_threads("2", NULL);
  run_ctr("t");
  failures(two);
  for (int i = 0; i < 3; i++) {
    cr_assert_neq(one[i].code, 0, "`%s` succeeded", one[i].what);
    cr_assert_eq(two[i].code, one[i].code, "`%s`: %d with 2 loops, %d with 1",
                 two[i].what, two[i].code, one[i].code);
    cr_assert_str_eq(two[i].o.p, one[i].o.p, "`%s`'s stdout", two[i].what);
    cr_assert_str_eq(two[i].e.p, one[i].e.p, "`%s`'s stderr", two[i].what);
    he_cmd_free(&one[i]);
    he_cmd_free(&two[i]);
  }
  /* A detached exec stays on loop 0 and runs too. */
  he_cmd_t c;
  he_docker_ok(&c, "exec", "-d", "t", "sh", "-c", "echo d > /tmp/detached");
  he_cmd_free(&c);
  for (int i = 0; i < 100; i++) {
    he_docker(&c, "exec", "t", "cat", "/tmp/detached");
    bool done = c.code == 0;
    if (done) {
      cr_assert_str_eq(c.o.p, "d\n");
    }
    he_cmd_free(&c);
    if (done) {
      break;
    }
    cr_assert_lt(i, 99, "the detached exec never ran");
    (void)poll(NULL, 0, 100);
  }
  rm_ctr("t");
  he_end();
}

Test(hcsd_threads, sigterm_while_streaming) {
  restart_threads("2", NULL);
  run_ctr("t");
  he_cmd_t cs[6];
  for (int i = 0; i < 6; i++) {
    he_cmd_start(&cs[i],
                 HE_ARGV("docker", "exec", "t", "sh", "-c",
                         "echo go; while :; do seq 1 10000; done"),
                 NULL, 0);
  }
  /* Each is streaming. */
  for (int i = 0; i < 6; i++) {
    int64_t deadline = th_now_ms() + 60000;
    while (cs[i].o.len < 100000) {
      cr_assert_lt(th_now_ms(), deadline, "exec %d streams nothing", i);
      char buf[65536];
      struct pollfd pf = {.fd = cs[i].out, .events = POLLIN};
      if (poll(&pf, 1, 1000) == 1) {
        ssize_t n = read(cs[i].out, buf, sizeof(buf));
        cr_assert_gt(n, 0, "exec %d ended early", i);
        th_buf_add(&cs[i].o, buf, (size_t)n);
      }
    }
  }
  he_daemon_stop(); /* SIGTERM: exit 0, socket gone */
  he_cmds_wait(cs, 6, 60000);
  for (int i = 0; i < 6; i++) {
    he_cmd_free(&cs[i]);
  }
  he_end(); /* no child left, no fd, no mount */
}

/* The daemon's log so far (its first MiB). */
static const char *daemon_log(void) {
  static char log[1 << 20];
  int fd = open(he.log, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", he.log, strerror(errno));
  ssize_t n = read(fd, log, sizeof(log) - 1);
  close(fd);
  cr_assert_gt(n, 0, "an empty log");
  log[n] = '\0';
  return log;
}

/* utime + stime of thread tid of hcsd, in clock ticks. */
static long thread_ticks(long tid) {
  char path[96], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/task/%ld/stat", he.pid, tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  cr_assert_gt(n, 0);
  buf[n] = '\0';
  /* Fields after the command's closing parenthesis: 14 and 15 are
   * utime and stime, the 12th and 13th after it. */
  const char *p = strrchr(buf, ')');
  cr_assert_not_null(p);
  long ut = 0, st = 0;
  cr_assert_eq(sscanf(p + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                      &ut, &st),
               2, "%s", buf);
  return ut + st;
}

Test(hcsd_threads, worker_carries_the_stream) {
  restart_threads("2", "debug");
  run_ctr("t");
  he_cmd_t c;
  /* A first exec names the worker's thread. */
  he_docker_ok(&c, "exec", "t", "true");
  he_cmd_free(&c);
  const char *log = daemon_log();
  const char *hit = strstr(log, "moved to worker loop 1 (thread ");
  cr_assert_not_null(hit, "no move in the log:\n%s", log);
  long tid = strtol(hit + strlen("moved to worker loop 1 (thread "), NULL, 10);
  cr_assert(tid > 0 && tid != he.pid, "thread %ld", tid);
  /* The next attached exec goes to the same worker (one worker): 64 MiB
   * through it costs it CPU time (splice's system time at least). */
  long t0 = thread_ticks(tid);
  he_docker(&c, "exec", "t", "sh", "-c", "seq 1 8400000");
  he_expect_code(&c, 0);
  cr_assert_gt(c.o.len, (size_t)60 << 20, "%zu bytes", c.o.len);
  he_cmd_free(&c);
  long t1 = thread_ticks(tid);
  cr_assert_geq(t1 - t0, 3, "the worker thread %ld spent %ld ticks", tid,
                t1 - t0);
  rm_ctr("t");
  he_end();
}

Test(hcsd_threads, bad_values_refused) {
  static const char *const bad[] = {"0", "x", "-1", "2x", "65", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    he_cmd_t c;
    he_run_argv(&c, NULL, 0,
                HE_ARGV(HCSD_BIN, "--threads", bad[i], "--socket",
                        "/nonexistent/never.sock"));
    he_expect_code(&c, 2);
    char want[64];
    snprintf(want, sizeof(want), "bad value for --threads: \"%s\"", bad[i]);
    he_expect_has(c.e.p, want);
    he_cmd_free(&c);
  }
  he_end();
}

/* Without --threads: one loop per CPU hcsd may run on, so that with two
 * or more an attached exec goes to a worker. */
Test(hcsd_threads, default_is_one_loop_per_cpu) {
  he_daemon_stop();
  memset(he.extra, 0, sizeof(he.extra));
  he.extra[0] = "--log-level";
  he.extra[1] = "debug";
  he_daemon_start();
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(he.pid, sizeof(set), &set), 0);
  int cpus = CPU_COUNT(&set);
  run_ctr("t");
  he_cmd_t c;
  he_docker_ok(&c, "exec", "t", "echo", "hi");
  cr_assert_str_eq(c.o.p, "hi\n");
  he_cmd_free(&c);
  const char *log = daemon_log();
  bool moved = strstr(log, "moved to worker loop 1 (thread ") != NULL;
  cr_assert_eq(moved, cpus >= 2, "%d CPUs, moved %d:\n%s", cpus, moved, log);
  rm_ctr("t");
  he_end();
}
