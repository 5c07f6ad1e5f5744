/* SPDX-License-Identifier: MIT */
/* The gateway scenarios' environment: an hcsd started by the bench on a
 * socket and state directory of its own, one busybox container (pid 1 a
 * sleep, NetworkMode host so that no bridge is needed) created and
 * started through hcsd's API, and, for the direct contender, a second hcs
 * service opened on hcsd's hcs state directory, which finds the same
 * running container there (as the hcs command does with /run/hcs). Both
 * contenders then exec into the one container; they differ only in the
 * way in: HTTP through the socket and hcsd, or the hcs calls in-process.
 *
 * hcsd is stopped only through the pid started here: SIGTERM, then a
 * wait. It also gets SIGTERM from the kernel if the bench dies first
 * (PR_SET_PDEATHSIG), so that no daemon outlives a crashed run. */
#include "gateway.h"

#include <hcs.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
  READY_MS = 15000, /* hcsd answers its ping */
  STOP_MS = 20000,  /* hcsd exits after SIGTERM */
  POLL_MS = 20,
};

/* The signal that interrupted the run while the environment was open, or
 * 0. A global because a signal handler sets it; the only one here. */
static volatile sig_atomic_t interrupted;

static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void on_stop_signal(int sig) { interrupted = sig; }

int gw_env_interrupted(void) { return interrupted; }

void gw_nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* fork + exec rather than posix_spawn: the child asks for SIGTERM when
 * the bench dies, and may unshare. Only async-signal-safe calls between
 * the two. */
int gw_spawn_daemon(const char *bin, char *const argv[], char *const env[],
                    const char *log, unsigned ns, pid_t *out) {
  int logfd =
      open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
  if (logfd < 0) {
    return -errno;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigaction(SIGPIPE, &dfl, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
      _exit(127);
    }
    if ((ns & GW_NEWNET) != 0 && unshare(CLONE_NEWNET) != 0) {
      _exit(GW_EXIT_NETNS);
    }
    if ((ns & GW_NEWNS) != 0 &&
        (unshare(CLONE_NEWNS) != 0 ||
         mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)) {
      _exit(GW_EXIT_NETNS);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 ||
        dup2(logfd, 2) < 0) {
      _exit(127);
    }
    execve(bin, argv, env != NULL ? env : environ);
    _exit(127);
  }
  int err = pid < 0 ? -errno : 0;
  close(logfd);
  if (err == 0) {
    *out = pid;
  }
  return err;
}

static int spawn_hcsd(gw_env_t *g, const char *bin) {
  char *argv[] = {(char *)bin, "--socket",         g->sock, "--state-dir",
                  g->state,    "--client-timeout", "3600",  NULL};
  return gw_spawn_daemon(bin, argv, NULL, g->log, 0, &g->pid);
}

