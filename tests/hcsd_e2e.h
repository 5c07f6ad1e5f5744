/* SPDX-License-Identifier: MIT */
/* The end-to-end harness of hcsd's suites (tests/test_hcsd_*.c): one hcsd
 * per test on a private socket in a temp dir, the real docker CLI run
 * against it, and a raw HTTP client for what the CLI cannot send.
 *
 * The daemon runs in a network namespace of its own (its child unshares
 * one and brings up lo before the exec), so every bridge, veth and
 * nftables rule it makes goes away with it and the host's network is
 * never touched. The test process is a child subreaper: anything the
 * daemon leaves running after its exit (a container's init, a stray exec)
 * is reparented to the test, and the end check sees it as a child.
 *
 * Each suite declares TestSuite(x, .init = he_setup, .fini = he_teardown)
 * and ends each test with he_end(), which asserts a clean exit (SIGTERM ->
 * exit 0, socket gone), no children, no mounts under the temp dir, the temp
 * dir removable and no fd of the test left open. he_teardown() only cleans
 * up after a failed test, killing by the pids it holds.
 *
 * Every function is static: each suite is its own program. */
#ifndef HCS_TESTS_HCSD_E2E_H
#define HCS_TESTS_HCSD_E2E_H

#include "test_hcs_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#ifndef HCSD_BIN
#error "HCSD_BIN must name the hcsd program (CMake sets it)"
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define HE_UNUSED TH_UNUSED

/* The longest a docker command may take before the test kills it. */
#define HE_CMD_MS 60000
/* The daemon's readiness and its exit after SIGTERM. */
#define HE_READY_MS 30000
#define HE_STOP_MS 60000

typedef struct he_s {
  char dir[64]; /* /tmp/hcsd-e2e-XXXXXX */
  char sock[128], state[128], cfg[128], log[128];
  char env_host[192], env_cfg[192];
  pid_t pid; /* the running daemon, 0 when none */
  int pidfd;
  int fds0;             /* the test's fd count before the daemon */
  const char *extra[8]; /* more options for the next daemon, NULL-ended */
} he_t;

static he_t he;

static char he_log_tail_buf[8192];

/* The last few KiB of the daemon's stderr, for failure messages. */
HE_UNUSED static const char *he_log_tail(void) {
  he_log_tail_buf[0] = '\0';
  int fd = open(he.log, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "(no daemon log)";
  }
  /* The tail, leaving 200 bytes for the daemon's state. */
  off_t room = (off_t)sizeof(he_log_tail_buf) - 200;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > room ? size - room : 0;
  ssize_t n = pread(fd, he_log_tail_buf, sizeof(he_log_tail_buf) - 200, from);
  close(fd);
  n = n > 0 ? n : 0;
  /* Whether it still runs (without reaping it). */
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  if (he.pid == 0) {
    snprintf(he_log_tail_buf + n, 200, "[hcsd: not running]");
  } else if (waitid(P_PID, (id_t)he.pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
                 0 &&
             si.si_pid == he.pid) {
    snprintf(he_log_tail_buf + n, 200, "[hcsd DIED: %s %d]",
             si.si_code == CLD_EXITED ? "exit" : "signal", si.si_status);
  } else {
    snprintf(he_log_tail_buf + n, 200, "[hcsd: running]");
  }
  return he_log_tail_buf;
}

static int he_pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ------------------------------------------------------------------------
 * Raw HTTP over the daemon's socket. */

HE_UNUSED static int he_raw_connect_to(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* A connection to the daemon (the test fails if it cannot connect). */
HE_UNUSED static int he_raw_connect(void) {
  int fd = he_raw_connect_to(he.sock);
  cr_assert_geq(fd, 0, "connect %s: %s\ndaemon log:\n%s", he.sock,
                strerror(-fd), he_log_tail());
  return fd;
}

/* Sends n bytes within ms; false when the daemon closed or reset the
 * connection first (a daemon that refuses a request may do that). */
HE_UNUSED static bool he_raw_send(int fd, const void *data, size_t n,
                                  int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  const char *p = data;
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return false;
    }
    cr_assert(w < 0 && (errno == EAGAIN || errno == EINTR), "send: %s",
              strerror(errno));
    int64_t left = deadline - th_now_ms();
    cr_assert(left > 0, "the daemon took no more bytes for %lld ms",
              (long long)ms);
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    (void)poll(&pf, 1, (int)left);
  }
  return true;
}

/* Reads a response head byte by byte up to its blank line (so no body
 * byte is taken); asserts its status line starts with want. Its
 * Content-Length, 0 without one. */
HE_UNUSED static size_t he_read_head(int fd, const char *want) {
  char head[4096];
  size_t n = 0;
  while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 30000), 1, "no response head\ndaemon log:\n%s",
                 he_log_tail());
    cr_assert_eq(recv(fd, head + n, 1, 0), 1, "closed inside a head: %.*s",
                 (int)n, head);
    n++;
    cr_assert_lt(n, sizeof(head), "endless head");
  }
  cr_assert(strncmp(head, want, strlen(want)) == 0, "%.*s", (int)n, head);
  head[n] = '\0';
  const char *cl = strcasestr(head, "\r\nContent-Length:");
  return cl != NULL ? (size_t)strtoull(cl + 17, NULL, 10) : 0;
}

