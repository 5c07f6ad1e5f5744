/* hcsd: the Docker Engine API subset on a unix socket, so that the docker
 * CLI drives hcs. The engine runs on its own thread and so does all of
 * hcsd's serving; this thread opens the stores and then waits for
 * SIGTERM/SIGINT. */
#include "hcsd/hcsd.h"
#include "hcsd/util.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

int hcsd_open_stores(hcsd_t *d, hcs_t *hcs, const hcsd_options_t *opt);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int state; /* 1 started (rc in start_rc), 2 stopped */
static int start_rc;
static hcsd_t daemon_;

static void on_stopped(hcsd_t *d) {
  (void)d;
  pthread_mutex_lock(&mu);
  state = 2;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void start_fn(as_loop_t *loop, void *data) {
  hcsd_options_t *o = data;
  (void)loop;
  int rc = hcsd_start(&daemon_, daemon_.hcs, o);
  pthread_mutex_lock(&mu);
  start_rc = rc;
  state = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void stop_fn(as_loop_t *loop, void *data) {
  (void)loop;
  (void)data;
  hcsd_stop(&daemon_);
}

static void wait_state(int want) {
  pthread_mutex_lock(&mu);
  while (state < want) {
    pthread_cond_wait(&cv, &mu);
  }
  pthread_mutex_unlock(&mu);
}

static void usage(FILE *f) {
  fprintf(
      f, "usage: hcsd [--socket PATH] [--state-dir DIR] [--group GROUP]\n"
         "            [--log-max BYTES] [--client-timeout SECONDS]\n"
         "Serves the Docker Engine API (1.50) on a unix socket (default\n"
         "/run/hcsd.sock, mode 0660) for the docker CLI:\n"
         "  DOCKER_HOST=unix:///run/hcsd.sock docker run --rm busybox echo hi\n"
         "State (containers, images, networks) lives in --state-dir\n"
         "(default /var/lib/hcsd). SIGTERM or SIGINT stops the running\n"
         "containers, saves and exits 0.\n");
}

int main(int argc, char **argv) {
  hcsd_options_t o = {.socket_path = "/run/hcsd.sock",
                      .state_dir = "/var/lib/hcsd",
                      .gid = -1,
                      .log_max = 1u << 20,
                      .client_timeout_ms = 60000};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (v == NULL) {
      fprintf(stderr, "hcsd: %s needs a value\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (strcmp(a, "--socket") == 0 || strcmp(a, "-H") == 0) {
      o.socket_path = strncmp(v, "unix://", 7) == 0 ? v + 7 : v;
    } else if (strcmp(a, "--state-dir") == 0) {
      o.state_dir = v;
    } else if (strcmp(a, "--group") == 0) {
      struct group *g = getgrnam(v);
      char *end;
      long n = strtol(v, &end, 10);
      if (g != NULL) {
        o.gid = (int)g->gr_gid;
      } else if (*end == '\0' && n >= 0) {
        o.gid = (int)n;
      } else {
        fprintf(stderr, "hcsd: --group %s: no such group\n", v);
        return 2;
      }
    } else if (strcmp(a, "--log-max") == 0) {
      o.log_max = strtoull(v, NULL, 10);
    } else if (strcmp(a, "--client-timeout") == 0) {
      o.client_timeout_ms = (uint32_t)(strtoul(v, NULL, 10) * 1000);
    } else {
      fprintf(stderr, "hcsd: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  /* Every exec stream is a socket, pipes and a pidfd: take all the fds
   * the hard limit allows, as dockerd does. */
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &nofile);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  char hcs_state[4200];
  snprintf(hcs_state, sizeof(hcs_state), "%s/hcs", o.state_dir);
  (void)mkdir(o.state_dir, 0700);
  hcs_options_t ho = {.state_dir = hcs_state};
  hcs_t *hcs = NULL;
  hcs_error_t *err = NULL;
  if (hcs_open(&hcs, &ho, &err) != HCS_OK) {
    fprintf(stderr, "hcsd: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  if (hcsd_open_stores(&daemon_, hcs, &o) != 0) {
    hcsd_free(&daemon_);
    hcs_close(hcs);
    return 1;
  }
  daemon_.stopped = on_stopped;
  if (as_loop_post(daemon_.loop, start_fn, &o) != 0) {
    return 1;
  }
  wait_state(1);
  if (start_rc != 0) {
    hcsd_free(&daemon_);
    hcs_close(hcs);
    return 1;
  }
  hcsd_log("serving the Docker API " HCSD_API_VERSION " on %s", o.socket_path);
  int sig = 0;
  sigwait(&set, &sig);
  hcsd_log("signal %d: stopping", sig);
  if (as_loop_post(daemon_.loop, stop_fn, NULL) == 0) {
    wait_state(2);
  }
  hcsd_free(&daemon_);
  hcs_close(hcs);
  hcsd_log("stopped");
  return 0;
}
