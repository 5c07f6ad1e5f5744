/* SPDX-License-Identifier: MIT */
/* hcsd --threads 2 under hostile and sloppy clients: an attached exec
 * stream lives on a worker loop (http/server.c's hcsd_req_move, the exec
 * copy of model/exec.c), and the rules of loop 0 hold there too.
 *
 * - A client that never reads a fast exec's output (a spliced one and a
 *   console one): hcsd's RSS stays bounded and the process is paced; the
 *   client then gets every byte.
 * - A client that floods the stdin of an exec that reads none: hcsd stops
 *   taking it, its RSS stays bounded.
 * - 50 clients that vanish mid-stream: each exec runs to its end, its
 *   record says so, and hcsd's fd count is back where it was.
 * - `docker rm -f` of the container while 10 execs stream on the worker
 *   (half of their clients reading, half not): every stream ends, the
 *   records are gone with the container, no fd is left.
 * - A resize (100 times) and a container kill (20 times) racing the
 *   exec's own exit: the stream ends, the record has the exit.
 * - SIGTERM with clients that read nothing attached on the worker: hcsd
 *   exits 0 within its stop bound and leaves no child.
 * - 500 short execs whose clients close at random points: hcsd's fd
 *   count and RSS come back near where they started.
 * - Stdin pipelined with the start, and a container removed right
 *   behind the start: the bytes move along; the record goes, no fd stays.
 * - Clients that never read nor close, of execs that end: the worker
 *   lets go of their connections (a worker's has no client timer).
 * - SIGTERM while the worker's thread lags behind (held still by ptrace
 *   until the daemon has freed its model): the worker's last job finds
 *   nothing freed (the ASan build's report fails the daemon's exit).
 *
 * RSS and fd counts are read from /proc, polled with deadlines. In the
 * ASan build the daemon's quarantine is made small, as in
 * test_hcsd_slow.c, so that RSS means the same there. */
#include "hcsd_e2e.h"

#include <poll.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__)
#define AT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AT_ASAN 1
#endif
#endif

/* How much the daemon may grow behind one client that does not read. */
#define AT_RSS_BOUND_KIB (16 * 1024)
/* What hcsd may still hold after hundreds of dropped execs (records,
 * allocator caches). */
#define AT_RSS_DRIFT_KIB (24 * 1024)
/* 256 MiB of zeros: well under a second's work for dd. */
#define AT_DD                                                                  \
  "\"dd\",\"if=/dev/zero\",\"bs=65536\",\"count=4096\",\"status=none\""
#define AT_DD_BYTES (256ull << 20)

static void at_setup(void) {
#ifdef AT_ASAN
  const char *o = getenv("ASAN_OPTIONS");
  char opts[1024];
  snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=8", o != NULL ? o : "",
           o != NULL && o[0] != '\0' ? ":" : "");
  setenv("ASAN_OPTIONS", opts, 1);
#endif
  he_setup();
}

TestSuite(hcsd_threads_attack, .init = at_setup, .fini = he_teardown,
          .timeout = 600);

/* The daemon again, with --threads 2 and the log level. */
static void at_restart(const char *level) {
  he_daemon_stop();
  memset(he.extra, 0, sizeof(he.extra));
  he.extra[0] = "--threads";
  he.extra[1] = "2";
  he.extra[2] = "--log-level";
  he.extra[3] = level;
  he_daemon_start();
}

static void at_run(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", name, "busybox", "sleep", "600");
  he_cmd_free(&c);
}

static void at_rm(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", name);
  he_cmd_free(&c);
}

/* GET /exec/{eid}/json: the record, or NULL with *status when it is not
 * 200. */
static json_t *at_inspect(const char *eid, int *status) {
  char path[160];
  snprintf(path, sizeof(path), "/v1.50/exec/%s/json", eid);
  he_http_t r;
  he_request("GET", path, NULL, &r);
  *status = r.status;
  json_t *j = r.status == 200 ? he_json(r.body.p) : NULL;
  he_http_free(&r);
  return j;
}