HE_UNUSED static bool he_raw_send_str(int fd, const char *s) {
  return he_raw_send(fd, s, strlen(s), 10000);
}

/* A connection with what has been read but not yet consumed. */
typedef struct he_conn_s {
  int fd;
  th_buf_t in;
  size_t used; /* bytes of in already consumed */
  bool eof;
} he_conn_t;

/* Reads more into c->in; false at EOF (or a reset) or after the deadline
 * (*timed_out set). */
static bool he_conn_fill(he_conn_t *c, int64_t deadline, bool *timed_out) {
  *timed_out = false;
  if (c->eof) {
    return false;
  }
  for (;;) {
    int64_t left = deadline - th_now_ms();
    if (left <= 0) {
      *timed_out = true;
      return false;
    }
    struct pollfd pf = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pf, 1, (int)left);
    if (r <= 0) {
      continue;
    }
    char buf[65536];
    ssize_t got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got > 0) {
      th_buf_add(&c->in, buf, (size_t)got);
      return true;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    c->eof = true;
    return false;
  }
}

typedef struct he_http_s {
  int status;
  th_buf_t head; /* status line and headers, NUL-terminated */
  th_buf_t body; /* de-chunked */
} he_http_t;

HE_UNUSED static void he_http_free(he_http_t *r) {
  th_buf_free(&r->head);
  th_buf_free(&r->body);
}

/* The value of header name (case-insensitive) into out; false if absent. */
HE_UNUSED static bool he_http_header(const he_http_t *r, const char *name,
                                     char *out, size_t n) {
  size_t nl = strlen(name);
  const char *p = r->head.p != NULL ? strstr(r->head.p, "\r\n") : NULL;
  while (p != NULL && p[2] != '\0') {
    p += 2;
    if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ' || *v == '\t') {
        v++;
      }
      const char *end = strstr(v, "\r\n");
      size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
      while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
      }
      snprintf(out, n, "%.*s", (int)len, v);
      return true;
    }
    p = strstr(p, "\r\n");
  }
  return false;
}

/* Waits until c->in holds n unconsumed bytes; false at EOF. */
static bool he_conn_need(he_conn_t *c, size_t n, int64_t deadline) {
  bool timed_out = false;
  while (c->in.len - c->used < n) {
    if (!he_conn_fill(c, deadline, &timed_out)) {
      cr_assert(!timed_out, "no complete response in time; have \"%.*s\"",
                (int)(c->in.len - c->used),
                c->in.p != NULL ? c->in.p + c->used : "");
      return false;
    }
  }
  return true;
}

/* The offset of needle in c's unconsumed bytes, reading more as needed;
 * -1 at EOF. */
static ssize_t he_conn_find(he_conn_t *c, const char *needle,
                            int64_t deadline) {
  bool timed_out = false;
  for (;;) {
    if (c->in.p != NULL) {
      const char *hit = memmem(c->in.p + c->used, c->in.len - c->used, needle,
                               strlen(needle));
      if (hit != NULL) {
        return hit - (c->in.p + c->used);
      }
    }
    if (!he_conn_fill(c, deadline, &timed_out)) {
      cr_assert(!timed_out, "no \"%s\" in time; have \"%.*s\"", needle,
                (int)(c->in.len - c->used),
                c->in.p != NULL ? c->in.p + c->used : "");
      return -1;
    }
  }
}

/* Reads one response from c within ms. head_only: the request was a HEAD
 * (or the response is a 101 upgrade): no body follows the headers.
 * Returns false if the connection ended before a status line. */
HE_UNUSED static bool he_conn_response(he_conn_t *c, he_http_t *r,
                                       bool head_only, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  memset(r, 0, sizeof(*r));
  ssize_t hend = he_conn_find(c, "\r\n\r\n", deadline);
  if (hend < 0) {
    return false;
  }
  th_buf_add(&r->head, c->in.p + c->used, (size_t)hend + 4);
  c->used += (size_t)hend + 4;
  cr_assert(sscanf(r->head.p, "HTTP/1.%*d %d", &r->status) == 1,
            "bad status line: %s", r->head.p);
  th_buf_add(&r->body, "", 0);
  char v[64];
  if (head_only || r->status == 101 || r->status == 204 || r->status == 304) {
    return true;
  }
  if (he_http_header(r, "Content-Length", v, sizeof(v))) {
    size_t n = (size_t)strtoull(v, NULL, 10);
    cr_assert(he_conn_need(c, n, deadline), "EOF inside a %zu-byte body", n);
    th_buf_add(&r->body, c->in.p + c->used, n);
    c->used += n;
  } else if (he_http_header(r, "Transfer-Encoding", v, sizeof(v)) &&
             strcasecmp(v, "chunked") == 0) {
    for (;;) {
      ssize_t le = he_conn_find(c, "\r\n", deadline);
      cr_assert_geq(le, 0, "EOF inside a chunked body");
      size_t n = (size_t)strtoull(c->in.p + c->used, NULL, 16);
      c->used += (size_t)le + 2;
      cr_assert(he_conn_need(c, n + 2, deadline), "EOF inside a chunk");
      th_buf_add(&r->body, c->in.p + c->used, n);
      c->used += n + 2;
      if (n == 0) {
        break;
      }
    }
  } else {
    bool timed_out = false;
    while (he_conn_fill(c, deadline, &timed_out)) {
    }
    cr_assert(!timed_out, "a body without length that never ended");
    th_buf_add(&r->body, c->in.p + c->used, c->in.len - c->used);
    c->used = c->in.len;
  }
  return true;
}

