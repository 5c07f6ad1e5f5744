/* SPDX-License-Identifier: MIT */
/* hcsd under slow and vanished clients (issue 19): what a client makes
 * the daemon queue is bounded per connection, and a client that goes
 * away releases at once everything it held.
 *
 * - A `logs -f` follower that never reads, of a container printing
 *   ~20 MB/s: the daemon's RSS stays within a fixed bound while 128 MiB
 *   go by, the container keeps running, a reading follower keeps getting
 *   every byte, and the slow follower is dropped.
 * - An attach client that never reads paces the container (its output
 *   waits, as with dockerd), the daemon's RSS stays bounded, and the
 *   output flows again once that client leaves.
 * - A client pipelining requests without reading a reply: the daemon
 *   stops reading its requests while the replies wait, and answers every
 *   one once the client reads.
 * - A client reading a 2 MB reply slowly, for longer than the client
 *   timeout (8 s here): it is not idle, and gets the whole reply.
 * - 1,500 waits (64 KiB bodies) whose clients left: the daemon's RSS does
 *   not grow round after round; waits, followers, attach and exec streams
 *   pending at SIGTERM (clients gone or still there) leave nothing behind
 *   (the ASan build's LeakSanitizer runs at the daemon's exit, which
 *   he_end() checks is clean); nor do request bodies cut off halfway.
 *
 * RSS is read from /proc (the only view there is), polled with a
 * deadline. In the ASan build the daemon's quarantine of freed memory is
 * made small, so that RSS means the same there. */
/* A short client timeout (seconds), so that a slow reader outlasts it. */
#define HE_CLIENT_TIMEOUT "8"
#include "hcsd_e2e.h"

#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN 1
#endif
#endif

/* The chatty container: ~1 MB every 50 ms (about 20 MB/s). */
#define SL_CHATTY                                                              \
  "while :; do yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 1000000; "   \
  "usleep 50000; done"
/* How much the daemon may grow behind one slow client. */
#define SL_RSS_BOUND_KIB (40 * 1024)

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

/* Reads what fd has within ms; the byte count, -1 at EOF. */
static ssize_t drain(int fd, int ms) {
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  if (poll(&pf, 1, ms) != 1) {
    return 0;
  }
  ssize_t total = 0;
  for (int i = 0; i < 64; i++) {
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      return total > 0 ? total : -1;
    }
    if (n < 0) {
      break;
    }
    total += n;
  }
  return total;
}

static void run_chatty(char *id, size_t n) {
  he_docker_line(id, n, "run", "-d", "--name", "chatty", "busybox", "sh", "-c",
                 SL_CHATTY);
}

static void expect_running(const char *name) {
  char st[64];
  he_docker_line(st, sizeof(st), "inspect", "-f", "{{.State.Running}}", name);
  cr_assert_str_eq(st, "true", "%s is not running", name);
}

/* Reads fd until want bytes came or the clock reaches until, asserting
 * at every turn that the daemon has not grown SL_RSS_BOUND_KIB past rss0
 * (why: what the slow client is); the bytes read. */
static int64_t read_while_bounded(int fd, int64_t want, int64_t until,
                                  long rss0, const char *why) {
  int64_t got = 0;
  long peak = rss0;
  while (got < want && th_now_ms() < until) {
    ssize_t n = drain(fd, 100);
    cr_assert_geq(n, 0, "the reading client was closed after %lld bytes",
                  (long long)got);
    got += n;
    long r = he_daemon_rss_kib();
    peak = r > peak ? r : peak;
    cr_assert_lt(peak - rss0, SL_RSS_BOUND_KIB,
                 "the daemon grew from %ld to %ld KiB behind %s (%lld bytes "
                 "to a reading client)",
                 rss0, peak, why, (long long)got);
  }
  return got;
}

/* Sends req on a new connection (small: with a small receive buffer)
 * and reads its response head, whose status line starts with want; its
 * Content-Length into *len when len is not NULL. */
static int open_reply(bool small, const char *req, const char *want,
                      size_t *len) {
  int fd = small ? connect_small() : he_raw_connect();
  cr_assert(he_raw_send_str(fd, req));
  size_t n = he_read_head(fd, want);
  if (len != NULL) {
    *len = n;
  }
  return fd;
}

static int follow(const char *id, bool small) {
  char req[512];
  snprintf(req, sizeof(req),
           "GET /v1.50/containers/%s/logs?follow=1&stdout=1&stderr=1&tail=0 "
           "HTTP/1.1\r\nHost: x\r\n\r\n",
           id);
  return open_reply(small, req, "HTTP/1.1 200", NULL);
}

static int attach(const char *id, bool small) {
  char req[512];
  snprintf(req, sizeof(req),
           "POST /v1.50/containers/%s/attach?stream=1&stdout=1&stderr=1 "
           "HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
           "Content-Length: 0\r\n\r\n",
           id);
  return open_reply(small, req, "HTTP/1.1 101", NULL);
}

