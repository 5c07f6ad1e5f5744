/* SPDX-License-Identifier: MIT */
/* The command lines of hcs, hcsd, hcs-bench and hcs-mkimage, the programs
 * built next to tests/: --version prints "<program> <version>" and exits
 * 0, --help prints the usage on stdout and exits 0; an unknown option, a
 * missing value or a bad number is a usage error (exit 2) whose message
 * names the option and the value. hcsd's log and signals are
 * test_hcsd_log.c's. */
#include "test_hcs_util.h"

#include <fcntl.h>
#include <sys/stat.h>

enum { RUN_MS = 30000 };

/* build/NAME, next to build/tests/ where this program lives; NULL when it
 * is not built (hcsd needs http-parser). */
static const char *prog_path(const char *name, char *buf, size_t size) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  snprintf(buf, size, "%s/%s", dirname(dirname(self)), name);
  return access(buf, X_OK) == 0 ? buf : NULL;
}

typedef struct run_s {
  int status; /* the exit code, or -1 when killed */
  th_buf_t out, err;
} run_t;

/* Runs NAME with args (NULL-terminated), stdin /dev/null, and collects
 * its output and exit code. Skips the test when NAME is not built. */
static void run_prog(run_t *r, const char *name, const char *const *args) {
  char path[PATH_MAX];
  if (prog_path(name, path, sizeof(path)) == NULL) {
    cr_skip_test("%s is not built", name);
  }
  const char *argv[16] = {name};
  int argc = 1;
  for (; args[argc - 1] != NULL && argc < 15; argc++) {
    argv[argc] = args[argc - 1];
  }
  argv[argc] = NULL;
  int po[2], pe[2];
  cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0) {
      _exit(120);
    }
    execv(path, (char *const *)argv);
    _exit(121);
  }
  close(po[1]);
  close(pe[1]);
  memset(r, 0, sizeof(*r));
  int fds[2] = {po[0], pe[0]};
  th_buf_t bufs[2] = {{0}, {0}};
  th_read_all(fds, bufs, 2, RUN_MS);
  r->out = bufs[0];
  r->err = bufs[1];
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void run_free(run_t *r) {
  th_buf_free(&r->out);
  th_buf_free(&r->err);
}

static const char *str(const th_buf_t *b) { return b->p != NULL ? b->p : ""; }

static void expect_version(const char *name) {
  run_t r;
  run_prog(&r, name, (const char *[]){"--version", NULL});
  char want[128];
  snprintf(want, sizeof(want), "%s %s\n", name, HCS_VERSION_STRING);
  cr_assert_eq(r.status, 0, "%s --version: exit %d, stderr %s", name, r.status,
               str(&r.err));
  cr_assert_str_eq(str(&r.out), want, "%s --version", name);
  run_free(&r);
}

/* Exit 2, and stderr names each of the words. */
static void expect_usage_error(const char *name, const char *const *args,
                               const char *word1, const char *word2) {
  run_t r;
  run_prog(&r, name, args);
  cr_assert_eq(r.status, 2, "%s %s: exit %d, want 2; stderr %s", name, args[0],
               r.status, str(&r.err));
  cr_assert_not_null(strstr(str(&r.err), word1), "%s %s: stderr lacks %s: %s",
                     name, args[0], word1, str(&r.err));
  if (word2 != NULL) {
    cr_assert_not_null(strstr(str(&r.err), word2), "%s %s: stderr lacks %s: %s",
                       name, args[0], word2, str(&r.err));
  }
  run_free(&r);
}

static void expect_help(const char *name) {
  run_t r;
  run_prog(&r, name, (const char *[]){"--help", NULL});
  cr_assert_eq(r.status, 0, "%s --help: exit %d, stderr %s", name, r.status,
               str(&r.err));
  cr_assert_not_null(strstr(str(&r.out), "usage:"), "%s --help: stdout %s",
                     name, str(&r.out));
  run_free(&r);
}

static void expect_unknown_option(const char *name) {
  expect_usage_error(name, (const char *[]){"--frobnicate", NULL},
                     "--frobnicate", NULL);
  expect_usage_error(name, (const char *[]){"-Z", NULL}, "-Z", NULL);
}

