/* SPDX-License-Identifier: MIT */
/* hcsd as real clients use it, through the docker CLI 28.2 (issue 17):
 * requests that come while a crash is recovered are answered, kill and
 * stop refuse signals Linux does not have and never show a container
 * running with its exit code, and docker ps's list options and filters
 * select what dockerd selects (a CI cleanup by label removes its own
 * containers only). One daemon per test (he_setup), each test ending with
 * he_end()'s checks that nothing is left behind. */
#include "hcsd_e2e.h"

#include <pthread.h>

TestSuite(hcsd_clients, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* The single line of `docker inspect -f fmt name`. */
static void inspect_f(const char *name, const char *fmt, char *out, size_t n) {
  he_docker_line(out, n, "inspect", "-f", fmt, name);
}

/* The processes a killed daemon left to this subreaper (the containers'
 * inits and main processes), each reaped by a thread of its own as it
 * exits, in any order: a container's init ends only once every process
 * of its namespace has been reaped, and the daemon that recovers the
 * container waits for its init. */
typedef struct orphans_s {
  pid_t pids[64];
  pthread_t th[64];
  int n;
} orphans_t;

static void *orphan_main(void *data) {
  pid_t pid = *(pid_t *)data;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return NULL;
}

static void orphans_find(orphans_t *o) {
  pid_t pids[64];
  int n = he_children(pids, 64);
  cr_assert_leq(n, 64);
  o->n = 0;
  for (int i = 0; i < n; i++) {
    if (pids[i] != he.pid) {
      o->pids[o->n++] = pids[i];
    }
  }
}

static void orphans_reap(orphans_t *o) {
  for (int i = 0; i < o->n; i++) {
    cr_assert_eq(pthread_create(&o->th[i], NULL, orphan_main, &o->pids[i]), 0);
  }
}

static void orphans_join(orphans_t *o) {
  for (int i = 0; i < o->n; i++) {
    cr_assert_eq(pthread_join(o->th[i], NULL), 0);
  }
}

/* The daemon's open sockets. */
static int daemon_sockets(void) {
  char dir[64];
  snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)he.pid);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char link[64];
    ssize_t l = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
    n += l > 7 && strncmp(link, "socket:", 7) == 0;
  }
  closedir(d);
  return n;
}

/* Waits until the daemon has at most (more false) or at least (more
 * true) n sockets open, polling /proc (the only view there is), for 10 s
 * at most. */
static void daemon_sockets_wait(int n, bool more) {
  int64_t deadline = th_now_ms() + 10000;
  int have;
  while ((have = daemon_sockets()) != n && (have < n) == more) {
    cr_assert_lt(th_now_ms(), deadline, "the daemon has %d sockets, not %d",
                 have, n);
    (void)poll(NULL, 0, 10);
  }
}

