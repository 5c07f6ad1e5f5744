/* SPDX-License-Identifier: MIT */
/* hcsd under load and under hostile clients: 200 simultaneous `docker
 * exec` into one container (every output and exit code right, the
 * daemon's fds back to their baseline), hostile HTTP through a raw client
 * (a malformed request line, 1 MiB of headers, unknown endpoints, bad
 * JSON, missing objects, wrong states, API versions out of range), a
 * client that connects and sends nothing (timed out), a client that stops
 * reading an endless exec stream (its process stalls, the daemon does
 * not), and the socket refusing other users. The daemon answers /_ping
 * after each, and he_end() checks its clean exit. */
/* The daemon's client timeout for this suite (hcsd's default is 60 s;
 * --client-timeout shortens it so the timeout tests take seconds). */
#define HE_CLIENT_TIMEOUT "10"
/* And a small log bound, so the bounded-log test fills it quickly. */
#define HE_LOG_MAX "65536"
#include "hcsd_e2e.h"

#include <grp.h>
#include <sys/resource.h>

/* How long the daemon may let a silent client hold a connection before
 * the header read times out, and the slack allowed on top. */
#define ST_IDLE_MS 10000
#define ST_IDLE_SLACK_MS 10000

TestSuite(hcsd_stress, .init = he_setup, .fini = he_teardown, .timeout = 300);

#define ST_EXECS 200

Test(hcsd_stress, exec_200_at_once) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "busy", "busybox", "sleep", "600");
  he_cmd_free(&c);
  /* One exec first, so lazily made things (pools, thread pool) exist. */
  he_docker_ok(&c, "exec", "busy", "true");
  he_cmd_free(&c);
  int fds0 = he_daemon_settle_fds(0, 2000);

  he_cmd_t *cs = calloc(ST_EXECS, sizeof(*cs));
  cr_assert_not_null(cs);
  char scripts[ST_EXECS][96];
  int64_t t0 = th_now_ms();
  for (int i = 0; i < ST_EXECS; i++) {
    snprintf(scripts[i], sizeof(scripts[i]),
             "echo out-%d; echo err-%d >&2; exit %d", i, i, i % 64);
    he_cmd_start(&cs[i],
                 HE_ARGV("docker", "exec", "busy", "sh", "-c", scripts[i]),
                 NULL, 0);
  }
  he_cmds_wait(cs, ST_EXECS, 240000);
  int64_t took = th_now_ms() - t0;
  int bad = 0;
  for (int i = 0; i < ST_EXECS; i++) {
    char o[32], e[32];
    snprintf(o, sizeof(o), "out-%d\n", i);
    snprintf(e, sizeof(e), "err-%d\n", i);
    if (cs[i].code != i % 64 || strcmp(cs[i].o.p, o) != 0 ||
        strcmp(cs[i].e.p, e) != 0) {
      if (bad++ < 5) {
        cr_log_error("exec %d: code %d (want %d), stdout \"%s\", stderr "
                     "\"%s\"",
                     i, cs[i].code, i % 64, cs[i].o.p, cs[i].e.p);
      }
    }
    he_cmd_free(&cs[i]);
  }
  free(cs);
  cr_assert_eq(bad, 0, "%d of %d execs went wrong\ndaemon log:\n%s", bad,
               ST_EXECS, he_log_tail());
  cr_log_info("%d concurrent docker exec in %lld ms", ST_EXECS,
              (long long)took);

  int fds = he_daemon_settle_fds(fds0, 10000);
  cr_assert_leq(fds, fds0, "daemon fds: %d after the execs, %d before", fds,
                fds0);
  he_expect_ping();
  he_docker_ok(&c, "rm", "-f", "busy");
  he_cmd_free(&c);
  he_end();
}

/* Sends raw bytes on a fresh connection and reads one response. */
static void raw_exchange(const char *req, he_http_t *r) {
  he_conn_t c = {.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, req), "daemon closed on: %s", req);
  cr_assert(he_conn_response(&c, r, false, 10000), "no response to: %s", req);
  he_conn_close(&c);
}

/* POST path twice: the statuses first and then. */
static void twice(const char *path, int first, int then) {
  int want[2] = {first, then};
  for (int i = 0; i < 2; i++) {
    he_http_t r;
    he_request("POST", path, NULL, &r);
    cr_assert_eq(r.status, want[i], "POST %s: %s%s", path, r.head.p, r.body.p);
    he_http_free(&r);
  }
}