void gw_log_end(const char *log, char *out, size_t size) {
  out[0] = '\0';
  int fd = open(log, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  off_t end = lseek(fd, 0, SEEK_END);
  off_t from = end > (off_t)size - 1 ? end - (off_t)size + 1 : 0;
  ssize_t n = pread(fd, out, size - 1, from);
  close(fd);
  n = n > 0 ? n : 0;
  out[n] = '\0';
  for (ssize_t i = 0; i < n; i++) {
    out[i] = out[i] == '\n' ? ' ' : out[i];
  }
}

int gw_wait_ping(const char *sock, pid_t *pid, long ms, int *status) {
  for (long waited = 0; waited < ms; waited += POLL_MS) {
    if (waitpid(*pid, status, WNOHANG) == *pid) {
      *pid = 0;
      return -ECHILD;
    }
    int code = 0;
    char body[64];
    if (httpc_call(sock, "GET", "/_ping", NULL, &code, body, sizeof(body)) ==
            0 &&
        code == 200) {
      return 0;
    }
    gw_nap_ms(POLL_MS);
  }
  return -ETIMEDOUT;
}

static int wait_ready(gw_env_t *g, const char **why) {
  int status;
  int err = gw_wait_ping(g->sock, &g->pid, READY_MS, &status);
  *why = err == -ECHILD ? "hcsd exited before answering"
         : err != 0     ? "hcsd did not answer /_ping"
                        : NULL;
  return err;
}

int gw_post(const char *sock, const char *path, const char *json, int want,
            char *id, size_t idsize, char *buf, size_t bufsize,
            const char **why) {
  int code = 0;
  char body[1024];
  int err = httpc_call(sock, "POST", path, json, &code, body, sizeof(body));
  if (err != 0) {
    snprintf(buf, bufsize, "POST %.100s", path);
    *why = buf;
    return err;
  }
  if (code != want) {
    snprintf(buf, bufsize, "POST %.60s: %d %.80s", path, code, body);
    *why = buf;
    return -EPROTO;
  }
  if (id != NULL) {
    json_t *o = json_loads(body, 0, NULL);
    const char *s = json_string_value(json_object_get(o, "Id"));
    bool ok = s != NULL && strlen(s) < idsize;
    if (ok) {
      snprintf(id, idsize, "%s", s);
    }
    json_decref(o);
    if (!ok) {
      *why = "container create: no Id in the answer";
      return -EPROTO;
    }
  }
  return 0;
}

int gw_start_sleeper(const char *sock, const char *api, const char *image,
                     const char *host_config, char *ctr, size_t ctrsize,
                     char *buf, size_t bufsize, const char **why) {
  char create[768], path[160];
  snprintf(create, sizeof(create),
           "{\"Image\":\"%s\",\"Cmd\":[\"sleep\",\"100000\"],"
           "\"HostConfig\":{%s}}",
           image, host_config);
  snprintf(path, sizeof(path), "%s/containers/create", api);
  int err = gw_post(sock, path, create, 201, ctr, ctrsize, buf, bufsize, why);
  if (err == 0) {
    snprintf(path, sizeof(path), "%s/containers/%s/start", api, ctr);
    err = gw_post(sock, path, NULL, 204, NULL, 0, buf, bufsize, why);
  }
  return err;
}

void gw_remove_ctr(const char *sock, const char *api, const char *ctr) {
  char path[160], body[256];
  int code = 0;
  snprintf(path, sizeof(path), "%s/containers/%s?force=1", api, ctr);
  int err = httpc_call(sock, "DELETE", path, NULL, &code, body, sizeof(body));
  if (err != 0 || code != 204) {
    fprintf(stderr, "hcs-bench: DELETE %s: %d %s\n", path,
            err != 0 ? err : code, err != 0 ? strerror(-err) : body);
  }
}

/* A service on hcsd's state directory (the container's records): with
 * one engine loop per CPU (threads 0), or one (CT_HCS1). */
static int open_direct(gw_env_t *g, struct hcs_s **out, uint32_t threads,
                       const char **why) {
  char dir[160];
  snprintf(dir, sizeof(dir), "%s/hcs", g->state);
  hcs_options_t o = {.size = sizeof(o), .state_dir = dir, .threads = threads};
  hcs_error_t *herr = NULL;
  if (hcs_open(out, &o, &herr) != HCS_OK) {
    snprintf(g->why, sizeof(g->why), "hcs_open: %.140s",
             hcs_error_message(herr));
    int en = hcs_error_errno(herr);
    hcs_error_free(herr);
    *out = NULL;
    *why = g->why;
    return -(en != 0 ? en : EIO);
  }
  return 0;
}

static int setup(gw_env_t *g, const char *bin, const bool *want,
                 const char **why) {
  if (geteuid() != 0) {
    *why = "hcsd's containers need root; skipped";
    return 0;
  }
  if (access(bin, X_OK) != 0) {
    *why = "no hcsd next to hcs-bench (build the hcsd target, or pass "
           "--hcsd PATH); skipped";
    return 0;
  }
  snprintf(g->dir, sizeof(g->dir), "/tmp/hcs-bench-gw-XXXXXX");
  if (mkdtemp(g->dir) == NULL) {
    g->dir[0] = '\0';
    *why = "mkdtemp /tmp/hcs-bench-gw-XXXXXX";
    return -errno;
  }
  snprintf(g->sock, sizeof(g->sock), "%s/hcsd.sock", g->dir);
  snprintf(g->state, sizeof(g->state), "%s/state", g->dir);
  snprintf(g->log, sizeof(g->log), "%s/hcsd.log", g->dir);
  int err = spawn_hcsd(g, bin);
  if (err != 0) {
    *why = "starting hcsd";
    return err;
  }
  if ((err = wait_ready(g, why)) != 0 ||
      (err = gw_start_sleeper(g->sock, "/v1.50", "busybox", GW_HOST_NET, g->ctr,
                              sizeof(g->ctr), g->why, sizeof(g->why), why)) !=
          0) {
    return err;
  }
  if (want[CT_HCS] && (err = open_direct(g, &g->hcs, 0, why)) != 0) {
    return err;
  }
  if (want[CT_HCS1] && (err = open_direct(g, &g->hcs1, 1, why)) != 0) {
    return err;
  }
  g->up[CT_HCSD] = want[CT_HCSD];
  g->up[CT_HCS] = want[CT_HCS];
  g->up[CT_HCS1] = want[CT_HCS1];
  return 0;
}

void gw_env_open(gw_env_t *g, const char *hcsd_bin, const bool *want) {
  memset(g, 0, sizeof(*g));
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &sa, &g->old_sa[i]);
  }
  const char *why = NULL;
  int err = setup(g, hcsd_bin, want, &why);
  char tail[128] = "";
  if (err != 0 && g->log[0] != '\0') {
    gw_log_end(g->log, tail, sizeof(tail));
  }
  const contender_t cts[] = {CT_HCSD, CT_HCS, CT_HCS1};
  for (size_t i = 0; i < sizeof(cts) / sizeof(cts[0]); i++) {
    contender_t ct = cts[i];
    if (g->up[ct]) {
      continue;
    }
    g->err[ct] = want[ct] ? err : 0;
    snprintf(g->note[ct], sizeof(g->note[ct]), "%.70s%s%.24s%s%.50s",
             !want[ct]     ? "not asked for"
             : why != NULL ? why
                           : "",
             want[ct] && err != 0 ? ": " : "",
             want[ct] && err != 0 ? strerror(-err) : "",
             want[ct] && tail[0] != '\0' ? "; hcsd: " : "",
             want[ct] ? tail : "");
  }
  if (want[CT_DOCKERD]) {
    (void)gw_dockerd_open(g);
  } else {
    snprintf(g->note[CT_DOCKERD], sizeof(g->note[CT_DOCKERD]), "not asked for");
  }
  if (want[CT_PODMAN]) {
    (void)gw_podman_open(g);
  } else {
    snprintf(g->note[CT_PODMAN], sizeof(g->note[CT_PODMAN]), "not asked for");
  }
}

