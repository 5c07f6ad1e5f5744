/* SPDX-License-Identifier: MIT */
/* docker stats through the docker CLI 28.2 (issue 17): --no-stream and
 * the streaming table show a memory hog's usage against its --memory
 * limit and the count of its processes, read from the container's
 * cgroup; the API's frames carry cpu_stats and precpu_stats a second
 * apart (one-shot: one sample at once), and a container not running
 * gives the empty frame dockerd gives. One daemon per test (he_setup),
 * each ending with he_end(). */
#include "hcsd_e2e.h"

TestSuite(hcsd_stats, .init = he_setup, .fini = he_teardown, .timeout = 240);

#define MIB (1024.0 * 1024.0)

/* A container with 40 MiB in a tmpfs file (charged to its memory group),
 * a 64 MiB limit, and its shell with 4 sleeps. */
static void run_hog(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", name, "--memory", "64m", "--tmpfs",
               "/hog", "busybox", "sh", "-c",
               "dd if=/dev/zero of=/hog/x bs=1M count=40 2>/dev/null; "
               "touch /hog/done; for i in 1 2 3 4; do sleep 1000 & done; wait");
  he_cmd_free(&c);
  /* Until the file is whole and the sleeps run: exec sees them. */
  int64_t deadline = th_now_ms() + 20000;
  for (;;) {
    he_docker(&c, "exec", name, "sh", "-c",
              "test -e /hog/done && test $(pidof sleep | wc -w) = 4");
    int code = c.code;
    he_cmd_free(&c);
    if (code == 0) {
      break;
    }
    cr_assert_lt(th_now_ms(), deadline, "the hog never got ready");
    (void)poll(NULL, 0, 50);
  }
}

/* "40.05MiB" and its like, in bytes. */
static double size_bytes(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (strncmp(end, "GiB", 3) == 0) {
    return v * 1024 * MIB;
  }
  if (strncmp(end, "MiB", 3) == 0) {
    return v * MIB;
  }
  if (strncmp(end, "KiB", 3) == 0) {
    return v * 1024;
  }
  return v;
}

/* One line of the stats table (`--format` "name|mem|pids"): the usage is
 * the 40 MiB file and a little more, the limit the 64 MiB, and the
 * processes the shell and its 4 sleeps (and hcs's init when it counts). */
static void expect_hog_line(const char *line) {
  char name[64], usage[32], limit[32];
  int pids = -1;
  cr_assert_eq(
      sscanf(line, "%63[^|]|%31s / %31[^|]|%d", name, usage, limit, &pids), 4,
      "a stats line: \"%s\"", line);
  cr_assert_str_eq(name, "hog");
  double u = size_bytes(usage);
  cr_assert(u >= 40 * MIB && u < 64 * MIB, "usage %s (%s)", usage, line);
  cr_assert_str_eq(limit, "64MiB", "%s", line);
  cr_assert(pids == 5 || pids == 6, "PIDs %d (%s)", pids, line);
}

Test(hcsd_stats, no_stream_shows_memory_and_pids) {
  run_hog("hog");
  he_cmd_t c;
  he_docker_ok(&c, "stats", "--no-stream", "--format",
               "{{.Name}}|{{.MemUsage}}|{{.PIDs}}", "hog");
  expect_hog_line(c.o.p);
  he_cmd_free(&c);
  /* The default table has the CPU and memory percentages too. */
  he_docker_ok(&c, "stats", "--no-stream", "hog");
  he_expect_has(c.o.p, "CPU %");
  he_expect_has(c.o.p, "MEM USAGE / LIMIT");
  he_expect_has(c.o.p, "/ 64MiB");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "hog");
  he_cmd_free(&c);
  he_end();
}

static json_t *stats_once(const char *query) {
  char path[256];
  snprintf(path, sizeof(path), "/v1.50/containers/%s", query);
  he_http_t r;
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "%s: %s", path, r.body.p);
  json_t *j = he_json(r.body.p);
  he_http_free(&r);
  return j;
}

