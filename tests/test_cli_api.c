/* SPDX-License-Identifier: MIT */
/* The hcs command line, one subcommand per API call: the built binary
 * (../hcs from this test program) run as a user would, each test with a
 * state directory of its own. */
#include "hcs/hns/nat.h"
#include "hcs/hns/netlink.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER(name) HCS_TEST_HELPERS_DIR "/" name
#define WATCHDOG_MS 30000

/* Per test (Criterion forks one process per test). */
static char g_root[64];      /* the test's temporary directory */
static char g_state[128];    /* g_root/state: the --state-dir */
static char g_layers[128];   /* g_root/layers: a layer --home */
static char g_hcs[PATH_MAX]; /* the binary under test */
static int g_fds;            /* open fds when the test began */

static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    n += e->d_name[0] != '.';
  }
  closedir(d);
  return n - 1;
}

static void setup(void) {
  char self[PATH_MAX - 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  cr_assert(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  *strrchr(self, '/') = '\0';
  snprintf(g_hcs, sizeof(g_hcs), "%s/../hcs", self);
  cr_assert_eq(access(g_hcs, X_OK), 0, "%s: %s", g_hcs, strerror(errno));
  strcpy(g_root, "/tmp/hcs-cliapi-XXXXXX");
  cr_assert_not_null(mkdtemp(g_root), "mkdtemp: %s", strerror(errno));
  snprintf(g_state, sizeof(g_state), "%s/state", g_root);
  snprintf(g_layers, sizeof(g_layers), "%s/layers", g_root);
  cr_assert_eq(mkdir(g_layers, 0700), 0);
  g_fds = fd_count();
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void hns_leftovers_remove(void);

static void teardown(void) {
  hns_leftovers_remove();
  if (g_root[0] != '\0') {
    nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  }
}

TestSuite(cli_api, .init = setup, .fini = teardown, .timeout = 120);

/* Nothing of the test is left: no child, no fd. */
static void assert_clean(void) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
  cr_assert(r == -1 && errno == ECHILD, "a child is left (pid %d)",
            (int)si.si_pid);
  cr_assert_eq(fd_count(), g_fds, "fds: %d at the end, %d at the start",
               fd_count(), g_fds);
}

/* One run of the binary. */
typedef struct res_s {
  int status; /* exit code, or 128+signal */
  char *out, *err;
  size_t nout, nerr;
} res_t;

static void res_free(res_t *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof(*r));
}

static void append(char **buf, size_t *len, const char *p, size_t n) {
  *buf = realloc(*buf, *len + n + 1);
  cr_assert_not_null(*buf);
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = '\0';
}

/* Reads one chunk of *fd into buf; closes it at EOF. */
static void drain(int *fd, char **buf, size_t *len) {
  char chunk[65536];
  ssize_t n = read(*fd, chunk, sizeof(chunk));
  if (n > 0) {
    append(buf, len, chunk, (size_t)n);
  } else if (n == 0 || errno != EINTR) {
    close(*fd);
    *fd = -1;
  }
}

/* Runs argv with input (NULL: none) on stdin and collects both outputs. */
static void run_argv(res_t *r, const char *input, const char *const *argv) {
  res_free(r);
  append(&r->out, &r->nout, "", 0);
  append(&r->err, &r->nerr, "", 0);
  int in[2], out[2], err[2];
  cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], (char *const *)argv);
    _exit(99);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  int win = in[1];
  size_t left = input != NULL ? strlen(input) : 0;
  if (left == 0) {
    close(win);
    win = -1;
  } else {
    fcntl(win, F_SETFL, O_NONBLOCK);
  }
  int rout = out[0], rerr = err[0];
  while (rout >= 0 || rerr >= 0) {
    struct pollfd p[3] = {{.fd = rout, .events = POLLIN},
                          {.fd = rerr, .events = POLLIN},
                          {.fd = win, .events = POLLOUT}};
    int k = poll(p, 3, WATCHDOG_MS);
    if (k == 0) {
      kill(pid, SIGKILL);
      cr_assert_fail("%s %s: no end after %d ms", argv[0], argv[1],
                     WATCHDOG_MS);
    }
    if (k < 0) {
      continue;
    }
    if (p[0].revents) {
      drain(&rout, &r->out, &r->nout);
    }
    if (p[1].revents) {
      drain(&rerr, &r->err, &r->nerr);
    }
    if (win >= 0 && p[2].revents) {
      ssize_t w = write(win, input, left);
      if (w > 0) {
        input += w;
        left -= (size_t)w;
      }
      if (left == 0 || (w < 0 && errno != EAGAIN && errno != EINTR)) {
        close(win);
        win = -1;
      }
    }
  }
  if (win >= 0) {
    close(win);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define MAXARGS 32

/* hcs ARGS..., with the test's --state-dir when with_state. */
static void hcs_run(res_t *r, const char *input, int with_state,
                    const char *const *args) {
  const char *argv[MAXARGS];
  int n = 0;
  argv[n++] = g_hcs;
  if (with_state) {
    argv[n++] = "--state-dir";
    argv[n++] = g_state;
  }
  for (const char *const *a = args; *a != NULL; a++) {
    cr_assert(n < MAXARGS - 1);
    argv[n++] = *a;
  }
  argv[n] = NULL;
  run_argv(r, input, argv);
}

#define HCS(r, input, ...)                                                     \
  hcs_run(r, input, 1, (const char *const[]){__VA_ARGS__, NULL})
#define HCS_BARE(r, input, ...)                                                \
  hcs_run(r, input, 0, (const char *const[]){__VA_ARGS__, NULL})

/* The run ended with status and, unless NULL, stderr holding each of the
 * NULL-terminated texts. */
static void expect_v(const res_t *r, int status, const char *const *texts) {
  cr_assert_eq(r->status, status,
               "exit %d, expected %d\nstdout: %s\nstderr: %s", r->status,
               status, r->out, r->err);
  for (const char *const *t = texts; *t != NULL; t++) {
    cr_assert_not_null(strstr(r->err, *t), "stderr lacks \"%s\": %s", *t,
                       r->err);
  }
}

#define EXPECT(r, status, ...)                                                 \
  expect_v(r, status, (const char *const[]){__VA_ARGS__ __VA_OPT__(, ) NULL})

static json_t *parse_out(const res_t *r) {
  json_error_t je;
  json_t *j = json_loads(r->out, 0, &je);
  cr_assert_not_null(j, "stdout is not JSON (%s): %s", je.text, r->out);
  return j;
}

static const char *state_of(res_t *r, const char *id) {
  static char state[32];
  HCS(r, NULL, "system", "inspect", id);
  EXPECT(r, 0);
  json_t *j = parse_out(r);
  cr_assert_str_eq(json_string_value(json_object_get(j, "Id")), id);
  snprintf(state, sizeof(state), "%s",
           json_string_value(json_object_get(j, "State")));
  json_decref(j);
  return state;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static const char dummy_config[] =
    "{\"SystemType\":\"Container\",\"IsDummy\":true}";

/* A running system without isolation named id. */
static void running_system(res_t *r, const char *id) {
  HCS(r, dummy_config, "system", "create", id, "-");
  EXPECT(r, 0);
  HCS(r, NULL, "system", "start", id);
  EXPECT(r, 0);
}

Test(cli_api, every_help_exits_0) {
  static const char *const cmds[][4] = {
      {"--help"},
      {"system", "--help"},
      {"system", "create", "--help"},
      {"system", "start", "--help"},
      {"system", "shutdown", "--help"},
      {"system", "terminate", "--help"},
      {"system", "pause", "--help"},
      {"system", "resume", "--help"},
      {"system", "modify", "--help"},
      {"system", "delete", "--help"},
      {"system", "list", "--help"},
      {"system", "inspect", "--help"},
      {"exec", "--help"},
      {"exec", "ID", "--help"},
      {"run", "--help"},
      {"layer", "--help"},
      {"layer", "activate", "--help"},
      {"layer", "deactivate", "--help"},
      {"layer", "create", "--help"},
      {"layer", "create-sandbox", "--help"},
      {"layer", "destroy", "--help"},
      {"layer", "export", "--help"},
      {"layer", "import", "--help"},
      {"layer", "mount-path", "--help"},
      {"layer", "exists", "--help"},
      {"layer", "prepare", "--help"},
      {"layer", "unprepare", "--help"},
      {"layer", "copy", "--help"},
      {"layer", "base-images", "--help"},
      {"hns", "--help"},
      {"guid", "--help"},
      {"demo", "--help"},
  };
  res_t r = {0};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    hcs_run(&r, NULL, 1, cmds[i]);
    cr_assert_eq(r.status, 0, "hcs %s %s: exit %d: %s", cmds[i][0],
                 cmds[i][1] ? cmds[i][1] : "", r.status, r.err);
    cr_assert(strncmp(r.out, "usage: ", 7) == 0, "hcs %s %s: stdout: %s",
              cmds[i][0], cmds[i][1] ? cmds[i][1] : "", r.out);
    cr_assert_eq(r.nerr, 0, "hcs %s: stderr: %s", cmds[i][0], r.err);
  }
  /* --help opens no service: nothing was recorded. */
  cr_assert_eq(access(g_state, F_OK), -1);
  res_free(&r);
  assert_clean();
}

Test(cli_api, system_lifecycle) {
  res_t r = {0};
  char cfg[160];
  snprintf(cfg, sizeof(cfg), "%s/alpha.cfg", g_root);
  write_file(cfg,
             "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Name\":"
             "\"Alpha\",\"Owner\":\"cli-test\"}",
             0600);
  HCS(&r, NULL, "system", "create", "alpha", cfg);
  EXPECT(&r, 0);
  cr_assert_eq(r.nout, 0, "create printed: %s", r.out);
  HCS(&r, dummy_config, "system", "create", "beta", "-");
  EXPECT(&r, 0);

  HCS(&r, NULL, "system", "list");
  EXPECT(&r, 0);
  json_t *j = parse_out(&r);
  json_t *systems = json_object_get(j, "Systems");
  cr_assert_eq(json_array_size(systems), 2, "%s", r.out);
  size_t i;
  json_t *s;
  int seen = 0;
  json_array_foreach(systems, i, s) {
    const char *id = json_string_value(json_object_get(s, "Id"));
    const char *name = json_string_value(json_object_get(s, "Name"));
    cr_assert_str_eq(json_string_value(json_object_get(s, "State")), "Created");
    cr_assert(json_is_true(json_object_get(s, "IsDummy")));
    if (strcmp(id, "alpha") == 0) {
      cr_assert_str_eq(name, "Alpha");
      seen |= 1;
    } else {
      cr_assert_str_eq(id, "beta");
      cr_assert_str_eq(name, "beta"); /* the name defaults to the id */
      seen |= 2;
    }
  }
  cr_assert_eq(seen, 3);
  json_decref(j);

  HCS(&r, NULL, "system", "inspect", "alpha");
  EXPECT(&r, 0);
  j = parse_out(&r);
  json_t *c = json_object_get(j, "Configuration");
  cr_assert_str_eq(json_string_value(json_object_get(c, "SystemType")),
                   "Container");
  cr_assert_str_eq(json_string_value(json_object_get(c, "Owner")), "cli-test");
  cr_assert_eq(json_integer_value(json_object_get(j, "Processes")), 0);
  json_decref(j);

  HCS(&r, NULL, "system", "start", "alpha");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "alpha"), "Running");
  HCS(&r, NULL, "system", "start", "alpha");
  EXPECT(&r, 1, "hcs::StartComputeSystem", "id=alpha", "running");
  HCS(&r, NULL, "exec", "alpha", "--", HELPER("exiter"), "0");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "delete", "alpha");
  EXPECT(&r, 1, "hcs::DeleteComputeSystem", "id=alpha", "running");

  HCS(&r, NULL, "system", "shutdown", "alpha", "--timeout", "10000",
      "--context", "cli lifecycle");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "alpha"), "Stopped");
  /* Stopped: HCS_E_SYSTEM_ALREADY_STOPPED, and the context travels into
   * the error. */
  HCS(&r, NULL, "system", "shutdown", "alpha", "--context", "second try");
  EXPECT(&r, 1, "hcs::ShutdownComputeSystem", "id=alpha", "stopped",
         "second try", "(0xc0370110)");
  HCS(&r, NULL, "exec", "alpha", "--", HELPER("exiter"), "0");
  EXPECT(&r, 125, "id=alpha", "not running");

  HCS(&r, NULL, "system", "start", "beta");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "terminate", "beta", "--timeout", "10000");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "beta"), "Stopped");
  HCS(&r, NULL, "system", "terminate", "beta");
  EXPECT(&r, 1, "hcs::TerminateComputeSystem", "id=beta");

  HCS(&r, NULL, "system", "delete", "alpha");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "delete", "beta");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "list");
  EXPECT(&r, 0);
  j = parse_out(&r);
  cr_assert_eq(json_array_size(json_object_get(j, "Systems")), 0, "%s", r.out);
  json_decref(j);
  res_free(&r);
  assert_clean();
}

