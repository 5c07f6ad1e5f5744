/* SPDX-License-Identifier: MIT */
/* hcsd's log as a service sees it: a line per request at info (method,
 * path, status, bytes, duration) and none at --log-level warn; --log-file
 * reopened on SIGHUP, which does not stop hcsd (logrotate's move, then
 * its signal); SIGTERM still exits 0; with stderr the journal's stream
 * (JOURNAL_STREAM names its dev:ino) every line starts with its syslog
 * priority. */
#include "hcsd_e2e.h"

#include <sys/inotify.h>

TestSuite(hcsd_log, .init = he_setup, .fini = he_teardown);

/* The whole of path ("" when it does not exist), from offset from. */
static void read_file(const char *path, off_t from, th_buf_t *b) {
  memset(b, 0, sizeof(*b));
  th_buf_add(b, "", 0);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cr_assert_eq(errno, ENOENT, "%s: %s", path, strerror(errno));
    return;
  }
  char buf[4096];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
    th_buf_add(b, buf, (size_t)n);
    from += n;
  }
  close(fd);
}

/* How many lines of text hold want. */
static int count_lines(const char *text, const char *want) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, want)) != NULL; p++) {
    n++;
  }
  return n;
}

/* The daemon again, with more options. */
static void restart_with(const char *const *opts) {
  he_daemon_stop();
  memset(he.extra, 0, sizeof(he.extra));
  for (int i = 0; opts[i] != NULL && i < 7; i++) {
    he.extra[i] = opts[i];
  }
  he_daemon_start();
}

static void ping(void) {
  he_http_t r;
  he_request("GET", "/_ping", NULL, &r);
  cr_assert_eq(r.status, 200, "GET /_ping: %d", r.status);
  he_http_free(&r);
}

/* A request line: "GET /_ping 200 2B <ms>ms", the body "OK". */
static void expect_ping_line(const char *log, int times) {
  int n = count_lines(log, "GET /_ping 200 2B ");
  cr_assert_eq(n, times, "%d request lines, want %d, in:\n%s", n, times, log);
  const char *p = strstr(log, "GET /_ping 200 2B ");
  const char *eol = p != NULL ? strchr(p, '\n') : NULL;
  cr_assert(eol != NULL && eol - p > 2 && strncmp(eol - 2, "ms", 2) == 0,
            "no duration in:\n%s", log);
}

/* Waits (inotify, with a watchdog) until path holds want. */
static void wait_for_text(const char *path, const char *want) {
  int in = inotify_init1(IN_CLOEXEC);
  cr_assert_geq(in, 0, "inotify_init1: %s", strerror(errno));
  cr_assert_geq(inotify_add_watch(in, he.dir, IN_CREATE | IN_MODIFY), 0);
  int64_t deadline = th_now_ms() + 30000;
  for (;;) {
    th_buf_t b;
    read_file(path, 0, &b);
    bool there = strstr(b.p, want) != NULL;
    th_buf_free(&b);
    if (there) {
      break;
    }
    int64_t left = deadline - th_now_ms();
    cr_assert_gt(left, 0, "%s never held \"%s\"", path, want);
    struct pollfd pf = {.fd = in, .events = POLLIN};
    if (poll(&pf, 1, (int)left) == 1) {
      char ev[4096];
      (void)read(in, ev, sizeof(ev));
    }
  }
  close(in);
}

Test(hcsd_log, request_lines_and_sighup_reopen) {
  char file[192], moved[200];
  snprintf(file, sizeof(file), "%s/hcsd-req.log", he.dir);
  snprintf(moved, sizeof(moved), "%s.1", file);
  restart_with((const char *[]){"--log-file", file, NULL});
  ping();
  th_buf_t log;
  read_file(file, 0, &log);
  expect_ping_line(log.p, 1);
  /* The readiness probe's too: HEAD, no body. */
  cr_assert_not_null(strstr(log.p, "HEAD /_ping 200 0B "), "%s", log.p);
  th_buf_free(&log);

  cr_assert_eq(rename(file, moved), 0, "rename: %s", strerror(errno));
  cr_assert_eq(kill(he.pid, SIGHUP), 0);
  wait_for_text(file, "log reopened");
  ping();
  read_file(file, 0, &log);
  expect_ping_line(log.p, 1);
  th_buf_free(&log);
  read_file(moved, 0, &log);
  expect_ping_line(log.p, 1); /* the first request's, nothing after */
  th_buf_free(&log);
  cr_assert_eq(kill(he.pid, 0), 0, "hcsd is gone after SIGHUP");
  he_expect_ping();
  he_end(); /* SIGTERM: exit 0 */
}

Test(hcsd_log, warn_level_has_no_request_lines) {
  char file[192];
  snprintf(file, sizeof(file), "%s/hcsd-warn.log", he.dir);
  restart_with(
      (const char *[]){"--log-file", file, "--log-level", "warn", NULL});
  ping();
  th_buf_t log;
  read_file(file, 0, &log);
  cr_assert_null(strstr(log.p, "/_ping"), "at warn:\n%s", log.p);
  cr_assert_null(strstr(log.p, "serving"), "at warn:\n%s", log.p);
  th_buf_free(&log);
  he_end();
}

Test(hcsd_log, journal_priority_prefixes) {
  he_daemon_stop();
  struct stat st;
  cr_assert_eq(stat(he.log, &st), 0, "%s: %s", he.log, strerror(errno));
  char js[64];
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  cr_assert_eq(setenv("JOURNAL_STREAM", js, 1), 0);
  off_t from = st.st_size;
  he_daemon_start();
  ping();
  he_daemon_stop();
  th_buf_t log;
  read_file(he.log, from, &log);
  cr_assert_not_null(strstr(log.p, "<6>GET /_ping 200 2B "), "%s", log.p);
  cr_assert_not_null(strstr(log.p, "<6>stopped\n"), "%s", log.p);
  int lines = 0;
  for (char *l = log.p; *l != '\0'; lines++) {
    cr_assert(l[0] == '<' && l[1] >= '3' && l[1] <= '7' && l[2] == '>',
              "a line without its priority: %.80s\nin:\n%s", l, log.p);
    char *eol = strchr(l, '\n');
    cr_assert_not_null(eol, "an unended line: %s", l);
    l = eol + 1;
  }
  cr_assert_geq(lines, 3, "%s", log.p);
  th_buf_free(&log);
  he_end();
}