/* A follower that never reads is dropped before the daemon holds much
 * for it; the container and the other followers go on at full speed. */
Test(hcsd_slow, unread_follower_is_dropped) {
  char id[128];
  run_chatty(id, sizeof(id));
  int reader = follow(id, false);
  long rss0 = he_daemon_rss_kib();
  int slow = follow(id, true);
  int64_t got =
      read_while_bounded(reader, 128 * 1024 * 1024, th_now_ms() + 120000, rss0,
                         "a follower that does not read");
  cr_assert_geq(got, 128 * 1024 * 1024,
                "the reading follower got only %lld bytes in 120 s",
                (long long)got);
  /* Dropped: what was queued for it, then EOF. */
  cr_assert_geq(he_raw_wait_closed(slow, 30000), 0,
                "the slow follower is still connected");
  close(slow);
  expect_running("chatty");
  ssize_t n = drain(reader, 10000);
  cr_assert_gt(n, 0, "the reading follower stopped getting output");
  close(reader);
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "chatty");
  he_cmd_free(&c);
  he_end();
}

/* An attached client that does not read holds the container's output
 * (dockerd's attach does too): the daemon queues nothing more for it,
 * and the output flows again once that client leaves. */
Test(hcsd_slow, unread_attach_paces_the_container) {
  char id[128];
  run_chatty(id, sizeof(id));
  long rss0 = he_daemon_rss_kib();
  int slow = attach(id, true);
  int reader = attach(id, false);
  int64_t got = read_while_bounded(reader, INT64_MAX, th_now_ms() + 10000, rss0,
                                   "an attach that does not read");
  cr_assert_lt(got, 16 * 1024 * 1024,
               "%lld bytes went by an attached client that does not read",
               (long long)got);
  close(slow);
  got = 0;
  int64_t deadline = th_now_ms() + 60000;
  while (got < 16 * 1024 * 1024 && th_now_ms() < deadline) {
    ssize_t n = drain(reader, 100);
    cr_assert_geq(n, 0, "the reading attach was closed");
    got += n;
  }
  cr_assert_geq(got, 16 * 1024 * 1024,
                "the output did not flow again after the slow client left "
                "(%lld bytes in 60 s)",
                (long long)got);
  expect_running("chatty");
  close(reader);
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "chatty");
  he_cmd_free(&c);
  he_end();
}

/* Counts "HTTP/1.1 200 OK" in a byte stream cut anywhere. */
typedef struct counter_s {
  char carry[16];
  size_t carry_len;
  size_t hits;
} counter_t;

static void count_replies(counter_t *k, const char *p, size_t n) {
  static const char pat[] = "HTTP/1.1 200 OK";
  const size_t pl = sizeof(pat) - 1;
  char *all = malloc(k->carry_len + n);
  cr_assert_not_null(all);
  memcpy(all, k->carry, k->carry_len);
  memcpy(all + k->carry_len, p, n);
  size_t len = k->carry_len + n;
  for (const char *s = all; (s = memmem(s, len - (size_t)(s - all), pat, pl));
       s += pl) {
    k->hits++;
  }
  k->carry_len = len < pl - 1 ? len : pl - 1;
  memcpy(k->carry, all + len - k->carry_len, k->carry_len);
  free(all);
}

/* A client that sends requests and reads no reply: the daemon stops
 * reading its requests once replies wait for it, and answers all of them
 * when it reads. */
Test(hcsd_slow, unread_replies_stop_the_requests) {
  static const char req[] = "GET /v1.50/version HTTP/1.1\r\nHost: x\r\n\r\n";
  const size_t rl = sizeof(req) - 1;
  enum { BATCH = 128, MANY = 200000 };
  static char batch[(sizeof(req) - 1) * BATCH];
  for (int i = 0; i < BATCH; i++) {
    memcpy(batch + (size_t)i * rl, req, rl);
  }
  int fd = connect_small();
  long rss0 = he_daemon_rss_kib(), peak = rss0;
  size_t sent = 0; /* bytes */
  for (;;) {
    size_t off = sent % (rl * BATCH);
    ssize_t w =
        send(fd, batch + off, rl * BATCH - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      sent += (size_t)w;
      if (sent >= (size_t)MANY * rl) {
        break;
      }
      continue;
    }
    cr_assert(w < 0 && (errno == EAGAIN || errno == EINTR), "send: %s",
              strerror(errno));
    long r = he_daemon_rss_kib();
    peak = r > peak ? r : peak;
    /* Stuck for 2 s: the daemon has stopped reading this client. */
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    if (poll(&pf, 1, 2000) == 0) {
      break;
    }
  }
  long r = he_daemon_rss_kib();
  peak = r > peak ? r : peak;
  cr_assert_lt(peak - rss0, SL_RSS_BOUND_KIB,
               "the daemon grew from %ld to %ld KiB queueing replies for a "
               "client that reads none (%zu requests sent)",
               rss0, peak, sent / rl);
  cr_assert_lt(sent, (size_t)MANY * rl,
               "the daemon read all %d requests of a client that reads no "
               "reply",
               MANY);
  he_expect_ping();
  /* Now read: every request whole sent is answered, the rest completed
   * as the daemon takes it. */
  size_t want = (sent + rl - 1) / rl;
  size_t total = want * rl;
  counter_t k = {0};
  int64_t deadline = th_now_ms() + 120000;
  while (k.hits < want) {
    cr_assert_lt(th_now_ms(), deadline, "%zu of %zu replies in 120 s", k.hits,
                 want);
    struct pollfd pf = {.fd = fd,
                        .events = POLLIN | (sent < total ? POLLOUT : 0)};
    if (poll(&pf, 1, 1000) <= 0) {
      continue;
    }
    if (sent < total && (pf.revents & POLLOUT)) {
      size_t off = sent % (rl * BATCH);
      size_t len =
          total - sent < rl * BATCH - off ? total - sent : rl * BATCH - off;
      ssize_t w = send(fd, batch + off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        sent += (size_t)w;
      }
    }
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    cr_assert(n != 0, "closed after %zu of %zu replies", k.hits, want);
    if (n > 0) {
      count_replies(&k, buf, (size_t)n);
    }
  }
  close(fd);
  he_expect_ping();
  he_end();
}