static json_int_t jint(json_t *o, const char *path) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", path);
  json_t *v = o;
  for (char *save = NULL, *k = strtok_r(buf, ".", &save); k != NULL;
       k = strtok_r(NULL, ".", &save)) {
    v = json_object_get(v, k);
  }
  return json_integer_value(v);
}

/* The API's frame: the fields the CLI computes from, from the group. */
Test(hcsd_stats, api_frames) {
  run_hog("hog");
  json_t *j = stats_once("hog/stats?stream=false");
  cr_assert_geq(jint(j, "memory_stats.usage"), 40 << 20);
  cr_assert_eq(jint(j, "memory_stats.limit"), 64 << 20);
  cr_assert_gt(jint(j, "cpu_stats.cpu_usage.total_usage"), 0);
  cr_assert_gt(jint(j, "cpu_stats.system_cpu_usage"), 0);
  cr_assert_eq(jint(j, "cpu_stats.online_cpus"), sysconf(_SC_NPROCESSORS_ONLN));
  /* Primed a second before: precpu is that sample. */
  cr_assert_gt(jint(j, "precpu_stats.system_cpu_usage"), 0);
  cr_assert_gt(jint(j, "cpu_stats.system_cpu_usage"),
               jint(j, "precpu_stats.system_cpu_usage"));
  cr_assert_geq(jint(j, "cpu_stats.cpu_usage.total_usage"),
                jint(j, "precpu_stats.cpu_usage.total_usage"));
  json_int_t pids = jint(j, "pids_stats.current");
  cr_assert(pids == 5 || pids == 6, "pids %lld", (long long)pids);
  cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "/hog");
  json_decref(j);
  /* one-shot: one sample at once, nothing before it. */
  j = stats_once("hog/stats?stream=false&one-shot=true");
  cr_assert_geq(jint(j, "memory_stats.usage"), 40 << 20);
  cr_assert_eq(jint(j, "precpu_stats.system_cpu_usage"), 0);
  json_decref(j);
  he_request_fails("GET", "/v1.50/containers/hog/stats?stream=1&one-shot=1",
                   NULL, 400, "cannot have stream=true and one-shot=true");
  he_request_fails("GET", "/v1.50/containers/nosuch/stats?stream=0", NULL, 404,
                   "No such container: nosuch");
  /* A container not running: the empty frame, at once. */
  he_cmd_t c;
  he_docker_ok(&c, "create", "--name", "idle", "busybox", "true");
  he_cmd_free(&c);
  j = stats_once("idle/stats?stream=false");
  cr_assert_str_eq(json_string_value(json_object_get(j, "read")),
                   "0001-01-01T00:00:00Z");
  cr_assert_eq(jint(j, "memory_stats.usage"), 0);
  json_decref(j);
  he_docker_ok(&c, "rm", "-f", "hog", "idle");
  he_cmd_free(&c);
  he_end();
}

/* A container on the default network: its interface's bytes, with the
 * pings it sent to its gateway. */
Test(hcsd_stats, network_bytes) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "net", "busybox", "sh", "-c",
               "ping -c 3 -W 1 $(ip route | awk '/default/ {print $3}'); "
               "touch /done; sleep 1000");
  he_cmd_free(&c);
  int64_t deadline = th_now_ms() + 20000;
  for (;;) {
    he_docker(&c, "exec", "net", "test", "-e", "/done");
    int code = c.code;
    he_cmd_free(&c);
    if (code == 0) {
      break;
    }
    cr_assert_lt(th_now_ms(), deadline, "the pings never ended");
    (void)poll(NULL, 0, 50);
  }
  json_t *j = stats_once("net/stats?stream=false&one-shot=true");
  json_t *nets = json_object_get(j, "networks");
  cr_assert(json_object_size(nets) >= 1, "networks: %s",
            json_dumps(j, JSON_COMPACT));
  cr_assert_null(json_object_get(nets, "lo"));
  const char *k;
  json_t *v;
  json_int_t tx = 0;
  json_object_foreach(nets, k, v) {
    tx += json_integer_value(json_object_get(v, "tx_bytes"));
  }
  cr_assert_geq(tx, 3 * 64, "tx_bytes %lld", (long long)tx);
  json_decref(j);
  he_docker_ok(&c, "stats", "--no-stream", "--format", "{{.NetIO}}", "net");
  cr_assert(strstr(c.o.p, " / ") != NULL && strncmp(c.o.p, "0B / 0B", 7) != 0,
            "NET I/O %s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "net");
  he_cmd_free(&c);
  he_end();
}