HE_UNUSED static void he_conn_close(he_conn_t *c) {
  if (c->fd >= 0) {
    close(c->fd);
  }
  th_buf_free(&c->in);
  c->fd = -1;
}

/* One request on a fresh connection; body may be NULL. The response is in
 * *r (he_http_free). */
HE_UNUSED static void he_request(const char *method, const char *path,
                                 const char *body, he_http_t *r) {
  he_conn_t c = {.fd = he_raw_connect()};
  char head[1024];
  snprintf(head, sizeof(head),
           "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
           "User-Agent: hcsd-e2e\r\n%sContent-Length: %zu\r\n\r\n",
           method, path,
           body != NULL ? "Content-Type: application/json\r\n" : "",
           body != NULL ? strlen(body) : (size_t)0);
  cr_assert(he_raw_send_str(c.fd, head), "daemon closed on %s %s", method,
            path);
  if (body != NULL) {
    cr_assert(he_raw_send_str(c.fd, body), "daemon closed on %s %s", method,
              path);
  }
  cr_assert(he_conn_response(&c, r, strcmp(method, "HEAD") == 0, 30000),
            "no response to %s %s\ndaemon log:\n%s", method, path,
            he_log_tail());
  he_conn_close(&c);
}

/* Reads and drops whatever comes until the daemon closes the connection;
 * the milliseconds that took, or -1 if it stayed open for ms. */
HE_UNUSED static int64_t he_raw_wait_closed(int fd, int64_t ms) {
  int64_t t0 = th_now_ms();
  for (;;) {
    int64_t left = t0 + ms - th_now_ms();
    if (left <= 0) {
      return -1;
    }
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, (int)left) <= 0) {
      continue;
    }
    char buf[65536];
    ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      return th_now_ms() - t0;
    }
  }
}

/* Splits the 8-byte framed stream (stream id, 0 0 0, big-endian length)
 * into stdout and stderr; asserts the framing is whole. */
HE_UNUSED static void he_demux(const char *p, size_t n, th_buf_t *out,
                               th_buf_t *err) {
  th_buf_add(out, "", 0);
  th_buf_add(err, "", 0);
  while (n > 0) {
    cr_assert_geq(n, 8, "a truncated frame header (%zu bytes)", n);
    const unsigned char *h = (const unsigned char *)p;
    cr_assert(h[0] == 1 || h[0] == 2, "frame for stream %u", h[0]);
    cr_assert(h[1] == 0 && h[2] == 0 && h[3] == 0, "bad frame header");
    size_t len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 |
                 (size_t)h[7];
    cr_assert_geq(n - 8, len, "a truncated frame (%zu of %zu)", n - 8, len);
    th_buf_add(h[0] == 1 ? out : err, p + 8, len);
    p += 8 + len;
    n -= 8 + len;
  }
}

/* The JSON of a body (json_decref), asserting it parses. */
HE_UNUSED static json_t *he_json(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text != NULL ? text : "", 0, &je);
  cr_assert_not_null(j, "not JSON (%s): %s", je.text, text);
  return j;
}

/* Asserts an error response: status, Content-Type exactly
 * application/json and a {"message": ...} body containing want (or any
 * message when want is NULL). */
HE_UNUSED static void he_expect_error(const he_http_t *r, int status,
                                      const char *want) {
  cr_assert_eq(r->status, status, "status %d, want %d: %s%s", r->status, status,
               r->head.p, r->body.p);
  char ct[128];
  cr_assert(he_http_header(r, "Content-Type", ct, sizeof(ct)),
            "no Content-Type: %s", r->head.p);
  cr_assert_str_eq(ct, "application/json", "%s", r->head.p);
  json_t *j = he_json(r->body.p);
  const char *m = json_string_value(json_object_get(j, "message"));
  cr_assert_not_null(m, "no message: %s", r->body.p);
  if (want != NULL) {
    cr_assert(strstr(m, want) != NULL, "message \"%s\" lacks \"%s\"", m, want);
  }
  json_decref(j);
}

