/* SPDX-License-Identifier: MIT */
/* docker top, docker rename and docker exec -u of a missing user through
 * the real docker CLI, against what dockerd 20.10 answers: top lists the
 * container's main process and an exec'd sleep under the pids inspect
 * gives, in ps -ef's columns; rename moves the name and refuses a taken,
 * equal or malformed one in moby's words; an exec as a user the
 * container's passwd lacks exits 126 telling so. One daemon per test
 * (he_setup), ending with he_end(). */
#include "hcsd_e2e.h"

TestSuite(hcsd_top, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* A detached exec of argv's JSON array in ctr, started over HTTP: its
 * pid as GET /exec/{id}/json tells it. */
static long exec_pid(const char *ctr, const char *cmd_json) {
  char path[256], body[512];
  snprintf(path, sizeof(path), "/containers/%s/exec", ctr);
  snprintf(body, sizeof(body), "{\"Cmd\":%s}", cmd_json);
  he_http_t r;
  he_request("POST", path, body, &r);
  cr_assert_eq(r.status, 201, "%s", r.body.p);
  json_t *j = he_json(r.body.p);
  char id[80];
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "Id")));
  json_decref(j);
  he_http_free(&r);
  snprintf(path, sizeof(path), "/exec/%s/start", id);
  he_request("POST", path, "{\"Detach\":true}", &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  he_http_free(&r);
  snprintf(path, sizeof(path), "/exec/%s/json", id);
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  j = he_json(r.body.p);
  long pid = (long)json_integer_value(json_object_get(j, "Pid"));
  json_decref(j);
  he_http_free(&r);
  cr_assert_gt(pid, 0);
  return pid;
}

/* The line of top's output whose PID column is pid (NULL if none). */
static const char *top_line(const char *out, long pid, char *line, size_t n) {
  for (const char *p = out; *p != '\0';) {
    size_t l = strcspn(p, "\n");
    char uid[64];
    long got = 0;
    if (sscanf(p, "%63s %ld", uid, &got) == 2 && got == pid) {
      snprintf(line, n, "%.*s", (int)l, p);
      return line;
    }
    p += l + (p[l] == '\n');
  }
  return NULL;
}