Test(cli_api, state_dir_from_environment) {
  res_t r = {0};
  char path[192];
  cr_assert_eq(setenv("HCS_STATE_DIR", g_state, 1), 0);
  HCS_BARE(&r, dummy_config, "system", "create", "fromenv", "-");
  EXPECT(&r, 0);
  snprintf(path, sizeof(path), "%s/fromenv.json", g_state);
  cr_assert_eq(access(path, F_OK), 0, "%s: %s", path, strerror(errno));
  /* --state-dir wins over the environment, in both spellings. */
  char other[128], opt[160];
  snprintf(other, sizeof(other), "%s/other", g_root);
  snprintf(opt, sizeof(opt), "--state-dir=%s", other);
  HCS_BARE(&r, NULL, opt, "system", "list");
  EXPECT(&r, 0);
  json_t *j = parse_out(&r);
  cr_assert_eq(json_array_size(json_object_get(j, "Systems")), 0, "%s", r.out);
  json_decref(j);
  HCS_BARE(&r, NULL, "--state-dir", other, "system", "inspect", "fromenv");
  EXPECT(&r, 1, "id=fromenv");
  HCS_BARE(&r, NULL, "system", "inspect", "fromenv");
  EXPECT(&r, 0);
  res_free(&r);
  assert_clean();
}