/* Waits until exec eid's record says it is not running; its ExitCode. */
static int at_wait_exit(const char *eid, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  for (;;) {
    int st = 0;
    json_t *j = at_inspect(eid, &st);
    cr_assert_eq(st, 200, "exec %s: inspect gave %d", eid, st);
    bool running = json_is_true(json_object_get(j, "Running"));
    json_t *code = json_object_get(j, "ExitCode");
    int rc = json_is_integer(code) ? (int)json_integer_value(code) : -1;
    json_decref(j);
    if (!running) {
      cr_assert_geq(rc, 0, "exec %s ended without an exit code", eid);
      return rc;
    }
    cr_assert_lt(th_now_ms(), deadline,
                 "exec %s still running after %lld ms\ndaemon log:\n%s", eid,
                 (long long)ms, he_log_tail());
    (void)poll(NULL, 0, 50);
  }
}

/* Sends exec eid's attached start on fd. */
static void at_send_start(int fd, const char *eid, bool tty) {
  char body[64], req[512];
  snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}",
           tty ? "true" : "false");
  snprintf(req, sizeof(req),
           "POST /v1.50/exec/%s/start HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nConnection: Upgrade\r\n"
           "Upgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
           eid, strlen(body), body);
  cr_assert(he_raw_send_str(fd, req));
}

/* Exec eid started attached on a new connection (receive buffer rcvbuf
 * when > 0), read past its 101. */
static int at_start(const char *eid, bool tty, int rcvbuf) {
  int fd = he_raw_connect();
  if (rcvbuf > 0) {
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
                 0);
  }
  at_send_start(fd, eid, tty);
  he_read_head(fd, "HTTP/1.1 101");
  return fd;
}

/* Reads at least want bytes of fd's stream within ms; what it read. */
static size_t at_read_some(int fd, size_t want, int64_t ms) {
  static char buf[65536];
  int64_t deadline = th_now_ms() + ms;
  size_t got = 0;
  while (got < want) {
    int64_t left = deadline - th_now_ms();
    cr_assert_gt(left, 0, "%zu of %zu bytes in %lld ms", got, want,
                 (long long)ms);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, (int)left) != 1) {
      continue;
    }
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    cr_assert_gt(k, 0, "the stream ended after %zu bytes", got);
    got += (size_t)k;
  }
  return got;
}

/* Reads fd to its EOF within ms; the bytes read. */
static uint64_t at_read_to_eof(int fd, int64_t ms) {
  static char buf[256 * 1024];
  int64_t deadline = th_now_ms() + ms;
  uint64_t got = 0;
  for (;;) {
    int64_t left = deadline - th_now_ms();
    cr_assert_gt(left, 0, "no EOF after %llu bytes in %lld ms\nlog:\n%s",
                 (unsigned long long)got, (long long)ms, he_log_tail());
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, (int)left) != 1) {
      continue;
    }
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    if (k == 0 || (k < 0 && errno == ECONNRESET)) {
      return got;
    }
    cr_assert_gt(k, 0, "recv: %s", strerror(errno));
    got += (uint64_t)k;
  }
}

/* The daemon's RSS at its highest over ms, sampled every 100 ms. */
static long at_rss_peak(int64_t ms) {
  long peak = he_daemon_rss_kib();
  for (int64_t t = 0; t < ms; t += 100) {
    (void)poll(NULL, 0, 100);
    long r = he_daemon_rss_kib();
    peak = r > peak ? r : peak;
  }
  return peak;
}

/* A client that reads nothing of a fast exec on the worker: hcsd stays
 * within its bound, dd waits in write(); then every byte arrives (with
 * frame headers without a console). */
static void unread_is_paced(bool tty) {
  at_restart("info");
  at_run("t");
  char eid[80];
  he_exec_create(
      "t",
      tty ? "{\"AttachStdout\":true,\"Tty\":true,\"Cmd\":[" AT_DD "]}"
          : "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[" AT_DD "]}",
      eid, sizeof(eid));
  long rss0 = he_daemon_rss_kib();
  int fd = at_start(eid, tty, 4096);
  long peak = at_rss_peak(2000);
  cr_assert_lt(peak - rss0, AT_RSS_BOUND_KIB,
               "hcsd grew from %ld to %ld KiB behind a client that reads "
               "nothing of a worker's exec",
               rss0, peak);
  int st = 0;
  json_t *j = at_inspect(eid, &st);
  cr_assert_eq(st, 200);
  cr_assert(json_is_true(json_object_get(j, "Running")),
            "dd finished though nobody read its output");
  json_decref(j);
  uint64_t got = at_read_to_eof(fd, 180000);
  close(fd);
  /* A frame header per spliced offer or per 32 KiB: a few thousand. */
  uint64_t want = AT_DD_BYTES;
  if (tty) {
    cr_assert_eq(got, want, "%llu bytes of %llu", (unsigned long long)got,
                 (unsigned long long)want);
  } else {
    cr_assert(got > want && got < want + (want / 1000),
              "%llu bytes for %llu of output", (unsigned long long)got,
              (unsigned long long)want);
  }
  cr_assert_eq(at_wait_exit(eid, 30000), 0);
  at_rm("t");
  he_end();
}