/* One request that must fail with status and a message holding want. */
HE_UNUSED static void he_request_fails(const char *method, const char *path,
                                       const char *body, int status,
                                       const char *want) {
  he_http_t r;
  he_request(method, path, body, &r);
  cr_assert_eq(r.status, status, "%s %s %s: status %d, want %d: %s", method,
               path, body != NULL ? body : "", r.status, status, r.body.p);
  he_expect_error(&r, status, want);
  he_http_free(&r);
}

/* POST /containers/ctr/exec with body (JSON), which must answer 201: the
 * exec's id into eid. */
HE_UNUSED static void he_exec_create(const char *ctr, const char *body,
                                     char *eid, size_t n) {
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/exec", ctr);
  he_http_t r;
  he_request("POST", path, body, &r);
  cr_assert_eq(r.status, 201, "%s%s", r.head.p, r.body.p);
  json_t *j = he_json(r.body.p);
  const char *id = json_string_value(json_object_get(j, "Id"));
  cr_assert_not_null(id, "no Id: %s", r.body.p);
  snprintf(eid, n, "%s", id);
  json_decref(j);
  he_http_free(&r);
}

/* Sends POST /exec/eid/start (attached, hijacked) on fd. */
HE_UNUSED static void he_send_exec_start(int fd, const char *eid) {
  char req[512];
  snprintf(req, sizeof(req),
           "POST /v1.50/exec/%s/start HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nConnection: Upgrade\r\n"
           "Upgrade: tcp\r\nContent-Length: 28\r\n\r\n"
           "{\"Detach\":false,\"Tty\":false}",
           eid);
  cr_assert(he_raw_send_str(fd, req));
}

/* ------------------------------------------------------------------------
 * The daemon. */

/* HEAD /_ping on a fresh connection: the status, or -errno when the
 * daemon cannot be reached, or 0 when it closed without a response. */
static int he_try_ping(char *api_version, size_t n) {
  int fd = he_raw_connect_to(he.sock);
  if (fd < 0) {
    return fd;
  }
  he_conn_t c = {.fd = fd};
  int status = 0;
  if (he_raw_send_str(fd, "HEAD /_ping HTTP/1.1\r\n"
                          "Host: api.moby.localhost\r\n\r\n")) {
    he_http_t r;
    if (he_conn_response(&c, &r, true, 10000)) {
      status = r.status;
      if (!he_http_header(&r, "Api-Version", api_version, n)) {
        api_version[0] = '\0';
      }
      he_http_free(&r);
    }
  }
  he_conn_close(&c);
  return status;
}

/* Asserts the daemon answers HEAD /_ping with 200 now. */
HE_UNUSED static void he_expect_ping(void) {
  char ver[32] = "";
  int s = he_try_ping(ver, sizeof(ver));
  cr_assert_eq(s, 200, "HEAD /_ping gave %d\ndaemon log:\n%s", s,
               he_log_tail());
}

static void he_teardown(void);

/* Fails the test from a point where .fini may not run (the suite's .init):
 * the message first (it may quote the daemon's log), then the cleanup. */
#define he_fail_early(...)                                                     \
  do {                                                                         \
    char he_msg_[12288];                                                       \
    snprintf(he_msg_, sizeof(he_msg_), __VA_ARGS__);                           \
    he_teardown();                                                             \
    he.dir[0] = '\0';                                                          \
    cr_assert_fail("%s", he_msg_);                                             \
  } while (0)

/* Brings up lo in the current network namespace (child side, before the
 * exec): false on failure. */
static bool he_lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    return false;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  close(s);
  return ok;
}

/* Starts hcsd on he.sock and he.state (a restart when the state dir is
 * already there) and waits until it answers HEAD /_ping with 200 and
 * Api-Version 1.50; the test fails with the daemon's log if it dies or
 * stays silent. */
