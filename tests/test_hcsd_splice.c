/* SPDX-License-Identifier: MIT */
/* hcsd forwards a non-tty exec's output by splice (issue 16): the
 * engine never reads the process's pipes, hcsd writes the frame header
 * and splices the pipe into the client's socket.
 *
 * - 64 MiB of stdout and a little stderr through the docker CLI arrive
 *   byte for byte on the right streams, with the exit code.
 * - A client that does not read paces the process (its pipe fills and
 *   it blocks in write), the daemon does not grow behind it, and once the
 *   client reads it gets every byte in well-formed frames. */
#include "hcsd_e2e.h"

#include <poll.h>

/* How much the daemon may grow behind the client that does not read. */
#define SP_RSS_BOUND_KIB (16 * 1024)

TestSuite(hcsd_splice, .init = he_setup, .fini = he_teardown, .timeout = 300);

Test(hcsd_splice, docker_exec_64mib_intact) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "busybox", "sleep", "600");
  he_cmd_t c;
  /* 64.6 MiB on stdout, 574 KiB on stderr, interleaved by the shell. */
  he_docker(&c, "exec", id, "sh", "-c",
            "seq 1 8400000; seq 1 100000 >&2; exit 3");
  he_expect_code(&c, 3);
  th_buf_t want = {0};
  he_seq_text(&want, 1, 8400000);
  he_expect_same(&c.o, &want, "stdout");
  th_buf_free(&want);
  he_seq_text(&want, 1, 100000);
  he_expect_same(&c.e, &want, "stderr");
  th_buf_free(&want);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", id);
  he_cmd_free(&c);
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

/* A framed stream read to EOF: payload bytes per stream, all of them
 * zero, and no frame cut short. */
typedef struct frames_s {
  uint64_t bytes[2];
  uint64_t frames;
  uint64_t nonzero;
  unsigned char hdr[8];
  unsigned hdr_got;
  uint64_t left;
  int stream;
} frames_t;

static void frames_feed(frames_t *f, const unsigned char *p, size_t n) {
  while (n > 0) {
    if (f->left == 0) {
      f->hdr[f->hdr_got++] = *p++;
      n--;
      if (f->hdr_got == 8) {
        f->hdr_got = 0;
        cr_assert((f->hdr[0] == 1 || f->hdr[0] == 2) && f->hdr[1] == 0 &&
                      f->hdr[2] == 0 && f->hdr[3] == 0,
                  "a bad frame header after %llu frames",
                  (unsigned long long)f->frames);
        f->stream = f->hdr[0];
        f->left = (uint64_t)f->hdr[4] << 24 | (uint64_t)f->hdr[5] << 16 |
                  (uint64_t)f->hdr[6] << 8 | f->hdr[7];
        f->frames++;
      }
      continue;
    }
    size_t k = n < f->left ? n : (size_t)f->left;
    for (size_t i = 0; i < k; i++) {
      f->nonzero += p[i] != 0;
    }
    f->bytes[f->stream - 1] += k;
    f->left -= k;
    p += k;
    n -= k;
  }
}