Test(hcsd_threads_attack, unread_exec_is_paced) { unread_is_paced(false); }

Test(hcsd_threads_attack, unread_console_exec_is_paced) {
  unread_is_paced(true);
}

/* A client that sends stdin as fast as it can to an exec that reads
 * none: hcsd stops reading it (the client's sends block), its RSS stays
 * bounded. */
Test(hcsd_threads_attack, stdin_flood_is_bounded) {
  at_restart("info");
  at_run("t");
  char eid[80];
  he_exec_create("t",
                 "{\"AttachStdin\":true,\"AttachStdout\":true,\"Cmd\":["
                 "\"sleep\",\"600\"]}",
                 eid, sizeof(eid));
  long rss0 = he_daemon_rss_kib();
  int fd = at_start(eid, false, 0);
  static char chunk[65536];
  memset(chunk, 'x', sizeof(chunk));
  uint64_t sent = 0;
  long peak = rss0;
  int64_t end = th_now_ms() + 3000;
  while (th_now_ms() < end) {
    ssize_t w = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      sent += (uint64_t)w;
      continue;
    }
    cr_assert(w < 0 && (errno == EAGAIN || errno == EINTR), "send: %s",
              strerror(errno));
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    (void)poll(&pf, 1, 100);
    long r = he_daemon_rss_kib();
    peak = r > peak ? r : peak;
  }
  cr_assert_lt(sent, 64ull << 20,
               "hcsd took %llu bytes of stdin for a process that reads none",
               (unsigned long long)sent);
  cr_assert_lt(peak - rss0, AT_RSS_BOUND_KIB,
               "hcsd grew from %ld to %ld KiB under a stdin flood", rss0, peak);
  close(fd);
  at_rm("t");
  he_end();
}