HE_UNUSED static void he_daemon_start(void) {
  cr_assert_eq(he.pid, 0, "a daemon is already running");
  int logfd = open(he.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  cr_assert_geq(logfd, 0, "%s: %s", he.log, strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    /* A case ended by Criterion's time limit skips its teardown: the
     * daemon then stops with it instead of running on as an orphan. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
      _exit(119);
    }
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) {
      _exit(120);
    }
    if (unshare(CLONE_NEWNET) != 0) {
      dprintf(2, "e2e: unshare(CLONE_NEWNET): %s\n", strerror(errno));
      _exit(121);
    }
    if (!he_lo_up()) {
      dprintf(2, "e2e: bringing up lo: %s\n", strerror(errno));
      _exit(122);
    }
    const char *argv[20] = {"hcsd", "--socket", he.sock, "--state-dir",
                            he.state};
    int argc = 5;
#ifdef HE_CLIENT_TIMEOUT
    /* A suite that tests the timeout shortens it (seconds). */
    argv[argc++] = "--client-timeout";
    argv[argc++] = HE_CLIENT_TIMEOUT;
#endif
#ifdef HE_LOG_MAX
    /* A suite that tests the log's bound makes it small (bytes). */
    argv[argc++] = "--log-max";
    argv[argc++] = HE_LOG_MAX;
#endif
    for (int i = 0; i < 7 && he.extra[i] != NULL; i++) {
      argv[argc++] = he.extra[i];
    }
    argv[argc] = NULL;
    execv(HCSD_BIN, (char *const *)argv);
    dprintf(2, "e2e: exec %s: %s\n", HCSD_BIN, strerror(errno));
    _exit(123);
  }
  close(logfd);
  he.pid = pid;
  he.pidfd = he_pidfd_open(pid);
  cr_assert_geq(he.pidfd, 0, "pidfd_open: %s", strerror(errno));

  int64_t deadline = th_now_ms() + HE_READY_MS;
  for (;;) {
    struct pollfd pf = {.fd = he.pidfd, .events = POLLIN};
    if (poll(&pf, 1, 0) == 1) {
      int status = 0;
      (void)waitpid(he.pid, &status, 0);
      close(he.pidfd);
      he.pid = 0;
      he.pidfd = -1;
      he_fail_early("hcsd died before it was ready (status 0x%x)\n"
                    "daemon log:\n%s",
                    status, he_log_tail());
    }
    char ver[32] = "";
    int s = he_try_ping(ver, sizeof(ver));
    if (s == 200) {
      cr_assert_str_eq(ver, "1.50", "HEAD /_ping: Api-Version \"%s\"", ver);
      return;
    }
    if (th_now_ms() >= deadline) {
      kill(he.pid, SIGKILL);
      (void)waitpid(he.pid, NULL, 0);
      close(he.pidfd);
      he.pid = 0;
      he.pidfd = -1;
      he_fail_early("hcsd not ready after %d ms (last ping: %d)\n"
                    "daemon log:\n%s",
                    HE_READY_MS, s, he_log_tail());
    }
    /* Until the socket listens there is no event to wait on but the
     * daemon's death: wait on that for a short while, then try again. */
    (void)poll(&pf, 1, 20);
  }
}

/* SIGTERM; asserts exit 0 within HE_STOP_MS and the socket removed. */
HE_UNUSED static void he_daemon_stop(void) {
  cr_assert_neq(he.pid, 0, "no daemon to stop");
  cr_assert_eq(kill(he.pid, SIGTERM), 0, "kill: %s", strerror(errno));
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
  cr_assert_eq(r, 1, "hcsd still running %d ms after SIGTERM\nlog:\n%s",
               HE_STOP_MS, he_log_tail());
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "hcsd ended with status 0x%x after SIGTERM\ndaemon log:\n%s",
            status, he_log_tail());
  cr_assert(access(he.sock, F_OK) != 0 && errno == ENOENT,
            "the socket %s is still there after the daemon's exit", he.sock);
}

static int he_not_dot(const struct dirent *e) { return e->d_name[0] != '.'; }

/* The daemon's open fd count. */
HE_UNUSED static int he_daemon_fds(void) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fd", (int)he.pid);
  struct dirent **list = NULL;
  int n = scandir(path, &list, he_not_dot, NULL);
  cr_assert_geq(n, 0, "scandir %s: %s", path, strerror(errno));
  for (int i = 0; i < n; i++) {
    free(list[i]);
  }
  free(list);
  return n;
}

/* The daemon's resident memory (VmRSS) in KiB. */
HE_UNUSED static long he_daemon_rss_kib(void) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)he.pid);
  FILE *f = fopen(path, "re");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  long kib = -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
      break;
    }
  }
  fclose(f);
  cr_assert_gt(kib, 0, "no VmRSS in %s", path);
  return kib;
}

/* Waits (polling /proc, the only view there is) until the daemon's fd
 * count is at most want, for ms at most; the last count. */
HE_UNUSED static int he_daemon_settle_fds(int want, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  int n = he_daemon_fds();
  while (n > want && th_now_ms() < deadline) {
    (void)poll(NULL, 0, 20);
    n = he_daemon_fds();
  }
  return n;
}

/* Raises the test's fd limit to the hard limit, for tests that hold
 * hundreds of connections. */
HE_UNUSED static void he_raise_nofile(void) {
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* ------------------------------------------------------------------------
 * Setup and the end checks. */

static int he_rm_entry(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : errno;
}

/* rm -rf dir: 0 or the errno of the first failure. */
static int he_rm_tree(const char *dir) {
  return nftw(dir, he_rm_entry, 64, FTW_DEPTH | FTW_PHYS);
}

/* Mount points under the temp dir (octal escapes as mountinfo has them),
 * newline-separated, into b; their count. */
static int he_mounts_under(th_buf_t *b) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  cr_assert_not_null(f, "mountinfo: %s", strerror(errno));
  char line[4096];
  size_t dl = strlen(he.dir);
  int n = 0;
  th_buf_add(b, "", 0);
  while (fgets(line, sizeof(line), f) != NULL) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) {
      continue;
    }
    if (strncmp(mp, he.dir, dl) == 0 && (mp[dl] == '\0' || mp[dl] == '/')) {
      th_buf_add(b, mp, strlen(mp));
      th_buf_add(b, "\n", 1);
      n++;
    }
  }
  fclose(f);
  return n;
}