Test(hcsd_stress, hostile_http) {
  he_http_t r;
  he_conn_t c;

  /* A malformed request line: 400, then the connection is closed. */
  c = (he_conn_t){.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, "THIS IS NOT HTTP\r\n\r\n"));
  cr_assert(he_conn_response(&c, &r, false, 10000),
            "no response to a malformed request line");
  cr_assert_eq(r.status, 400, "%s", r.head.p);
  he_http_free(&r);
  cr_assert_geq(he_raw_wait_closed(c.fd, 10000), 0,
                "the connection stayed open after a 400");
  he_conn_close(&c);
  he_expect_ping();

  /* A request line with no version, a header line with no colon. */
  c = (he_conn_t){.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, "GET /_ping\r\n\r\n"));
  int64_t closed = he_raw_wait_closed(c.fd, 10000);
  cr_assert_geq(closed, 0, "open after a request line with no version");
  he_conn_close(&c);
  c = (he_conn_t){.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, "GET /_ping HTTP/1.1\r\nno colon here\r\n"
                                  "\r\n"));
  cr_assert(he_conn_response(&c, &r, false, 10000));
  cr_assert_eq(r.status, 400, "%s", r.head.p);
  he_http_free(&r);
  he_conn_close(&c);

  /* 1 MiB of headers: 431 (or 400), then closed; the daemon may stop
   * reading before all of it is sent. */
  th_buf_t big = {0};
  const char *start = "GET /v1.50/version HTTP/1.1\r\nHost: x\r\n";
  th_buf_add(&big, start, strlen(start));
  char pad[1100];
  memset(pad, 'a', sizeof(pad));
  for (int i = 0; big.len < (1u << 20); i++) {
    char h[1200];
    int n = snprintf(h, sizeof(h), "X-Pad-%d: %.1000s\r\n", i, pad);
    th_buf_add(&big, h, (size_t)n);
  }
  th_buf_add(&big, "\r\n", 2);
  c = (he_conn_t){.fd = he_raw_connect()};
  (void)he_raw_send(c.fd, big.p, big.len, 30000);
  th_buf_free(&big);
  cr_assert(he_conn_response(&c, &r, false, 10000),
            "no response to 1 MiB of headers");
  cr_assert(r.status == 431 || r.status == 400, "1 MiB of headers: %s",
            r.head.p);
  he_http_free(&r);
  cr_assert_geq(he_raw_wait_closed(c.fd, 10000), 0,
                "open after oversized headers");
  he_conn_close(&c);
  he_expect_ping();

  /* Unknown endpoints: 404 page not found, exactly. */
  const char *unknown[] = {"/v1.50/nosuch", "/nosuch", "/v1.50/containers",
                           "/v1.50/containers/x/nosuch"};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    he_request("GET", unknown[i], NULL, &r);
    he_expect_error(&r, 404, NULL);
    json_t *j = he_json(r.body.p);
    cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
                     "page not found", "GET %s", unknown[i]);
    json_decref(j);
    he_http_free(&r);
  }

  /* Bad JSON, and JSON of the wrong shape. */
  he_request_fails("POST", "/v1.50/containers/create", "{not json", 400, NULL);
  he_request_fails("POST", "/v1.50/containers/create", "[1,2,3]", 400, NULL);
  he_request_fails("POST", "/v1.50/networks/create", "{\"Name\":", 400, NULL);

  /* Missing objects: 404 in docker's words. */
  he_request_fails("GET", "/v1.50/containers/nosuch/json", NULL, 404,
                   "No such container: nosuch");
  he_request_fails("POST", "/v1.50/containers/nosuch/start", NULL, 404,
                   "No such container: nosuch");
  he_request_fails("DELETE", "/v1.50/containers/nosuch", NULL, 404,
                   "No such container: nosuch");
  he_request_fails("GET", "/v1.50/images/nosuch/json", NULL, 404,
                   "No such image: nosuch");
  he_request_fails(
      "GET", "/v1.50/networks/nosuch", NULL, 404,
      "network nosuch not found"); /* docker inspect's fallback chain: a clean
                                      404 for volumes, plugins. */
  he_request_fails("GET", "/v1.50/volumes/nosuch", NULL, 404, NULL);
  he_request_fails("GET", "/v1.50/plugins/nosuch/json", NULL, 404, NULL);

  he_request_fails("POST", "/v1.50/exec/nosuch/start", "{\"Detach\":true}", 404,
                   "No such exec instance: nosuch");
  he_request_fails("POST", "/v1.50/containers/nosuch/wait", NULL, 404,
                   "No such container: nosuch");

  /* Wrong states: 409. */
  char id[128];
  he_docker_line(id, sizeof(id), "create", "--name", "idle", "busybox", "sleep",
                 "300");
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/kill", id);
  he_request_fails("POST", path, NULL, 409, "is not running");
  snprintf(path, sizeof(path), "/v1.50/containers/%s/exec", id);
  he_request_fails("POST", path, "{\"Cmd\":[\"true\"]}", 409, "is not running");
  snprintf(path, sizeof(path), "/v1.50/containers/%s/wait?condition=bogus", id);
  he_request_fails("POST", path, NULL, 400, NULL);
  /* Start twice: 204, then 304; stop twice: 204, then 304. */
  snprintf(path, sizeof(path), "/v1.50/containers/%s/start", id);
  twice(path, 204, 304);
  snprintf(path, sizeof(path), "/v1.50/containers/%s?force=0", id);
  he_request_fails("DELETE", path, NULL, 409, "container is running");
  snprintf(path, sizeof(path), "/v1.50/containers/%s/stop?t=0", id);
  twice(path, 204, 304);

  /* API versions: above 1.50 and below 1.24 refused with 400; no prefix
   * and a lower one accepted. */
  he_request_fails("GET", "/v1.51/version", NULL, 400, "1.51");
  he_request_fails("GET", "/v9.99/containers/json", NULL, 400, NULL);
  he_request_fails("GET", "/v1.23/version", NULL, 400, "1.23");
  he_request("GET", "/version", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.head.p);
  he_http_free(&r);
  he_request("GET", "/v1.44/version", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.head.p);
  json_t *j = he_json(r.body.p);
  cr_assert_str_eq(json_string_value(json_object_get(j, "ApiVersion")), "1.50");
  json_decref(j);
  he_http_free(&r);

  /* /_ping: GET has the body OK, HEAD none; keep-alive and two requests
   * in one write (pipelined) get two responses in order. */
  raw_exchange("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body.p, "OK");
  he_http_free(&r);
  c = (he_conn_t){.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, "HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /v1.50/version HTTP/1.1\r\nHost: x\r\n"
                                  "\r\n"));
  cr_assert(he_conn_response(&c, &r, true, 10000));
  cr_assert_eq(r.status, 200, "%s", r.head.p);
  he_http_free(&r);
  cr_assert(he_conn_response(&c, &r, false, 10000));
  cr_assert_eq(r.status, 200, "%s", r.head.p);
  j = he_json(r.body.p);
  cr_assert_str_eq(json_string_value(json_object_get(j, "ApiVersion")), "1.50");
  json_decref(j);
  he_http_free(&r);
  he_conn_close(&c);

  /* A chunked request body (what docker load sends) with a bad chunk
   * size: an error, not a hang or a crash. */
  c = (he_conn_t){.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(c.fd, "POST /v1.50/images/load?quiet=1 HTTP/1.1\r\n"
                                  "Host: x\r\nContent-Type: application/x-tar"
                                  "\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "zz\r\nhello\r\n0\r\n\r\n"));
  cr_assert_geq(he_raw_wait_closed(c.fd, 10000), 0,
                "open after a bad chunk size");
  he_conn_close(&c);

  /* A field of the wrong type: moby's decoder refuses it (400), it is not
   * read as absent. */
  he_request_fails("POST", "/v1.50/containers/create",
                   "{\"Image\":\"busybox\",\"Cmd\":7}", 400, NULL);

  he_expect_ping();
  he_cmd_t rm;
  he_docker_ok(&rm, "rm", "-f", "idle");
  he_cmd_free(&rm);
  he_end();
}

/* Silent clients: one sends nothing, one stops inside its headers. The
 * daemon closes both within its header timeout and meanwhile serves
 * others. */
Test(hcsd_stress, idle_clients_timed_out) {
  int silent = he_raw_connect();
  int partial = he_raw_connect();
  cr_assert(he_raw_send_str(partial, "GET /_ping HTTP/1.1\r\nHost: x\r\nX-"));
  int64_t t0 = th_now_ms();
  he_expect_ping();
  he_cmd_t c;
  he_docker_ok(&c, "version", "--format", "{{.Server.APIVersion}}");
  he_cmd_free(&c);
  int64_t a = he_raw_wait_closed(silent, ST_IDLE_MS + ST_IDLE_SLACK_MS);
  int64_t b = he_raw_wait_closed(partial, ST_IDLE_MS + ST_IDLE_SLACK_MS);
  int64_t took = th_now_ms() - t0;
  close(silent);
  close(partial);
  cr_assert_geq(a, 0, "a silent client kept its connection %d ms",
                ST_IDLE_MS + ST_IDLE_SLACK_MS);
  cr_assert_geq(b, 0, "a client stuck in its headers kept its connection");
  cr_assert_leq(took, ST_IDLE_MS + ST_IDLE_SLACK_MS);
  cr_log_info("silent clients closed after %lld ms", (long long)took);
  he_expect_ping();
  he_end();
}

/* A client that trickles its head, a byte every second: progress does
 * not buy it more time; the head must be whole within the timeout of its
 * first byte. */
Test(hcsd_stress, trickling_headers_timed_out) {
  int fd = he_raw_connect();
  static const char head[] = "GET /_ping HTTP/1.1\r\nHost: x\r\nX-Slow: "
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  int64_t t0 = th_now_ms();
  int closed = 0;
  for (size_t i = 0; i < sizeof(head) - 1; i++) {
    if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1) {
      closed = 1;
      break;
    }
    if (he_raw_wait_closed(fd, 1000) >= 0) {
      closed = 1;
      break;
    }
    cr_assert_leq(th_now_ms() - t0, ST_IDLE_MS + ST_IDLE_SLACK_MS,
                  "a trickling client kept its connection");
  }
  int64_t took = th_now_ms() - t0;
  close(fd);
  cr_assert(closed, "the whole trickled head was accepted over %lld ms",
            (long long)took);
  cr_assert_geq(took, ST_IDLE_MS - 1000, "closed after %lld ms only",
                (long long)took);
  he_expect_ping();
  he_end();
}