/* The attached starts the daemon's debug log says went to a worker. */
static int at_moves(void) {
  int fd = open(he.log, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", he.log, strerror(errno));
  th_buf_t b = {0};
  char buf[65536];
  ssize_t k;
  while ((k = read(fd, buf, sizeof(buf))) > 0) {
    th_buf_add(&b, buf, (size_t)k);
  }
  close(fd);
  int n = 0;
  for (const char *p = b.p;
       p != NULL && (p = strstr(p, "moved to worker loop ")); p++) {
    n++;
  }
  th_buf_free(&b);
  return n;
}

/* Exec eid of a dd on the worker, started; its client leaves after want
 * bytes (0: at once, having read nothing). */
static void vanish_once(bool tty, size_t want) {
  char eid[80];
  he_exec_create(
      "t",
      tty ? "{\"AttachStdout\":true,\"Tty\":true,\"Cmd\":[\"dd\",\"if=/dev/"
            "zero\",\"bs=65536\",\"count=256\",\"status=none\"]}"
          : "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"dd\","
            "\"if=/dev/zero\",\"bs=65536\",\"count=256\",\"status=none\"]}",
      eid, sizeof(eid));
  int fd = at_start(eid, tty, want == 0 ? 4096 : 0);
  if (want > 0) {
    (void)at_read_some(fd, want, 30000);
  }
  close(fd);
  /* Its output is dropped from here: dd runs to its end. */
  cr_assert_eq(at_wait_exit(eid, 60000), 0, "exec %s", eid);
}

Test(hcsd_threads_attack, vanished_clients_leave_no_fd) {
  at_restart("debug");
  at_run("t");
  vanish_once(false, 65536);
  vanish_once(true, 65536);
  int fds0 = he_daemon_settle_fds(0, 500);
  long rss0 = he_daemon_rss_kib();
  int moves0 = at_moves();
  for (int i = 0; i < 50; i++) {
    vanish_once(i % 2 == 1, i % 3 == 0 ? 0 : 65536);
  }
  cr_assert_eq(at_moves() - moves0, 50, "not every stream went to the worker");
  int fds = he_daemon_settle_fds(fds0, 10000);
  cr_assert_leq(fds, fds0 + 2,
                "hcsd had %d fds before 50 vanished clients, %d after", fds0,
                fds);
  long rss = he_daemon_rss_kib();
  cr_assert_lt(rss - rss0, AT_RSS_DRIFT_KIB,
               "hcsd grew from %ld to %ld KiB over 50 vanished clients", rss0,
               rss);
  at_rm("t");
  he_end();
}

#define AT_RM_EXECS 10

/* One step of command c's I/O (he_cmds_wait's) and of the even streams
 * of fds (read and dropped, closed at their EOF), within 100 ms. */
static void read_step(he_cmd_t *c, int *fds) {
  static char buf[65536];
  struct pollfd p[4 + AT_RM_EXECS];
  int slots[4], cfds[4] = {c->in, c->out, c->err, c->exited ? -1 : c->pidfd};
  short ev[4] = {POLLOUT, POLLIN, POLLIN, POLLIN};
  nfds_t k = 0;
  for (int j = 0; j < 4; j++) {
    slots[j] = -1;
    if (cfds[j] >= 0) {
      slots[j] = (int)k;
      p[k++] = (struct pollfd){.fd = cfds[j], .events = ev[j]};
    }
  }
  nfds_t base = k;
  int who[AT_RM_EXECS];
  for (int i = 0; i < AT_RM_EXECS; i += 2) {
    if (fds[i] >= 0) {
      who[k - base] = i;
      p[k++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    }
  }
  if (poll(p, k, 100) <= 0) {
    return;
  }
  he_cmd_step(c, p, slots);
  for (nfds_t j = base; j < k; j++) {
    int i = who[j - base];
    if ((p[j].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) == 0) {
      close(fds[i]);
      fds[i] = -1;
    }
  }
}

Test(hcsd_threads_attack, rm_f_while_execs_stream) {
  at_restart("info");
  int fds0 = he_daemon_settle_fds(0, 500);
  at_run("t");
  char eids[AT_RM_EXECS][80];
  int fds[AT_RM_EXECS];
  for (int i = 0; i < AT_RM_EXECS; i++) {
    he_exec_create("t",
                   "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":["
                   "\"sh\",\"-c\",\"while :; do seq 1 10000; done\"]}",
                   eids[i], sizeof(eids[i]));
    /* The odd ones read nothing, with a small buffer. */
    fds[i] = at_start(eids[i], i % 4 == 2, i % 2 == 1 ? 4096 : 0);
    (void)at_read_some(fds[i], 1, 30000);
  }
  /* The readers keep reading while rm -f runs. */
  he_cmd_t rm;
  he_cmd_start(&rm, HE_ARGV("docker", "rm", "-f", "t"), NULL, 0);
  int64_t deadline = th_now_ms() + 60000;
  while (!he_cmd_done(&rm)) {
    cr_assert_lt(th_now_ms(), deadline, "docker rm -f still runs");
    read_step(&rm, fds);
  }
  th_buf_add(&rm.o, "", 0);
  th_buf_add(&rm.e, "", 0);
  he_expect_code(&rm, 0);
  he_cmd_free(&rm);
  /* Every stream ends, the unread ones too (their grace over). */
  for (int i = 0; i < AT_RM_EXECS; i++) {
    if (fds[i] >= 0) {
      (void)at_read_to_eof(fds[i], 60000);
      close(fds[i]);
    }
  }
  for (int i = 0; i < AT_RM_EXECS; i++) {
    int st = 0;
    json_t *j = at_inspect(eids[i], &st);
    json_decref(j);
    cr_assert_eq(st, 404, "exec %d of a removed container: %d", i, st);
  }
  int n = he_daemon_settle_fds(fds0, 15000);
  cr_assert_leq(n, fds0 + 2, "hcsd had %d fds before, %d after", fds0, n);
  /* The daemon still serves, and a new container's exec on the worker
   * runs. */
  at_run("u");
  he_cmd_t c;
  he_docker(&c, "exec", "u", "sh", "-c", "echo again; exit 4");
  he_expect_code(&c, 4);
  cr_assert_str_eq(c.o.p, "again\n");
  he_cmd_free(&c);
  at_rm("u");
  he_end();
}

/* Resizes exec eid n times, each on a connection of its own; every one
 * is answered (200 while the record is there). */
static void resize_burst(const char *eid, int n) {
  for (int i = 0; i < n; i++) {
    char path[200];
    snprintf(path, sizeof(path), "/v1.50/exec/%s/resize?h=%d&w=%d", eid, 20 + i,
             70 + i);
    he_http_t r;
    he_request("POST", path, NULL, &r);
    cr_assert_eq(r.status, 200, "resize: %d %s", r.status, r.body.p);
    he_http_free(&r);
  }
}

/* An exec in t that prints a line and exits 3, its attached start sent
 * on a new connection (returned, nothing read). */
static int quick_exec(bool tty, char *eid, size_t n) {
  he_exec_create("t",
                 tty ? "{\"AttachStdout\":true,\"Tty\":true,\"Cmd\":[\"sh\","
                       "\"-c\",\"echo x; exit 3\"]}"
                     : "{\"AttachStdout\":true,\"Cmd\":[\"sh\",\"-c\","
                       "\"echo x; exit 3\"]}",
                 eid, n);
  int fd = he_raw_connect();
  at_send_start(fd, eid, tty);
  return fd;
}

Test(hcsd_threads_attack, resize_races_the_exit) {
  at_restart("info");
  at_run("t");
  for (int i = 0; i < 100; i++) {
    char eid[80];
    int fd = quick_exec(true, eid, sizeof(eid));
    /* Before, at and after the exit. */
    resize_burst(eid, 1 + i % 3);
    he_read_head(fd, "HTTP/1.1 101");
    resize_burst(eid, 1);
    (void)at_read_to_eof(fd, 30000);
    close(fd);
    resize_burst(eid, 1);
    cr_assert_eq(at_wait_exit(eid, 30000), 3, "round %d", i);
  }
  at_rm("t");
  he_end();
}

/* The status of the response whose head fd has next (read through its
 * blank line). */
static int at_read_status(int fd) {
  char head[4096];
  size_t n = 0;
  while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 30000), 1, "no response head");
    cr_assert_eq(recv(fd, head + n, 1, 0), 1, "closed inside a head");
    n++;
    cr_assert_lt(n, sizeof(head) - 1, "endless head");
  }
  head[n] = '\0';
  int status = 0;
  cr_assert_eq(sscanf(head, "HTTP/1.1 %d", &status), 1, "%s", head);
  return status;
}