/* kill -9 of hcsd, by the pid held. */
static void daemon_crash(void) {
  cr_assert_eq(kill(he.pid, SIGKILL), 0, "kill: %s", strerror(errno));
  int status = 0;
  cr_assert_eq(waitpid(he.pid, &status, 0), he.pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(he.pidfd);
  he.pid = 0;
  he.pidfd = -1;
}

/* ------------------------------------------------------------------------
 * Crash recovery. */

/* After kill -9 and a restart on the same state dir, the containers that
 * ran are Exited (255) and their systems are torn down; a start, an rm -f
 * and a wait sent at once park on that and are answered when it ends. */
Test(hcsd_clients, crash_recovery_answers_parked_requests) {
  const char *names[] = {"cr1", "cr2", "cr3"};
  for (int i = 0; i < 3; i++) {
    char id[128];
    he_docker_line(id, sizeof(id), "run", "-d", "--name", names[i], "busybox",
                   "sleep", "1000");
  }
  daemon_crash();
  orphans_t orphans;
  orphans_find(&orphans);
  cr_assert_geq(orphans.n, 3, "the containers' inits died with hcsd");
  /* Until the orphans are reaped the recovery cannot end (for up to its
   * 10 s bound): the three requests come while it runs. */
  he_daemon_start();
  daemon_sockets_wait(1, false); /* the listener; the ping's went */
  he_cmd_t cs[3];
  he_cmd_start(&cs[0], HE_ARGV("docker", "start", "cr1"), NULL, 0);
  he_cmd_start(&cs[1], HE_ARGV("docker", "rm", "-f", "cr2"), NULL, 0);
  he_cmd_start(&cs[2], HE_ARGV("docker", "wait", "cr3"), NULL, 0);
  daemon_sockets_wait(4, true); /* and the three clients' */
  orphans_reap(&orphans);
  he_cmds_wait(cs, 3, 15000);
  he_expect_code(&cs[0], 0);
  cr_assert_str_eq(cs[0].o.p, "cr1\n");
  he_expect_code(&cs[1], 0);
  cr_assert_str_eq(cs[1].o.p, "cr2\n");
  he_expect_code(&cs[2], 0);
  cr_assert_str_eq(cs[2].o.p, "255\n");
  for (int i = 0; i < 3; i++) {
    he_cmd_free(&cs[i]);
  }
  orphans_join(&orphans);

  char line[256];
  inspect_f("cr1", "{{.State.Status}} {{.State.Running}}", line, sizeof(line));
  cr_assert_str_eq(line, "running true");
  inspect_f("cr3", "{{.State.Status}} {{.State.ExitCode}}", line, sizeof(line));
  cr_assert_str_eq(line, "exited 255");
  he_docker_fails(1, "No such container: cr2", "inspect", "--type", "container",
                  "cr2");
  /* The recovered containers work as any: rm -f of a running one, start
   * of an exited one. */
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "cr1");
  he_cmd_free(&c);
  he_docker_ok(&c, "start", "cr3");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "cr3");
  he_cmd_free(&c);
  he_end();
}

/* ------------------------------------------------------------------------
 * kill and stop. */

/* Signals Linux does not have are refused (moby's 400 and words, checked
 * before the container is looked up); a number past 64 fails at the
 * kill, as in moby. */
Test(hcsd_clients, kill_refuses_unknown_signals) {
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "k1", "busybox",
                 "sleep", "1000");
  he_docker_fails(1, "Invalid signal: BOGUS", "kill", "-s", "BOGUS", "k1");
  he_docker_fails(1, "Invalid signal: SIGBOGUS", "kill", "-s", "SIGBOGUS",
                  "k1");
  he_docker_fails(1, "Invalid signal: 0", "kill", "-s", "0", "k1");
  he_docker_fails(1, "Invalid signal: BOGUS", "kill", "-s", "BOGUS", "nosuch");
  he_docker_fails(1, "does not support signal 99", "kill", "-s", "99", "k1");
  he_docker_fails(1, "Invalid signal: BOGUS", "stop", "-s", "BOGUS", "k1");
  he_docker_fails(1, "Invalid signal: BOGUS", "restart", "-s", "BOGUS", "k1");
  he_request_fails("POST", "/v1.50/containers/k1/kill?signal=BOGUS", NULL, 400,
                   "Invalid signal: BOGUS");

  /* None of them did anything: the same process runs. */
  char line[256];
  inspect_f("k1", "{{.State.Status}} {{.State.ExitCode}}", line, sizeof(line));
  cr_assert_str_eq(line, "running 0");
  /* Known names in any case, with or without SIG, and numbers. */
  he_cmd_t c;
  he_docker_ok(&c, "kill", "-s", "sigusr1", "k1");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "wait", "k1");
  cr_assert_str_eq(line, "138");
  he_docker_ok(&c, "rm", "k1");
  he_cmd_free(&c);
  he_end();
}

/* The state an inspect right after a kill -s TERM shows: still running
 * with code 0, or exited with 143, never running with 143. */
