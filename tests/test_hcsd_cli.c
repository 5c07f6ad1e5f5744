/* SPDX-License-Identifier: MIT */
/* hcsd through the real docker CLI (docs/docker-api.md and the
 * recorded traces in docs/docker-cli-traces/ say what docker 28.2.2
 * sends and what moby answers): version, info, images, image inspect,
 * create / start / ps -a / inspect, run (exact bytes, stdout vs stderr,
 * --rm, -d, -i with piped stdin), wait / kill / stop / rm -f, exit codes
 * (the program's, 126, 127, 128+n), exec (plain, -i, -d, exit codes, in a
 * stopped container, GET /exec/{id}/json), logs, load of an archive built
 * here, docker's error messages, networks, and a daemon restart on the same
 * state dir. One daemon per test (he_setup), each test ending with
 * he_end()'s checks that nothing is left behind. */
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

TestSuite(hcsd_cli, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* docker inspect NAME as JSON: the first element (json_decref). */
static json_t *inspect_json(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "inspect", name);
  json_t *arr = he_json(c.o.p);
  cr_assert(json_is_array(arr) && json_array_size(arr) == 1, "inspect %s: %s",
            name, c.o.p);
  json_t *o = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  he_cmd_free(&c);
  return o;
}

static const char *jstr(json_t *o, const char *path) {
  char key[256];
  snprintf(key, sizeof(key), "%s", path);
  json_t *cur = o;
  for (char *save = NULL, *k = strtok_r(key, ".", &save); k != NULL;
       k = strtok_r(NULL, ".", &save)) {
    cur = json_object_get(cur, k);
  }
  return json_string_value(cur);
}

static json_t *jget(json_t *o, const char *path) {
  char key[256];
  snprintf(key, sizeof(key), "%s", path);
  json_t *cur = o;
  for (char *save = NULL, *k = strtok_r(key, ".", &save); k != NULL;
       k = strtok_r(NULL, ".", &save)) {
    cur = json_object_get(cur, k);
  }
  return cur;
}

static bool is_hex64(const char *s) {
  if (s == NULL || strlen(s) != 64) {
    return false;
  }
  for (const char *p = s; *p != '\0'; p++) {
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
      return false;
    }
  }
  return true;
}

/* Whether text has a line equal to line. */
static bool has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; p != NULL && *p != '\0';) {
    const char *nl = strchr(p, '\n');
    size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
    if (len == n && memcmp(p, line, n) == 0) {
      return true;
    }
    p = nl != NULL ? nl + 1 : NULL;
  }
  return false;
}

/* Whether text has a line starting with prefix. */
static bool has_line_prefix(const char *text, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = text; p != NULL && *p != '\0';) {
    if (strncmp(p, prefix, n) == 0) {
      return true;
    }
    const char *nl = strchr(p, '\n');
    p = nl != NULL ? nl + 1 : NULL;
  }
  return false;
}

/* The `docker ps -a` lines NAME|STATUS. */
static void ps_all(th_buf_t *out) {
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}}|{{.Status}}");
  th_buf_add(out, c.o.p, c.o.len);
  he_cmd_free(&c);
}

/* Deterministic bytes of every value, NULs and newlines included. */
static char *payload(size_t n) {
  char *p = malloc(n);
  cr_assert_not_null(p);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (char)(x >> 24);
  }
  return p;
}

static void expect_bytes(const he_cmd_t *c, const th_buf_t *got,
                         const void *want, size_t n) {
  cr_assert_eq(got->len, n, "`%s`: %zu bytes, want %zu\nstderr: %s", c->what,
               got->len, n, c->e.p);
  cr_assert(memcmp(got->p, want, n) == 0, "`%s`: the bytes differ", c->what);
}

/* ------------------------------------------------------------------------ */

Test(hcsd_cli, version_info_images) {
  he_cmd_t c;
  he_docker_ok(&c, "version");
  const char *srv = strstr(c.o.p, "Server:");
  cr_assert_not_null(srv, "no Server section:\n%s", c.o.p);
  const char *api = strstr(srv, "API version:");
  cr_assert_not_null(api, "no server API version:\n%s", srv);
  cr_assert(strncmp(api + strspn(api + 12, " ") + 12, "1.50", 4) == 0,
            "server API version: %.40s", api);
  he_expect_has(c.o.p, "API version:       1.50\n"); /* the client's */
  cr_assert_str_eq(c.e.p, "");
  he_cmd_free(&c);

  char line[256];
  he_docker_line(line, sizeof(line), "version", "--format",
                 "{{.Server.APIVersion}}");
  cr_assert_str_eq(line, "1.50");

  he_docker_ok(&c, "info");
  he_expect_has(c.o.p, "Server:");
  he_expect_has(c.o.p, " Containers: 0\n");
  he_expect_has(c.o.p, " Images: ");
  he_expect_has(c.o.p, " Swarm: inactive\n");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "info", "--format",
                 "{{.Containers}}|{{.ContainersRunning}}|{{.OSType}}");
  cr_assert_str_eq(line, "0|0|linux");

  /* busybox, with no load. */
  he_docker_ok(&c, "images", "--format", "{{.Repository}}:{{.Tag}}|{{.ID}}");
  cr_assert(has_line_prefix(c.o.p, "busybox:latest|"), "images:\n%s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "images");
  cr_assert(has_line_prefix(c.o.p, "REPOSITORY "), "%s", c.o.p);
  he_expect_has(c.o.p, "\nbusybox ");
  he_cmd_free(&c);

  json_t *img = inspect_json("busybox");
  const char *id = jstr(img, "Id");
  cr_assert(id != NULL && strncmp(id, "sha256:", 7) == 0 && is_hex64(id + 7),
            "image Id %s", id);
  json_t *tags = jget(img, "RepoTags");
  bool tagged = false;
  for (size_t i = 0; i < json_array_size(tags); i++) {
    const char *t = json_string_value(json_array_get(tags, i));
    size_t tl = t != NULL ? strlen(t) : 0;
    tagged = tagged || (tl >= 14 && strcmp(t + tl - 14, "busybox:latest") == 0);
  }
  cr_assert(tagged, "RepoTags lack busybox:latest");
  cr_assert_str_eq(jstr(img, "Os"), "linux");
  json_decref(img);
  he_docker_line(line, sizeof(line), "image", "inspect", "-f", "{{.Os}}",
                 "busybox");
  cr_assert_str_eq(line, "linux");

  /* A name that is nothing: every type tried, then docker's words. */
  he_docker(&c, "inspect", "nothere");
  he_expect_code(&c, 1);
  cr_assert_str_eq(c.o.p, "[]\n");
  cr_assert_str_eq(c.e.p, "Error: No such object: nothere\n");
  he_cmd_free(&c);
  he_docker_fails(1, "No such image: nothere", "image", "inspect", "nothere");
  he_end();
}