gw_target_t gw_env_target(const gw_env_t *g, contender_t ct) {
  if (ct == CT_DOCKERD) {
    return (gw_target_t){g->dk.sock, g->dk.ctr, GW_DOCKERD_API, g->dk.pid};
  }
  if (ct == CT_PODMAN) {
    return (gw_target_t){g->pm.sock, g->pm.ctr, GW_PODMAN_API, g->pm.pid};
  }
  return (gw_target_t){g->sock, g->ctr, "/v1.50", g->pid};
}

double gw_env_cpu(pid_t pid) {
  if (pid <= 0) {
    return 0;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  unsigned long long v[4] = {0};
  /* proc_pid_stat(5): utime, stime, cutime and cstime are fields 14-17, in
   * clock ticks; the daemon's command name holds no space or parenthesis. */
  int got = f != NULL ? fscanf(f,
                               "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u "
                               "%*u %*u %llu %llu %llu %llu",
                               &v[0], &v[1], &v[2], &v[3])
                      : 0;
  if (f != NULL) {
    fclose(f);
  }
  return got == 4 ? (double)(v[0] + v[1] + v[2] + v[3]) /
                        (double)sysconf(_SC_CLK_TCK)
                  : 0;
}

void gw_stop_pid(pid_t pid, const char *name, long ms, const char *log) {
  if (kill(pid, SIGTERM) != 0) {
    fprintf(stderr, "hcs-bench: kill %s %d: %s\n", name, (int)pid,
            strerror(errno));
  }
  int status = 0;
  long waited = 0;
  pid_t got;
  while ((got = waitpid(pid, &status, WNOHANG)) == 0 && waited < ms) {
    gw_nap_ms(POLL_MS);
    waited += POLL_MS;
  }
  if (got == 0) {
    fprintf(stderr,
            "hcs-bench: %s %d still runs %ld ms after SIGTERM; "
            "SIGKILL\n",
            name, (int)pid, ms);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else if (got > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
    fprintf(stderr, "hcs-bench: %s ended with status 0x%x (log %s)\n", name,
            status, log);
  }
}

int gw_env_close(gw_env_t *g) {
  drv_load_close(g);
  gw_podman_close(g);
  gw_dockerd_close(g);
  if (g->base_tar[0] != '\0') {
    (void)unlink(g->base_tar);
    g->base_tar[0] = '\0';
  }
  /* The services have a state directory: closing one leaves the
   * container running, for hcsd to remove. */
  if (g->hcs != NULL) {
    hcs_close(g->hcs);
    g->hcs = NULL;
  }
  if (g->hcs1 != NULL) {
    hcs_close(g->hcs1);
    g->hcs1 = NULL;
  }
  if (g->pid > 0 && g->ctr[0] != '\0') {
    gw_remove_ctr(g->sock, "/v1.50", g->ctr);
  }
  if (g->pid > 0) {
    gw_stop_pid(g->pid, "hcsd", STOP_MS, g->log);
    g->pid = 0;
  }
  if (g->dir[0] != '\0') {
    /* FTW_MOUNT: hcsd mounts the container's root in the container's own
     * namespace; if anything were left mounted here, it would stay. */
    bench_rmtree(g->dir);
  }
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &g->old_sa[i], NULL);
  }
  return interrupted;
}
