/* SPDX-License-Identifier: MIT */
/* hcsd against the real dockerd (issue 17): one docker CLI scenario run
 * step by step against both daemons, each step's exit code, stdout and
 * stderr compared after ids, times and sizes are masked. A difference
 * fails the test unless it is one of the known ones below, each of which
 * the README's hcsd section lists with its reason.
 *
 * dockerd is Debian's (docker.io), a child of the test on a private
 * socket, data root and exec root under the test's temp dir, in a network
 * namespace its child makes before the exec (as hcsd's is), with no
 * bridge and no iptables rules: nothing of the host's is touched. It is
 * stopped by its pid, and its image is the same busybox layer as hcsd's,
 * imported. Skipped when dockerd is not installed. */
#include "hcsd_e2e.h"

#include <regex.h>

TestSuite(hcsd_diff, .init = he_setup, .fini = he_teardown, .timeout = 300);

#define DK_READY_MS 60000
#define DK_STOP_MS 30000

typedef struct dk_s {
  char dir[128], sock[160], host[180], log[160];
  pid_t pid;
  int pidfd;
} dk_t;

static dk_t dk;

/* ------------------------------------------------------------------------
 * dockerd. */

static bool dk_ping(void) {
  int fd = he_raw_connect_to(dk.sock);
  if (fd < 0) {
    return false;
  }
  he_conn_t c = {.fd = fd};
  bool ok = false;
  if (he_raw_send_str(fd, "HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n")) {
    he_http_t r;
    if (he_conn_response(&c, &r, true, 10000)) {
      ok = r.status == 200;
      he_http_free(&r);
    }
  }
  he_conn_close(&c);
  return ok;
}

static void dk_start(void) {
  snprintf(dk.dir, sizeof(dk.dir), "%s/dk", he.dir);
  snprintf(dk.sock, sizeof(dk.sock), "%s/d.sock", dk.dir);
  snprintf(dk.host, sizeof(dk.host), "unix://%s", dk.sock);
  snprintf(dk.log, sizeof(dk.log), "%s/dockerd.log", he.dir);
  cr_assert_eq(mkdir(dk.dir, 0700), 0, "mkdir %s: %s", dk.dir, strerror(errno));
  char data[200], exec_root[200], pidfile[200];
  snprintf(data, sizeof(data), "%s/data", dk.dir);
  snprintf(exec_root, sizeof(exec_root), "%s/exec", dk.dir);
  snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", dk.dir);
  int logfd = open(dk.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  cr_assert_geq(logfd, 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) {
      _exit(120);
    }
    if (unshare(CLONE_NEWNET) != 0 || !he_lo_up()) {
      dprintf(2, "diff: a network namespace: %s\n", strerror(errno));
      _exit(121);
    }
    execlp("dockerd", "dockerd", "--host", dk.host, "--data-root", data,
           "--exec-root", exec_root, "--pidfile", pidfile, "--bridge", "none",
           "--iptables=false", "--ip6tables=false", "--ip-forward=false",
           "--log-level", "warn", (char *)NULL);
    dprintf(2, "diff: exec dockerd: %s\n", strerror(errno));
    _exit(123);
  }
  close(logfd);
  dk.pid = pid;
  dk.pidfd = he_pidfd_open(pid);
  cr_assert_geq(dk.pidfd, 0);
  int64_t deadline = th_now_ms() + DK_READY_MS;
  while (!dk_ping()) {
    struct pollfd pf = {.fd = dk.pidfd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 100), 0, "dockerd died before it was ready");
    cr_assert_lt(th_now_ms(), deadline, "dockerd not ready in %d ms",
                 DK_READY_MS);
  }
}

/* Every child but the daemons (what dockerd's exit left to this
 * subreaper: containerd, shims) reaped, within ms. */
static void dk_reap_orphans(int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  for (;;) {
    pid_t kids[64];
    int n = he_children(kids, 64), others = 0;
    for (int i = 0; i < n && i < 64; i++) {
      if (kids[i] != he.pid && waitpid(kids[i], NULL, WNOHANG) == 0) {
        others++;
      }
    }
    if (others == 0) {
      return;
    }
    cr_assert_lt(th_now_ms(), deadline, "dockerd's children still run");
    (void)poll(NULL, 0, 50);
  }
}