/* A client that starts an endless exec stream and never reads: the
 * process stalls on its full pipe; the daemon keeps serving and does not
 * buffer the stream without bound. */
Test(hcsd_stress, stalled_reader) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "spew", "busybox",
                 "sleep", "600");
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/exec", id);
  he_http_t r;
  he_request("POST", path,
             "{\"AttachStdout\":true,\"AttachStderr\":true,"
             "\"Cmd\":[\"yes\",\"a-long-line-of-output-to-fill-pipes\"]}",
             &r);
  cr_assert_eq(r.status, 201, "%s%s", r.head.p, r.body.p);
  json_t *j = he_json(r.body.p);
  char eid[128];
  snprintf(eid, sizeof(eid), "%s",
           json_string_value(json_object_get(j, "Id")) != NULL
               ? json_string_value(json_object_get(j, "Id"))
               : "");
  json_decref(j);
  he_http_free(&r);

  int fd = he_raw_connect();
  int small = 4096;
  cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  he_send_exec_start(fd, eid);
  cr_assert_eq(shutdown(fd, SHUT_WR), 0);
  /* Only the 101 line is read; the stream is left unread from here. */
  char head[16];
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  cr_assert_eq(poll(&pf, 1, 30000), 1, "no answer to the exec start");
  cr_assert_eq(recv(fd, head, 12, 0), 12);
  cr_assert(memcmp(head, "HTTP/1.1 101", 12) == 0, "%.12s", head);

  /* Time for every buffer on the way to fill. */
  long rss0 = he_daemon_rss_kib();
  int64_t until = th_now_ms() + 3000;
  while (th_now_ms() < until) {
    he_expect_ping();
  }
  int64_t t0 = th_now_ms();
  for (int i = 0; i < 20; i++) {
    he_expect_ping();
  }
  int64_t pings = th_now_ms() - t0;
  cr_assert_lt(pings, 5000, "20 pings took %lld ms while a reader stalls",
               (long long)pings);
  he_cmd_t c;
  he_docker(&c, "exec", "spew", "echo", "alive");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "alive\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "--format", "{{.Names}}");
  cr_assert_str_eq(c.o.p, "spew\n");
  he_cmd_free(&c);
  long rss1 = he_daemon_rss_kib();
  cr_assert_lt(rss1 - rss0, 64 * 1024,
               "the daemon grew from %ld to %ld KiB behind a stalled reader",
               rss0, rss1);
  /* The exec is still running, stalled, not finished. */
  snprintf(path, sizeof(path), "/v1.50/exec/%s/json", eid);
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.head.p);
  j = he_json(r.body.p);
  cr_assert(json_is_true(json_object_get(j, "Running")), "%s", r.body.p);
  json_decref(j);
  he_http_free(&r);

  close(fd);
  he_docker_ok(&c, "rm", "-f", "spew");
  he_cmd_free(&c);
  he_expect_ping();
  he_end();
}