static void expect_consistent(const char *name) {
  char path[128];
  snprintf(path, sizeof(path), "/v1.50/containers/%s/json", name);
  he_http_t r;
  he_request("GET", path, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *o = he_json(r.body.p);
  json_t *st = json_object_get(o, "State");
  bool running = json_is_true(json_object_get(st, "Running"));
  int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
  const char *status = json_string_value(json_object_get(st, "Status"));
  cr_assert(running ? code == 0 && strcmp(status, "running") == 0
                    : code == 143 && strcmp(status, "exited") == 0,
            "inspect after kill -s TERM: Status %s Running %d ExitCode %d",
            status, running, code);
  json_decref(o);
  he_http_free(&r);
}

Test(hcsd_clients, kill_term_state_is_consistent) {
  for (int i = 0; i < 5; i++) {
    char id[128], line[64];
    he_docker_line(id, sizeof(id), "run", "-d", "--name", "t1", "busybox",
                   "sleep", "1000");
    he_cmd_t c;
    he_docker_ok(&c, "kill", "-s", "TERM", "t1");
    he_cmd_free(&c);
    expect_consistent("t1");
    he_docker_line(line, sizeof(line), "wait", "t1");
    cr_assert_str_eq(line, "143");
    inspect_f("t1", "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}",
              line, sizeof(line));
    cr_assert_str_eq(line, "exited false 143");
    he_docker_ok(&c, "rm", "t1");
    he_cmd_free(&c);
  }
  he_end();
}

/* A client that polls inspect until the container has exited, then
 * removes it without force: never "container is running" (the exit is
 * still being cleaned up behind the exited state). */
Test(hcsd_clients, rm_right_after_exit) {
  for (int i = 0; i < 5; i++) {
    char id[128];
    he_docker_line(id, sizeof(id), "run", "-d", "--name", "x1", "busybox",
                   "sleep", "1000");
    he_http_t r;
    he_request("POST", "/v1.50/containers/x1/kill?signal=TERM", NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body.p);
    he_http_free(&r);
    int64_t deadline = th_now_ms() + 10000;
    for (;;) {
      he_request("GET", "/v1.50/containers/x1/json", NULL, &r);
      json_t *o = he_json(r.body.p);
      bool up =
          json_is_true(json_object_get(json_object_get(o, "State"), "Running"));
      json_decref(o);
      he_http_free(&r);
      if (!up) {
        break;
      }
      cr_assert_lt(th_now_ms(), deadline, "x1 still running");
    }
    he_request("DELETE", "/v1.50/containers/x1", NULL, &r);
    cr_assert_eq(r.status, 204, "rm of an exited container: %d %s", r.status,
                 r.body.p);
    he_http_free(&r);
  }
  he_end();
}

/* ------------------------------------------------------------------------
 * docker ps: list options and filters. */

/* `docker ps ARGS... --format {{.Names}}`: the names, one per line, into
 * out. */
#define ps_names(out, n, ...)                                                  \
  do {                                                                         \
    he_cmd_t he_p_;                                                            \
    he_docker_ok(&he_p_, "ps", __VA_ARGS__, "--format", "{{.Names}}");         \
    snprintf((out), (n), "%s", he_p_.o.p);                                     \
    he_cmd_free(&he_p_);                                                       \
  } while (0)

#define expect_ps(want, ...)                                                   \
  do {                                                                         \
    char ps_[2048];                                                            \
    ps_names(ps_, sizeof(ps_), __VA_ARGS__);                                   \
    cr_assert_str_eq(ps_, (want), "docker ps %s: %s", #__VA_ARGS__, ps_);      \
  } while (0)

/* Four containers as a CI host has them: job 1's running and created ones,
 * job 2's exited one, and an unrelated exited one (newest last). */
static void ps_fixture(char ids[4][128]) {
  he_docker_line(ids[0], sizeof(ids[0]), "run", "-d", "--name", "a1", "--label",
                 "job=1", "--label", "x", "--expose", "8080", "busybox",
                 "sleep", "1000");
  he_cmd_t c;
  he_docker(&c, "run", "--name", "a2", "--label", "job=2", "busybox", "sh",
            "-c", "exit 3");
  he_expect_code(&c, 3);
  he_cmd_free(&c);
  he_docker_line(ids[1], sizeof(ids[1]), "inspect", "-f", "{{.Id}}", "a2");
  he_docker_line(ids[2], sizeof(ids[2]), "create", "--name", "a3", "--label",
                 "job=1", "busybox", "true");
  he_docker_ok(&c, "run", "--name", "a4", "busybox", "true");
  he_cmd_free(&c);
  he_docker_line(ids[3], sizeof(ids[3]), "inspect", "-f", "{{.Id}}", "a4");
}

Test(hcsd_clients, ps_list_options) {
  char ids[4][128];
  ps_fixture(ids);
  expect_ps("a1\n", "-a=false");
  expect_ps("a4\na3\na2\na1\n", "-a");
  expect_ps("a4\n", "-l");
  expect_ps("a4\na3\n", "-n", "2");
  expect_ps("a1\n", "-n", "0");
  char line[256];
  he_cmd_t c;
  he_docker_line(line, sizeof(line), "ps", "-q");
  cr_assert_eq(strlen(line), 12);
  cr_assert(strncmp(line, ids[0], 12) == 0, "ps -q: %s", line);
  /* -s: what the container wrote (a 3000-byte file, with a second hard
   * link counted once), and that plus its image. */
  he_docker_ok(&c, "exec", "a1", "sh", "-c",
               "head -c 3000 /dev/zero > /f && ln /f /g");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "ps", "-s", "--format", "{{.Size}}");
  cr_assert(strncmp(line, "3kB (virtual ", 13) == 0, "ps -s: %s", line);
  he_http_t r;
  he_request("GET",
             "/v1.50/containers/json?size=1&filters="
             "%7B%22name%22%3A%5B%22a1%22%5D%7D",
             NULL, &r);
  json_t *a = he_json(r.body.p);
  json_t *o = json_array_get(a, 0);
  int64_t rw = json_integer_value(json_object_get(o, "SizeRw"));
  int64_t root = json_integer_value(json_object_get(o, "SizeRootFs"));
  cr_assert(rw >= 3000 && rw < 3000 + 4096, "SizeRw %lld", (long long)rw);
  cr_assert_gt(root, rw + 100000, "SizeRootFs %lld", (long long)root);
  json_decref(a);
  he_http_free(&r);
  /* rm -l removes a link, never the container (hcsd has no links). */
  he_docker_fails(1, "cannot remove the default link name", "rm", "-l", "a4");
  /* start --checkpoint (the CLI sends it to experimental daemons only). */
  he_request_fails("POST", "/v1.50/containers/a3/start?checkpoint=c1", NULL,
                   400, "hcsd does not support checkpoints");
  expect_ps("a4\na3\na2\na1\n", "-a");
  he_docker_ok(&c, "rm", "-f", "a1", "a2", "a3", "a4");
  he_cmd_free(&c);
  he_end();
}

/* A CI cleanup of one job's containers removes those and no other. */
Test(hcsd_clients, ps_filter_label_cleanup) {
  char ids[4][128];
  ps_fixture(ids);
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-aq", "--no-trunc", "--filter", "label=job=1");
  char want[512];
  snprintf(want, sizeof(want), "%s\n%s\n", ids[2], ids[0]);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", ids[2], ids[0]);
  he_cmd_free(&c);
  expect_ps("a4\na2\n", "-a");
  expect_ps("a2\n", "-a", "--filter", "label=job");
  expect_ps("", "-a", "--filter", "label=job=1", "--filter", "label=job=2");
  he_docker_ok(&c, "rm", "-f", "a2", "a4");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_clients, ps_filters) {
  char ids[4][128];
  ps_fixture(ids);
  char f[160];
  expect_ps("a1\n", "-a", "--filter", "label=x");
  expect_ps("a1\n", "-a", "--filter", "label=x=");
  expect_ps("a3\na1\n", "-a", "--filter", "label=job=1");
  /* status: any of them; it lists stopped ones without -a. */
  expect_ps("a4\na2\n", "--filter", "status=exited");
  expect_ps("a4\na3\na2\n", "-a", "--filter", "status=exited", "--filter",
            "status=created");
  expect_ps("a1\n", "-l", "--filter", "status=running");
  expect_ps("a4\n", "-n", "1", "--filter", "status=exited");
  expect_ps("a2\n", "-a", "--filter", "exited=3");
  expect_ps("a4\n", "-a", "--filter", "exited=0");
  expect_ps("", "-a", "--filter", "status=running", "--filter", "exited=3");
  /* name: a regular expression, with or without the '/'. */
  expect_ps("a1\n", "-a", "--filter", "name=^a1$");
  expect_ps("a1\n", "-a", "--filter", "name=/a1");
  expect_ps("a4\na3\na2\na1\n", "-a", "--filter", "name=a");
  expect_ps("", "-a", "--filter", "name=A1");
  snprintf(f, sizeof(f), "id=%.6s", ids[1]);
  expect_ps("a2\n", "-a", "--filter", f);
  expect_ps("a4\na3\na2\na1\n", "-a", "--filter", "ancestor=busybox");
  expect_ps("a1\n", "--filter", "ancestor=busybox:latest");
  expect_ps("", "-a", "--filter", "ancestor=nosuch");
  expect_ps("a2\na1\n", "-a", "--filter", "before=a3");
  expect_ps("a4\na3\n", "-a", "--filter", "since=a2");
  expect_ps("a3\n", "-a", "--filter", "since=a2", "--filter", "before=a4");
  expect_ps("a4\na3\na2\na1\n", "-a", "--filter", "network=bridge");
  expect_ps("", "-a", "--filter", "network=none");
  expect_ps("a4\na3\na2\na1\n", "-a", "--filter", "health=none");
  expect_ps("", "-a", "--filter", "health=healthy");
  expect_ps("a1\n", "-a", "--filter", "expose=8080");
  expect_ps("a1\n", "-a", "--filter", "expose=8000-8100/tcp");
  expect_ps("", "-a", "--filter", "expose=8080/udp");
  expect_ps("", "-a", "--filter", "publish=8080");
  expect_ps("", "-a", "--filter", "volume=/data");
  expect_ps("a4\na3\na2\na1\n", "-a", "--filter", "isolation=default");
  expect_ps("", "-a", "--filter", "is-task=true");

  /* Refusals: each names the filter (dockerd's words where it has
   * them). */
  he_docker_fails(1, "Invalid filter 'bogus'", "ps", "--filter", "bogus=1");
  he_docker_fails(1, "Invalid filter 'status=bogus'", "ps", "--filter",
                  "status=bogus");
  he_docker_fails(1, "Unrecognised filter value for health: bogus", "ps",
                  "--filter", "health=bogus");
  he_docker_fails(1, "Invalid filter 'exited=abc'", "ps", "-a", "--filter",
                  "exited=abc");
  he_docker_fails(1, "Invalid filter 'publish=abc'", "ps", "-a", "--filter",
                  "publish=abc");
  he_docker_fails(1, "No such container: nosuch", "ps", "-a", "--filter",
                  "before=nosuch");
  he_request_fails("GET", "/v1.50/containers/json?filters=notjson", NULL, 400,
                   "invalid filters");
  he_request_fails("GET",
                   "/v1.50/containers/json?filters=%7B%22label%22%3A1%7D", NULL,
                   400, "invalid filters: the values of 'label'");
  /* The older form of the values, {"value":true}. */
  he_http_t r;
  he_request("GET",
             "/v1.50/containers/json?all=1&filters="
             "%7B%22label%22%3A%7B%22job%3D2%22%3Atrue%7D%7D",
             NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *a = he_json(r.body.p);
  cr_assert_eq(json_array_size(a), 1, "%s", r.body.p);
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(a, 0), "Id")), ids[1]);
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(json_array_get(a, 0), "Labels"), "job")),
                   "2");
  json_decref(a);
  he_http_free(&r);

  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "a1", "a2", "a3", "a4");
  he_cmd_free(&c);
  he_end();
}