Test(hcsd_cli, create_start_ps_inspect) {
  char id[128];
  he_docker_line(id, sizeof(id), "create", "--name", "c1", "busybox", "sleep",
                 "300");
  cr_assert(is_hex64(id), "create printed \"%s\"", id);

  th_buf_t ps = {0};
  ps_all(&ps);
  cr_assert(has_line(ps.p, "c1|Created"), "ps -a:\n%s", ps.p);
  th_buf_free(&ps);
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-a", "--format",
               "{{.ID}}|{{.Image}}|{{.Command}}|{{.Names}}");
  char want[256];
  snprintf(want, sizeof(want), "%.12s|busybox|\"sleep 300\"|c1", id);
  cr_assert(has_line(c.o.p, want), "ps -a:\n%s\nwant %s", c.o.p, want);
  he_cmd_free(&c);
  /* Without -a: running containers only. */
  he_docker_ok(&c, "ps", "--format", "{{.Names}}");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);

  json_t *o = inspect_json("c1");
  cr_assert_str_eq(jstr(o, "Id"), id);
  cr_assert_str_eq(jstr(o, "Name"), "/c1");
  cr_assert_str_eq(jstr(o, "Path"), "sleep");
  cr_assert_str_eq(json_string_value(json_array_get(jget(o, "Args"), 0)),
                   "300");
  cr_assert_str_eq(jstr(o, "State.Status"), "created");
  cr_assert(json_is_false(jget(o, "State.Running")));
  cr_assert(json_is_false(jget(o, "Config.Tty")));
  cr_assert(json_is_false(jget(o, "Config.OpenStdin")));
  cr_assert_str_eq(jstr(o, "Config.Image"), "busybox");
  json_t *cmd = jget(o, "Config.Cmd");
  cr_assert(json_array_size(cmd) == 2 &&
                strcmp(json_string_value(json_array_get(cmd, 0)), "sleep") ==
                    0 &&
                strcmp(json_string_value(json_array_get(cmd, 1)), "300") == 0,
            "Config.Cmd");
  cr_assert_not_null(jget(o, "HostConfig"));
  cr_assert_not_null(jget(o, "NetworkSettings"));
  const char *img = jstr(o, "Image");
  cr_assert(img != NULL && strncmp(img, "sha256:", 7) == 0, "Image %s", img);
  json_decref(o);

  char line[256];
  he_docker_line(line, sizeof(line), "start", "c1");
  cr_assert_str_eq(line, "c1");
  he_docker_ok(&c, "ps", "--format", "{{.Names}}|{{.Status}}");
  cr_assert(has_line_prefix(c.o.p, "c1|Up "), "ps:\n%s", c.o.p);
  he_cmd_free(&c);
  o = inspect_json(id);
  cr_assert_str_eq(jstr(o, "State.Status"), "running");
  cr_assert(json_is_true(jget(o, "State.Running")));
  cr_assert_gt(json_integer_value(jget(o, "State.Pid")), 0);
  const char *started = jstr(o, "State.StartedAt");
  cr_assert(started != NULL && strncmp(started, "20", 2) == 0, "StartedAt %s",
            started);
  json_decref(o);
  /* Starting a running container is no error (304). */
  he_docker_line(line, sizeof(line), "start", "c1");
  cr_assert_str_eq(line, "c1");
  /* A unique id prefix resolves like the name. */
  char prefix[16];
  snprintf(prefix, sizeof(prefix), "%.12s", id);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.Name}}", prefix);
  cr_assert_str_eq(line, "/c1");

  he_docker_line(line, sizeof(line), "info", "--format",
                 "{{.Containers}}|{{.ContainersRunning}}");
  cr_assert_str_eq(line, "1|1");

  he_docker_line(line, sizeof(line), "rm", "-f", "c1");
  cr_assert_str_eq(line, "c1");
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}}");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cli, run_output_and_rm) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "out\n");
  cr_assert_str_eq(c.e.p, "err\n");
  he_cmd_free(&c);

  /* Exact bytes, NUL and 0xff included, no newline added. */
  he_docker(&c, "run", "--rm", "busybox", "printf", "bin\\001\\377\\000end");
  he_expect_code(&c, 0);
  expect_bytes(&c, &c.o, "bin\001\377\000end", 9);
  he_cmd_free(&c);

  /* Output larger than any one frame, in order. */
  th_buf_t want = {0};
  for (int i = 1; i <= 20000; i++) {
    char l[16];
    int n = snprintf(l, sizeof(l), "%d\n", i);
    th_buf_add(&want, l, (size_t)n);
  }
  he_docker(&c, "run", "--rm", "busybox", "seq", "1", "20000");
  he_expect_code(&c, 0);
  expect_bytes(&c, &c.o, want.p, want.len);
  he_cmd_free(&c);
  th_buf_free(&want);

  /* --rm: gone from ps -a and inspect once run returns. */
  he_docker(&c, "run", "--rm", "--name", "gone", "busybox", "true");
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  th_buf_t ps = {0};
  ps_all(&ps);
  cr_assert(strstr(ps.p, "gone|") == NULL, "ps -a:\n%s", ps.p);
  th_buf_free(&ps);
  he_docker_fails(1, "No such container: gone", "inspect", "--type",
                  "container", "gone");

  /* Without --rm it stays, exited with its code. */
  he_docker(&c, "run", "--name", "kept", "busybox", "sh", "-c",
            "echo hi; exit 9");
  he_expect_code(&c, 9);
  cr_assert_str_eq(c.o.p, "hi\n");
  he_cmd_free(&c);
  ps_all(&ps);
  cr_assert(has_line_prefix(ps.p, "kept|Exited (9) "), "ps -a:\n%s", ps.p);
  th_buf_free(&ps);
  char line[64];
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}",
                 "kept");
  cr_assert_str_eq(line, "exited 9 false");
  he_docker_line(line, sizeof(line), "rm", "kept");
  cr_assert_str_eq(line, "kept");

  /* -d: the id, the container runs on its own. */
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "bg", "busybox",
                 "sleep", "300");
  cr_assert(is_hex64(id), "run -d printed \"%s\"", id);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Running}}",
                 "bg");
  cr_assert_str_eq(line, "true");
  he_docker_line(line, sizeof(line), "rm", "-f", "bg");
  cr_assert_str_eq(line, "bg");
  he_end();
}