Test(hcsd_top, top_lists_main_and_exec) {
  char id[128], pid_s[32];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "t", "busybox", "sleep",
                 "300");
  he_docker_line(pid_s, sizeof(pid_s), "inspect", "-f", "{{.State.Pid}}", "t");
  long main_pid = atol(pid_s);
  cr_assert_gt(main_pid, 0);
  long x_pid = exec_pid("t", "[\"sleep\",\"123\"]");

  he_cmd_t c;
  he_docker_ok(&c, "top", "t");
  const char *titles[] = {"UID",   "PID", "PPID", "C",
                          "STIME", "TTY", "TIME", "CMD"};
  const char *p = c.o.p;
  for (size_t i = 0; i < 8; i++) {
    p = strstr(p, titles[i]);
    cr_assert_not_null(p, "no %s title in order: %s", titles[i], c.o.p);
  }
  char line[512];
  cr_assert_not_null(top_line(c.o.p, main_pid, line, sizeof(line)),
                     "main pid %ld not listed:\n%s", main_pid, c.o.p);
  cr_assert(strstr(line, "sleep 300") != NULL && strncmp(line, "root", 4) == 0,
            "%s", line);
  cr_assert_not_null(top_line(c.o.p, x_pid, line, sizeof(line)),
                     "exec pid %ld not listed:\n%s", x_pid, c.o.p);
  cr_assert(strstr(line, "sleep 123") != NULL, "%s", line);
  cr_assert(strstr(c.o.p, "hcs-init") == NULL && strstr(c.o.p, "hcsd") == NULL,
            "the system's init is listed:\n%s", c.o.p);
  size_t lines = 0;
  for (const char *q = c.o.p; *q != '\0'; q++) {
    lines += *q == '\n';
  }
  cr_assert_eq(lines, 3, "titles, main and exec only:\n%s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "top", "t", "-ef");
  cr_assert_not_null(top_line(c.o.p, main_pid, line, sizeof(line)));
  he_cmd_free(&c);

  /* A paused container is listed too; other ps options are refused by
   * name; a stopped container has no processes. */
  he_docker_ok(&c, "pause", "t");
  he_cmd_free(&c);
  he_docker_ok(&c, "top", "t");
  cr_assert_not_null(top_line(c.o.p, main_pid, line, sizeof(line)));
  he_cmd_free(&c);
  he_docker_ok(&c, "unpause", "t");
  he_cmd_free(&c);
  he_docker_fails(1, "ps_args \"aux\"", "top", "t", "aux");
  he_docker_ok(&c, "stop", "-t", "0", "t");
  he_cmd_free(&c);
  he_docker_fails(1, "is not running", "top", "t");
  he_docker_ok(&c, "rm", "t");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_top, rename_and_conflicts) {
  char id[128], line[256];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "r1", "busybox",
                 "sleep", "300");
  he_docker_line(line, sizeof(line), "create", "--name", "r2", "busybox",
                 "true");
  he_cmd_t c;
  he_docker_ok(&c, "rename", "r1", "r3");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.Name}} {{.Id}}",
                 "r3");
  char want[256];
  snprintf(want, sizeof(want), "/r3 %s", id);
  cr_assert_str_eq(line, want);
  he_docker_fails(1, "No such object: r1", "inspect", "r1");
  he_docker_line(line, sizeof(line), "ps", "--format", "{{.Names}}");
  cr_assert_str_eq(line, "r3");

  he_docker_fails(1,
                  "Error when allocating new name: Conflict. The container "
                  "name \"/r2\" is already in use by container",
                  "rename", "r3", "r2");
  he_docker_fails(1, "Renaming a container with the same name", "rename", "r3",
                  "r3");
  he_docker_fails(1, "Invalid container name (/bad name)", "rename", "r3",
                  "bad name");
  he_docker_fails(1, "No such container: nope", "rename", "nope", "r9");
  he_http_t r;
  he_request("POST", "/containers/r3/rename?name=", NULL, &r);
  cr_assert_eq(r.status, 400);
  he_expect_has(r.body.p, "Neither old nor new names may be empty");
  he_http_free(&r);

  /* The new name is kept across a restart of the container, and the old
   * one can be taken again. */
  he_docker_ok(&c, "restart", "-t", "0", "r3");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "ps", "--format", "{{.Names}}");
  cr_assert_str_eq(line, "r3");
  he_docker_line(line, sizeof(line), "create", "--name", "r1", "busybox",
                 "true");
  he_docker_ok(&c, "rm", "-f", "r1", "r2", "r3");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_top, exec_as_a_missing_user) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "u", "busybox", "sleep",
                 "300");
  he_cmd_t c;
  he_docker(&c, "exec", "-u", "nosuchuser", "u", "true");
  he_expect_code(&c, 126);
  he_expect_has(c.o.p, "unable to find user nosuchuser: no matching entries "
                       "in passwd file");
  cr_assert(strstr(c.e.p, "unable to upgrade") == NULL, "%s", c.e.p);
  he_cmd_free(&c);
  he_docker(&c, "exec", "-u", "1234:nogrp", "u", "true");
  he_expect_code(&c, 126);
  he_expect_has(c.o.p, "unable to find group nogrp: no matching entries in "
                       "group file");
  he_cmd_free(&c);
  he_docker(&c, "exec", "-u", "root:nogrp", "u", "true");
  he_expect_code(&c, 126);
  he_expect_has(c.o.p, "unable to find group nogrp");
  he_cmd_free(&c);
  he_docker_fails(1, "unable to find user nosuchuser", "exec", "-d", "-u",
                  "nosuchuser", "u", "true");
  /* A user that exists still runs. */
  char line[64];
  he_docker_line(line, sizeof(line), "exec", "-u", "root", "u", "echo", "ok");
  cr_assert_str_eq(line, "ok");
  he_docker_ok(&c, "rm", "-f", "u");
  he_cmd_free(&c);
  he_end();
}