Test(cli_api, unknown_id_names_it) {
  static const char *const verbs[] = {"start", "shutdown", "terminate",
                                      "delete", "inspect"};
  res_t r = {0};
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
    HCS(&r, NULL, "system", verbs[i], "nosuch");
    EXPECT(&r, 1, "id=nosuch", "no such compute system", "(0xc037010e)");
    cr_assert_eq(r.nout, 0);
  }
  HCS(&r, NULL, "exec", "nosuch", "--", HELPER("exiter"), "0");
  EXPECT(&r, 125, "hcs::CreateProcessInComputeSystem", "id=nosuch");
  HCS(&r, NULL, "exec", "nosuch", "-e", "A=b", "--", HELPER("exiter"), "0");
  EXPECT(&r, 125, "id=nosuch");
  res_free(&r);
  assert_clean();
}

Test(cli_api, bad_configuration_names_the_field) {
  static const struct {
    const char *json, *field;
  } cases[] = {
      {"{\"SystemType\":\"Container\",\"IsDummy\":\"yes\"}", "IsDummy"},
      {"{\"SystemType\":\"Container\",\"IsDummy\":true,\"Bogus\":1}", "Bogus"},
      {"{\"IsDummy\":true}", "SystemType"},
      {"{\"SystemType\":\"Container\",\"IsDummy\":true,"
       "\"ProcessorWeight\":10001}",
       "ProcessorWeight"},
      {"{\"SystemType\":\"Container\",\"IsDummy\":true,"
       "\"MappedDirectories\":[{\"HostPath\":\"/tmp\"}]}",
       "ContainerPath"},
      {"{\"SystemType\":", "not JSON"},
  };
  res_t r = {0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    HCS(&r, cases[i].json, "system", "create", "cfg", "-");
    /* Text that is not JSON is HCS_E_INVALID_JSON, a bad field
     * HCS_WSAEINVAL. */
    EXPECT(&r, 1, "hcs::CreateComputeSystem", "id=cfg", cases[i].field,
           strstr(cases[i].field, "JSON") != NULL ? "(0xc037010d)"
                                                  : "(0x2726)");
  }
  /* Nothing was half-applied. */
  HCS(&r, NULL, "system", "list");
  EXPECT(&r, 0);
  json_t *j = parse_out(&r);
  cr_assert_eq(json_array_size(json_object_get(j, "Systems")), 0, "%s", r.out);
  json_decref(j);

  HCS(&r, NULL, "system", "create", "a/b", "-");
  EXPECT(&r, 1, "invalid compute system id");
  char missing[160];
  snprintf(missing, sizeof(missing), "%s/missing.cfg", g_root);
  HCS(&r, NULL, "system", "create", "cfg", missing);
  EXPECT(&r, 1, missing, "No such file");
  HCS(&r, dummy_config, "system", "create", "cfg", "-");
  EXPECT(&r, 0);
  HCS(&r, dummy_config, "system", "create", "cfg", "-");
  EXPECT(&r, 1, "id=cfg", "exists", "(0xc037010f)");
  res_free(&r);
  assert_clean();
}