Test(hcsd_cli, exit_codes) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c", "exit 3");
  he_expect_code(&c, 3);
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "busybox", "false");
  he_expect_code(&c, 1);
  he_cmd_free(&c);

  /* Start fails: docker maps the daemon's message to 127 / 126. */
  he_docker(&c, "run", "--rm", "--name", "nf", "busybox", "/no/such/prog");
  he_expect_code(&c, 127);
  he_expect_has(c.e.p, "docker: Error response from daemon: ");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "busybox", "no-such-prog-in-path");
  he_expect_code(&c, 127);
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "busybox", "/etc");
  he_expect_code(&c, 126);
  he_cmd_free(&c);
  /* A failed start with --rm still removes the container. */
  th_buf_t ps = {0};
  ps_all(&ps);
  cr_assert(strstr(ps.p, "nf|") == NULL, "ps -a:\n%s", ps.p);
  th_buf_free(&ps);

  /* Killed from outside while attached: 128+9. */
  he_cmd_t run;
  he_cmd_start(&run,
               HE_ARGV("docker", "run", "--name", "victim", "busybox", "sh",
                       "-c", "echo up; exec sleep 300"),
               NULL, 0);
  /* kill only once it is running: wait for the attach to show "up". */
  int64_t deadline = th_now_ms() + 30000;
  for (;;) {
    struct pollfd pf = {.fd = run.out, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, (int)(deadline - th_now_ms())), 1,
                 "no output from the attached run");
    char b[64];
    ssize_t n = read(run.out, b, sizeof(b));
    cr_assert_gt(n, 0, "EOF from the attached run");
    th_buf_add(&run.o, b, (size_t)n);
    if (strstr(run.o.p, "up\n") != NULL) {
      break;
    }
  }
  char line[64];
  he_docker_line(line, sizeof(line), "kill", "victim");
  cr_assert_str_eq(line, "victim");
  he_cmds_wait(&run, 1, HE_CMD_MS);
  he_expect_code(&run, 137);
  he_cmd_free(&run);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.ExitCode}}",
                 "victim");
  cr_assert_str_eq(line, "137");
  he_docker_ok(&c, "rm", "victim");
  he_cmd_free(&c);
  he_end();
}

/* hcs puts its own init at pid 1 of every compute system (it reaps and
 * stops), as `docker run --init` does: the container's program is not
 * pid 1, so `kill -9 $$` ends it like any process and the exit code is
 * 128+9. (Plain docker, whose program is pid 1, would print "survived":
 * a documented difference, README's hcsd section.) */
Test(hcsd_cli, program_is_not_pid1) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c",
            "kill -9 $$; echo survived");
  he_expect_code(&c, 137);
  cr_assert_str_eq(c.o.p != NULL ? c.o.p : "", "");
  he_cmd_free(&c);
  he_end();
}