Test(options, hcs) {
  expect_version("hcs");
  expect_help("hcs");
  expect_unknown_option("hcs");
  expect_usage_error("hcs", (const char *[]){"demo", "12x", NULL}, "SESSIONS",
                     "12x");
  expect_usage_error(
      "hcs",
      (const char *[]){"system", "shutdown", "--timeout", "soon", "x", NULL},
      "--timeout", "soon");
  expect_usage_error("hcs", (const char *[]){"--state-dir", NULL},
                     "--state-dir", NULL);
  expect_usage_error("hcs",
                     (const char *[]){"--log-level", "loud", "guid", NULL},
                     "--log-level", "loud");
}

/* hcs prints libhcs's warnings (hcs_set_log_cb) unless --log-level error:
 * a state directory with a file that is no record makes one. */
Test(options, hcs_log_level) {
  char dir[] = "/tmp/hcs-test-options-XXXXXX";
  cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  char junk[PATH_MAX];
  snprintf(junk, sizeof(junk), "%s/junk.json", dir);
  int fd = open(junk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s: %s", junk, strerror(errno));
  cr_assert_eq(write(fd, "[]", 2), 2);
  close(fd);

  run_t r;
  run_prog(&r, "hcs",
           (const char *[]){"--state-dir", dir, "system", "list", NULL});
  cr_assert_eq(r.status, 0, "hcs system list: exit %d, stderr %s", r.status,
               str(&r.err));
  cr_assert_not_null(strstr(str(&r.err), "hcs: warning: skipping"), "%s",
                     str(&r.err));
  cr_assert_not_null(strstr(str(&r.err), junk), "%s", str(&r.err));
  run_free(&r);

  run_prog(&r, "hcs",
           (const char *[]){"--state-dir", dir, "--log-level", "error",
                            "system", "list", NULL});
  cr_assert_eq(r.status, 0, "exit %d, stderr %s", r.status, str(&r.err));
  cr_assert_str_eq(str(&r.err), "", "--log-level error: %s", str(&r.err));
  run_free(&r);

  /* Opening the service left its own files: remove the lot. */
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

Test(options, hcsd) {
  expect_version("hcsd");
  expect_help("hcsd");
  expect_unknown_option("hcsd");
  expect_usage_error("hcsd", (const char *[]){"--log-max", "abc", NULL},
                     "--log-max", "abc");
  expect_usage_error("hcsd", (const char *[]){"--log-max=-5", NULL},
                     "--log-max", "-5");
  expect_usage_error("hcsd", (const char *[]){"--client-timeout", "1s", NULL},
                     "--client-timeout", "1s");
  expect_usage_error("hcsd", (const char *[]){"--log-level", "loud", NULL},
                     "--log-level", "loud");
  expect_usage_error("hcsd", (const char *[]){"--socket", NULL}, "--socket",
                     NULL);
}

Test(options, hcs_bench) {
  expect_version("hcs-bench");
  expect_help("hcs-bench");
  expect_unknown_option("hcs-bench");
  expect_usage_error("hcs-bench", (const char *[]){"--rounds", "x", NULL},
                     "--rounds", "x");
  expect_usage_error("hcs-bench", (const char *[]){"-c", "1,two", NULL}, "-c",
                     "1,two");
  expect_usage_error("hcs-bench", (const char *[]){"--msgs=0", NULL}, "--msgs",
                     "0");
  expect_usage_error("hcs-bench", (const char *[]){"-n", "-1", NULL}, "-n",
                     "-1");
  expect_usage_error("hcs-bench", (const char *[]){"-c", "1,", NULL}, "-c",
                     "1,");
  expect_usage_error("hcs-bench", (const char *[]){"--rounds", NULL},
                     "--rounds", NULL);
  expect_usage_error("hcs-bench", (const char *[]){"extra", NULL}, "extra",
                     NULL);
}

Test(options, hcs_mkimage) {
  expect_version("hcs-mkimage");
  expect_help("hcs-mkimage");
  expect_unknown_option("hcs-mkimage");
  /* It takes no number; a missing operand is its usage error. */
  expect_usage_error("hcs-mkimage", (const char *[]){"/tmp", NULL}, "usage",
                     NULL);
}