Test(cli_api, usage_errors_exit_2) {
  static const char *const cmds[][6] = {
      {"bogus"},
      {"--bogus", "system", "list"},
      {"--state-dir"},
      {"system"},
      {"system", "bogus"},
      {"system", "start"},
      {"system", "start", "a", "b"},
      {"system", "create", "a"},
      {"system", "list", "extra"},
      {"system", "start", "a", "--timeout", "5"},
      {"system", "shutdown", "a", "--timeout", "soon"},
      {"system", "shutdown", "a", "--timeout", "-1"},
      {"system", "terminate", "a", "--timeout"},
      {"system", "inspect", "--bogus", "a"},
      {"guid"},
      {"guid", "a", "b"},
      {"guid", "--new"},
      {"guid", "--new", "--parse", "x"},
      {"layer"},
      {"layer", "bogus"},
      {"layer", "activate"},
      {"layer", "activate", "a", "b"},
      {"layer", "copy", "a"},
      {"layer", "activate", "a", "--parent", "/x"},
      {"layer", "activate", "a", "--flavour", "one"},
      {"layer", "base-images", "a"},
      {"hns"},
      {"hns", "GET"},
      {"hns", "GET", "", "{}", "x"},
      {"hns", "--endpoints", "--list", "GET", ""},
  };
  res_t r = {0};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    hcs_run(&r, NULL, 1, cmds[i]);
    cr_assert_eq(r.status, 2, "hcs %s %s %s: exit %d: %s", cmds[i][0],
                 cmds[i][1] ? cmds[i][1] : "",
                 cmds[i][1] && cmds[i][2] ? cmds[i][2] : "", r.status, r.err);
    cr_assert_neq(r.nerr, 0);
    cr_assert_eq(r.nout, 0, "stdout: %s", r.out);
  }
  /* exec keeps 0-124 for the process: its usage errors are 125. */
  static const char *const execs[][6] = {
      {"exec"},
      {"exec", "id"},
      {"exec", "id", "-x", "--", "true"},
      {"exec", "id", "--timeout", "x", "--", "true"},
      {"exec", "id", "-e", "novalue", "--", "true"},
      {"exec", "id", "--params", "-", "--", "true"},
      {"exec", "id", "--params", "-", "-t"},
  };
  for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
    hcs_run(&r, NULL, 1, execs[i]);
    cr_assert_eq(r.status, 125, "exec case %zu: exit %d: %s", i, r.status,
                 r.err);
    cr_assert_neq(r.nerr, 0);
  }
  /* No usage error opened the service. */
  cr_assert_eq(access(g_state, F_OK), -1);
  res_free(&r);
  assert_clean();
}

Test(cli_api, exec_exit_codes) {
  res_t r = {0};
  running_system(&r, "codes");
  static const struct {
    const char *arg;
    int status;
  } cases[] = {{"0", 0}, {"3", 3}, {"255", 255}, {"-9", 137}, {"-15", 143}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    HCS(&r, NULL, "exec", "codes", "--", HELPER("exiter"), cases[i].arg);
    EXPECT(&r, cases[i].status);
  }
  char missing[160], plain[160];
  snprintf(missing, sizeof(missing), "%s/no-such-program", g_root);
  HCS(&r, NULL, "exec", "codes", "--", missing);
  EXPECT(&r, 127, missing);
  snprintf(plain, sizeof(plain), "%s/not-executable", g_root);
  write_file(plain, "data\n", 0644);
  HCS(&r, NULL, "exec", "codes", "--", plain);
  EXPECT(&r, 126, plain);
  /* Options after ID, as well as before it. */
  HCS(&r, NULL, "exec", "--timeout", "60000", "codes", "-w", "/", "--",
      HELPER("exiter"), "42");
  EXPECT(&r, 42);
  res_free(&r);
  assert_clean();
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s != '\0'; s++) {
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  }
  return h;
}