/* An exec'd process is no pid 1: it dies of a signal, 128+n. */
Test(hcsd_cli, exec_killed_by_signal) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "s", "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_docker(&c, "exec", "s", "sh", "-c", "kill -9 $$");
  he_expect_code(&c, 137);
  he_cmd_free(&c);
  he_docker(&c, "exec", "s", "sh", "-c", "kill -TERM $$");
  he_expect_code(&c, 143);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "s");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cli, wait_kill_stop_rm) {
  he_cmd_t c;
  char line[256];
  he_docker_ok(&c, "run", "-d", "--name", "w", "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_cmd_t wait;
  he_cmd_start(&wait, HE_ARGV("docker", "wait", "w"), NULL, 0);
  he_docker_line(line, sizeof(line), "kill", "w");
  cr_assert_str_eq(line, "w");
  he_cmds_wait(&wait, 1, HE_CMD_MS);
  he_expect_code(&wait, 0);
  cr_assert_str_eq(wait.o.p, "137\n");
  he_cmd_free(&wait);
  /* wait on a stopped container: its last code at once. */
  he_docker_line(line, sizeof(line), "wait", "w");
  cr_assert_str_eq(line, "137");
  /* kill of a stopped container: 409 in docker's words. */
  he_docker(&c, "kill", "w");
  he_expect_code(&c, 1);
  he_expect_has(c.e.p, "Error response from daemon: cannot kill container: w: "
                       "container ");
  he_expect_has(c.e.p, " is not running");
  he_cmd_free(&c);

  /* stop -t 1 of a program that ignores SIGTERM: killed after ~1 s. */
  he_docker_ok(&c, "run", "-d", "--name", "st", "busybox", "sh", "-c",
               "trap '' TERM; while :; do sleep 1; done");
  he_cmd_free(&c);
  int64_t t0 = th_now_ms();
  he_docker_line(line, sizeof(line), "stop", "-t", "1", "st");
  int64_t took = th_now_ms() - t0;
  cr_assert_str_eq(line, "st");
  cr_assert(took >= 900 && took < 9000, "stop -t 1 took %lld ms",
            (long long)took);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.State.Status}} {{.State.ExitCode}}", "st");
  cr_assert_str_eq(line, "exited 137");
  /* stop of a stopped container: no error (304). */
  he_docker_line(line, sizeof(line), "stop", "st");
  cr_assert_str_eq(line, "st");

  /* stop with the default signal that the program handles. */
  he_docker_ok(&c, "run", "-d", "--name", "tr", "busybox", "sh", "-c",
               "trap 'exit 42' TERM; while :; do sleep 1; done");
  he_cmd_free(&c);
  t0 = th_now_ms();
  he_docker_line(line, sizeof(line), "stop", "-t", "20", "tr");
  took = th_now_ms() - t0;
  cr_assert_str_eq(line, "tr");
  cr_assert_lt(took, 10000, "stop took %lld ms", (long long)took);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.ExitCode}}",
                 "tr");
  cr_assert_str_eq(line, "42");

  /* stop -s: the signal named is the one sent. */
  he_docker_ok(&c, "run", "-d", "--name", "si", "busybox", "sh", "-c",
               "trap 'exit 43' INT; trap '' TERM; while :; do sleep 1; done");
  he_cmd_free(&c);
  t0 = th_now_ms();
  he_docker_line(line, sizeof(line), "stop", "-s", "SIGINT", "-t", "20", "si");
  took = th_now_ms() - t0;
  cr_assert_str_eq(line, "si");
  cr_assert_lt(took, 10000, "stop -s SIGINT took %lld ms", (long long)took);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.ExitCode}}",
                 "si");
  cr_assert_str_eq(line, "43");

  /* rm of a running container, then rm -f of several at once, from two
   * CLIs in parallel (each CLI deletes its own in parallel). */
  const char *names[] = {"p1", "p2", "p3", "p4", "p5", "p6"};
  for (int i = 0; i < 6; i++) {
    he_docker_ok(&c, "run", "-d", "--name", names[i], "busybox", "sleep",
                 "300");
    he_cmd_free(&c);
  }
  he_docker_fails(1,
                  "Error response from daemon: cannot remove container "
                  "\"/p1\": container is running: stop the container "
                  "before removing or force remove",
                  "rm", "p1");
  he_cmd_t rms[2];
  t0 = th_now_ms();
  he_cmd_start(&rms[0], HE_ARGV("docker", "rm", "-f", "p1", "p2", "p3"), NULL,
               0);
  he_cmd_start(&rms[1], HE_ARGV("docker", "rm", "-f", "p4", "p5", "p6"), NULL,
               0);
  he_cmds_wait(rms, 2, HE_CMD_MS);
  took = th_now_ms() - t0;
  he_expect_code(&rms[0], 0);
  he_expect_code(&rms[1], 0);
  cr_assert_str_eq(rms[0].o.p, "p1\np2\np3\n");
  cr_assert_str_eq(rms[1].o.p, "p4\np5\np6\n");
  cr_assert_lt(took, 10000, "rm -f took %lld ms", (long long)took);
  he_cmd_free(&rms[0]);
  he_cmd_free(&rms[1]);
  he_docker(&c, "rm", "nosuch");
  he_expect_code(&c, 1);
  cr_assert_str_eq(c.e.p,
                   "Error response from daemon: No such container: nosuch\n");
  he_cmd_free(&c);

  he_docker_ok(&c, "rm", "w", "st", "tr", "si");
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}}");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cli, errors) {
  he_cmd_t c;
  /* No such image: the CLI tries a pull, which fails: 125. */
  he_docker(&c, "run", "--rm", "nosuch", "true");
  he_expect_code(&c, 125);
  he_expect_has(c.e.p, "Unable to find image 'nosuch:latest' locally\n");
  he_expect_has(c.e.p, "docker: Error response from daemon: ");
  he_cmd_free(&c);
  he_docker_fails(1, "Unable to find image 'nosuch:latest' locally\n", "create",
                  "nosuch");

  char id[128];
  he_docker_line(id, sizeof(id), "create", "--name", "dup", "busybox", "true");
  he_docker(&c, "create", "--name", "dup", "busybox", "true");
  he_expect_code(&c, 1);
  char want[512];
  snprintf(want, sizeof(want),
           "Error response from daemon: Conflict. The container name \"/dup\" "
           "is already in use by container \"%s\". You have to remove (or "
           "rename) that container to be able to reuse that name.",
           id);
  he_expect_has(c.e.p, want);
  he_cmd_free(&c);
  he_docker_fails(125, "is already in use by container", "run", "--name", "dup",
                  "busybox", "true");

  he_docker(&c, "exec", "nosuch", "true");
  he_expect_code(&c, 1);
  cr_assert_str_eq(c.e.p,
                   "Error response from daemon: No such container: nosuch\n");
  he_cmd_free(&c);
  he_docker_fails(1, "No such container: nosuch", "start", "nosuch");
  he_docker_fails(1, "No such container: nosuch", "logs", "nosuch");
  he_docker_fails(1, "No such container: nosuch", "wait", "nosuch");
  he_docker_fails(1, "No such container: nosuch", "kill", "nosuch");
  he_docker_fails(1, "No such container: nosuch", "stop", "nosuch");
  he_docker_ok(&c, "rm", "dup");
  he_cmd_free(&c);
  he_expect_ping();
  he_end();
}

Test(hcsd_cli, stdin) {
  he_cmd_t c;
  static const char small[] = "hello-stdin\nsecond line\n";
  he_docker_in(&c, small, strlen(small), "run", "-i", "--rm", "busybox", "cat");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, small);
  cr_assert_str_eq(c.e.p, "");
  he_cmd_free(&c);

  /* stdin's EOF reaches the program, whose output and code follow. */
  he_docker_in(&c, small, strlen(small), "run", "-i", "--rm", "busybox", "sh",
               "-c", "cat; echo done-cat >&2; exit 2");
  he_expect_code(&c, 2);
  cr_assert_str_eq(c.o.p, small);
  cr_assert_str_eq(c.e.p, "done-cat\n");
  he_cmd_free(&c);

  size_t n = 1 << 20;
  char *big = payload(n);
  he_docker_in(&c, big, n, "run", "-i", "--rm", "busybox", "cat");
  he_expect_code(&c, 0);
  expect_bytes(&c, &c.o, big, n);
  he_cmd_free(&c);

  /* Empty stdin: an immediate EOF. */
  he_docker_in(&c, "", 0, "run", "-i", "--rm", "busybox", "wc", "-c");
  he_expect_code(&c, 0);
  cr_assert_eq(atoi(c.o.p), 0, "wc -c: %s", c.o.p);
  he_cmd_free(&c);

  he_docker_ok(&c, "run", "-d", "--name", "x", "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_docker_in(&c, big, n, "exec", "-i", "x", "cat");
  he_expect_code(&c, 0);
  expect_bytes(&c, &c.o, big, n);
  he_cmd_free(&c);
  he_docker_in(&c, small, strlen(small), "exec", "-i", "x", "sh", "-c",
               "cat; echo exec-i-done");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "hello-stdin\nsecond line\nexec-i-done\n");
  he_cmd_free(&c);
  free(big);
  he_docker_ok(&c, "rm", "-f", "x");
  he_cmd_free(&c);
  he_end();
}