Test(hcsd_stress, socket_refuses_other_users) {
  struct stat st;
  cr_assert_eq(stat(he.sock, &st), 0, "%s: %s", he.sock, strerror(errno));
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 07777, 0660, "socket mode %o", st.st_mode & 07777);
  /* The temp dir is 0700: open its search bit so that only the socket's
   * own mode stands between the user and the daemon. */
  cr_assert_eq(chmod(he.dir, 0711), 0, "chmod: %s", strerror(errno));
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      _exit(100);
    }
    struct stat sst;
    if (stat(he.sock, &sst) != 0) {
      _exit(103); /* the path, not the socket, refused the user */
    }
    int fd = he_raw_connect_to(he.sock);
    if (fd >= 0) {
      _exit(101);
    }
    _exit(fd == -EACCES ? 0 : 102);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "status 0x%x", status);
  cr_assert_neq(WEXITSTATUS(status), 101, "uid 65534 could connect");
  cr_assert_eq(WEXITSTATUS(status), 0, "uid 65534: exit %d",
               WEXITSTATUS(status));
  he_expect_ping();
  he_end();
}

/* Thousands of exec streams at once on hcsd's one engine thread: 2,000
 * `cat` execs started through raw hijacked connections, all alive
 * together, then each gets its own line, half-closes, and must get
 * exactly that line back, framed on stdout, and exit code 0. */