/* SIGTERM by the pid held, a wait, and what it left mounted detached. */
static void dk_stop(void) {
  cr_assert_eq(kill(dk.pid, SIGTERM), 0);
  struct pollfd pf = {.fd = dk.pidfd, .events = POLLIN};
  int r = poll(&pf, 1, DK_STOP_MS);
  if (r != 1) {
    kill(dk.pid, SIGKILL);
  }
  cr_assert_eq(waitpid(dk.pid, NULL, 0), dk.pid);
  close(dk.pidfd);
  dk.pid = 0;
  cr_assert_eq(r, 1, "dockerd still running %d ms after SIGTERM", DK_STOP_MS);
  dk_reap_orphans(20000);
  FILE *f = fopen("/proc/self/mountinfo", "re");
  cr_assert_not_null(f);
  char line[4096], mps[64][512];
  int n = 0;
  size_t dl = strlen(dk.dir);
  while (fgets(line, sizeof(line), f) != NULL && n < 64) {
    char mp[512];
    if (sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 &&
        strncmp(mp, dk.dir, dl) == 0) {
      snprintf(mps[n++], sizeof(mps[0]), "%s", mp);
    }
  }
  fclose(f);
  while (n > 0) {
    (void)umount2(mps[--n], MNT_DETACH);
  }
  cr_assert_eq(he_rm_tree(dk.dir), 0, "removing %s", dk.dir);
}