/* ------------------------------------------------------------------------
 * docker images and docker network ls filters. */

#define expect_lines(want, fmt, ...)                                           \
  do {                                                                         \
    he_cmd_t he_l_;                                                            \
    he_docker_ok(&he_l_, __VA_ARGS__, "--format", fmt);                        \
    cr_assert_str_eq(he_l_.o.p, (want), "docker %s: %s", #__VA_ARGS__,         \
                     he_l_.o.p);                                               \
    he_cmd_free(&he_l_);                                                       \
  } while (0)

Test(hcsd_clients, images_filters) {
  const char *fmt = "{{.Repository}}:{{.Tag}}";
  expect_lines("busybox:latest\n", fmt, "images");
  expect_lines("busybox:latest\n", fmt, "images", "-a");
  expect_lines("busybox:latest\n", fmt, "images", "busybox");
  expect_lines("", fmt, "images", "nosuch");
  expect_lines("busybox:latest\n", fmt, "images", "--filter", "reference=bus*");
  expect_lines("busybox:latest\n", fmt, "images", "--filter",
               "reference=*:latest");
  expect_lines("", fmt, "images", "--filter", "reference=*/*");
  expect_lines("", fmt, "images", "--filter", "dangling=true");
  expect_lines("busybox:latest\n", fmt, "images", "--filter", "dangling=false");
  expect_lines("", fmt, "images", "--filter", "label=x");
  expect_lines("", fmt, "images", "--filter", "before=busybox");
  expect_lines("", fmt, "images", "--filter", "since=busybox");
  he_docker_fails(1, "Invalid filter 'dangling=[x]'", "images", "--filter",
                  "dangling=x");
  he_docker_fails(1, "No such image: nosuch:latest", "images", "--filter",
                  "before=nosuch");
  he_docker_fails(1, "Invalid filter 'until'", "images", "--filter",
                  "until=10m");
  he_docker_fails(1, "Invalid filter 'bogus'", "images", "--filter", "bogus=1");
  he_end();
}