#define MANY 2000
Test(hcsd_stress, thousands_of_exec_streams) {
  he_raise_nofile();
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "many", "busybox",
                 "sleep", "600");
  static char eids[MANY][80];
  static int fds[MANY];
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/exec", id);
  for (int i = 0; i < MANY; i++) {
    he_http_t r;
    he_request("POST", path,
               "{\"AttachStdin\":true,\"AttachStdout\":true,"
               "\"AttachStderr\":true,\"Cmd\":[\"cat\"]}",
               &r);
    cr_assert_eq(r.status, 201, "exec %d: %s%s", i, r.head.p, r.body.p);
    json_t *j = he_json(r.body.p);
    snprintf(eids[i], sizeof(eids[i]), "%s",
             json_string_value(json_object_get(j, "Id")));
    json_decref(j);
    he_http_free(&r);
  }
  for (int i = 0; i < MANY; i++) {
    fds[i] = he_raw_connect();
    he_send_exec_start(fds[i], eids[i]);
    /* The 101 and its headers, byte by byte up to the blank line, so no
     * stream byte is taken with them. */
    char tail[4] = {0};
    for (int got = 0; memcmp(tail, "\r\n\r\n", 4) != 0; got++) {
      struct pollfd pf = {.fd = fds[i], .events = POLLIN};
      cr_assert_eq(poll(&pf, 1, 30000), 1, "exec %d: no 101", i);
      char ch;
      cr_assert_eq(recv(fds[i], &ch, 1, 0), 1, "exec %d: closed", i);
      memmove(tail, tail + 1, 3);
      tail[3] = ch;
      cr_assert_lt(got, 4096, "exec %d: endless headers", i);
    }
  }
  /* Every cat is running now, each on its own stream. */
  for (int i = 0; i < MANY; i++) {
    char line[32];
    snprintf(line, sizeof(line), "line-%d\n", i);
    cr_assert(he_raw_send_str(fds[i], line));
    cr_assert_eq(shutdown(fds[i], SHUT_WR), 0);
  }
  for (int i = 0; i < MANY; i++) {
    he_conn_t c = {.fd = fds[i]};
    bool timed_out = false;
    int64_t deadline = th_now_ms() + 30000;
    while (he_conn_fill(&c, deadline, &timed_out)) {
    }
    cr_assert(!timed_out, "exec %d: stream never ended", i);
    th_buf_t out = {0}, err = {0};
    he_demux(c.in.p != NULL ? c.in.p : "", c.in.len, &out, &err);
    char want[32];
    snprintf(want, sizeof(want), "line-%d\n", i);
    cr_assert_str_eq(out.p, want, "exec %d", i);
    cr_assert_str_eq(err.p, "", "exec %d", i);
    th_buf_free(&out);
    th_buf_free(&err);
    he_conn_close(&c);
  }
  for (int i = 0; i < MANY; i++) {
    char jp[160];
    snprintf(jp, sizeof(jp), "/v1.50/exec/%s/json", eids[i]);
    he_http_t r;
    he_request("GET", jp, NULL, &r);
    cr_assert_eq(r.status, 200);
    json_t *j = he_json(r.body.p);
    cr_assert(json_is_false(json_object_get(j, "Running")), "exec %d", i);
    cr_assert_eq(json_integer_value(json_object_get(j, "ExitCode")), 0,
                 "exec %d: %s", i, r.body.p);
    json_decref(j);
    he_http_free(&r);
  }
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "many");
  he_cmd_free(&c);
  he_end();
}