Test(hcsd_splice, unread_exec_stream_paces_the_process) {
  const uint64_t total = 256ull << 20;
  char id[128], eid[80];
  he_docker_line(id, sizeof(id), "run", "-d", "busybox", "sleep", "600");
  he_exec_create(id,
                 "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"dd\","
                 "\"if=/dev/zero\",\"bs=65536\",\"count=4096\","
                 "\"status=none\"]}",
                 eid, sizeof(eid));
  int fd = he_raw_connect();
  int small = 4096;
  cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  long rss0 = he_daemon_rss_kib();
  he_send_exec_start(fd, eid);
  he_read_head(fd, "HTTP/1.1 101");
  /* Two seconds unread: dd would write 256 MiB in well under one. The
   * daemon stays within its bound all along, and dd is still running. */
  long peak = rss0;
  for (int i = 0; i < 20; i++) {
    (void)poll(NULL, 0, 100);
    long r = he_daemon_rss_kib();
    peak = r > peak ? r : peak;
  }
  cr_assert_lt(peak - rss0, SP_RSS_BOUND_KIB,
               "the daemon grew from %ld to %ld KiB behind a client that "
               "does not read",
               rss0, peak);
  json_t *j = exec_inspect(eid);
  cr_assert(json_is_true(json_object_get(j, "Running")),
            "dd finished though nobody read its output");
  json_decref(j);
  /* Now read it all. */
  frames_t f;
  memset(&f, 0, sizeof(f));
  static unsigned char buf[256 * 1024];
  int64_t deadline = th_now_ms() + 120000;
  for (;;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, (int)(deadline - th_now_ms())), 1,
                 "the stream stalled after %llu bytes",
                 (unsigned long long)(f.bytes[0] + f.bytes[1]));
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    cr_assert_geq(n, 0, "recv: %s", strerror(errno));
    if (n == 0) {
      break;
    }
    frames_feed(&f, buf, (size_t)n);
  }
  close(fd);
  cr_assert_eq(f.left, 0, "the last frame was cut short");
  cr_assert_eq(f.hdr_got, 0, "a frame header was cut short");
  cr_assert_eq(f.bytes[0], total, "%llu bytes of stdout, want %llu",
               (unsigned long long)f.bytes[0], (unsigned long long)total);
  cr_assert_eq(f.bytes[1], 0, "%llu bytes of stderr",
               (unsigned long long)f.bytes[1]);
  cr_assert_eq(f.nonzero, 0, "%llu bytes are not dd's zeros",
               (unsigned long long)f.nonzero);
  /* The exit code is there once the stream ended. */
  j = exec_inspect(eid);
  cr_assert(json_is_false(json_object_get(j, "Running")));
  cr_assert_eq(json_integer_value(json_object_get(j, "ExitCode")), 0);
  json_decref(j);
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", id);
  he_cmd_free(&c);
  he_end();
}

/* Starts dd writing 256 MiB of zeros on a new connection, reads the
 * response head and about want bytes of the stream. */
static int start_dd(const char *id, char *eid, size_t n, size_t want) {
  he_exec_create(id,
                 "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"dd\","
                 "\"if=/dev/zero\",\"bs=65536\",\"count=4096\","
                 "\"status=none\"]}",
                 eid, n);
  int fd = he_raw_connect();
  he_send_exec_start(fd, eid);
  he_read_head(fd, "HTTP/1.1 101");
  static char buf[65536];
  size_t got = 0;
  while (got < want) {
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    cr_assert_gt(k, 0, "the stream ended after %zu bytes", got);
    got += (size_t)k;
  }
  return fd;
}

/* A client that leaves mid-stream detaches its exec, whose output is then
 * dropped: dd runs to its end. A stream still in flight when the daemon
 * stops leaves nothing behind. */
Test(hcsd_splice, streams_left_and_in_flight_at_exit) {
  char id[128], gone[80], kept[80];
  he_docker_line(id, sizeof(id), "run", "-d", "busybox", "sleep", "600");
  int fd = start_dd(id, gone, sizeof(gone), 1 << 20);
  close(fd);
  int64_t deadline = th_now_ms() + 60000;
  json_t *j;
  while ((j = exec_inspect(gone)) != NULL &&
         json_is_true(json_object_get(j, "Running"))) {
    json_decref(j);
    cr_assert_lt(th_now_ms(), deadline,
                 "dd still runs 60 s after its client left");
    (void)poll(NULL, 0, 50);
  }
  cr_assert_eq(json_integer_value(json_object_get(j, "ExitCode")), 0);
  json_decref(j);
  fd = start_dd(id, kept, sizeof(kept), 1 << 20);
  he_daemon_stop();
  close(fd);
  he_end();
}