Test(cli_api, exec_stdio_env_cwd) {
  res_t r = {0};
  running_system(&r, "stdio");
  /* stdin with -i, to EOF. */
  const char *input = "the quick brown fox\njumps\n";
  char want[64];
  snprintf(want, sizeof(want), "%016llx %zu\n",
           (unsigned long long)fnv1a(input), strlen(input));
  HCS(&r, input, "exec", "-i", "stdio", "--", HELPER("sumin"));
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, want);
  /* Without -i the process reads /dev/null. */
  HCS(&r, input, "exec", "stdio", "--", HELPER("sumin"));
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "cbf29ce484222325 0\n");
  /* Both outputs, whole. */
  HCS(&r, NULL, "exec", "stdio", "--", HELPER("gen"), "300000", "70000", "5");
  EXPECT(&r, 0);
  cr_assert_eq(r.nout, 300000);
  cr_assert_eq(r.nerr, 70000);
  /* The system's environment (ours: no isolation), -e over it, -w. */
  cr_assert_eq(setenv("HCS_CLIAPI_INHERITED", "from-test", 1), 0);
  HCS(&r, NULL, "exec", "stdio", "--", HELPER("cliapi_show"), "7",
      "HCS_CLIAPI_INHERITED", "HCS_CLIAPI_SET");
  EXPECT(&r, 7, "stderr 7");
  cr_assert_not_null(strstr(r.out, "HCS_CLIAPI_INHERITED=from-test\n"), "%s",
                     r.out);
  cr_assert_not_null(strstr(r.out, "HCS_CLIAPI_SET unset\n"), "%s", r.out);
  HCS(&r, NULL, "exec", "-e", "HCS_CLIAPI_SET=one", "-w", g_root, "stdio", "-e",
      "HCS_CLIAPI_SET=two", "--", HELPER("cliapi_show"), "0",
      "HCS_CLIAPI_INHERITED", "HCS_CLIAPI_SET");
  EXPECT(&r, 0);
  char cwd[160];
  snprintf(cwd, sizeof(cwd), "cwd=%s\n", g_root);
  cr_assert_not_null(strstr(r.out, cwd), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "HCS_CLIAPI_INHERITED=from-test\n"), "%s",
                     r.out);
  cr_assert_not_null(strstr(r.out, "HCS_CLIAPI_SET=two\n"), "%s", r.out);
  res_free(&r);
  assert_clean();
}

Test(cli_api, exec_console_and_timeout) {
  res_t r = {0};
  running_system(&r, "tty");
  /* With -t stderr is merged into the console, which ends lines CRLF. */
  HCS(&r, NULL, "exec", "-t", "tty", "--", HELPER("cliapi_show"), "5");
  EXPECT(&r, 5);
  cr_assert_not_null(strstr(r.out, "stderr 5\r\n"), "%s", r.out);
  cr_assert_eq(r.nerr, 0, "%s", r.err);
  /* --timeout kills a process that would never end. */
  HCS(&r, NULL, "exec", "--timeout", "100", "tty", "--", HELPER("cliapi_show"),
      "pause");
  EXPECT(&r, 128 + SIGKILL);
  res_free(&r);
  assert_clean();
}

Test(cli_api, exec_params_json) {
  res_t r = {0};
  running_system(&r, "params");
  char path[160], json[1024];
  snprintf(path, sizeof(path), "%s/params.json", g_root);
  snprintf(json, sizeof(json),
           "{\"Args\":[\"%s\",\"9\",\"HCS_P\"],\"Environment\":{\"HCS_P\":"
           "\"q\"},\"WorkingDirectory\":\"%s\"}",
           HELPER("cliapi_show"), g_root);
  write_file(path, json, 0600);
  HCS(&r, NULL, "exec", "params", "--params", path);
  EXPECT(&r, 9, "stderr 9");
  char want[256];
  snprintf(want, sizeof(want), "cwd=%s\nHCS_P=q\n", g_root);
  cr_assert_str_eq(r.out, want);
  /* CommandLine, split by the Windows rules, from stdin. */
  snprintf(json, sizeof(json), "{\"CommandLine\":\"\\\"%s\\\" 33\"}",
           HELPER("exiter"));
  HCS(&r, json, "exec", "params", "--params", "-");
  EXPECT(&r, 33);
  HCS(&r, "{\"CommandLine\":5}", "exec", "params", "--params", "-");
  EXPECT(&r, 125, "CommandLine", "(0x2726)");
  HCS(&r, "{\"Args\":[\"x\"],\"Bogus\":true}", "exec", "params", "--params",
      "-");
  EXPECT(&r, 125, "Bogus");
  res_free(&r);
  assert_clean();
}

Test(cli_api, guid_vectors) {
  /* NameToGuid: RFC 4122 version 5 under c2b7ea9e-3f1d-4a5c-8e6b-
   * 9d0f4a2c1b7e (Python's uuid.uuid5 gives the same text); NewGUID: the
   * first 16 bytes of SHA-1 in the Windows byte order. */
  static const struct {
    const char *opt, *arg, *want;
  } cases[] = {
      {NULL, "", "112a7ba6-731d-5503-9bff-ba2312c27f27"},
      {NULL, "hello", "b58a0b8c-209b-596b-9678-91833e0f6ed5"},
      {NULL, "Docker", "76d19fdf-799e-50fa-b93a-3581a6a5e13b"},
      {NULL, "caf\xc3\xa9", "f5f7b611-c5e1-5481-9f55-108fcd3ec8d8"},
      {"--new", "", "eea339da-6b5e-0d4b-3255-bfef95601890"},
      {"--new", "hello", "1dc6f4aa-c5dc-a2e8-dabe-de0f3b482cd9"},
      {"--new", "abc", "363e99a9-0647-6a81-ba3e-25717850c26c"},
      {"--parse", "{EEA339DA-6B5E-0D4B-3255-BFEF95601890}",
       "eea339da-6b5e-0d4b-3255-bfef95601890"},
  };
  res_t r = {0};
  char want[64];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (cases[i].opt != NULL) {
      HCS_BARE(&r, NULL, "guid", cases[i].opt, cases[i].arg);
    } else {
      HCS_BARE(&r, NULL, "guid", cases[i].arg);
    }
    EXPECT(&r, 0);
    snprintf(want, sizeof(want), "%s\n", cases[i].want);
    cr_assert_str_eq(r.out, want, "guid %s \"%s\"",
                     cases[i].opt ? cases[i].opt : "", cases[i].arg);
  }
  /* A name that looks like an option comes after --. */
  HCS_BARE(&r, NULL, "guid", "--", "--new");
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "0d2d11f2-9364-5d24-ad9f-46d7d11ef74b\n");
  HCS_BARE(&r, NULL, "guid", "--parse", "not-a-guid");
  EXPECT(&r, 1, "not-a-guid", "(0x2726)");
  res_free(&r);
  assert_clean();
}

