/* SPDX-License-Identifier: MIT */
/* hcsd as a CI runner drives it with the docker CLI (issue 17): a job
 * container created with the workspace bind-mounted and labelled by
 * job, started, a series of exec steps that build into the workspace
 * (an exit code, environment, working dir and user per step), artifacts
 * copied out with docker cp, then the job's containers found by label
 * and removed, while containers started before it (another job's, an
 * unlabelled one) keep running untouched. */
#include "hcsd_e2e.h"

TestSuite(hcsd_ci, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* Writes text to path (the test fails if it cannot). */
static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "we");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  cr_assert_geq(fputs(text, f), 0, "%s: %s", path, strerror(errno));
  cr_assert_eq(fclose(f), 0);
}

/* The contents of path into b (th_buf_free), NUL-terminated. */
static void read_file(const char *path, th_buf_t *b) {
  FILE *f = fopen(path, "re");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    th_buf_add(b, buf, n);
  }
  th_buf_add(b, "", 0);
  fclose(f);
}

static void expect_file(const char *path, const char *want) {
  th_buf_t b = {0};
  read_file(path, &b);
  cr_assert_str_eq(b.p, want, "%s", path);
  th_buf_free(&b);
}

/* One exec step of the job: argv after "docker exec", its exit code
 * asserted, its stdout into out (n bytes) when out is not NULL. */
#define step(code, out, n, ...)                                                \
  do {                                                                         \
    he_cmd_t s_;                                                               \
    he_docker(&s_, "exec", __VA_ARGS__);                                       \
    he_expect_code(&s_, (code));                                               \
    if ((out) != NULL) {                                                       \
      snprintf((out), (n), "%s", s_.o.p);                                      \
    }                                                                          \
    he_cmd_free(&s_);                                                          \
  } while (0)

Test(hcsd_ci, job_in_a_workspace_beside_others) {
  char ws[256], art[256], path[512], mount[300], id[128], out[256];
  snprintf(ws, sizeof(ws), "%s/workspace", he.dir);
  snprintf(art, sizeof(art), "%s/artifacts", he.dir);
  cr_assert_eq(mkdir(ws, 0755), 0);
  cr_assert_eq(mkdir(art, 0755), 0);
  snprintf(path, sizeof(path), "%s/src.txt", ws);
  write_file(path, "hello ci\n");
  snprintf(mount, sizeof(mount), "%s:/builds/proj", ws);

  /* Started before the job: another job's container and a bystander. */
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "other-job", "--label",
                 "ci.job=41", "busybox", "sleep", "300");
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "bystander", "busybox",
                 "sleep", "300");

  /* The job's container: created, then started, as a runner does. */
  he_docker_line(id, sizeof(id), "create", "--name", "job-42", "--label",
                 "ci.job=42", "-v", mount, "-w", "/builds/proj", "-e",
                 "CI=true", "busybox", "sleep", "300");
  he_docker_line(out, sizeof(out), "inspect", "-f", "{{.State.Status}}",
                 "job-42");
  cr_assert_str_eq(out, "created");
  he_docker_line(out, sizeof(out), "start", "job-42");
  cr_assert_str_eq(out, "job-42");

  /* The steps: each writes into the workspace the host sees. */
  step(0, out, sizeof(out), "job-42", "sh", "-c",
       "tr a-z A-Z < src.txt > build.out && mkdir sub && echo built");
  cr_assert_str_eq(out, "built\n");
  snprintf(path, sizeof(path), "%s/build.out", ws);
  expect_file(path, "HELLO CI\n");
  step(0, out, sizeof(out), "job-42", "sh", "-c", "echo $CI $STAGE");
  cr_assert_str_eq(out, "true\n");
  step(0, out, sizeof(out), "-e", "STAGE=test", "-w", "/builds/proj/sub",
       "job-42", "sh", "-c", "echo $STAGE > stage && pwd");
  cr_assert_str_eq(out, "/builds/proj/sub\n");
  snprintf(path, sizeof(path), "%s/sub/stage", ws);
  expect_file(path, "test\n");
  step(0, out, sizeof(out), "-u", "65534:65534", "job-42", "id", "-u");
  cr_assert_str_eq(out, "65534\n");
  step(3, NULL, 0, "job-42", "sh", "-c", "echo failing >&2; exit 3");
  step(0, NULL, 0, "job-42", "sh", "-c",
       "mkdir -p /tmp/dist && echo bin > /tmp/dist/app && "
       "echo report > /tmp/report.xml");

  /* Artifacts out: a file of the workspace, a file and a directory from
   * outside it. */
  he_cmd_t c;
  snprintf(path, sizeof(path), "%s/", art);
  he_docker_ok(&c, "cp", "job-42:/builds/proj/build.out", path);
  he_cmd_free(&c);
  he_docker_ok(&c, "cp", "job-42:/tmp/report.xml", path);
  he_cmd_free(&c);
  he_docker_ok(&c, "cp", "job-42:/tmp/dist", path);
  he_cmd_free(&c);
  snprintf(path, sizeof(path), "%s/build.out", art);
  expect_file(path, "HELLO CI\n");
  snprintf(path, sizeof(path), "%s/report.xml", art);
  expect_file(path, "report\n");
  snprintf(path, sizeof(path), "%s/dist/app", art);
  expect_file(path, "bin\n");
  he_docker_fails(1, "Could not find the file", "cp", "job-42:/tmp/nothing",
                  art);

  /* The cleanup: this job's containers by label, and only those. */
  he_docker_ok(&c, "ps", "-aq", "--no-trunc", "--filter", "label=ci.job=42");
  char want[160];
  snprintf(want, sizeof(want), "%s\n", id);
  cr_assert_str_eq(c.o.p, want, "job 42's containers");
  he_cmd_free(&c);
  he_docker_line(out, sizeof(out), "rm", "-f", id);
  cr_assert_str_eq(out, id);
  he_docker_ok(&c, "ps", "--format", "{{.Names}} {{.Status}}");
  cr_assert(strstr(c.o.p, "job-42") == NULL, "%s", c.o.p);
  cr_assert(strstr(c.o.p, "other-job Up") != NULL, "%s", c.o.p);
  cr_assert(strstr(c.o.p, "bystander Up") != NULL, "%s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "bystander", "true");
  he_cmd_free(&c);
  /* The workspace outlives the job's container. */
  snprintf(path, sizeof(path), "%s/build.out", ws);
  expect_file(path, "HELLO CI\n");

  he_docker_ok(&c, "rm", "-f", "other-job", "bystander");
  he_cmd_free(&c);
  he_end();
}