/* POST /containers/{id}/exec of sh -c script with stdout and stderr
 * attached; the exec id into eid. */
static void raw_exec_create(const char *id, const char *script, char eid[65]) {
  char path[256], body[512];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/exec", id);
  snprintf(body, sizeof(body),
           "{\"AttachStdout\":true,\"AttachStderr\":true,"
           "\"Cmd\":[\"sh\",\"-c\",\"%s\"]}",
           script);
  he_http_t r;
  he_request("POST", path, body, &r);
  cr_assert_eq(r.status, 201, "exec create: %s%s", r.head.p, r.body.p);
  json_t *j = he_json(r.body.p);
  const char *got = jstr(j, "Id");
  cr_assert(is_hex64(got), "exec Id %s", got);
  snprintf(eid, 65, "%s", got);
  json_decref(j);
  he_http_free(&r);
}

/* POST /exec/{id}/start hijacked by hand; returns the demuxed output. */
static void raw_exec_start(const char *eid, th_buf_t *out, th_buf_t *err) {
  he_conn_t c = {.fd = he_raw_connect()};
  static const char body[] = "{\"Detach\":false,\"Tty\":false}";
  char req[512];
  snprintf(req, sizeof(req),
           "POST /v1.50/exec/%s/start HTTP/1.1\r\n"
           "Host: api.moby.localhost\r\nContent-Type: application/json\r\n"
           "Connection: Upgrade\r\nUpgrade: tcp\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           eid, sizeof(body) - 1, body);
  cr_assert(he_raw_send_str(c.fd, req));
  he_http_t r;
  cr_assert(he_conn_response(&c, &r, true, 30000), "no answer to start");
  cr_assert_eq(r.status, 101, "exec start: %s", r.head.p);
  char v[64];
  cr_assert(he_http_header(&r, "Upgrade", v, sizeof(v)) &&
                strcasecmp(v, "tcp") == 0,
            "%s", r.head.p);
  he_http_free(&r);
  /* No stdin: half-close at once, as the CLI does. */
  cr_assert_eq(shutdown(c.fd, SHUT_WR), 0);
  bool timed_out = false;
  while (he_conn_fill(&c, th_now_ms() + 30000, &timed_out)) {
  }
  cr_assert(!timed_out, "the exec stream never ended");
  he_demux(c.in.p + c.used, c.in.len - c.used, out, err);
  he_conn_close(&c);
}

/* GET /exec/{eid}/json: asserts the exec of container id ended with code
 * (stored, not running). */
static void exec_expect_done(const char *eid, const char *id, int code) {
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/exec/%s/json", eid);
  he_http_t r;
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "GET %s: %s%s", path, r.head.p, r.body.p);
  json_t *j = he_json(r.body.p);
  cr_assert_str_eq(jstr(j, "ID"), eid);
  cr_assert_str_eq(jstr(j, "ContainerID"), id);
  cr_assert(json_is_false(jget(j, "Running")), "%s", r.body.p);
  cr_assert(json_is_integer(jget(j, "ExitCode")), "%s", r.body.p);
  cr_assert_eq(json_integer_value(jget(j, "ExitCode")), code, "%s", r.body.p);
  cr_assert_str_eq(jstr(j, "ProcessConfig.entrypoint"), "sh");
  json_decref(j);
  he_http_free(&r);
}

Test(hcsd_cli, exec) {
  he_cmd_t c;
  char id[128], line[256];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "e", "busybox", "sleep",
                 "300");
  he_docker(&c, "exec", "e", "sh", "-c",
            "echo exec-out; echo exec-err >&2; exit 5");
  he_expect_code(&c, 5);
  cr_assert_str_eq(c.o.p, "exec-out\n");
  cr_assert_str_eq(c.e.p, "exec-err\n");
  he_cmd_free(&c);
  he_docker(&c, "exec", "e", "true");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  /* The exec runs in the container: its root, its hostname. */
  he_docker_line(line, sizeof(line), "exec", "e", "hostname");
  cr_assert(strncmp(line, id, 12) == 0, "hostname %s, id %s", line, id);
  he_docker(&c, "exec", "e", "/no/such/prog");
  he_expect_code(&c, 127);
  he_cmd_free(&c);
  he_docker(&c, "exec", "e", "/etc");
  he_expect_code(&c, 126);
  he_cmd_free(&c);

  /* -d: no output, the process runs on; it leaves a file behind. */
  he_docker(&c, "exec", "-d", "e", "sh", "-c", "echo detached > /tmp/d");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_docker(&c, "exec", "e", "sh", "-c",
            "while [ ! -s /tmp/d ]; do sleep 0.05; done; cat /tmp/d");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "detached\n");
  he_cmd_free(&c);

  /* GET /exec/{id}/json: the exit code is stored when the stream ends. */
  char eid[65];
  raw_exec_create(id, "echo raw; echo raw-err >&2; exit 6", eid);
  he_http_t r;
  th_buf_t o = {0}, e = {0};
  raw_exec_start(eid, &o, &e);
  cr_assert_str_eq(o.p, "raw\n");
  cr_assert_str_eq(e.p, "raw-err\n");
  th_buf_free(&o);
  th_buf_free(&e);
  exec_expect_done(eid, id, 6);
  he_request("GET", "/v1.50/exec/nosuch/json", NULL, &r);
  he_expect_error(&r, 404, "No such exec instance: nosuch");
  he_http_free(&r);

  /* In a stopped container: 409 on the exec create, docker's words. A
   * kill with SIGKILL returns once the container has stopped (moby's
   * Kill waits for the exit). */
  he_docker_ok(&c, "kill", "e");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.State.Status}} {{.State.ExitCode}}", "e");
  cr_assert_str_eq(line, "exited 137", "right after docker kill: %s", line);
  he_docker(&c, "exec", "e", "echo", "x");
  he_expect_code(&c, 1);
  char want[256];
  snprintf(want, sizeof(want),
           "Error response from daemon: container %s is not running\n", id);
  cr_assert_str_eq(c.e.p, want);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "e");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cli, logs) {
  he_cmd_t c;
  he_docker(&c, "run", "--name", "lg", "busybox", "sh", "-c",
            "echo one; echo two >&2; echo three; printf no-newline");
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_docker(&c, "logs", "lg");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "one\nthree\nno-newline");
  cr_assert_str_eq(c.e.p, "two\n");
  he_cmd_free(&c);

  /* A detached container's output is kept too, all of it, in order. */
  th_buf_t want = {0};
  for (int i = 1; i <= 5000; i++) {
    char l[16];
    int n = snprintf(l, sizeof(l), "%d\n", i);
    th_buf_add(&want, l, (size_t)n);
  }
  he_docker_ok(&c, "run", "-d", "--name", "lg2", "busybox", "seq", "1", "5000");
  he_cmd_free(&c);
  char line[64];
  he_docker_line(line, sizeof(line), "wait", "lg2");
  cr_assert_str_eq(line, "0");
  he_docker(&c, "logs", "lg2");
  he_expect_code(&c, 0);
  expect_bytes(&c, &c.o, want.p, want.len);
  cr_assert_str_eq(c.e.p, "");
  he_cmd_free(&c);
  th_buf_free(&want);

  /* --tail N: the last N lines (a last line without its newline counts);
   * 0 gives nothing, more than there are gives all. (Across two streams
   * the order of lines is the order the pipes were read in, so these
   * checks use one stream.) */
  he_docker(&c, "logs", "--tail", "3", "lg2");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "4998\n4999\n5000\n");
  he_cmd_free(&c);
  he_docker(&c, "run", "--name", "lg3", "busybox", "printf", "a\\nb\\nc");
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_docker(&c, "logs", "--tail", "2", "lg3");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "b\nc");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "lg3");
  he_cmd_free(&c);
  he_docker(&c, "logs", "--tail", "0", "lg");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p != NULL ? c.o.p : "", "");
  he_cmd_free(&c);
  he_docker(&c, "logs", "--tail", "99", "lg");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "one\nthree\nno-newline");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "lg", "lg2");
  he_cmd_free(&c);
  he_end();
}