/* hcs layer VERB ... --home H --flavour F. */
#define LAYER(r, home, flavour, ...)                                           \
  HCS_BARE(r, NULL, "layer", __VA_ARGS__, "--home", home, "--flavour", flavour)

static void layer_flow(const char *flavour) {
  if (geteuid() != 0) {
    cr_skip_test("the layer store needs root (overlay mounts)");
  }
  char home[160], l1[200], l2[200], folder[200], want[200];
  snprintf(home, sizeof(home), "%s/f%s", g_layers, flavour);
  snprintf(l1, sizeof(l1), "%s/l1", home);
  snprintf(l2, sizeof(l2), "%s/l2", home);
  snprintf(folder, sizeof(folder), "%s/export-%s", g_root, flavour);
  res_t r = {0};
  LAYER(&r, home, flavour, "create", "l1");
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "create", "l2", "l1");
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "create-sandbox", "s1", "l2", "--parent", l2,
        "--parent", l1);
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "prepare", "s1");
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "mount-path", "s1");
  EXPECT(&r, 0);
  snprintf(want, sizeof(want), "%s/s1/%s\n", home,
           flavour[0] == '1' ? "merged" : "diff");
  cr_assert_str_eq(r.out, want);
  LAYER(&r, home, flavour, "exists", "s1");
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "true\n");
  LAYER(&r, home, flavour, "exists", "nope");
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "false\n");
  /* HCS_ERROR_BUSY is 170, HCS_ERROR_NOT_FOUND 1168. */
  LAYER(&r, home, flavour, "destroy", "s1");
  EXPECT(&r, 1, "hcs::DestroyLayer", "prepared", "(0xaa)");
  LAYER(&r, home, flavour, "unprepare", "s1");
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "copy", "s1", "l3");
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "export", "l3", folder, "--parent", l2, "--parent",
        l1);
  EXPECT(&r, 0);
  cr_assert_eq(r.nout, 0);
  LAYER(&r, home, flavour, "import", "l4", folder, "--parent", l2, "--parent",
        l1);
  EXPECT(&r, 0);
  LAYER(&r, home, flavour, "base-images");
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "{\"Images\":[]}\n");
  LAYER(&r, home, flavour, "destroy", "l1");
  EXPECT(&r, 1, "layer l2 stands on it", "(0xaa)");
  LAYER(&r, home, flavour, "activate", "nope");
  EXPECT(&r, 1, "hcs::ActivateLayer", "(0x490)");
  static const char *const order[] = {"l4", "l3", "s1", "l2", "l1"};
  for (size_t i = 0; i < 5; i++) {
    LAYER(&r, home, flavour, "destroy", order[i]);
    EXPECT(&r, 0);
  }
  res_free(&r);
  assert_clean();
}

Test(cli_api, layer_calls_work_filter) { layer_flow("1"); }

Test(cli_api, layer_calls_work_diff) { layer_flow("0"); }

Test(cli_api, layer_arguments_are_checked_first) {
  res_t r = {0};
  HCS_BARE(&r, NULL, "layer", "activate", "l1", "--home", "relative/dir");
  EXPECT(&r, 1, "home_dir", "(0x2726)");
  HCS_BARE(&r, NULL, "layer", "activate", "l1", "--home", g_layers, "--flavour",
           "7");
  EXPECT(&r, 1, "flavour", "(0x2726)");
  HCS_BARE(&r, NULL, "layer", "exists", "bad/id", "--home", g_layers);
  EXPECT(&r, 1, "bad/id", "(0x2726)");
  res_free(&r);
  assert_clean();
}

