/* SPDX-License-Identifier: MIT */
/* docker logs with the time of each line (issue 17): -t leads every line
 * with the time hcsd read it (RFC 3339, nine digits, as moby), --since
 * and --until select by that time (dates and durations, which the CLI
 * turns into seconds), -f -t stamps the lines that come, and a value the
 * API cannot read is a 400. One daemon per test (he_setup). */
#include "hcsd_e2e.h"

#include <time.h>

TestSuite(hcsd_logs, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* "2026-12-07T15:01:02.123456789Z text": the time in ns, and the text
 * after it; -1 when the line does not start with such a time. */
static int64_t stamp_of(const char *line, const char **text) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  long long frac = -1;
  int used = 0;
  if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%9lldZ %n", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac,
             &used) != 7 ||
      used != 31 || line[29] != 'Z') {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *text = line + used;
  return (int64_t)timegm(&tm) * 1000000000 + frac;
}

/* The lines of s, up to max, each cut at its newline (s is changed). */
static int split_lines(char *s, char **lines, int max) {
  int n = 0;
  for (char *save = NULL, *l = strtok_r(s, "\n", &save); l != NULL && n < max;
       l = strtok_r(NULL, "\n", &save)) {
    lines[n++] = l;
  }
  return n;
}

/* A container that wrote one, two and three about a second apart, and
 * the time of each line as `logs -t` gives it. */
static void three_lines(int64_t t[3]) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "three", "busybox", "sh", "-c",
               "echo one; sleep 1.2; echo two >&2; sleep 1.2; echo three");
  he_cmd_free(&c);
  he_docker_ok(&c, "logs", "-t", "three");
  /* stdout and stderr come on their own streams: the CLI writes them to
   * its own stdout and stderr. */
  char *out[4], *err[4];
  int no = split_lines(c.o.p, out, 4), ne = split_lines(c.e.p, err, 4);
  cr_assert_eq(no, 2, "stdout: %s", c.o.p);
  cr_assert_eq(ne, 1, "stderr: %s", c.e.p);
  const char *text;
  t[0] = stamp_of(out[0], &text);
  cr_assert_gt(t[0], 0, "no time: %s", out[0]);
  cr_assert_str_eq(text, "one");
  t[1] = stamp_of(err[0], &text);
  cr_assert_gt(t[1], 0, "no time: %s", err[0]);
  cr_assert_str_eq(text, "two");
  t[2] = stamp_of(out[1], &text);
  cr_assert_gt(t[2], 0, "no time: %s", out[1]);
  cr_assert_str_eq(text, "three");
  cr_assert(t[0] < t[1] && t[1] < t[2], "times out of order");
  cr_assert_gt(t[1] - t[0], 1000000000LL, "one and two 1.2 s apart");
  int64_t now = (int64_t)time(NULL) * 1000000000;
  cr_assert(t[2] <= now + 2000000000LL && t[2] > now - 120000000000LL,
            "three's time is not the wall clock's");
  he_cmd_free(&c);
}

static void at(int64_t ns, char *out, size_t n) {
  snprintf(out, n, "%lld.%09lld", (long long)(ns / 1000000000),
           (long long)(ns % 1000000000));
}

Test(hcsd_logs, timestamps_since_until) {
  int64_t t[3];
  three_lines(t);
  char since[40], until[40];
  he_cmd_t c;
  /* Between one and two: two and three. */
  at(t[1] - 300000000, since, sizeof(since));
  he_docker_ok(&c, "logs", "--since", since, "three");
  cr_assert_str_eq(c.o.p, "three\n");
  cr_assert_str_eq(c.e.p, "two\n");
  he_cmd_free(&c);
  /* Up to just after two: one and two. */
  at(t[1] + 300000000, until, sizeof(until));
  he_docker_ok(&c, "logs", "--until", until, "three");
  cr_assert_str_eq(c.o.p, "one\n");
  cr_assert_str_eq(c.e.p, "two\n");
  he_cmd_free(&c);
  /* Both: two alone. */
  he_docker_ok(&c, "logs", "--since", since, "--until", until, "three");
  cr_assert_str_eq(c.o.p, "");
  cr_assert_str_eq(c.e.p, "two\n");
  he_cmd_free(&c);
  /* Durations: since an hour ago, everything; until an hour ago,
   * nothing; since just after three, nothing. */
  he_docker_ok(&c, "logs", "--since", "1h", "three");
  cr_assert_str_eq(c.o.p, "one\nthree\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "logs", "--until", "1h", "three");
  cr_assert_str_eq(c.o.p, "", "until an hour ago: %s", c.o.p);
  he_cmd_free(&c);
  at(t[2] + 1000000, since, sizeof(since));
  he_docker_ok(&c, "logs", "--since", since, "three");
  cr_assert_str_eq(c.o.p, "");
  cr_assert_str_eq(c.e.p, "");
  he_cmd_free(&c);
  /* With --tail, the last line of those selected. */
  at(t[0] - 1000000, since, sizeof(since));
  he_docker_ok(&c, "logs", "-t", "--tail", "1", "--since", since, "three");
  const char *text;
  cr_assert_eq(stamp_of(c.o.p, &text), t[2], "%s", c.o.p);
  cr_assert_str_eq(text, "three\n");
  he_cmd_free(&c);
  he_end();
}

/* -f -t: the lines that come are stamped as they are read. */
Test(hcsd_logs, follow_stamps_new_lines) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "f", "busybox", "sh", "-c",
               "echo early; sleep 1.5; echo late; echo last");
  he_cmd_free(&c);
  int64_t t0 = (int64_t)time(NULL) * 1000000000;
  he_docker_ok(&c, "logs", "-f", "-t", "f");
  char *l[4];
  int n = split_lines(c.o.p, l, 4);
  cr_assert_eq(n, 3, "%s", c.o.p);
  const char *text;
  int64_t te = stamp_of(l[0], &text);
  cr_assert_str_eq(text, "early");
  int64_t tl = stamp_of(l[1], &text);
  cr_assert_str_eq(text, "late");
  int64_t tz = stamp_of(l[2], &text);
  cr_assert_str_eq(text, "last");
  cr_assert(te > 0 && tl > te + 1000000000LL, "early %lld late %lld",
            (long long)te, (long long)tl);
  cr_assert(tz >= tl && tl > t0 - 5000000000LL, "late %lld last %lld",
            (long long)tl, (long long)tz);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "f");
  he_cmd_free(&c);
  he_end();
}

/* What the API cannot read is a 400, named; an until still to come with
 * -f is refused rather than ignored. */
Test(hcsd_logs, bad_times_refused) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "b", "busybox", "echo", "x");
  he_cmd_free(&c);
  he_request_fails("GET", "/containers/b/logs?stdout=1&since=yesterday", NULL,
                   400, "since");
  he_request_fails("GET", "/containers/b/logs?stdout=1&until=1.2.3", NULL, 400,
                   "until");
  he_docker_fails(1, "--until", "logs", "-f", "--until", "-1h", "b");
  he_end();
}