/* A client that gives up on `docker wait` (Ctrl-C, a timeout) closes its
 * connection while the daemon still holds the request: the daemon lets
 * the connection go at once, not when the container exits. */
Test(hcsd_stress, interrupted_waits_release_their_fds) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "waited", "busybox",
                 "sleep", "600");
  int fds0 = he_daemon_fds();
  for (int i = 0; i < 20; i++) {
    int fd = he_raw_connect();
    char req[256];
    snprintf(req, sizeof(req),
             "POST /v1.50/containers/%s/wait HTTP/1.1\r\nHost: x\r\n"
             "Content-Length: 0\r\n\r\n",
             id);
    cr_assert(he_raw_send_str(fd, req));
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 10000), 1, "wait %d: no headers", i);
    char head[12];
    cr_assert_eq(recv(fd, head, sizeof(head), 0), (ssize_t)sizeof(head));
    cr_assert(memcmp(head, "HTTP/1.1 200", 12) == 0, "%.12s", head);
    close(fd);
  }
  int64_t deadline = th_now_ms() + 10000;
  while (he_daemon_fds() > fds0 && th_now_ms() < deadline) {
    (void)poll(NULL, 0, 20);
  }
  cr_assert_leq(he_daemon_fds(), fds0, "20 abandoned waits hold %d fds",
                he_daemon_fds() - fds0);
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "waited");
  he_cmd_free(&c);
  he_end();
}

/* The log docker logs reads is bounded: with --log-max 64 KiB, a
 * container that printed ~590 KB keeps at least its newest 64 KiB and at
 * most twice that plus two reads, whole and in order (a suffix of what it
 * printed), and no more on disk. */
Test(hcsd_stress, log_is_bounded) {
  char line[128];
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "chatty", "busybox", "seq", "1", "100000");
  he_cmd_free(&c);
  th_buf_t all = {0};
  for (int i = 1; i <= 100000; i++) {
    int n = snprintf(line, sizeof(line), "%d\n", i);
    th_buf_add(&all, line, (size_t)n);
  }
  he_docker(&c, "logs", "chatty");
  he_expect_code(&c, 0);
  size_t got = c.o.len;
  cr_assert(got >= 65536 && got <= 2 * (65536 + 65544),
            "%zu bytes of log kept with a 64 KiB bound", got);
  cr_assert(got <= all.len && memcmp(all.p + all.len - got, c.o.p, got) == 0,
            "the log kept is not the tail of the output");
  he_cmd_free(&c);
  th_buf_free(&all);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.Id}}", "chatty");
  char path[512];
  struct stat st;
  off_t disk = 0;
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/containers/%s/%s", he.state, line,
             i == 0 ? "log" : "log.1");
    if (stat(path, &st) == 0) {
      disk += st.st_size;
    }
  }
  cr_assert(disk > 0 && disk <= 2 * (65536 + 65544),
            "%lld bytes of log on disk", (long long)disk);
  he_docker_ok(&c, "rm", "chatty");
  he_cmd_free(&c);
  he_end();
}
