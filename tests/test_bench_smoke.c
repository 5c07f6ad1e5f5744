/* SPDX-License-Identifier: MIT */
/* hcs-bench --smoke: every scenario runs with tiny N against every
 * contender, and its JSON says so completely: each scenario present, each
 * contender's sessions all completed with exit 0, every byte delivered.
 * In exec a contender that cannot run here (crun or runc not installed,
 * not root) is marked skipped with its reason; as root both hcs rows (hcs,
 * the async API, and hcs sync) always run.
 * The binary is the one built next to this test (../hcs-bench from
 * /proc/self/exe). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const scenarios[] = {"spawn", "echo", "bulk",
                                        "idle",  "pty",  "exec"};
static const char *const contenders[] = {"hcs", "libuv", "limit"};
static const char *const exec_contenders[] = {"hcs", "hcs sync", "crun exec",
                                              "runc exec"};
/* gateway: hcsd (through its socket) against hcs (in-process), into one
 * container of an hcsd the bench starts; load: docker load through hcsd
 * (and dockerd and podman where installed). */
static const char *const gw_scenarios[] = {"gateway", "gateway-stream", "load"};
static const char *const gw_contenders[] = {"hcsd", "hcs"};

static void bench_path(char *out, size_t size) {
  char self[PATH_MAX + 16];
  ssize_t n = readlink("/proc/self/exe", self, PATH_MAX - 1);
  cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  cr_assert_not_null(slash);
  strcpy(slash, "/../hcs-bench");
  cr_assert_lt(strlen(self), size, "path too long: %s", self);
  memcpy(out, self, strlen(self) + 1);
}

/* Runs hcs-bench --smoke --json json, its stdout to log; the exit status. */
static int run_smoke(const char *bench, const char *json, const char *log) {
  char *argv[] = {(char *)bench, "--smoke", "--json", (char *)json, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid;
  int err = posix_spawn(&pid, bench, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(err, 0, "posix_spawn %s: %s", bench, strerror(err));
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
  }
  return status;
}

static void print_file(const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return;
  }
  char line[512];
  while (fgets(line, sizeof(line), f) != NULL) {
    fputs(line, stderr);
  }
  fclose(f);
}

static json_t *find_result(json_t *results, const char *sc, const char *ct,
                           int *count) {
  json_t *found = NULL;
  size_t i;
  json_t *r;
  *count = 0;
  json_array_foreach(results, i, r) {
    const char *s = json_string_value(json_object_get(r, "scenario"));
    const char *c = json_string_value(json_object_get(r, "contender"));
    if (s != NULL && c != NULL && strcmp(s, sc) == 0 && strcmp(c, ct) == 0) {
      found = r;
      (*count)++;
    }
  }
  return found;
}

static json_int_t int_field(json_t *r, const char *key, const char *what) {
  json_t *v = json_object_get(r, key);
  cr_assert(json_is_integer(v), "%s: no integer \"%s\"", what, key);
  return json_integer_value(v);
}

/* One cell a contender ran: all its sessions done with exit 0 and every
 * byte delivered. */