/* start -a (attach, then start: the output of the new run), restart
 * (stop, then start: running again, RestartCount 1) and container prune
 * (every stopped container goes, running ones stay). */
Test(hcsd_cli, start_attach_restart_prune) {
  he_cmd_t c;
  he_docker(&c, "run", "--name", "sa", "busybox", "sh", "-c",
            "echo run; exit 4");
  he_expect_code(&c, 4);
  cr_assert_str_eq(c.o.p, "run\n");
  he_cmd_free(&c);
  he_docker(&c, "start", "-a", "sa");
  he_expect_code(&c, 4);
  cr_assert_str_eq(c.o.p, "run\n");
  he_cmd_free(&c);

  char line[128];
  he_docker_ok(&c, "run", "-d", "--name", "rs", "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Pid}}", "rs");
  int pid0 = atoi(line);
  he_docker_ok(&c, "restart", "-t", "1", "rs");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.RestartCount}} {{.State.Status}}", "rs");
  cr_assert_str_eq(line, "1 running");
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Pid}}", "rs");
  cr_assert_neq(atoi(line), pid0, "restart kept the old process");

  he_docker(&c, "container", "prune", "-f");
  he_expect_code(&c, 0);
  cr_assert_not_null(strstr(c.o.p, "Deleted Containers:"), "%s", c.o.p);
  he_cmd_free(&c);
  he_docker(&c, "ps", "-a", "--format", "{{.Names}}");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "rs\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "rs");
  he_cmd_free(&c);
  he_end();
}

/* ------------------------------------------------------------------------
 * docker load of an archive made here: the classic `docker save` layout
 * (manifest.json, <config sha>.json, <v1 id>/layer.tar, VERSION, json,
 * repositories) with one layer holding the static hcsd_prog alone. */

static void tar_add(struct archive *a, const char *name, const void *data,
                    size_t n, int mode) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_size(e, (la_int64_t)n);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, mode);
  archive_entry_set_mtime(e, 1735689600, 0);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
               archive_error_string(a));
  cr_assert_eq(archive_write_data(a, data, n), (la_ssize_t)n, "%s",
               archive_error_string(a));
  archive_entry_free(e);
}

static void read_file(const char *path, th_buf_t *b) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    th_buf_add(b, buf, (size_t)n);
  }
  close(fd);
}

static void sha256_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  cr_assert(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
  for (unsigned i = 0; i < len; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

/* Writes the image archive to path; the config's sha256 into cfg_sha. */
static void make_image(const char *path, const char *tag, char cfg_sha[65]) {
  th_buf_t prog = {0};
  read_file(TH_HELPER("hcsd_prog"), &prog);

  char layer_path[192];
  snprintf(layer_path, sizeof(layer_path), "%s/layer.tar", he.dir);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_filename(a, layer_path), ARCHIVE_OK);
  tar_add(a, "hcsd_prog", prog.p, prog.len, 0755);
  archive_write_close(a);
  archive_write_free(a);
  th_buf_free(&prog);
  th_buf_t layer = {0};
  read_file(layer_path, &layer);
  cr_assert_eq(unlink(layer_path), 0);
  char layer_sha[65];
  sha256_hex(layer.p, layer.len, layer_sha);

  char cfg[2048];
  int cn =
      snprintf(cfg, sizeof(cfg),
               "{\"architecture\":\"amd64\",\"os\":\"linux\","
               "\"created\":\"2025-01-01T00:00:00Z\","
               "\"config\":{\"Cmd\":[\"/hcsd_prog\",\"exit\",\"4\",\"out\\n\","
               "\"err\\n\"],\"Env\":[\"PATH=/\"],\"WorkingDir\":\"/\"},"
               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]},"
               "\"history\":[{\"created\":\"2025-01-01T00:00:00Z\","
               "\"created_by\":\"hcsd e2e\"}]}",
               layer_sha);
  sha256_hex(cfg, (size_t)cn, cfg_sha);
  char v1[65];
  sha256_hex(layer_sha, 64, v1);

  char name[256], manifest[1024], repos[512];
  const char *colon = strrchr(tag, ':');
  int mn = snprintf(manifest, sizeof(manifest),
                    "[{\"Config\":\"%s.json\",\"RepoTags\":[\"%s\"],"
                    "\"Layers\":[\"%s/layer.tar\"]}]",
                    cfg_sha, tag, v1);
  int rn = snprintf(repos, sizeof(repos), "{\"%.*s\":{\"%s\":\"%s\"}}",
                    (int)(colon - tag), tag, colon + 1, v1);
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
  snprintf(name, sizeof(name), "%s/VERSION", v1);
  tar_add(a, name, "1.0", 3, 0644);
  snprintf(name, sizeof(name), "%s/json", v1);
  char v1json[256];
  int vn = snprintf(v1json, sizeof(v1json), "{\"id\":\"%s\"}", v1);
  tar_add(a, name, v1json, (size_t)vn, 0644);
  snprintf(name, sizeof(name), "%s/layer.tar", v1);
  tar_add(a, name, layer.p, layer.len, 0644);
  snprintf(name, sizeof(name), "%s.json", cfg_sha);
  tar_add(a, name, cfg, (size_t)cn, 0644);
  tar_add(a, "manifest.json", manifest, (size_t)mn, 0644);
  tar_add(a, "repositories", repos, (size_t)rn, 0644);
  archive_write_close(a);
  archive_write_free(a);
  th_buf_free(&layer);
}

