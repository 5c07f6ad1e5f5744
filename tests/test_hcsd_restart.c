/* SPDX-License-Identifier: MIT */
/* Restart policies through the docker CLI 28.2 (issue 17): on-failure:N
 * runs a failing container N more times and counts them, never a clean
 * exit; always and unless-stopped run it again after any exit until
 * docker stop (or a kill with KILL); a restart of hcsd, clean or after
 * kill -9, starts the always containers and the unless-stopped ones the
 * user had not stopped; policies dockerd refuses are refused in its
 * words. One daemon per test (he_setup), each ending with he_end(). */
#include "hcsd_e2e.h"

#include <pthread.h>

TestSuite(hcsd_restart, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* The single line of `docker inspect -f fmt name`. */
static void inspect_f(const char *name, const char *fmt, char *out, size_t n) {
  he_docker_line(out, n, "inspect", "-f", fmt, name);
}

/* Polls `docker inspect -f fmt name` (the only view a client has) until
 * it prints want, for ms at most. */
static void await_inspect(const char *name, const char *fmt, const char *want,
                          int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  char line[256];
  for (;;) {
    inspect_f(name, fmt, line, sizeof(line));
    if (strcmp(line, want) == 0) {
      return;
    }
    cr_assert_lt(th_now_ms(), deadline, "%s: %s is \"%s\", not \"%s\"", name,
                 fmt, line, want);
    (void)poll(NULL, 0, 50);
  }
}

/* Asserts `docker inspect -f fmt name` prints want throughout ms (a
 * restart would show: the backoffs here are 100 to 400 ms). */
static void hold_inspect(const char *name, const char *fmt, const char *want,
                         int64_t ms) {
  int64_t end = th_now_ms() + ms;
  char line[256];
  do {
    inspect_f(name, fmt, line, sizeof(line));
    cr_assert_str_eq(line, want, "%s: %s changed", name, fmt);
    (void)poll(NULL, 0, 100);
  } while (th_now_ms() < end);
}

static void docker_ok(const char *const *argv) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, argv);
  he_expect_code(&c, 0);
  he_cmd_free(&c);
}

#define DOCKER_OK(...) docker_ok(HE_ARGV("docker", __VA_ARGS__))

/* on-failure:2 runs `exit 3` three times in all (RestartCount 2, the last
 * code kept); on-failure never restarts a clean exit. */
Test(hcsd_restart, on_failure_counts_and_stops_at_max) {
  DOCKER_OK("run", "-d", "--name", "ok", "--restart", "on-failure", "busybox",
            "true");
  DOCKER_OK("run", "-d", "--name", "bad", "--restart", "on-failure:2",
            "busybox", "sh", "-c", "echo run; exit 3");
  await_inspect("bad", "{{.State.Status}} {{.RestartCount}}", "exited 2",
                20000);
  char line[256];
  inspect_f("bad",
            "{{.HostConfig.RestartPolicy.Name}} "
            "{{.HostConfig.RestartPolicy.MaximumRetryCount}} "
            "{{.State.ExitCode}} {{.State.Restarting}}",
            line, sizeof(line));
  cr_assert_str_eq(line, "on-failure 2 3 false");
  he_cmd_t c;
  he_docker_ok(&c, "logs", "bad");
  cr_assert_str_eq(c.o.p, "run\nrun\nrun\n", "three runs: %s", c.o.p);
  he_cmd_free(&c);
  hold_inspect("bad", "{{.State.Status}} {{.RestartCount}}", "exited 2", 800);
  inspect_f("ok", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}",
            line, sizeof(line));
  cr_assert_str_eq(line, "exited 0 0");
  /* A start by the user counts again from 0. */
  DOCKER_OK("start", "bad");
  await_inspect("bad", "{{.State.Status}} {{.RestartCount}}", "exited 2",
                20000);
  he_docker_ok(&c, "logs", "bad");
  cr_assert_str_eq(c.o.p, "run\nrun\nrun\nrun\nrun\nrun\n", "%s", c.o.p);
  he_cmd_free(&c);
  DOCKER_OK("rm", "ok", "bad");
  he_end();
}