Test(hcsd_threads_attack, kill_races_the_exit) {
  at_restart("info");
  at_run("t");
  for (int i = 0; i < 20; i++) {
    char eid[80];
    int fd = quick_exec(false, eid, sizeof(eid));
    he_http_t r;
    he_request("POST", "/v1.50/containers/t/kill", NULL, &r);
    cr_assert_eq(r.status, 204, "kill: %d %s", r.status, r.body.p);
    he_http_free(&r);
    /* A 101 and the stream, whose exit the record has; or the start
     * refused, the container being down, and the exec never ran. */
    int status = at_read_status(fd);
    (void)at_read_to_eof(fd, 30000);
    close(fd);
    if (status == 101) {
      int rc = at_wait_exit(eid, 30000);
      cr_assert(rc == 3 || rc == 137, "round %d: exit %d", i, rc);
    } else {
      cr_assert(status == 404 || status == 409 || status == 500,
                "round %d: the start got %d", i, status);
      int st = 0;
      json_t *j = at_inspect(eid, &st);
      cr_assert_eq(st, 200, "round %d: %d", i, st);
      cr_assert(json_is_false(json_object_get(j, "Running")), "round %d", i);
      json_decref(j);
    }
    he_cmd_t c;
    he_docker_ok(&c, "start", "t");
    he_cmd_free(&c);
  }
  at_rm("t");
  he_end();
}