/* Live children of the test (the subreaper's orphans included), by
 * /proc/self/task/ * /children; their count, pids into pids[0..max). */
static int he_children(pid_t *pids, int max) {
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) {
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    char path[128];
    snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
      continue;
    }
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
      if (n < max) {
        pids[n] = pid;
      }
      n++;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

/* .init: the temp dir, the subreaper, the daemon. */
HE_UNUSED static void he_setup(void) {
  memset(&he, 0, sizeof(he));
  he.pidfd = -1;
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0, "PR_SET_CHILD_SUBREAPER");
  if (access(HCSD_BIN, X_OK) != 0) {
    cr_skip_test("%s is not built: %s", HCSD_BIN, strerror(errno));
  }
  if (geteuid() != 0) {
    cr_skip_test("hcsd's e2e suites need root (containers, namespaces)");
  }
  he.fds0 = th_fd_count();
  snprintf(he.dir, sizeof(he.dir), "/tmp/hcsd-e2e-XXXXXX");
  cr_assert_not_null(mkdtemp(he.dir), "mkdtemp: %s", strerror(errno));
  snprintf(he.sock, sizeof(he.sock), "%s/d.sock", he.dir);
  snprintf(he.state, sizeof(he.state), "%s/state", he.dir);
  snprintf(he.cfg, sizeof(he.cfg), "%s/docker-config", he.dir);
  snprintf(he.log, sizeof(he.log), "%s/hcsd.log", he.dir);
  snprintf(he.env_host, sizeof(he.env_host), "DOCKER_HOST=unix://%s", he.sock);
  snprintf(he.env_cfg, sizeof(he.env_cfg), "DOCKER_CONFIG=%s", he.cfg);
  cr_assert_eq(mkdir(he.cfg, 0700), 0, "mkdir %s: %s", he.cfg, strerror(errno));
  he_daemon_start();
}

/* The end of every test: the daemon stops cleanly and leaves nothing. */
HE_UNUSED static void he_end(void) {
  if (he.pid != 0) {
    he_daemon_stop();
  }
  th_assert_no_child();
  th_buf_t m = {0};
  int n = he_mounts_under(&m);
  cr_assert_eq(n, 0, "mounts left under %s:\n%s", he.dir, m.p);
  th_buf_free(&m);
  int r = he_rm_tree(he.dir);
  cr_assert_eq(r, 0, "removing %s: %s", he.dir, strerror(r));
  he.dir[0] = '\0';
  cr_assert_eq(th_fd_count(), he.fds0, "the test leaked fds");
}

/* .fini: after a failure, kill what is left by the pids held (the daemon,
 * then the orphans reparented to this subreaper), detach mounts under the
 * temp dir and remove it. Does nothing after a clean he_end(). */
HE_UNUSED static void he_teardown(void) {
  if (he.pid != 0) {
    kill(he.pid, SIGKILL);
    (void)waitpid(he.pid, NULL, 0);
    he.pid = 0;
  }
  /* Kill every child first, then reap whichever ends: a container's init
   * (pid 1 of its namespace) only ends once the namespace's other
   * processes are reaped, and those may be our zombies by now. */
  int64_t deadline = th_now_ms() + 20000;
  for (;;) {
    pid_t kids[256];
    int n = he_children(kids, 256);
    if (n == 0 || th_now_ms() > deadline) {
      break;
    }
    for (int i = 0; i < n && i < 256; i++) {
      kill(kids[i], SIGKILL);
    }
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
    }
    struct pollfd none;
    (void)poll(&none, 0, 10); /* bounded: cleanup after a failure only */
  }
  if (he.dir[0] != '\0') {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    size_t dl = strlen(he.dir);
    /* Deepest first: mountinfo lists parents before children. */
    char mps[64][512];
    int n = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL && n < 64) {
      char mp[512];
      if (sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 &&
          strncmp(mp, he.dir, dl) == 0) {
        snprintf(mps[n++], sizeof(mps[0]), "%s", mp);
      }
    }
    if (f != NULL) {
      fclose(f);
    }
    while (n > 0) {
      (void)umount2(mps[--n], MNT_DETACH);
    }
    (void)he_rm_tree(he.dir);
    he.dir[0] = '\0';
  }
}

/* ------------------------------------------------------------------------
 * Commands (the docker CLI, tmux): stdio on pipes, run with a deadline. */

typedef struct he_cmd_s {
  pid_t pid;
  int pidfd;
  int in, out, err; /* our ends, -1 once closed */
  const char *data; /* stdin bytes (borrowed) */
  size_t len, off;
  th_buf_t o, e; /* stdout, stderr */
  int code;      /* exit code, or -N when signal N ended it */
  bool exited;
  char what[256]; /* the command line, for messages */
} he_cmd_t;

/* The environment for commands: ours without DOCKER_* and TMUX*, plus
 * DOCKER_HOST and DOCKER_CONFIG (never the user's ~/.docker). */