/* The busybox layer hcsd runs, imported into dockerd as busybox:latest. */
static void dk_import_busybox(void) {
  char diff[PATH_MAX], tar[300];
  snprintf(diff, sizeof(diff), "%s/%s/diff", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  snprintf(tar, sizeof(tar), "%s/busybox.tar", he.dir);
  he_cmd_t c;
  he_run_argv(&c, NULL, 0,
              HE_ARGV("tar", "--numeric-owner", "-C", diff, "-cf", tar, "."));
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_docker_ok(&c, "-H", dk.host, "import", "--change", "CMD [\"sh\"]", tar,
               "busybox:latest");
  he_cmd_free(&c);
  cr_assert_eq(unlink(tar), 0);
}

/* ------------------------------------------------------------------------
 * Masking: what differs between any two runs. */

/* Replaces every match of re in b by with. */
static void mask(th_buf_t *b, const char *re, const char *with) {
  regex_t rx;
  cr_assert_eq(regcomp(&rx, re, REG_EXTENDED), 0, "regex %s", re);
  th_buf_t out = {0};
  const char *p = b->p;
  regmatch_t m;
  while (*p != '\0' &&
         regexec(&rx, p, 1, &m, p == b->p ? 0 : REG_NOTBOL) == 0) {
    th_buf_add(&out, p, (size_t)m.rm_so);
    th_buf_add(&out, with, strlen(with));
    p += m.rm_eo > m.rm_so ? m.rm_eo : m.rm_so + 1;
  }
  th_buf_add(&out, p, strlen(p));
  th_buf_add(&out, "", 0);
  regfree(&rx);
  th_buf_free(b);
  *b = out;
}

static void normalise(th_buf_t *b, const char *sock) {
  th_buf_add(b, "", 0);
  mask(b, sock, "<sock>");
  mask(b, "(sha256:)?[0-9a-f]{64}", "<id>");
  mask(b, "\\b[0-9a-f]{12}\\b", "<id>");
  mask(b, "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?( [A-Z]+)?",
       "<time>");
  /* Docker's units.HumanDuration: "1 second" has no s. */
  mask(b,
       "(Less than a second|About a minute|About an hour|[0-9]+ "
       "(seconds?|minutes|hours))",
       "<ago>");
  mask(b, "[0-9.]+ ?([kMG]?B)\\b", "<size>");
  /* The chain of runtimes an OCI runtime error passes through (dockerd,
   * containerd, the shim, runc) differs with their versions: what the
   * runtime said is compared. */
  mask(b,
       "failed to create (task for container: )?(failed to create )?(shim "
       "task: )?(OCI runtime create failed: )?(runc create failed: )?(unable "
       "to start container process: )?(error during container init: )?",
       "<runtime>: ");
}

/* ------------------------------------------------------------------------
 * The scenario. */

typedef struct step_s {
  const char *argv[16]; /* after "docker -H host" */
  const char *known;    /* a known difference (README), or NULL */
} step_t;

#define S(...)                                                                 \
  { __VA_ARGS__, NULL }

static const step_t scenario[] = {
    /* run: output, exit codes, refused programs */
    {S("run", "--rm", "busybox", "echo", "hello"), NULL},
    {S("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"),
     NULL},
    {S("run", "--rm", "-e", "A=1", "-u", "1000:1000", "-w", "/tmp", "busybox",
       "sh", "-c", "echo $A; id -u; pwd"),
     NULL},
    {S("run", "--rm", "-w", "/missing/dir", "busybox", "pwd"), NULL},
    {S("run", "--rm", "--entrypoint", "", "busybox", "echo", "x"), NULL},
    {S("run", "--rm", "busybox", "nosuchcmd"), NULL},
    {S("run", "--rm", "busybox", "/etc"), NULL},
    {S("run", "--rm", "busybox", "/nosuch"), NULL},
    {S("run", "--rm", "nosuchimage:1"), "hcsd does not pull"},
    /* a detached container and what the CLI shows of it */
    {S("run", "-d", "--name", "d1", "--label", "job=1", "busybox", "sh", "-c",
       "echo started; exec sleep 300"),
     NULL},
    {S("ps", "--format", "{{.Names}} {{.Command}} {{.Labels}} {{.Status}}"),
     NULL},
    {S("ps", "-a", "--filter", "label=job=1", "--format", "{{.Names}}"), NULL},
    {S("ps", "-a", "--filter", "label=job=2", "--format", "{{.Names}}"), NULL},
    {S("inspect", "-f",
       "{{.Name}} {{.State.Status}} {{.State.Running}} {{.State.ExitCode}} "
       "{{.Config.Labels}} {{.Config.Cmd}} {{.HostConfig.NetworkMode}}",
       "d1"),
     NULL},
    {S("logs", "d1"), NULL},
    /* exec */
    {S("exec", "d1", "sh", "-c", "echo out; echo err >&2; exit 4"), NULL},
    {S("exec", "-e", "B=2", "-w", "/tmp", "d1", "sh", "-c", "echo $B; pwd"),
     NULL},
    {S("exec", "d1", "nosuchcmd"), "127: as dockerd 28, 20.10 gives 126"},
    {S("exec", "-u", "nosuchuser", "d1", "true"), NULL},
    {S("exec", "-w", "/missing", "d1", "pwd"), NULL},
    {S("exec", "nosuch", "true"), NULL},
    /* signals and stop */
    {S("kill", "-s", "BOGUS", "d1"), NULL},
    {S("stop", "-t", "1", "d1"), NULL},
    {S("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "d1"),
     "pid 1 is an init that forwards SIGTERM: 143, not 137"},
    {S("wait", "d1"), "pid 1 is an init that forwards SIGTERM: 143, not 137"},
    {S("start", "d1"), NULL},
    {S("rm", "d1"), "a running container's rm refused in dockerd 28's words"},
    {S("rm", "-f", "d1"), NULL},
    {S("rm", "nosuch"), NULL},
    {S("inspect", "nosuch"), NULL},
    /* create, cp, start, wait */
    {S("create", "--name", "c1", "busybox", "sh", "-c", "cat /in; exit 5"),
     NULL},
    {S("cp", "/etc/hostname", "c1:/in"), NULL},
    {S("start", "-a", "c1"), NULL},
    {S("wait", "c1"), NULL},
    {S("cp", "c1:/nothing", "-"), NULL},
    {S("rm", "c1"), NULL},
    /* networks and volumes */
    {S("network", "create", "--label", "k=v", "n1"), NULL},
    {S("network", "ls", "--filter", "label=k=v", "--format",
       "{{.Name}} {{.Driver}} {{.Scope}}"),
     NULL},
    {S("run", "--rm", "--network", "n1", "busybox", "sh", "-c",
       "cat /etc/resolv.conf >/dev/null; echo net"),
     NULL},
    {S("run", "-d", "--name", "srv", "--network", "n1", "-p", "18080:80",
       "busybox", "httpd", "-f", "-p", "80"),
     NULL},
    {S("port", "srv"), "published on IPv4 only: no [::] line"},
    {S("run", "--rm", "--network", "n1", "busybox", "sh", "-c",
       "ping -c 1 -W 5 srv > /dev/null && echo found"),
     NULL},
    {S("rename", "srv", "srv2"), NULL},
    {S("pause", "srv2"), NULL},
    {S("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "srv2"), NULL},
    {S("unpause", "srv2"), NULL},
    {S("rm", "-f", "srv2"), NULL},
    {S("network", "rm", "n1"), NULL},
    {S("network", "rm", "n1"), NULL},
    {S("volume", "create", "v1"), NULL},
    {S("volume", "ls", "--format", "{{.Name}} {{.Driver}}"), NULL},
    {S("run", "--rm", "-v", "v1:/v", "busybox", "sh", "-c", "echo x > /v/f"),
     NULL},
    {S("run", "--rm", "-v", "v1:/v:ro", "busybox", "sh", "-c",
       "cat /v/f; touch /v/g"),
     NULL},
    {S("volume", "rm", "v1"), NULL},
    {S("volume", "rm", "v1"), NULL},
    /* images */
    {S("images", "--format", "{{.Repository}}:{{.Tag}}"), NULL},
    {S("image", "inspect", "-f", "{{.Os}} {{.Architecture}}", "busybox"), NULL},
    {S("ps", "-a", "--format", "{{.Names}}"), NULL},
};

/* docker-compose with tests/clients/compose.yml (its stderr, progress
 * lines of services started side by side, is not compared). */
static const step_t compose_scenario[] = {
    {S("run", "-d", "--name", "unrelated", "busybox", "sleep", "300"), NULL},
    {S("compose", "up", "-d"), NULL},
    {S("compose", "ps"), "published on IPv4 only: no :::port binding"},
    {S("compose", "port", "web", "80"), NULL},
    {S("compose", "logs", "--no-color", "db"), NULL},
    {S("compose", "exec", "-T", "web", "sh", "-c",
       "cat /data/role; ping -c 1 -W 5 db > /dev/null && echo found"),
     NULL},
    {S("compose", "run", "--rm", "-T", "web", "sh", "-c",
       "echo one-off $DB_HOST; exit 3"),
     NULL},
    {S("compose", "down", "-t", "1", "-v", "--remove-orphans"), NULL},
    {S("ps", "-a", "--format", "{{.Names}} {{.State}}"), NULL},
    {S("rm", "-f", "unrelated"), NULL},
};

#define SDK_PYTHON "/usr/bin/python3"
#define CLIENTS HCS_SOURCE_DIR "/tests/clients"

/* Runs one step against the daemon at host: code and masked output. */
static void run_step(const step_t *s, const char *host, const char *sock,
                     he_cmd_t *c) {
  char env_host[200];
  snprintf(env_host, sizeof(env_host), "DOCKER_HOST=%s", host);
  bool compose = strcmp(s->argv[0], "compose") == 0;
  const char *argv[32] = {"docker", "-H", host};
  const char *cargv[] = {
      "env", env_host, "docker-compose", "-f", CLIENTS "/compose.yml",
      "-p",  "hcst"};
  int n = 3;
  if (compose) {
    n = (int)(sizeof(cargv) / sizeof(cargv[0]));
    memcpy(argv, cargv, sizeof(cargv));
  }
  for (int i = compose ? 1 : 0; s->argv[i] != NULL; i++) {
    argv[n++] = s->argv[i];
  }
  argv[n] = NULL;
  he_run_argv(c, NULL, 0, argv);
  normalise(&c->o, sock);
  normalise(&c->e, sock);
  if (compose) {
    c->e.p[0] = '\0';
  }
}

static void step_line(const step_t *s, char *out, size_t n) {
  size_t w = 0;
  for (int i = 0; s->argv[i] != NULL && w + 2 < n; i++) {
    w += (size_t)snprintf(out + w, n - w, " %s", s->argv[i]);
  }
}

/* Starts dockerd with hcsd's busybox, runs steps[0..n) against both and
 * fails on a difference that is not a known one. */
static void differential(const step_t *steps, size_t n) {
  dk_start();
  dk_import_busybox();
  char hhost[200];
  snprintf(hhost, sizeof(hhost), "unix://%s", he.sock);
  th_buf_t report = {0};
  int unexpected = 0, known_fixed = 0;
  for (size_t i = 0; i < n; i++) {
    const step_t *s = &steps[i];
    he_cmd_t h, d;
    run_step(s, hhost, he.sock, &h);
    run_step(s, dk.host, dk.sock, &d);
    bool same = h.code == d.code && strcmp(h.o.p, d.o.p) == 0 &&
                strcmp(h.e.p, d.e.p) == 0;
    char line[512];
    step_line(s, line, sizeof(line));
    if (!same) {
      char msg[8192];
      snprintf(msg, sizeof(msg),
               "%s docker%s\n  hcsd:    %d out=[%.600s] err=[%.600s]\n"
               "  dockerd: %d out=[%.600s] err=[%.600s]\n",
               s->known != NULL ? "known" : "DIFFERENT", line, h.code, h.o.p,
               h.e.p, d.code, d.o.p, d.e.p);
      th_buf_add(&report, msg, strlen(msg));
      unexpected += s->known == NULL;
    } else {
      cr_log_info("same: docker%s -> %d [%.80s]", line, h.code, h.o.p);
    }
    if (same && s->known != NULL) {
      known_fixed++;
      cr_log_warn("docker%s: the known difference is gone (%s)", line,
                  s->known);
    }
    he_cmd_free(&h);
    he_cmd_free(&d);
  }
  th_buf_add(&report, "", 0);
  cr_log_info("differences:\n%s", report.p);
  (void)known_fixed;
  cr_assert_eq(unexpected, 0, "hcsd and dockerd differ:\n%s", report.p);
  th_buf_free(&report);
  dk_stop();
  he_end();
}

static void need_dockerd(void) {
  if (access("/usr/sbin/dockerd", X_OK) != 0 &&
      access("/usr/bin/dockerd", X_OK) != 0) {
    cr_skip_test("no dockerd (Debian's docker.io)");
  }
}

Test(hcsd_diff, docker_cli_scenario) {
  need_dockerd();
  differential(scenario, sizeof(scenario) / sizeof(scenario[0]));
}

Test(hcsd_diff, compose_scenario) {
  need_dockerd();
  differential(compose_scenario,
               sizeof(compose_scenario) / sizeof(compose_scenario[0]));
}

/* tests/clients/sdk.py, which asserts what dockerd answers, holds for
 * dockerd itself as it does for hcsd (test_hcsd_sdk): the SDK's scenario
 * run against both. */
Test(hcsd_diff, sdk_script_on_both) {
  need_dockerd();
  dk_start();
  dk_import_busybox();
  char env_host[200];
  snprintf(env_host, sizeof(env_host), "DOCKER_HOST=%s", dk.host);
  he_cmd_t c;
  he_run_argv(&c, NULL, 0,
              HE_ARGV("env", env_host, "SDK_EXPECT_API=1.41", SDK_PYTHON,
                      CLIENTS "/sdk.py"));
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_run_argv(&c, NULL, 0, HE_ARGV(SDK_PYTHON, CLIENTS "/sdk.py"));
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  dk_stop();
  he_end();
}