Test(hcsd_threads_attack, sigterm_with_unread_streams) {
  at_restart("info");
  at_run("t");
  int fds[6];
  for (int i = 0; i < 6; i++) {
    char eid[80];
    he_exec_create("t",
                   i % 2 == 0 ? "{\"AttachStdout\":true,\"AttachStderr\":true,"
                                "\"Cmd\":[" AT_DD "]}"
                              : "{\"AttachStdout\":true,\"Tty\":true,"
                                "\"Cmd\":[" AT_DD "]}",
                   eid, sizeof(eid));
    fds[i] = at_start(eid, i % 2 == 1, 4096);
  }
  int64_t t0 = th_now_ms();
  he_daemon_stop(); /* exit 0 within HE_STOP_MS, socket gone */
  int64_t took = th_now_ms() - t0;
  /* busybox's sleep as pid 1 ignores SIGTERM: the stop grace (10 s), and
   * room for the load. */
  cr_assert_lt(took, 30000, "hcsd took %lld ms to stop", (long long)took);
  for (int i = 0; i < 6; i++) {
    close(fds[i]);
  }
  he_end(); /* no child, no mount, no fd */
}

#define AT_SHORT 500

/* One short exec whose client goes at point `at`: 0 halfway through
 * the start's head, 1 right after the start, 2 after the 101, 3 after a
 * first byte, 4 at EOF. */
static void short_exec(int at) {
  char eid[80];
  he_exec_create("t",
                 "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":["
                 "\"seq\",\"1\",\"3000\"]}",
                 eid, sizeof(eid));
  int fd = he_raw_connect();
  if (at == 0) {
    char half[96];
    snprintf(half, sizeof(half), "POST /v1.50/exec/%s/start HTTP/1.1\r\n", eid);
    cr_assert(he_raw_send_str(fd, half));
    close(fd);
    return;
  }
  at_send_start(fd, eid, false);
  if (at >= 2) {
    he_read_head(fd, "HTTP/1.1 101");
  }
  if (at == 3) {
    (void)at_read_some(fd, 1, 30000);
  }
  if (at == 4) {
    (void)at_read_to_eof(fd, 30000);
  }
  close(fd);
}

Test(hcsd_threads_attack, short_execs_closed_at_random) {
  at_restart("info");
  at_run("t");
  for (int i = 0; i < 20; i++) {
    short_exec(4);
  }
  int fds0 = he_daemon_settle_fds(0, 500);
  long rss0 = he_daemon_rss_kib();
  unsigned seed = 16;
  for (int i = 0; i < AT_SHORT; i++) {
    short_exec((int)(rand_r(&seed) % 5));
  }
  int fds = he_daemon_settle_fds(fds0, 20000);
  cr_assert_leq(fds, fds0 + 2,
                "hcsd had %d fds before %d short execs, %d after", fds0,
                AT_SHORT, fds);
  long rss = he_daemon_rss_kib();
  cr_assert_lt(rss - rss0, AT_RSS_DRIFT_KIB,
               "hcsd grew from %ld to %ld KiB over %d short execs", rss0, rss,
               AT_SHORT);
  /* Still serving execs on the worker. */
  he_cmd_t c;
  he_docker(&c, "exec", "t", "sh", "-c", "echo fine");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "fine\n");
  he_cmd_free(&c);
  at_rm("t");
  he_end();
}

/* The worker loop's thread, from the debug log's line for a move. */
static long at_worker_tid(void) {
  int fd = open(he.log, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  static char log[1 << 20];
  ssize_t n = read(fd, log, sizeof(log) - 1);
  close(fd);
  cr_assert_gt(n, 0);
  log[n] = '\0';
  static const char mark[] = "moved to worker loop 1 (thread ";
  const char *hit = strstr(log, mark);
  cr_assert_not_null(hit, "no move in the log:\n%s", he_log_tail());
  return strtol(hit + strlen(mark), NULL, 10);
}

/* hcsd's threads' ids into tids; their count. */
static int at_tasks(long *tids, int max) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/task", (int)he.pid);
  DIR *dir = opendir(path);
  if (dir == NULL) {
    return 0;
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] != '.' && n < max) {
      tids[n++] = strtol(e->d_name, NULL, 10);
    }
  }
  closedir(dir);
  return n;
}

static bool at_has(const long *tids, int n, long tid) {
  for (int i = 0; i < n; i++) {
    if (tids[i] == tid) {
      return true;
    }
  }
  return false;
}

