/* SPDX-License-Identifier: MIT */
/* Docker commands hcsd does not serve are told so: the real docker CLI
 * prints "not supported by hcsd: <what>" and fails, where it used to
 * print "page not found"; a path that is no Docker endpoint stays a 404,
 * and the 404s that `docker inspect` walks past stay 404s. One daemon per
 * test (he_setup), each ending with he_end()'s checks. */
#include "hcsd_e2e.h"

TestSuite(hcsd_unsupported, .init = he_setup, .fini = he_teardown,
          .timeout = 240);

/* The docker command argv fails with exit code 1 and says that what is
 * not supported, on stderr. */
static void refused(const char *what, const char *const *argv) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, argv);
  he_expect_code(&c, 1);
  char want[128];
  snprintf(want, sizeof(want), "not supported by hcsd: %s", what);
  cr_assert(strstr(c.e.p, want) != NULL, "`%s`: stderr \"%s\" lacks \"%s\"",
            c.what, c.e.p, want);
  cr_assert(strstr(c.e.p, "page not found") == NULL, "`%s`: %s", c.what, c.e.p);
  he_cmd_free(&c);
}

Test(hcsd_unsupported, docker_commands_say_what) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "s", "busybox", "sleep",
                 "300");

  refused("commit", HE_ARGV("docker", "commit", "s", "snap"));
  refused("plugin ls", HE_ARGV("docker", "plugin", "ls"));
  refused("swarm", HE_ARGV("docker", "swarm", "init"));

  /* What was refused changed nothing: s runs on, under its name. */
  char line[256];
  he_docker_line(line, sizeof(line), "ps", "--format", "{{.Names}}|{{.State}}");
  cr_assert_str_eq(line, "s|running");
  /* docker inspect still walks past every kind that has no such name. */
  he_docker_fails(1, "Error: No such object: nothere", "inspect", "nothere");
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "s");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_unsupported, http_answers) {
  static const struct {
    const char *method, *path, *what;
  } no[] = {
      {"POST", "/v1.50/build", "build"},
      {"GET", "/v1.50/services", "service"},
  };
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    he_http_t r;
    he_request(no[i].method, no[i].path, NULL, &r);
    cr_assert_eq(r.status, 501, "%s %s: %d %s", no[i].method, no[i].path,
                 r.status, r.body.p);
    if (strcmp(no[i].method, "HEAD") != 0) {
      json_t *j = he_json(r.body.p);
      char want[128];
      snprintf(want, sizeof(want), "not supported by hcsd: %s", no[i].what);
      cr_assert_str_eq(json_string_value(json_object_get(j, "message")), want,
                       "%s %s", no[i].method, no[i].path);
      json_decref(j);
    }
    he_http_free(&r);
  }

  /* No Docker endpoint: 404 as before. Served ones are served. */
  he_request_fails("GET", "/v1.50/nosuch", NULL, 404, "page not found");
  he_request_fails("GET", "/v1.50/containers/abc/nosuch", NULL, 404,
                   "page not found");
  he_request_fails("POST", "/v1.50/containers/abc/stats/more", NULL, 404,
                   "page not found");
  he_request_fails("GET", "/v1.50/volumes/v1", NULL, 404,
                   "get v1: no such volume");
  he_request_fails("GET", "/v1.50/plugins/p1/json", NULL, 404,
                   "plugin \"p1\" not found");
  he_request_fails("GET", "/v1.50/containers/abc/json", NULL, 404,
                   "No such container: abc");
  he_http_t r;
  he_request("GET", "/v1.50/images/json", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  he_http_free(&r);
  he_end();
}