static void check_ran(json_t *e, const char *sc, const char *what) {
  cr_expect(json_is_null(json_object_get(e, "error")), "%s: error %s (%s)",
            what, json_string_value(json_object_get(e, "error")),
            json_string_value(json_object_get(e, "note")));
  long long conc = (long long)int_field(e, "concurrency", what);
  json_int_t requested = int_field(e, "requested", what);
  json_int_t completed = int_field(e, "completed", what);
  json_int_t bytes = int_field(e, "bytes", what);
  json_int_t expected = int_field(e, "bytes_expected", what);
  cr_expect_gt(requested, 0, "%s C=%lld: no sessions requested", what, conc);
  cr_expect_eq(completed, requested, "%s C=%lld: %lld of %lld completed", what,
               conc, (long long)completed, (long long)requested);
  cr_expect_eq(int_field(e, "failed", what), 0, "%s C=%lld: failures", what,
               conc);
  cr_expect_eq(bytes, expected, "%s C=%lld: %lld of %lld bytes delivered", what,
               conc, (long long)bytes, (long long)expected);
  if (strcmp(sc, "echo") == 0 || strcmp(sc, "bulk") == 0 ||
      strcmp(sc, "pty") == 0 || strncmp(sc, "gateway", 7) == 0 ||
      strcmp(sc, "load") == 0) {
    cr_expect_gt(expected, 0, "%s: a scenario that moves no bytes", what);
  }
  if (strcmp(sc, "pty") == 0) {
    cr_expect_gt(int_field(e, "resizes", what), 0, "%s: no resize", what);
  }
  if (strcmp(sc, "idle") == 0) {
    double fds = json_real_value(json_object_get(e, "fds_per_session"));
    cr_expect_geq(fds, 3.0, "%s: %.2f fds per session", what, fds);
  }
}

/* Every cell of scenario sc for contender ct: run and complete, or (where
 * may_skip) skipped with a reason. */
static void check_runs(json_t *results, const char *sc, const char *ct,
                       bool may_skip) {
  char what[64];
  snprintf(what, sizeof(what), "%s/%s", sc, ct);
  int count;
  cr_assert_not_null(find_result(results, sc, ct, &count),
                     "%s: missing from the JSON", what);
  size_t i;
  json_t *e;
  json_array_foreach(results, i, e) {
    const char *s = json_string_value(json_object_get(e, "scenario"));
    const char *c = json_string_value(json_object_get(e, "contender"));
    if (strcmp(s, sc) != 0 || strcmp(c, ct) != 0) {
      continue;
    }
    const char *note = json_string_value(json_object_get(e, "note"));
    if (json_is_true(json_object_get(e, "skipped"))) {
      cr_expect(may_skip, "%s: skipped: %s", what, note);
      cr_expect(note != NULL && note[0] != '\0', "%s: skipped, no reason",
                what);
      continue;
    }
    check_ran(e, sc, what);
  }
}