Test(hcsd_clients, network_ls_filters) {
  he_cmd_t c;
  he_docker_ok(&c, "network", "create", "--label", "team=a", "n1");
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "create", "n2");
  he_cmd_free(&c);
  char id[128], f[160];
  he_docker_line(id, sizeof(id), "network", "inspect", "-f", "{{.Id}}", "n1");
  const char *fmt = "{{.Name}}";
  expect_lines("bridge\nhost\nn1\nn2\nnone\n", fmt, "network", "ls");
  expect_lines("n1\nn2\nnone\n", fmt, "network", "ls", "--filter", "name=n");
  expect_lines("n1\n", fmt, "network", "ls", "--filter", "name=^n1$");
  expect_lines("", fmt, "network", "ls", "--filter", "name=N1");
  snprintf(f, sizeof(f), "id=%.8s", id);
  expect_lines("n1\n", fmt, "network", "ls", "--filter", f);
  expect_lines("bridge\nn1\nn2\n", fmt, "network", "ls", "--filter",
               "driver=bridge");
  expect_lines("none\n", fmt, "network", "ls", "--filter", "driver=null");
  expect_lines("n1\nn2\n", fmt, "network", "ls", "--filter", "type=custom");
  expect_lines("bridge\nhost\nnone\n", fmt, "network", "ls", "--filter",
               "type=builtin");
  expect_lines("n1\n", fmt, "network", "ls", "--filter", "label=team");
  expect_lines("n1\n", fmt, "network", "ls", "--filter", "label=team=a");
  expect_lines("", fmt, "network", "ls", "--filter", "label=team=b");
  expect_lines("n1\nn2\n", fmt, "network", "ls", "--filter", "dangling=true");
  expect_lines("bridge\nhost\nn1\nn2\nnone\n", fmt, "network", "ls", "--filter",
               "scope=local");
  he_docker_fails(1, "invalid filter: 'type'='bogus'", "network", "ls",
                  "--filter", "type=bogus");
  he_docker_fails(1, "invalid value for filter 'dangling'", "network", "ls",
                  "--filter", "dangling=x");
  he_docker_fails(1, "Invalid filter 'bogus'", "network", "ls", "--filter",
                  "bogus=1");
  /* A cleanup by label removes that network only. */
  he_docker_ok(&c, "network", "ls", "-q", "--no-trunc", "--filter",
               "label=team=a");
  snprintf(f, sizeof(f), "%s\n", id);
  cr_assert_str_eq(c.o.p, f);
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "rm", id, "n2");
  he_cmd_free(&c);
  he_end();
}