static char **he_env(void) {
  extern char **environ;
  size_t n = 0;
  while (environ[n] != NULL) {
    n++;
  }
  char **env = calloc(n + 3, sizeof(char *));
  cr_assert_not_null(env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "DOCKER_", 7) != 0 &&
        strncmp(environ[i], "TMUX", 4) != 0) {
      env[k++] = environ[i];
    }
  }
  env[k++] = he.env_host;
  env[k++] = he.env_cfg;
  env[k] = NULL;
  return env;
}

/* Starts argv (argv[0] looked up in PATH); stdin from data[0..len) when
 * data is not NULL, else /dev/null. */
HE_UNUSED static void he_cmd_start(he_cmd_t *c, const char *const *argv,
                                   const void *data, size_t len) {
  memset(c, 0, sizeof(*c));
  size_t w = 0;
  for (const char *const *a = argv; *a != NULL && w + 2 < sizeof(c->what);
       a++) {
    w += (size_t)snprintf(c->what + w, sizeof(c->what) - w, "%s%s",
                          a == argv ? "" : " ", *a);
  }
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if (data != NULL) {
    cr_assert_eq(pipe2(pin, O_CLOEXEC), 0);
  }
  cr_assert_eq(pipe2(pout, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
  cr_assert_eq(pipe2(perr, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
  char **env = he_env();
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = data != NULL ? pin[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(pout[1], 1) < 0 ||
        dup2(perr[1], 2) < 0) {
      _exit(120);
    }
    execvpe(argv[0], (char *const *)argv, env);
    _exit(errno == ENOENT ? 127 : 126);
  }
  free(env);
  if (data != NULL) {
    close(pin[0]);
    c->in = pin[1];
    cr_assert_eq(fcntl(c->in, F_SETFL, O_NONBLOCK), 0);
  } else {
    c->in = -1;
  }
  close(pout[1]);
  close(perr[1]);
  c->pid = pid;
  c->pidfd = he_pidfd_open(pid);
  cr_assert_geq(c->pidfd, 0, "pidfd_open: %s", strerror(errno));
  c->out = pout[0];
  c->err = perr[0];
  c->data = data;
  c->len = len;
  if (c->in >= 0 && len == 0) {
    close(c->in);
    c->in = -1;
  }
}

static bool he_cmd_done(const he_cmd_t *c) {
  return c->exited && c->in < 0 && c->out < 0 && c->err < 0;
}

/* One step of a command's I/O for the poll results in p (see
 * he_cmds_wait). */
static void he_cmd_step(he_cmd_t *c, struct pollfd *p, const int *slot) {
  if (slot[0] >= 0 && p[slot[0]].revents != 0) {
    ssize_t w = write(c->in, c->data + c->off, c->len - c->off);
    if (w > 0) {
      c->off += (size_t)w;
    }
    if (c->off == c->len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
      close(c->in); /* done, or the reader is gone (EPIPE) */
      c->in = -1;
    }
  }
  int *fds[2] = {&c->out, &c->err};
  th_buf_t *bufs[2] = {&c->o, &c->e};
  for (int k = 0; k < 2; k++) {
    if (slot[1 + k] < 0 || p[slot[1 + k]].revents == 0) {
      continue;
    }
    char buf[65536];
    ssize_t got = read(*fds[k], buf, sizeof(buf));
    if (got > 0) {
      th_buf_add(bufs[k], buf, (size_t)got);
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(*fds[k]);
      *fds[k] = -1;
    }
  }
  if (slot[3] >= 0 && p[slot[3]].revents != 0) {
    int status = 0;
    cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
    c->code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    c->exited = true;
    close(c->pidfd);
    c->pidfd = -1;
  }
}

/* Runs n started commands to their ends (exit and EOF on both outputs)
 * within ms; at the deadline kills the ones left (by their pids) and
 * fails. */
HE_UNUSED static void he_cmds_wait(he_cmd_t *cs, int n, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  struct pollfd *p = calloc((size_t)n * 4, sizeof(*p));
  int *slots = calloc((size_t)n * 4, sizeof(int));
  cr_assert(p != NULL && slots != NULL);
  for (;;) {
    nfds_t k = 0;
    int left_cmds = 0;
    for (int i = 0; i < n; i++) {
      he_cmd_t *c = &cs[i];
      int *s = &slots[i * 4];
      int fds[4] = {c->in, c->out, c->err, c->exited ? -1 : c->pidfd};
      short ev[4] = {POLLOUT, POLLIN, POLLIN, POLLIN};
      for (int j = 0; j < 4; j++) {
        s[j] = -1;
        if (fds[j] >= 0) {
          s[j] = (int)k;
          p[k++] = (struct pollfd){.fd = fds[j], .events = ev[j]};
        }
      }
      left_cmds += he_cmd_done(c) ? 0 : 1;
    }
    if (left_cmds == 0) {
      break;
    }
    int64_t left = deadline - th_now_ms();
    if (left <= 0) {
      for (int i = 0; i < n; i++) {
        he_cmd_t *c = &cs[i];
        if (!c->exited) {
          kill(c->pid, SIGKILL);
          (void)waitpid(c->pid, NULL, 0);
          c->exited = true;
        }
      }
      for (int i = 0; i < n; i++) {
        cr_assert(he_cmd_done(&cs[i]),
                  "`%s` still running after %lld ms (killed)\nstdout: %.2000s\n"
                  "stderr: %.2000s\ndaemon log:\n%s",
                  cs[i].what, (long long)ms, cs[i].o.p, cs[i].e.p,
                  he_log_tail());
      }
    }
    int r = poll(p, k, (int)(left > 0 ? left : 0));
    cr_assert(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
    if (r <= 0) {
      continue;
    }
    for (int i = 0; i < n; i++) {
      he_cmd_step(&cs[i], p, &slots[i * 4]);
    }
  }
  free(p);
  free(slots);
  for (int i = 0; i < n; i++) {
    th_buf_add(&cs[i].o, "", 0);
    th_buf_add(&cs[i].e, "", 0);
  }
}

HE_UNUSED static void he_cmd_free(he_cmd_t *c) {
  th_buf_free(&c->o);
  th_buf_free(&c->e);
}

/* Runs argv with stdin data (NULL: /dev/null) to its end; the exit code. */
HE_UNUSED static int he_run_argv(he_cmd_t *c, const void *data, size_t len,
                                 const char *const *argv) {
  he_cmd_start(c, argv, data, len);
  he_cmds_wait(c, 1, HE_CMD_MS);
  return c->code;
}

#define HE_ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* he_docker(&c, "run", "--rm", "busybox", "true"): the exit code, output
 * in c.o / c.e (he_cmd_free). */
#define he_docker(c, ...)                                                      \
  he_run_argv((c), NULL, 0, HE_ARGV("docker", __VA_ARGS__))
#define he_docker_in(c, data, len, ...)                                        \
  he_run_argv((c), (data), (len), HE_ARGV("docker", __VA_ARGS__))

/* Asserts a finished command's exit code, showing its output if not. */
#define he_expect_code(c, want)                                                \
  cr_assert_eq((c)->code, (want),                                              \
               "`%s` exited %d, want %d\nstdout: %.2000s\nstderr: %.2000s\n"   \
               "daemon log:\n%s",                                              \
               (c)->what, (c)->code, (want), (c)->o.p, (c)->e.p,               \
               he_log_tail())

/* Runs a docker command that must succeed; its stdout stays in c.o. */
#define he_docker_ok(c, ...)                                                   \
  do {                                                                         \
    he_docker((c), __VA_ARGS__);                                               \
    he_expect_code((c), 0);                                                    \
  } while (0)

/* The single-line stdout of a successful docker command, newline cut,
 * into out (e.g. an id, or a --format result). */
#define he_docker_line(out, n, ...)                                            \
  do {                                                                         \
    he_cmd_t he_c_;                                                            \
    he_docker_ok(&he_c_, __VA_ARGS__);                                         \
    size_t he_l_ = strcspn(he_c_.o.p, "\n");                                   \
    snprintf((out), (n), "%.*s", (int)he_l_, he_c_.o.p);                       \
    he_cmd_free(&he_c_);                                                       \
  } while (0)

/* Runs a docker command that must fail with exit code code and print
 * needle on stderr. */
#define he_docker_fails(code, needle, ...)                                     \
  do {                                                                         \
    he_cmd_t he_f_;                                                            \
    he_docker(&he_f_, __VA_ARGS__);                                            \
    he_expect_code(&he_f_, (code));                                            \
    cr_assert(strstr(he_f_.e.p, (needle)) != NULL,                             \
              "`%s`: stderr \"%s\" lacks \"%s\"", he_f_.what, he_f_.e.p,       \
              (needle));                                                       \
    he_cmd_free(&he_f_);                                                       \
  } while (0)

/* Asserts s holds needle. */
#define he_expect_has(s, needle)                                               \
  cr_assert(strstr((s), (needle)) != NULL, "\"%s\" lacks \"%s\"", (s), (needle))

/* Appends what `seq from to` prints to b. */
HE_UNUSED static void he_seq_text(th_buf_t *b, long from, long to) {
  char line[32];
  for (long i = from; i <= to; i++) {
    int k = snprintf(line, sizeof(line), "%ld\n", i);
    th_buf_add(b, line, (size_t)k);
  }
}

/* Asserts got holds want's bytes exactly, naming the first that differs. */
HE_UNUSED static void he_expect_same(const th_buf_t *got, const th_buf_t *want,
                                     const char *what) {
  cr_assert_eq(got->len, want->len, "%s: %zu bytes, want %zu", what, got->len,
               want->len);
  size_t i = 0;
  while (i < want->len && got->p[i] == want->p[i]) {
    i++;
  }
  cr_assert_eq(i, want->len, "%s differs at byte %zu", what, i);
}

#endif
