/* SPDX-License-Identifier: MIT */
/* hcsd driven by docker-compose 1.29 (Debian's, issue 17) with
 * tests/clients/compose.yml: two services on a user network, one
 * depending on the other, with environment and a named volume they
 * share, one publishing a port. up -d, ps (each container once), logs,
 * port (and bytes through it), exec (the volume and the other service by
 * name), run --rm (which must end: it hung), and down,
 * which must leave alone the containers the test started before, even
 * one labelled as another compose project's. */
#include "hcsd_e2e.h"

TestSuite(hcsd_compose, .init = he_setup, .fini = he_teardown, .timeout = 300);

#define COMPOSE_FILE HCS_SOURCE_DIR "/tests/clients/compose.yml"

/* docker-compose -f COMPOSE_FILE -p hcst <args>: the exit code, output in
 * c (he_cmd_free). */
#define compose(c, ...)                                                        \
  he_run_argv((c), NULL, 0,                                                    \
              HE_ARGV("docker-compose", "-f", COMPOSE_FILE, "-p", "hcst",      \
                      __VA_ARGS__))

#define compose_ok(c, ...)                                                     \
  do {                                                                         \
    compose((c), __VA_ARGS__);                                                 \
    he_expect_code((c), 0);                                                    \
  } while (0)

/* How many times needle occurs in s. */
static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = strstr(s, needle); p != NULL;
       p = strstr(p + strlen(needle), needle)) {
    n++;
  }
  return n;
}

Test(hcsd_compose, up_ps_logs_exec_run_down) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, HE_ARGV("docker-compose", "version"));
  cr_assert_eq(c.code, 0,
               "docker-compose is missing (scripts/deps.sh installs it): %s",
               c.e.p);
  he_cmd_free(&c);
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "unrelated", "busybox",
                 "sleep", "300");
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "other-project",
                 "--label", "com.docker.compose.project=other", "busybox",
                 "sleep", "300");

  compose_ok(&c, "up", "-d");
  he_cmd_free(&c);
  compose_ok(&c, "ps");
  cr_assert_eq(count(c.o.p, "hcst_db_1"), 1, "compose ps:\n%s", c.o.p);
  cr_assert_eq(count(c.o.p, "hcst_web_1"), 1, "compose ps:\n%s", c.o.p);
  cr_assert_eq(count(c.o.p, " Up"), 2, "compose ps:\n%s", c.o.p);
  cr_assert(strstr(c.o.p, "unrelated") == NULL, "compose ps:\n%s", c.o.p);
  he_cmd_free(&c);
  compose_ok(&c, "ps", "-q");
  cr_assert_eq(count(c.o.p, "\n"), 2, "compose ps -q:\n%s", c.o.p);
  he_cmd_free(&c);

  /* db started first (depends_on); each logged its environment. */
  compose_ok(&c, "logs", "--no-color");
  he_expect_has(c.o.p, "db-up");
  he_expect_has(c.o.p, "web-up db");
  he_cmd_free(&c);

  /* web's published port: compose port, and bytes through it from the
   * daemon's network namespace (the server may not listen yet). */
  compose_ok(&c, "port", "web", "80");
  cr_assert_str_eq(c.o.p, "0.0.0.0:18093\n");
  he_cmd_free(&c);
  char ns[64];
  snprintf(ns, sizeof(ns), "--net=/proc/%d/ns/net", (int)he.pid);
  he_run_argv(&c, NULL, 0,
              HE_ARGV("nsenter", ns, "bash", "-c",
                      "for i in $(seq 100); do o=$(timeout 5 bash -c "
                      "'cat < /dev/tcp/127.0.0.1/18093' 2>/dev/null); "
                      "[ -n \"$o\" ] && echo \"$o\" && exit 0; sleep 0.2; "
                      "done; exit 1"));
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "from-web\n");
  he_cmd_free(&c);

  /* The shared volume, and the other service by name on the network. */
  compose_ok(&c, "exec", "-T", "web", "sh", "-c",
             "cat /data/role; ping -c 1 -W 5 db > /dev/null && echo found-db");
  cr_assert_str_eq(c.o.p, "primary\nfound-db\n");
  he_cmd_free(&c);
  compose(&c, "exec", "-T", "db", "sh", "-c", "exit 6");
  he_expect_code(&c, 6);
  he_cmd_free(&c);

  /* A one-off container: its output, its exit code, nothing left. */
  compose(&c, "run", "--rm", "-T", "web", "sh", "-c",
          "echo one-off $DB_HOST; exit 4");
  he_expect_code(&c, 4);
  he_expect_has(c.o.p, "one-off db");
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}}");
  cr_assert(strstr(c.o.p, "_run_") == NULL, "run --rm left:\n%s", c.o.p);
  he_cmd_free(&c);
  /* compose's run links to the service's containers; --link on a user
   * network is an alias that the linking container alone resolves. */
  he_docker_ok(&c, "run", "--rm", "--network", "hcst_back", "--link",
               "hcst_db_1:database", "busybox", "sh", "-c",
               "ping -c 1 -W 5 database > /dev/null && echo linked");
  cr_assert_str_eq(c.o.p, "linked\n");
  he_cmd_free(&c);
  compose_ok(&c, "exec", "-T", "web", "cat", "/etc/hosts");
  cr_assert(strstr(c.o.p, "database") == NULL, "the link shows in web:\n%s",
            c.o.p);
  he_cmd_free(&c);
  he_docker_fails(125, "--link", "run", "--rm", "--link", "unrelated:u",
                  "busybox", "true");

  /* A container's --stop-timeout (compose's stop_grace_period) bounds a
   * docker stop without -t: SIGKILL after 1 s, not 10. */
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "stubborn",
                 "--stop-timeout", "1", "busybox", "sh", "-c",
                 "trap '' TERM; while true; do sleep 1; done");
  char out[64];
  he_docker_line(out, sizeof(out), "inspect", "-f", "{{.Config.StopTimeout}}",
                 "stubborn");
  cr_assert_str_eq(out, "1");
  int64_t t0 = th_now_ms();
  he_docker_line(out, sizeof(out), "stop", "stubborn");
  int64_t took = th_now_ms() - t0;
  cr_assert(took >= 900 && took < 8000, "docker stop took %lld ms",
            (long long)took);
  he_docker_line(out, sizeof(out), "inspect", "-f", "{{.State.ExitCode}}",
                 "stubborn");
  cr_assert_str_eq(out, "137");
  he_docker_line(out, sizeof(out), "rm", "stubborn");

  compose_ok(&c, "down", "-v", "--remove-orphans");
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}} {{.State}}");
  cr_assert(strstr(c.o.p, "hcst_") == NULL, "down left:\n%s", c.o.p);
  he_expect_has(c.o.p, "unrelated running");
  he_expect_has(c.o.p, "other-project running");
  he_cmd_free(&c);
  he_docker_ok(&c, "volume", "ls", "-q");
  cr_assert_str_eq(c.o.p, "", "down -v left volumes");
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "ls", "--format", "{{.Name}}");
  cr_assert(strstr(c.o.p, "hcst") == NULL, "down left:\n%s", c.o.p);
  he_cmd_free(&c);

  he_docker_ok(&c, "rm", "-f", "unrelated", "other-project");
  he_cmd_free(&c);
  he_end();
}