/* The stop's last word to the worker (close your connections) must not
 * outlive what it names: hold the worker's thread still (ptrace) across
 * SIGTERM, until hcsd has torn its model down and is closing the engine
 * (an engine thread other than the worker's has ended) or for 5 s, then
 * let it go. hcsd exits 0, and the ASan build finds no use of freed
 * memory. */
Test(hcsd_threads_attack, stop_while_the_worker_lags) {
  at_restart("debug");
  at_run("t");
  he_cmd_t c;
  he_docker_ok(&c, "exec", "t", "true");
  he_cmd_free(&c);
  long tid = at_worker_tid();
  at_rm("t");
  long before[64];
  int nb = at_tasks(before, 64);
  cr_assert(at_has(before, nb, tid), "thread %ld is not hcsd's", tid);
  long pr = ptrace(PTRACE_SEIZE, tid, 0, 0);
  if (pr != 0 && errno == EPERM) {
    cr_skip_test("PTRACE_SEIZE of hcsd's worker thread: %s", strerror(errno));
  }
  cr_assert_eq(pr, 0, "PTRACE_SEIZE %ld: %s", tid, strerror(errno));
  cr_assert_eq(ptrace(PTRACE_INTERRUPT, tid, 0, 0), 0);
  int ws = 0;
  cr_assert_eq(waitpid((pid_t)tid, &ws, __WALL), tid);
  cr_assert(WIFSTOPPED(ws), "status 0x%x", ws);
  cr_assert_eq(kill(he.pid, SIGTERM), 0);
  /* Held until another engine thread is gone (hcs_close, after
   * hcsd_free): then the worker's job runs after the model went. A stop
   * that waits for its worker shows nothing to wait on: the window is
   * bounded, 5 s, far more than the stop takes without a container. */
  int64_t deadline = th_now_ms() + 5000;
  bool closing = false;
  while (!closing && th_now_ms() < deadline) {
    long now[64];
    int nn = at_tasks(now, 64);
    for (int i = 0; i < nb && !closing; i++) {
      closing = before[i] != he.pid && before[i] != tid &&
                !at_has(now, nn, before[i]);
    }
    if (!closing) {
      (void)poll(NULL, 0, 20);
    }
  }
  cr_assert_eq(ptrace(PTRACE_DETACH, tid, 0, 0), 0, "PTRACE_DETACH: %s",
               strerror(errno));
  struct pollfd pf = {.fd = he.pidfd, .events = POLLIN};
  int r = poll(&pf, 1, HE_STOP_MS);
  if (r != 1) {
    kill(he.pid, SIGKILL);
  }
  int status = 0;
  cr_assert_eq(waitpid(he.pid, &status, 0), he.pid);
  close(he.pidfd);
  he.pid = 0;
  he.pidfd = -1;
  cr_assert_eq(r, 1, "hcsd did not exit once its worker ran again");
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "hcsd ended with status 0x%x\ndaemon log:\n%s", status,
            he_log_tail());
  he_end();
}

/* Stdin sent in the same write as the start, then the client's EOF: the
 * bytes move with the connection to the worker, cat echoes them and
 * ends. */
Test(hcsd_threads_attack, pipelined_stdin_moves_along) {
  at_restart("info");
  at_run("t");
  for (int i = 0; i < 20; i++) {
    char eid[80], req[640];
    he_exec_create("t",
                   "{\"AttachStdin\":true,\"AttachStdout\":true,"
                   "\"AttachStderr\":true,\"Cmd\":[\"cat\"]}",
                   eid, sizeof(eid));
    static const char body[] = "{\"Detach\":false,\"Tty\":false}";
    snprintf(req, sizeof(req),
             "POST /v1.50/exec/%s/start HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nConnection: Upgrade\r\n"
             "Upgrade: tcp\r\nContent-Length: %zu\r\n\r\n%shello worker %d\n",
             eid, sizeof(body) - 1, body, i);
    int fd = he_raw_connect();
    cr_assert(he_raw_send_str(fd, req));
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);
    he_read_head(fd, "HTTP/1.1 101");
    th_buf_t in = {0}, out = {0}, err = {0};
    int64_t deadline = th_now_ms() + 30000;
    for (;;) {
      char buf[4096];
      struct pollfd pf = {.fd = fd, .events = POLLIN};
      cr_assert_eq(poll(&pf, 1, (int)(deadline - th_now_ms())), 1,
                   "round %d: no EOF; have %zu bytes", i, in.len);
      ssize_t k = recv(fd, buf, sizeof(buf), 0);
      cr_assert_geq(k, 0, "recv: %s", strerror(errno));
      if (k == 0) {
        break;
      }
      th_buf_add(&in, buf, (size_t)k);
    }
    close(fd);
    he_demux(in.p, in.len, &out, &err);
    char want[64];
    snprintf(want, sizeof(want), "hello worker %d\n", i);
    cr_assert_str_eq(out.p, want, "round %d", i);
    th_buf_free(&in);
    th_buf_free(&out);
    th_buf_free(&err);
    cr_assert_eq(at_wait_exit(eid, 30000), 0, "round %d", i);
  }
  at_rm("t");
  he_end();
}