/* Reads c's stdout until it holds n lines naming want, for ms at most. */
static void cmd_read_until(he_cmd_t *c, const char *want, int n, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  for (;;) {
    int seen = 0;
    for (const char *p = c->o.p; p != NULL && (p = strstr(p, want)) != NULL;
         p++) {
      seen++;
    }
    if (seen >= n) {
      return;
    }
    int64_t left = deadline - th_now_ms();
    cr_assert_gt(left, 0, "`%s`: %d of %d frames: %s", c->what, seen, n,
                 c->o.p);
    struct pollfd pf = {.fd = c->out, .events = POLLIN};
    if (poll(&pf, 1, (int)left) == 1) {
      char buf[4096];
      ssize_t got = read(c->out, buf, sizeof(buf));
      cr_assert_gt(got, 0, "`%s` ended: %s", c->what, c->o.p);
      th_buf_add(&c->o, buf, (size_t)got);
      th_buf_add(&c->o, "", 1);
      c->o.len--;
    }
  }
}

/* The streaming table redraws a frame a second, each with the hog's
 * numbers; the client's leaving ends its stats in the daemon. */
Test(hcsd_stats, stream_redraws_and_ends_with_client) {
  run_hog("hog");
  int fds = he_daemon_fds();
  he_cmd_t c;
  he_cmd_start(&c,
               HE_ARGV("docker", "stats", "--format",
                       "{{.Name}}|{{.MemUsage}}|{{.PIDs}}", "hog"),
               NULL, 0);
  cmd_read_until(&c, "hog|", 3, 20000);
  /* The last whole line is a frame like the first. */
  const char *last = NULL;
  for (const char *p = c.o.p; (p = strstr(p, "hog|")) != NULL; p++) {
    last = p;
  }
  char line[256];
  snprintf(line, sizeof(line), "%.*s", (int)strcspn(last, "\r\n\033"), last);
  expect_hog_line(line);
  kill(c.pid, SIGKILL);
  he_cmds_wait(&c, 1, HE_CMD_MS);
  he_cmd_free(&c);
  int now = he_daemon_settle_fds(fds, 10000);
  cr_assert_leq(now, fds, "the daemon holds %d fds, %d before the stream", now,
                fds);
  he_docker_ok(&c, "rm", "-f", "hog");
  he_cmd_free(&c);
  he_end();
}

/* docker stats without a name follows every running container, and
 * through docker events the ones that start while it runs. */
Test(hcsd_stats, stream_all_follows_new_containers) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "first", "busybox", "sleep", "1000");
  he_cmd_free(&c);
  he_cmd_t st;
  he_cmd_start(&st,
               HE_ARGV("docker", "stats", "--format", "{{.Name}}|{{.PIDs}}"),
               NULL, 0);
  cmd_read_until(&st, "first|2", 1, 20000);
  he_docker_ok(&c, "run", "-d", "--name", "later", "busybox", "sleep", "1000");
  he_cmd_free(&c);
  cmd_read_until(&st, "later|2", 1, 20000);
  kill(st.pid, SIGKILL);
  he_cmds_wait(&st, 1, HE_CMD_MS);
  he_cmd_free(&st);
  he_docker_ok(&c, "rm", "-f", "first", "later");
  he_cmd_free(&c);
  he_end();
}
