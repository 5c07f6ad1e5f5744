/* hcsd under vanished clients (issue 19): a client that goes away
 * releases at once everything it held.
 *
 * - 1,500 waits (64 KiB bodies) whose clients left: the daemon's RSS does
 *   not grow round after round; waits, followers, attach and exec streams
 *   pending at SIGTERM (clients gone or still there) leave nothing behind
 *   (the ASan build's LeakSanitizer runs at the daemon's exit, which
 *   he_end() checks is clean).
 *
 * RSS is read from /proc (the only view there is), polled with a
 * deadline. In the ASan build the daemon's quarantine of freed memory is
 * made small, so that RSS means the same there. */
#include "hcsd_e2e.h"

#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN 1
#endif
#endif

static void sl_setup(void) {
#ifdef SL_ASAN
  /* Freed memory waits in ASan's quarantine (256 MiB by default) before
   * it is reused, which RSS would count as growth. */
  const char *o = getenv("ASAN_OPTIONS");
  char opts[1024];
  snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=8", o != NULL ? o : "",
           o != NULL && o[0] != '\0' ? ":" : "");
  setenv("ASAN_OPTIONS", opts, 1);
#endif
  he_setup();
}

TestSuite(hcsd_slow, .init = sl_setup, .fini = he_teardown, .timeout = 400);

/* A connection with a small receive buffer, so that the daemon's queue
 * fills at once when the client does not read. */
static int connect_small(void) {
  int fd = he_raw_connect();
  int small = 4096;
  cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  return fd;
}

/* Reads a response head byte by byte up to its blank line (so no body
 * byte is taken); asserts its status line starts with want. */
static void read_head(int fd, const char *want) {
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
}

/* Sends req on a new connection (small: with a small receive buffer)
 * and reads its response head, whose status line starts with want. */
static int open_reply(bool small, const char *req, const char *want) {
  int fd = small ? connect_small() : he_raw_connect();
  cr_assert(he_raw_send_str(fd, req));
  read_head(fd, want);
  return fd;
}

static int follow(const char *id, bool small) {
  char req[512];
  snprintf(req, sizeof(req),
           "GET /v1.50/containers/%s/logs?follow=1&stdout=1&stderr=1&tail=0 "
           "HTTP/1.1\r\nHost: x\r\n\r\n",
           id);
  return open_reply(small, req, "HTTP/1.1 200");
}

static int attach(const char *id, bool small) {
  char req[512];
  snprintf(req, sizeof(req),
           "POST /v1.50/containers/%s/attach?stream=1&stdout=1&stderr=1 "
           "HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
           "Content-Length: 0\r\n\r\n",
           id);
  return open_reply(small, req, "HTTP/1.1 101");
}

/* Opens n waits on id, each with a body of body bytes; their fds into
 * fds, each past the reply's head. */
static void open_waits(const char *id, int *fds, int n, size_t body) {
  char *b = malloc(body);
  cr_assert_not_null(b);
  memset(b, 'x', body);
  for (int i = 0; i < n; i++) {
    fds[i] = he_raw_connect();
    char req[512];
    snprintf(req, sizeof(req),
             "POST /v1.50/containers/%s/wait?condition=removed HTTP/1.1\r\n"
             "Host: x\r\nContent-Type: text/plain\r\n"
             "Content-Length: %zu\r\n\r\n",
             id, body);
    cr_assert(he_raw_send_str(fds[i], req));
    cr_assert(he_raw_send(fds[i], b, body, 10000));
    read_head(fds[i], "HTTP/1.1 200");
  }
  free(b);
}

#define SL_WAITS 300

/* Waits whose clients left hold nothing: round after round of 300 waits
 * with 64 KiB bodies, dropped, the daemon's RSS stays where the first
 * round left it. At SIGTERM, 300 more dropped and 20 still connected
 * leave no leak (LeakSanitizer in the ASan build). */
Test(hcsd_slow, dropped_waits_hold_nothing) {
  he_raise_nofile();
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "waited", "busybox",
                 "sleep", "600");
  int fds0 = he_daemon_fds();
  static int fds[SL_WAITS];
  long rss1 = 0, rss = 0;
  for (int round = 0; round < 5; round++) {
    open_waits(id, fds, SL_WAITS, 65536);
    for (int i = 0; i < SL_WAITS; i++) {
      close(fds[i]);
    }
    int left = he_daemon_settle_fds(fds0, 10000);
    cr_assert_leq(left, fds0, "%d waits still hold fds", left - fds0);
    he_expect_ping();
    rss = he_daemon_rss_kib();
    if (round == 0) {
      rss1 = rss;
    }
  }
  cr_assert_lt(rss - rss1, 24 * 1024,
               "the daemon grew from %ld to %ld KiB over 1,200 dropped waits",
               rss1, rss);
  open_waits(id, fds, SL_WAITS, 4096);
  for (int i = 0; i < SL_WAITS; i++) {
    close(fds[i]);
  }
  int kept[20];
  open_waits(id, kept, 20, 0);
  he_daemon_stop();
  for (int i = 0; i < 20; i++) {
    close(kept[i]);
  }
  he_end();
}

static void start_exec(const char *id, int fd) {
  char eid[80];
  he_exec_create(id,
                 "{\"AttachStdin\":true,\"AttachStdout\":true,"
                 "\"AttachStderr\":true,\"Cmd\":[\"cat\"]}",
                 eid, sizeof(eid));
  he_send_exec_start(fd, eid);
  read_head(fd, "HTTP/1.1 101");
}

#define SL_STREAMS 100

/* Followers, attach and exec streams whose clients left, and as many
 * still open at SIGTERM: the daemon's fds come back, and it exits with
 * nothing leaked (LeakSanitizer in the ASan build). */
Test(hcsd_slow, dropped_streams_hold_nothing) {
  he_raise_nofile();
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "quiet", "busybox",
                 "sleep", "600");
  static int fds[2][3 * SL_STREAMS];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < SL_STREAMS; i++) {
      fds[round][3 * i] = follow(id, false);
      fds[round][3 * i + 1] = attach(id, false);
      fds[round][3 * i + 2] = he_raw_connect();
      start_exec(id, fds[round][3 * i + 2]);
    }
    if (round == 0) {
      /* The execs' cats go on (a client that leaves detaches), with
       * their pipes; the sockets go. */
      int open = he_daemon_fds();
      for (int i = 0; i < 3 * SL_STREAMS; i++) {
        close(fds[0][i]);
      }
      int left = he_daemon_settle_fds(open - 3 * SL_STREAMS, 10000);
      cr_assert_leq(left, open - 3 * SL_STREAMS,
                    "%d of %d dropped streams still hold their sockets",
                    left - (open - 3 * SL_STREAMS), 3 * SL_STREAMS);
      he_expect_ping();
    }
  }
  he_daemon_stop();
  for (int i = 0; i < 3 * SL_STREAMS; i++) {
    close(fds[1][i]);
  }
  he_end();
}