Test(bench_smoke, every_scenario_complete, .timeout = 300) {
  char bench[PATH_MAX];
  bench_path(bench, sizeof(bench));
  struct stat st;
  if (stat(bench, &st) != 0) {
    cr_skip_test("%s: %s (the bench is not built in this tree)", bench,
                 strerror(errno));
  }
  char json[] = "/tmp/hcs-bench-smoke-XXXXXX";
  int fd = mkstemp(json);
  cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
  close(fd);
  char log[] = "/tmp/hcs-bench-smoke-log-XXXXXX";
  fd = mkstemp(log);
  cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
  close(fd);

  int status = run_smoke(bench, json, log);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    print_file(log);
  }
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "hcs-bench --smoke: status 0x%x", status);

  json_error_t jerr;
  json_t *root = json_load_file(json, 0, &jerr);
  unlink(json);
  unlink(log);
  cr_assert_not_null(root, "the JSON does not parse: %s (line %d)", jerr.text,
                     jerr.line);
  json_t *results = json_object_get(root, "results");
  cr_assert(json_is_array(results), "no results array");
  json_t *listed = json_object_get(root, "scenarios");
  cr_assert(json_is_array(listed), "no scenarios array");
  for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    bool seen = false;
    size_t k;
    json_t *v;
    json_array_foreach(listed, k, v) {
      seen = seen || strcmp(json_string_value(v), scenarios[i]) == 0;
    }
    cr_expect(seen, "scenario %s missing", scenarios[i]);
  }
  for (size_t i = 0; i + 1 < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    for (size_t j = 0; j < sizeof(contenders) / sizeof(contenders[0]); j++) {
      check_runs(results, scenarios[i], contenders[j], false);
    }
  }
  /* bulk: libuv with stdout on a pipe, beside libuv on its socketpair. */
  check_runs(results, "bulk", "libuv pipe", false);
  /* exec: both hcs rows (the async API on the engine's loop, and the
   * synchronous calls) run wherever containers can (root); the runtimes
   * run where they are installed. */
  for (size_t j = 0; j < sizeof(exec_contenders) / sizeof(exec_contenders[0]);
       j++) {
    bool hcs = strncmp(exec_contenders[j], "hcs", 3) == 0;
    check_runs(results, "exec", exec_contenders[j], !hcs || geteuid() != 0);
  }
  /* gateway: runs as root wherever hcsd is built next to the bench. */
  char hcsd[PATH_MAX + 8];
  snprintf(hcsd, sizeof(hcsd), "%.*s/hcsd", (int)(strrchr(bench, '/') - bench),
           bench);
  bool gw_may_skip = geteuid() != 0 || access(hcsd, X_OK) != 0;
  for (size_t i = 0; i < sizeof(gw_scenarios) / sizeof(gw_scenarios[0]); i++) {
    bool load = strcmp(gw_scenarios[i], "load") == 0;
    for (size_t j = 0; j < sizeof(gw_contenders) / sizeof(gw_contenders[0]);
         j++) {
      int count;
      if (load && strcmp(gw_contenders[j], "hcs") == 0) {
        /* docker load has no in-process form: no hcs row. */
        cr_expect_null(find_result(results, "load", "hcs", &count),
                       "load: an hcs row");
        continue;
      }
      check_runs(results, gw_scenarios[i], gw_contenders[j], gw_may_skip);
    }
    /* dockerd and podman: the bench's own, wherever Debian's docker.io
     * (podman and runc) are installed; elsewhere skipped with the
     * reason. */
    bool dk = access("/usr/sbin/dockerd", X_OK) == 0 ||
              access("/usr/bin/dockerd", X_OK) == 0;
    bool pm = access("/usr/bin/podman", X_OK) == 0 &&
              (access("/usr/sbin/runc", X_OK) == 0 ||
               access("/usr/bin/runc", X_OK) == 0);
    check_runs(results, gw_scenarios[i], "dockerd", !dk || geteuid() != 0);
    check_runs(results, gw_scenarios[i], "podman", !pm || geteuid() != 0);
  }
  /* runtime-run, runtime-exec: one dockerd of the bench's own with
   * hcs-runc, runc and crun; hcs-runc runs as root wherever dockerd is
   * installed and hcs-runc built next to the bench; runc and crun may be
   * skipped, with the daemon's reason (crun runs through the bench's
   * nocg2 on hybrid cgroups, and is skipped where that cannot run). */
  static const char *const rt_scenarios[] = {"runtime-run", "runtime-exec"};
  char runc[PATH_MAX + 16];
  snprintf(runc, sizeof(runc), "%.*s/hcs-runc",
           (int)(strrchr(bench, '/') - bench), bench);
  bool dockerd = access("/usr/sbin/dockerd", X_OK) == 0 ||
                 access("/usr/bin/dockerd", X_OK) == 0;
  for (size_t i = 0; i < sizeof(rt_scenarios) / sizeof(rt_scenarios[0]); i++) {
    check_runs(results, rt_scenarios[i], "hcs-runc",
               geteuid() != 0 || !dockerd || access(runc, X_OK) != 0);
    check_runs(results, rt_scenarios[i], "runc", true);
    check_runs(results, rt_scenarios[i], "crun", true);
  }
  json_t *targets = json_object_get(root, "targets");
  cr_expect(json_is_array(targets) && json_array_size(targets) > 0,
            "no targets");
  /* The load target: measured wherever hcsd and dockerd both ran. */
  size_t ti;
  json_t *t;
  bool load_target = false;
  json_array_foreach(targets, ti, t) {
    const char *name = json_string_value(json_object_get(t, "target"));
    load_target =
        load_target || (name != NULL && strncmp(name, "load ", 5) == 0);
  }
  cr_expect(load_target, "no load target");
  json_decref(root);
}
