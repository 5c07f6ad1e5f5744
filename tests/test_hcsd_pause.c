/* SPDX-License-Identifier: MIT */
/* docker pause / unpause through the real docker CLI, answered as dockerd
 * 20.10 answers them: ps and inspect say paused, a counter in the
 * container does not advance while paused, exec is refused, a second
 * pause or an unpause of a running container fails with moby's words,
 * and stop / kill of a paused container deliver their signal (it is
 * thawed after). One daemon per test (he_setup), ending with he_end(). */
#include "hcsd_e2e.h"

#include <time.h>

TestSuite(hcsd_pause, .init = he_setup, .fini = he_teardown, .timeout = 240);

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The last number the counter printed (its log's last line). */
static long last_count(const char *name) {
  long n = -1;
  for (int i = 0; i < 200 && n < 0; i++) {
    he_cmd_t c;
    he_docker_ok(&c, "logs", "--tail", "1", name);
    if (sscanf(c.o.p, "%ld", &n) != 1) {
      n = -1;
      sleep_ms(20);
    }
    he_cmd_free(&c);
  }
  cr_assert_geq(n, 0, "the counter of %s printed nothing", name);
  return n;
}

static void expect_line(const char *want, const char *const *argv) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, argv);
  he_expect_code(&c, 0);
  size_t l = strcspn(c.o.p, "\n");
  cr_assert(strlen(want) == l && strncmp(c.o.p, want, l) == 0,
            "`%s`: \"%s\", want \"%s\"", c.what, c.o.p, want);
  he_cmd_free(&c);
}

#define COUNTER                                                                \
  "trap 'exit 7' TERM; i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; "     \
  "done"

Test(hcsd_pause, pause_ps_exec_unpause) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "p", "busybox", "sh",
                 "-c", COUNTER);
  long a = last_count("p");
  sleep_ms(300);
  cr_assert_gt(last_count("p"), a, "the counter does not run");

  expect_line("p", HE_ARGV("docker", "pause", "p"));
  char line[256];
  he_docker_line(line, sizeof(line), "ps", "--format",
                 "{{.Names}}|{{.State}}|{{.Status}}");
  cr_assert(strncmp(line, "p|paused|Up ", 12) == 0 &&
                strstr(line, " (Paused)") != NULL,
            "%s", line);
  expect_line("paused true true",
              HE_ARGV("docker", "inspect", "-f",
                      "{{.State.Status}} {{.State.Paused}} {{.State.Running}}",
                      "p"));
  expect_line("p", HE_ARGV("docker", "ps", "--filter", "status=paused",
                           "--format", "{{.Names}}"));
  expect_line("1",
              HE_ARGV("docker", "info", "--format", "{{.ContainersPaused}}"));
  long p1 = last_count("p");
  sleep_ms(500);
  cr_assert_eq(last_count("p"), p1, "the counter went on while paused");

  he_docker_fails(1, "Container p is paused, unpause the container before exec",
                  "exec", "p", "true");
  he_docker_fails(1, "is already paused", "pause", "p");

  expect_line("p", HE_ARGV("docker", "unpause", "p"));
  expect_line("running false",
              HE_ARGV("docker", "inspect", "-f",
                      "{{.State.Status}} {{.State.Paused}}", "p"));
  sleep_ms(300);
  cr_assert_gt(last_count("p"), p1, "the counter did not go on");
  he_docker_fails(1, "is not paused", "unpause", "p");
  expect_line("ok", HE_ARGV("docker", "exec", "p", "echo", "ok"));

  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "p");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_pause, stop_and_kill_while_paused) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "q", "busybox", "sh",
                 "-c", COUNTER);
  (void)last_count("q");
  expect_line("q", HE_ARGV("docker", "pause", "q"));
  /* The TERM is delivered once thawed: the trap's code, well before the
   * timeout's KILL. */
  int64_t t0 = th_now_ms();
  expect_line("q", HE_ARGV("docker", "stop", "-t", "20", "q"));
  cr_assert_lt(th_now_ms() - t0, 10000, "stop waited for its KILL");
  expect_line("exited false 7",
              HE_ARGV("docker", "inspect", "-f",
                      "{{.State.Status}} {{.State.Paused}} {{.State.ExitCode}}",
                      "q"));
  he_docker_fails(1, "is not running", "pause", "q");

  /* Started again, it is not paused; paused, a kill ends it. */
  expect_line("q", HE_ARGV("docker", "start", "q"));
  expect_line("running",
              HE_ARGV("docker", "inspect", "-f", "{{.State.Status}}", "q"));
  (void)last_count("q");
  expect_line("q", HE_ARGV("docker", "pause", "q"));
  expect_line("q", HE_ARGV("docker", "kill", "q"));
  expect_line("exited false 137",
              HE_ARGV("docker", "inspect", "-f",
                      "{{.State.Status}} {{.State.Paused}} {{.State.ExitCode}}",
                      "q"));

  /* rm -f of a paused container. */
  expect_line("q", HE_ARGV("docker", "start", "q"));
  expect_line("q", HE_ARGV("docker", "pause", "q"));
  he_docker_fails(1, "container is running", "rm", "q");
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "q");
  he_cmd_free(&c);
  he_docker_fails(1, "No such container: nope", "pause", "nope");
  he_end();
}

/* hcsd stopping (SIGTERM) with a paused container: the container's stop
 * signal acts (it is thawed after it), so the daemon exits well before
 * its grace period, not never. */
Test(hcsd_pause, daemon_stops_with_a_paused_container) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "z", "busybox", "sh",
                 "-c", COUNTER);
  (void)last_count("z");
  expect_line("z", HE_ARGV("docker", "pause", "z"));
  int64_t t0 = th_now_ms();
  he_end();
  cr_assert_lt(th_now_ms() - t0, 8000, "hcsd took its stop grace or more");
}