/* always and unless-stopped run a container again after a clean exit and
 * a failing one, and after a kill by a signal that is not its stop
 * signal; docker stop stops it for good, as a kill with KILL does; a
 * start by the user lets the policy act again. */
Test(hcsd_restart, always_and_unless_stopped_until_stopped) {
  DOCKER_OK("run", "-d", "--name", "al", "--restart", "always", "busybox", "sh",
            "-c", "sleep 0.2");
  DOCKER_OK("run", "-d", "--name", "us", "--restart", "unless-stopped",
            "busybox", "sh", "-c", "sleep 0.2; exit 7");
  DOCKER_OK("run", "-d", "--name", "kl", "--restart", "always", "busybox",
            "sleep", "1000");
  /* Three exits each, then running or about to run again. */
  await_inspect("al", "{{ge .RestartCount 3}}", "true", 20000);
  await_inspect("us", "{{ge .RestartCount 3}}", "true", 20000);
  await_inspect("al", "{{.State.Status}}", "running", 20000);
  DOCKER_OK("stop", "-t", "1", "al", "us");
  char line[256];
  inspect_f("al", "{{.State.Status}} {{.State.Running}}", line, sizeof(line));
  cr_assert_str_eq(line, "exited false");
  char al_count[32], us_count[32];
  inspect_f("al", "{{.RestartCount}}", al_count, sizeof(al_count));
  inspect_f("us", "{{.RestartCount}}", us_count, sizeof(us_count));
  /* A signal other than its stop signal or KILL is no stop by the user. */
  DOCKER_OK("kill", "-s", "USR1", "kl");
  await_inspect("kl", "{{.State.Status}} {{.RestartCount}}", "running 1",
                20000);
  DOCKER_OK("kill", "kl");
  char kl_count[32];
  inspect_f("kl", "{{.RestartCount}}", kl_count, sizeof(kl_count));
  char want[64];
  snprintf(want, sizeof(want), "exited %s", al_count);
  hold_inspect("al", "{{.State.Status}} {{.RestartCount}}", want, 1000);
  snprintf(want, sizeof(want), "exited %s", us_count);
  hold_inspect("us", "{{.State.Status}} {{.RestartCount}}", want, 300);
  snprintf(want, sizeof(want), "exited %s", kl_count);
  hold_inspect("kl", "{{.State.Status}} {{.RestartCount}}", want, 300);
  /* docker start: the policy acts again, from a count of 0. */
  DOCKER_OK("start", "us");
  await_inspect("us", "{{ge .RestartCount 1}}", "true", 20000);
  DOCKER_OK("rm", "-f", "al", "us", "kl");
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "left: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* A container waiting out its backoff shows as restarting, in inspect and
 * in docker ps, and docker stop ends the wait. */
Test(hcsd_restart, backoff_shows_restarting) {
  DOCKER_OK("run", "-d", "--name", "fl", "--restart", "always", "busybox", "sh",
            "-c", "exit 1");
  /* After five exits the backoff is 3.2 s: most of the time is a wait. */
  await_inspect("fl", "{{ge .RestartCount 5}}", "true", 30000);
  await_inspect("fl", "{{.State.Status}} {{.State.Restarting}}",
                "restarting true", 20000);
  int64_t deadline = th_now_ms() + 20000;
  for (;;) {
    char line[256];
    he_docker_line(line, sizeof(line), "ps", "-a", "--format", "{{.Status}}");
    if (strncmp(line, "Restarting (1) ", 15) == 0) {
      break;
    }
    cr_assert_lt(th_now_ms(), deadline, "docker ps: %s", line);
    (void)poll(NULL, 0, 50);
  }
  DOCKER_OK("stop", "fl");
  char count[32], want[64];
  inspect_f("fl", "{{.RestartCount}}", count, sizeof(count));
  snprintf(want, sizeof(want), "exited false %s", count);
  hold_inspect("fl",
               "{{.State.Status}} {{.State.Restarting}} {{.RestartCount}}",
               want, 1000);
  DOCKER_OK("rm", "fl");
  he_end();
}

/* Policies dockerd refuses, in its words; --rm with a policy is the
 * CLI's to refuse, and hcsd refuses the body it would send. */
Test(hcsd_restart, bad_policies_refused) {
  he_docker_fails(125, "invalid restart policy: unknown policy 'bogus'", "run",
                  "--restart", "bogus", "busybox", "true");
  he_docker_fails(125,
                  "maximum retry count can only be used with "
                  "'on-failure'",
                  "run", "--restart", "always:3", "busybox", "true");
  he_docker_fails(125, "maximum retry count cannot be negative", "run",
                  "--restart", "on-failure:-1", "busybox", "true");
  he_request_fails("POST", "/v1.50/containers/create",
                   "{\"Image\":\"busybox\",\"HostConfig\":{\"AutoRemove\":"
                   "true,\"RestartPolicy\":{\"Name\":\"always\"}}}",
                   400,
                   "can't create 'AutoRemove' container with restart policy");
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "refused creates left containers: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* The containers that hcsd's restart must bring back, and those it must
 * not: always (running, and stopped by the user), unless-stopped
 * (running, and stopped by the user), no policy. */
static void boot_setup(void) {
  DOCKER_OK("run", "-d", "--name", "al", "--restart", "always", "busybox",
            "sleep", "1000");
  DOCKER_OK("run", "-d", "--name", "al_stopped", "--restart", "always",
            "busybox", "sleep", "1000");
  DOCKER_OK("run", "-d", "--name", "us", "--restart", "unless-stopped",
            "busybox", "sleep", "1000");
  DOCKER_OK("run", "-d", "--name", "us_stopped", "--restart", "unless-stopped",
            "busybox", "sleep", "1000");
  DOCKER_OK("run", "-d", "--name", "none", "busybox", "sleep", "1000");
  DOCKER_OK("stop", "-t", "0", "al_stopped", "us_stopped");
}

static void boot_check(const char *none_status) {
  await_inspect("al", "{{.State.Status}}", "running", 30000);
  await_inspect("al_stopped", "{{.State.Status}}", "running", 30000);
  await_inspect("us", "{{.State.Status}}", "running", 30000);
  char line[256];
  inspect_f("us_stopped", "{{.State.Status}}", line, sizeof(line));
  cr_assert_str_eq(line, "exited");
  inspect_f("none", "{{.State.Status}} {{.State.ExitCode}}", line,
            sizeof(line));
  cr_assert_str_eq(line, none_status);
  /* The restarted ones run their program again. */
  he_cmd_t c;
  he_docker_ok(&c, "exec", "us", "ps", "-o", "args");
  he_expect_has(c.o.p, "sleep 1000");
  he_cmd_free(&c);
  DOCKER_OK("rm", "-f", "al", "al_stopped", "us", "us_stopped", "none");
}

Test(hcsd_restart, daemon_restart_brings_back_policies) {
  boot_setup();
  he_daemon_stop();
  he_daemon_start();
  boot_check("exited 143");
  he_end();
}

static void *reap_main(void *data) {
  pid_t pid = *(pid_t *)data;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return NULL;
}

/* After kill -9 of hcsd: the containers' inits, orphaned to this
 * subreaper, are reaped as they end (each by a thread of its own, in any
 * order), while the new hcsd recovers them and starts what its policies
 * say. */
Test(hcsd_restart, crash_recovery_brings_back_policies) {
  boot_setup();
  cr_assert_eq(kill(he.pid, SIGKILL), 0, "kill: %s", strerror(errno));
  int status = 0;
  cr_assert_eq(waitpid(he.pid, &status, 0), he.pid);
  close(he.pidfd);
  he.pid = 0;
  he.pidfd = -1;
  pid_t kids[64];
  pthread_t th[64];
  int n = he_children(kids, 64);
  cr_assert(n >= 3 && n <= 64, "%d orphans", n);
  for (int i = 0; i < n; i++) {
    cr_assert_eq(pthread_create(&th[i], NULL, reap_main, &kids[i]), 0);
  }
  he_daemon_start();
  for (int i = 0; i < n; i++) {
    cr_assert_eq(pthread_join(th[i], NULL), 0);
  }
  boot_check("exited 255");
  he_end();
}