/* A client that reads a big reply slowly (docker logs | less) is not
 * idle: it gets all of it, however long it takes past the client
 * timeout. */
Test(hcsd_slow, slow_reader_gets_its_whole_reply) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "big", "busybox", "sh", "-c",
               "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 3000000");
  he_cmd_free(&c);
  size_t len = 0;
  int fd = open_reply(true,
                      "GET /v1.50/containers/big/logs?stdout=1 HTTP/1.1\r\n"
                      "Host: x\r\n\r\n",
                      "HTTP/1.1 200", &len);
  cr_assert_gt(len, 1000000, "only %zu bytes of log", len);
  /* 64 KiB at most a turn, the turns spread over 12 s at least (their
   * gaps no longer than half a second): the slowness is the test. */
  size_t turns = (len + 65535) / 65536;
  int gap_ms = turns >= 24 ? (int)(12000 / turns) + 1 : 500;
  int64_t t0 = th_now_ms();
  size_t got = 0;
  while (got < len) {
    (void)poll(NULL, 0, gap_ms);
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) {
      continue;
    }
    cr_assert_gt(n, 0,
                 "the daemon closed a slow reader after %zu of %zu bytes, in "
                 "%lld ms",
                 got, len, (long long)(th_now_ms() - t0));
    got += (size_t)n;
  }
  cr_assert_gt(th_now_ms() - t0, 10000, "read in %lld ms: not slow enough",
               (long long)(th_now_ms() - t0));
  close(fd);
  he_docker_ok(&c, "rm", "big");
  he_cmd_free(&c);
  he_end();
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
    he_read_head(fds[i], "HTTP/1.1 200");
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
  he_read_head(fd, "HTTP/1.1 101");
}

#define SL_STREAMS 100

/* Requests whose bodies are cut off halfway, one kept in memory (a
 * create) and one streamed to its reader (a load): their memory, sockets
 * and held buffers go with their clients. */
static void dropped_bodies(void) {
  static const char *const heads[2] = {
      "POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n",
      "POST /v1.50/images/load HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/x-tar\r\nContent-Length: 1048576\r\n\r\n"};
  static char half[256 * 1024];
  memset(half, ' ', sizeof(half));
  static int fds[2 * SL_STREAMS];
  int fds0 = he_daemon_fds();
  for (int i = 0; i < 2 * SL_STREAMS; i++) {
    fds[i] = he_raw_connect();
    cr_assert(he_raw_send_str(fds[i], heads[i % 2]));
    cr_assert(he_raw_send(fds[i], half, sizeof(half), 10000));
  }
  /* Every connection open in the daemon (a load has no temp file). */
  int want = fds0 + 2 * SL_STREAMS;
  int64_t deadline = th_now_ms() + 10000;
  while (he_daemon_fds() < want && th_now_ms() < deadline) {
    (void)poll(NULL, 0, 20);
  }
  cr_assert_geq(he_daemon_fds(), want, "the daemon did not take the bodies");
  for (int i = 0; i < 2 * SL_STREAMS; i++) {
    close(fds[i]);
  }
  int left = he_daemon_settle_fds(fds0, 10000);
  cr_assert_leq(left, fds0, "%d fds of cut-off bodies still held", left - fds0);
}

/* Followers, attach and exec streams whose clients left, and as many
 * still open at SIGTERM; bodies cut off halfway: the daemon's fds come
 * back, and it exits with nothing leaked (LeakSanitizer in the ASan
 * build). */
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
  dropped_bodies();
  he_daemon_stop();
  for (int i = 0; i < 3 * SL_STREAMS; i++) {
    close(fds[1][i]);
  }
  he_end();
}