Test(hcsd_cli, load_and_run) {
  char path[192], cfg_sha[65];
  snprintf(path, sizeof(path), "%s/img.tar", he.dir);
  make_image(path, "e2eimg:v1", cfg_sha);

  he_cmd_t c;
  he_docker(&c, "load", "-i", path);
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "Loaded image: e2eimg:v1\n");
  he_cmd_free(&c);
  char want[128];
  he_docker_ok(&c, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}");
  snprintf(want, sizeof(want), "e2eimg:v1 %.12s", cfg_sha);
  cr_assert(has_line(c.o.p, want), "images:\n%s\nwant %s", c.o.p, want);
  cr_assert(has_line_prefix(c.o.p, "busybox:latest "), "%s", c.o.p);
  he_cmd_free(&c);
  char line[256];
  he_docker_line(line, sizeof(line), "image", "inspect", "-f", "{{.Id}}",
                 "e2eimg:v1");
  snprintf(want, sizeof(want), "sha256:%s", cfg_sha);
  cr_assert_str_eq(line, want);

  /* The image's Cmd, Env and the program alone in its root. */
  he_docker(&c, "run", "--rm", "e2eimg:v1");
  he_expect_code(&c, 4);
  cr_assert_str_eq(c.o.p, "out\n");
  cr_assert_str_eq(c.e.p, "err\n");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "e2eimg:v1", "hcsd_prog", "exit", "0", "hi");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "hi");
  he_cmd_free(&c);
  /* A fault kills even a pid 1: 128+11. */
  he_docker(&c, "run", "--rm", "e2eimg:v1", "/hcsd_prog", "segv");
  he_expect_code(&c, 139);
  he_cmd_free(&c);
  /* By id prefix too. */
  char prefix[16];
  snprintf(prefix, sizeof(prefix), "%.12s", cfg_sha);
  he_docker(&c, "run", "--rm", prefix, "/hcsd_prog", "exit", "5");
  he_expect_code(&c, 5);
  he_cmd_free(&c);

  /* Loading the same archive again is fine. */
  he_docker(&c, "load", "-i", path);
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "Loaded image: e2eimg:v1\n");
  he_cmd_free(&c);

  /* Not an archive: an error, exit 1, the daemon still up. */
  char junk[192];
  snprintf(junk, sizeof(junk), "%s/junk.tar", he.dir);
  int fd = open(junk, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  char *p = payload(20000);
  th_write_all(fd, p, 20000);
  free(p);
  close(fd);
  he_docker(&c, "load", "-i", junk);
  he_expect_code(&c, 1);
  cr_assert_neq(c.e.len, 0, "no error printed");
  he_cmd_free(&c);
  he_expect_ping();
  he_end();
}

/* ------------------------------------------------------------------------ */

/* Parses "a.b.c.d/n" into an address and prefix length. */
static bool parse_cidr(const char *s, uint32_t *addr, int *len) {
  unsigned a, b, c, d;
  int n = -1;
  if (sscanf(s, "%u.%u.%u.%u/%d", &a, &b, &c, &d, &n) != 5 || n < 0 || n > 32 ||
      a > 255 || b > 255 || c > 255 || d > 255) {
    return false;
  }
  *addr = a << 24 | b << 16 | c << 8 | d;
  *len = n;
  return true;
}

/* The eth0 inet address (a.b.c.d/n) a container on net sees. */
static void container_inet(const char *net, char *out, size_t n) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--network", net, "busybox", "ip", "-4", "addr",
            "show", "eth0");
  he_expect_code(&c, 0);
  const char *inet = strstr(c.o.p, "inet ");
  cr_assert_not_null(inet, "no inet on eth0:\n%s", c.o.p);
  inet += 5;
  snprintf(out, n, "%.*s", (int)strcspn(inet, " \n"), inet);
  he_cmd_free(&c);
}

static void expect_in_subnet(const char *inet, const char *subnet) {
  uint32_t a, s;
  int alen, slen;
  cr_assert(parse_cidr(inet, &a, &alen), "inet %s", inet);
  cr_assert(parse_cidr(subnet, &s, &slen), "subnet %s", subnet);
  uint32_t mask = slen == 0 ? 0 : 0xffffffffu << (32 - slen);
  cr_assert_eq(alen, slen, "%s vs %s", inet, subnet);
  cr_assert_eq(a & mask, s & mask, "%s is not in %s", inet, subnet);
  cr_assert_neq(a, s, "%s is the network address", inet);
}