Test(cli_api, hns_requests_are_checked_and_answered) {
  res_t r = {0};
  HCS(&r, NULL, "hns", "GET", "");
  EXPECT(&r, 0);
  cr_assert_str_eq(r.out, "[]\n");
  HCS(&r, NULL, "hns", "--list", "GET", "nosuch");
  /* HCS_ERROR_NOT_FOUND is 1168. */
  EXPECT(&r, 1, "HNS failed with error : ", "no network has id nosuch",
         "(0x490)");
  HCS(&r, NULL, "hns", "POST", "", "{\"Name\":\"n1\",\"Type\":\"overlay\"}");
  /* HCS_ERROR_NOT_SUPPORTED is 50. */
  EXPECT(&r, 1, "HNS failed with error : ", "Type: \"overlay\"", "(0x32)");
  HCS(&r, "{\"Name\":\"n1\",\"Type\":\"nat\"}", "hns", "POST", "", "-");
  EXPECT(&r, 1, "HNS failed with error : ", "Subnets: a network needs",
         "(0x2726)");
  HCS(&r, NULL, "hns", "--endpoints", "POST", "",
      "{\"Name\":\"e1\",\"VirtualNetwork\":\"n1\"}");
  EXPECT(&r, 1, "HNS failed with error : ", "no network has id n1", "(0x490)");
  /* The request is checked first. */
  HCS(&r, NULL, "hns", "PUT", "");
  EXPECT(&r, 1, "method", "(0x2726)");
  HCS(&r, NULL, "hns", "POST", "", "{");
  EXPECT(&r, 1, "not JSON", "(0xc037010d)");
  HCS(&r, NULL, "hns", "--endpoints", "GET", "");
  EXPECT(&r, 1, "HNS failed with error : ", "(0x2726)");
  res_free(&r);
  assert_clean();
}

/* The network of the end-to-end test, taken down by the teardown should
 * the test stop half-way. hcs/hns_store.h brings hcs.h, whose hcs_run
 * this file's own would clash with: its one function is declared here. */
static char g_net[64], g_ep[64];
void hcs__hns_link_name(const char *prefix, const char *id,
                        char out[HCS__IFNAMSIZ]);

static void hns_leftovers_remove(void) {
  hcs__nl_t *nl = NULL;
  char name[HCS__IFNAMSIZ], why[128];
  if (g_net[0] == '\0' || hcs__nl_open(&nl) != 0) {
    return;
  }
  hcs__hns_link_name("hcsv", g_ep, name);
  (void)hcs__nl_link_del(nl, name);
  hcs__hns_link_name("hcs", g_net, name);
  (void)hcs__nl_link_del(nl, name);
  hcs__nl_close(nl);
  (void)hcs__nat_remove(name, why, sizeof(why));
}

Test(cli_api, hns_networks_end_to_end) {
  if (geteuid() != 0) {
    cr_skip_test("HNS networks need root");
  }
  res_t r = {0};
  char body[512];
  snprintf(g_net, sizeof(g_net), "cli-net-%d", (int)getpid());
  snprintf(g_ep, sizeof(g_ep), "cli-ep-%d", (int)getpid());
  snprintf(body, sizeof(body),
           "{\"Id\":\"%s\",\"Name\":\"clinet\",\"Type\":\"nat\","
           "\"Subnets\":[{\"AddressPrefix\":\"10.205.1.0/24\"}]}",
           g_net);
  HCS(&r, NULL, "hns", "POST", "", body);
  EXPECT(&r, 0);
  json_t *j = parse_out(&r);
  cr_assert_str_eq(json_string_value(json_object_get(j, "Id")), g_net);
  json_decref(j);
  HCS(&r, NULL, "hns", "--list", "GET", "");
  EXPECT(&r, 0);
  j = parse_out(&r);
  cr_assert_eq(json_array_size(j), 1);
  json_decref(j);

  snprintf(body, sizeof(body),
           "{\"Id\":\"%s\",\"VirtualNetworkName\":\"clinet\","
           "\"IPAddress\":\"10.205.1.7\"}",
           g_ep);
  HCS(&r, body, "hns", "--endpoints", "POST", "", "-");
  EXPECT(&r, 0);
  HCS(&r, NULL, "hns", "--endpoints", "GET", g_ep);
  EXPECT(&r, 0);
  j = parse_out(&r);
  cr_assert_str_eq(json_string_value(json_object_get(j, "IPAddress")),
                   "10.205.1.7");
  cr_assert_str_eq(json_string_value(json_object_get(j, "VirtualNetwork")),
                   g_net);
  json_decref(j);

  HCS(&r, NULL, "hns", "DELETE", g_net);
  EXPECT(&r, 1, "still has 1 endpoint(s)");
  HCS(&r, NULL, "hns", "--endpoints", "DELETE", g_ep);
  EXPECT(&r, 0);
  cr_assert_eq(r.nout, 0);
  HCS(&r, NULL, "hns", "DELETE", g_net);
  EXPECT(&r, 0);
  HCS(&r, NULL, "hns", "GET", g_net);
  EXPECT(&r, 1, "(0x490)");
  res_free(&r);
  assert_clean();
}

/* A container lives on between commands: its init outlives the hcs that
 * started it, and the next hcs on the state directory adopts it. */
static void copy_exec(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to,
            strerror(errno));
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    cr_assert_eq(write(out, buf, (size_t)n), n);
  }
  close(in);
  close(out);
}

static void terminate_quietly(void) {
  res_t r = {0};
  HCS(&r, NULL, "system", "terminate", "box", "--timeout", "10000");
  res_free(&r);
  teardown();
}