/* The container removed right behind an attached start (before, while
 * or after the worker spawns it): the start is answered (a stream that
 * ends, or an error), the record goes with the container, no fd stays. */
Test(hcsd_threads_attack, rm_races_the_start) {
  at_restart("info");
  int fds0 = he_daemon_settle_fds(0, 500);
  for (int i = 0; i < 15; i++) {
    at_run("t");
    char eid[80];
    int fd = quick_exec(i % 2 == 0, eid, sizeof(eid));
    he_http_t r;
    he_request("DELETE", "/v1.50/containers/t?force=1", NULL, &r);
    cr_assert_eq(r.status, 204, "rm: %d %s", r.status, r.body.p);
    he_http_free(&r);
    int status = at_read_status(fd);
    cr_assert(status == 101 || status == 404 || status == 409 || status == 500,
              "round %d: the start got %d", i, status);
    (void)at_read_to_eof(fd, 30000);
    close(fd);
    int st = 0;
    json_t *j = at_inspect(eid, &st);
    json_decref(j);
    cr_assert_eq(st, 404, "round %d: the exec of a removed container: %d", i,
                 st);
  }
  int n = he_daemon_settle_fds(fds0, 15000);
  cr_assert_leq(n, fds0 + 2, "hcsd had %d fds before, %d after", fds0, n);
  he_end();
}

/* The daemon's fds and what they are, a line each, into b. */
static void at_fd_list(th_buf_t *b) {
  char dir[64];
  snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)he.pid);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  th_buf_add(b, "", 0);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    char path[320], to[256], line[600];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    ssize_t k = readlink(path, to, sizeof(to) - 1);
    to[k > 0 ? k : 0] = '\0';
    int n = snprintf(line, sizeof(line), "%s -> %s\n", e->d_name, to);
    th_buf_add(b, line, (size_t)n);
  }
  closedir(d);
}

/* Clients that read nothing and never close, of execs whose output fits
 * in what the socket holds: the exec ends, its record has the exit, and
 * the worker lets go of each connection (the stream's grace; a worker's
 * connection has no client timer) while the clients still hold theirs:
 * no fd stays. */
Test(hcsd_threads_attack, stalled_clients_are_let_go) {
  at_restart("info");
  at_run("t");
  /* A first exec on the worker, for what it keeps open for good. */
  he_cmd_t c;
  he_docker_ok(&c, "exec", "t", "true");
  he_cmd_free(&c);
  int fds0 = he_daemon_settle_fds(0, 500);
  char eids[4][80];
  int fds[4];
  for (int i = 0; i < 4; i++) {
    he_exec_create(
        "t",
        i % 2 == 0 ? "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":["
                     "\"head\",\"-c\",\"100000\",\"/dev/zero\"]}"
                   : "{\"AttachStdout\":true,\"Tty\":true,\"Cmd\":["
                     "\"head\",\"-c\",\"100000\",\"/dev/zero\"]}",
        eids[i], sizeof(eids[i]));
    fds[i] = at_start(eids[i], i % 2 == 1, 4096);
  }
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(at_wait_exit(eids[i], 90000), 0, "exec %d", i);
  }
  int n = he_daemon_settle_fds(fds0, 60000);
  th_buf_t open = {0};
  at_fd_list(&open);
  cr_assert_leq(n, fds0,
                "hcsd had %d fds before, %d with its clients stalled:\n%s",
                fds0, n, open.p);
  th_buf_free(&open);
  for (int i = 0; i < 4; i++) {
    close(fds[i]);
  }
  at_rm("t");
  he_end();
}