Test(hcsd_cli, networks) {
  he_cmd_t c;
  char id[128], line[256];
  he_docker_line(id, sizeof(id), "network", "create", "e2e-n1");
  cr_assert(is_hex64(id), "network create printed \"%s\"", id);
  he_docker_line(line, sizeof(line), "network", "create", "--subnet",
                 "10.123.45.0/24", "e2e-n2");
  cr_assert(is_hex64(line), "network create printed \"%s\"", line);
  he_docker_fails(1,
                  "Error response from daemon: network with name e2e-n1 "
                  "already exists",
                  "network", "create", "e2e-n1");

  he_docker_ok(&c, "network", "ls", "--format", "{{.Name}}|{{.Driver}}");
  cr_assert(has_line(c.o.p, "e2e-n1|bridge"), "network ls:\n%s", c.o.p);
  cr_assert(has_line(c.o.p, "e2e-n2|bridge"), "network ls:\n%s", c.o.p);
  cr_assert(has_line(c.o.p, "bridge|bridge"), "network ls:\n%s", c.o.p);
  cr_assert(has_line_prefix(c.o.p, "host|"), "network ls:\n%s", c.o.p);
  cr_assert(has_line_prefix(c.o.p, "none|"), "network ls:\n%s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "ls");
  snprintf(line, sizeof(line), "%.12s   e2e-n1 ", id);
  cr_assert(has_line_prefix(c.o.p, line), "network ls:\n%s", c.o.p);
  he_cmd_free(&c);

  char subnet1[64];
  he_docker_line(subnet1, sizeof(subnet1), "network", "inspect", "-f",
                 "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "e2e-n1");
  he_docker_line(line, sizeof(line), "network", "inspect", "-f",
                 "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "e2e-n2");
  cr_assert_str_eq(line, "10.123.45.0/24");

  char inet[64];
  container_inet("e2e-n2", inet, sizeof(inet));
  expect_in_subnet(inet, "10.123.45.0/24");
  container_inet("e2e-n1", inet, sizeof(inet));
  expect_in_subnet(inet, subnet1);
  /* The default network gives an address too. */
  he_docker(&c, "run", "--rm", "busybox", "ip", "-4", "addr", "show", "eth0");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "inet ");
  he_cmd_free(&c);

  /* none: only loopback; host: the host's interfaces (as docker). */
  he_docker(&c, "run", "--rm", "--network", "none", "busybox", "cat",
            "/proc/net/dev");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "lo:");
  cr_assert(strstr(c.o.p, "eth0") == NULL, "%s", c.o.p);
  cr_assert_eq(strchr(strstr(c.o.p, "lo:"), '\n')[1], '\0',
               "more than loopback:\n%s", c.o.p);
  he_cmd_free(&c);
  /* The same network namespace as the daemon's, which is the host to it
   * (the harness gives hcsd one of its own), as with docker. */
  char host_ns[64] = "", ns_path[64];
  snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/net", (int)he.pid);
  cr_assert_gt(readlink(ns_path, host_ns, sizeof(host_ns) - 1), 0);
  he_docker(&c, "run", "--rm", "--network", "host", "busybox", "readlink",
            "/proc/self/ns/net");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, host_ns);
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--network", "none", "busybox", "readlink",
            "/proc/self/ns/net");
  he_expect_code(&c, 0);
  cr_assert(strstr(c.o.p, host_ns) == NULL, "%s", c.o.p);
  he_cmd_free(&c);

  /* A missing network fails the start (not the create: no pull). */
  he_docker(&c, "run", "--rm", "--network", "nosuchnet", "busybox", "true");
  he_expect_code(&c, 125);
  he_expect_has(c.e.p, "network nosuchnet not found");
  cr_assert(strstr(c.e.p, "Unable to find image") == NULL, "%s", c.e.p);
  he_cmd_free(&c);

  /* In use: 403, then removable once its container is gone. */
  he_docker_ok(&c, "run", "-d", "--name", "netc", "--network", "e2e-n1",
               "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_docker_fails(1, "has active endpoints", "network", "rm", "e2e-n1");
  he_docker_ok(&c, "rm", "-f", "netc");
  he_cmd_free(&c);
  he_docker(&c, "network", "rm", "e2e-n1", "e2e-n2");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "e2e-n1\ne2e-n2\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "ls", "--format", "{{.Name}}");
  cr_assert(!has_line(c.o.p, "e2e-n1") && !has_line(c.o.p, "e2e-n2"),
            "network ls:\n%s", c.o.p);
  he_cmd_free(&c);
  he_docker_fails(1, "network nosuchnet not found", "network", "rm",
                  "nosuchnet");
  he_docker(&c, "network", "rm", "bridge");
  he_expect_code(&c, 1);
  he_cmd_free(&c);
  he_end();
}

/* A restarted hcsd on the same state dir: exited containers with their
 * codes and logs, a running one stopped by the SIGTERM, exec results. */
Test(hcsd_cli, restart) {
  he_cmd_t c;
  char id[128], line[256];
  he_docker(&c, "run", "--name", "r1", "busybox", "sh", "-c",
            "echo before; echo before-err >&2; exit 5");
  he_expect_code(&c, 5);
  he_cmd_free(&c);
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "r2", "busybox", "sh",
                 "-c", "trap 'exit 0' TERM; while :; do sleep 1; done");
  he_docker_ok(&c, "create", "--name", "r3", "busybox", "true");
  he_cmd_free(&c);

  char eid[65];
  raw_exec_create(id, "exit 6", eid);
  th_buf_t o = {0}, e = {0};
  raw_exec_start(eid, &o, &e);
  th_buf_free(&o);
  th_buf_free(&e);

  he_daemon_stop();
  he_daemon_start();

  th_buf_t ps = {0};
  ps_all(&ps);
  cr_assert(has_line_prefix(ps.p, "r1|Exited (5) "), "ps -a:\n%s", ps.p);
  cr_assert(has_line_prefix(ps.p, "r2|Exited (0) "), "ps -a:\n%s", ps.p);
  cr_assert(has_line(ps.p, "r3|Created"), "ps -a:\n%s", ps.p);
  th_buf_free(&ps);
  he_docker(&c, "logs", "r1");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "before\n");
  cr_assert_str_eq(c.e.p, "before-err\n");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "wait", "r1");
  cr_assert_str_eq(line, "5");
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.State.Status}} {{.State.ExitCode}}", "r2");
  cr_assert_str_eq(line, "exited 0");
  exec_expect_done(eid, id, 6);

  /* The old containers still work: r3 starts and runs. */
  he_docker_line(line, sizeof(line), "start", "r3");
  he_docker_line(line, sizeof(line), "wait", "r3");
  cr_assert_str_eq(line, "0");
  he_docker_ok(&c, "rm", "-f", "r1", "r2", "r3");
  he_cmd_free(&c);
  he_end();
}