Test(cli_api, container_exec_environment, .fini = terminate_quietly) {
  if (geteuid() != 0) {
    cr_skip_test("containers need root (namespaces, mounts, cgroups)");
  }
  char root[128], bin[160], cfg[512];
  snprintf(root, sizeof(root), "%s/root", g_root);
  cr_assert_eq(mkdir(root, 0755), 0);
  snprintf(bin, sizeof(bin), "%s/show", root);
  copy_exec(HELPER("cliapi_show"), bin);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\","
           "\"HostName\":\"clibox\",\"Environment\":{\"HCS_CT\":\"c\"}}",
           root);
  res_t r = {0};
  HCS(&r, cfg, "system", "create", "box", "-");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "start", "box");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "box"), "Running");
  HCS(&r, NULL, "exec", "box", "--", "/show", "0", "HCS_CT", "HOSTNAME", "PATH",
      "HCS_X");
  EXPECT(&r, 0);
  char *plain = strdup(r.out);
  cr_assert_not_null(strstr(plain, "cwd=/\n"), "%s", plain);
  cr_assert_not_null(strstr(plain, "HCS_CT=c\n"), "%s", plain);
  cr_assert_not_null(strstr(plain, "HOSTNAME=clibox\n"), "%s", plain);
  cr_assert_not_null(strstr(plain, "HCS_X unset\n"), "%s", plain);
  /* -e keeps the rest of the default environment. */
  HCS(&r, NULL, "exec", "-e", "HCS_X=x", "-e", "HCS_CT=over", "box", "--",
      "/show", "0", "HCS_CT", "HOSTNAME", "PATH", "HCS_X");
  EXPECT(&r, 0);
  const char *path = strstr(plain, "PATH=");
  cr_assert_not_null(path, "%s", plain);
  char line[256];
  snprintf(line, sizeof(line), "%.*s", (int)strcspn(path, "\n") + 1, path);
  cr_assert_not_null(strstr(r.out, line), "%s lacks %s", r.out, line);
  cr_assert_not_null(strstr(r.out, "HOSTNAME=clibox\n"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "HCS_CT=over\n"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "HCS_X=x\n"), "%s", r.out);
  free(plain);
  HCS(&r, NULL, "system", "terminate", "box", "--timeout", "10000");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "box"), "Stopped");
  HCS(&r, NULL, "system", "delete", "box");
  EXPECT(&r, 0);
  res_free(&r);
  assert_clean();
}

/* hcs system modify: a running system's limits changed and kept in its
 * configuration; a field that is no limit is refused naming it, and a
 * system not running is refused. */
Test(cli_api, container_modify, .fini = terminate_quietly) {
  if (geteuid() != 0) {
    cr_skip_test("containers need root (namespaces, mounts, cgroups)");
  }
  char root[128], cfg[512];
  snprintf(root, sizeof(root), "%s/root", g_root);
  cr_assert_eq(mkdir(root, 0755), 0);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\","
           "\"PidsMaximum\":100}",
           root);
  static const char req[] = "{\"ResourcePath\":\"Limits\",\"Settings\":{"
                            "\"PidsMaximum\":7,\"MemoryMaximumInMB\":64}}";
  res_t r = {0};
  HCS(&r, cfg, "system", "create", "box", "-");
  EXPECT(&r, 0);
  HCS(&r, req, "system", "modify", "box", "-");
  EXPECT(&r, 1, "not running");
  HCS(&r, NULL, "system", "start", "box");
  EXPECT(&r, 0);
  HCS(&r, req, "system", "modify", "box", "-");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "inspect", "box");
  EXPECT(&r, 0);
  json_t *j = parse_out(&r);
  json_t *c = json_object_get(j, "Configuration");
  cr_assert_eq(json_integer_value(json_object_get(c, "PidsMaximum")), 7);
  cr_assert_eq(json_integer_value(json_object_get(c, "MemoryMaximumInMB")), 64);
  json_decref(j);
  HCS(&r, "{\"ResourcePath\":\"Limits\",\"Settings\":{\"HostName\":\"x\"}}",
      "system", "modify", "box", "-");
  EXPECT(&r, 1, "Settings.HostName");
  HCS(&r, NULL, "system", "terminate", "box", "--timeout", "10000");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "delete", "box");
  EXPECT(&r, 0);
  res_free(&r);
  assert_clean();
}

/* hcs system pause / resume across commands: each hcs finds the system
 * paused from its frozen groups, refuses an exec into it, and a
 * terminate of the paused system stops it. */
Test(cli_api, container_pause_resume, .fini = terminate_quietly) {
  if (geteuid() != 0) {
    cr_skip_test("containers need root (namespaces, mounts, cgroups)");
  }
  char root[128], bin[160], cfg[512];
  snprintf(root, sizeof(root), "%s/root", g_root);
  cr_assert_eq(mkdir(root, 0755), 0);
  snprintf(bin, sizeof(bin), "%s/show", root);
  copy_exec(HELPER("cliapi_show"), bin);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\"}", root);
  res_t r = {0};
  HCS(&r, cfg, "system", "create", "box", "-");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "start", "box");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "resume", "box");
  EXPECT(&r, 1, "not paused");
  HCS(&r, NULL, "system", "pause", "box");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "box"), "Paused");
  HCS(&r, NULL, "system", "pause", "box");
  EXPECT(&r, 1, "paused already");
  HCS(&r, NULL, "exec", "box", "--", "/show", "0");
  EXPECT(&r, 125, "the system is paused", "(0xc0370105)");
  HCS(&r, NULL, "system", "resume", "box");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "box"), "Running");
  HCS(&r, NULL, "exec", "box", "--", "/show", "0");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "pause", "box");
  EXPECT(&r, 0);
  HCS(&r, NULL, "system", "terminate", "box", "--timeout", "10000");
  EXPECT(&r, 0);
  cr_assert_str_eq(state_of(&r, "box"), "Stopped");
  HCS(&r, NULL, "system", "delete", "box");
  EXPECT(&r, 0);
  res_free(&r);
  assert_clean();
}
