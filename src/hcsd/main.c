/* SPDX-License-Identifier: MIT */
/* hcsd: the Docker Engine API subset on a unix socket, so that the docker
 * CLI drives hcs. The engine runs on its own thread and so does all of
 * hcsd's serving; this thread opens the stores and then waits for
 * SIGTERM/SIGINT (SIGHUP reopens the log). */
#include "hcsd/hcsd.h"
#include "hcsd/log.h"
#include "hcsd/util.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

/* libhcs's bound on engine loops. */
#define HCSD_THREADS_MAX 64
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

/* libhcs's messages join hcsd's log; the levels are the same priorities. */
static void lib_log(hcs_log_level_t level, const char *msg, void *data) {
  (void)data;
  hcsd_logl((int)level, "hcs: %s", msg);
}

static void usage(FILE *f) {
  fprintf(
      f, "usage: hcsd [-H PATH] [--state-dir DIR] [--group GROUP]\n"
         "            [--log-max BYTES] [--client-timeout SECONDS]\n"
         "            [--log-level LEVEL] [--log-file FILE] [--threads N]\n"
         "       hcsd --version\n"
         "Serves the Docker Engine API (1.50) on a unix socket (default\n"
         "/run/hcsd.sock, mode 0660) for the docker CLI:\n"
         "  DOCKER_HOST=unix:///run/hcsd.sock docker run --rm busybox echo hi\n"
         "\n"
         "  -H, --host, --socket PATH  the socket ([unix://]PATH); under\n"
         "                     socket activation (LISTEN_FDS) the socket\n"
         "                     the service manager passes instead\n"
         "  --state-dir DIR    containers, images and networks (default\n"
         "                     /var/lib/hcsd)\n"
         "  --group GROUP      the socket's group (name or number)\n"
         "  --log-max BYTES    log kept per container (default 1 MiB)\n"
         "  --client-timeout SECONDS  a request that makes no progress\n"
         "                     this long is dropped (default 60)\n"
         "  --log-level LEVEL  error, warn, info (default: with a line per\n"
         "                     request) or debug\n"
         "  --log-file FILE    log there, not on stderr; SIGHUP reopens it\n"
         "  --threads N        engine loops (default: one per CPU): loop 0\n"
         "                     serves the API; attached exec streams and\n"
         "                     their processes go to loops 1 to N-1 in turn\n"
         "\n"
         "SIGTERM or SIGINT stops the running containers, saves and exits\n"
         "0; SIGHUP reopens the log file. A usage error exits 2.\n");
}

/* A whole decimal number from 0 to max; false when text is not one. */
static bool parse_number(const char *text, unsigned long long max,
                         unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || v > max) {
    return false;
  }
  *out = v;
  return true;
}

static bool parse_group(const char *text, int *gid) {
  struct group *g = getgrnam(text);
  unsigned long long n;
  if (g != NULL) {
    *gid = (int)g->gr_gid;
  } else if (parse_number(text, INT_MAX, &n)) {
    *gid = (int)n;
  } else {
    return false;
  }
  return true;
}

enum {
  O_STATE_DIR = 256,
  O_GROUP,
  O_LOG_MAX,
  O_CLIENT_TIMEOUT,
  O_LOG_LEVEL,
  O_LOG_FILE,
  O_THREADS,
  O_VERSION,
};

static const struct option longs[] = {
    {"socket", required_argument, 0, 'H'},
    {"host", required_argument, 0, 'H'},
    {"state-dir", required_argument, 0, O_STATE_DIR},
    {"group", required_argument, 0, O_GROUP},
    {"log-max", required_argument, 0, O_LOG_MAX},
    {"client-timeout", required_argument, 0, O_CLIENT_TIMEOUT},
    {"log-level", required_argument, 0, O_LOG_LEVEL},
    {"log-file", required_argument, 0, O_LOG_FILE},
    {"threads", required_argument, 0, O_THREADS},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0}};

typedef struct cmdline_s {
  hcsd_options_t o;
  int log_level;
  const char *log_file;
  uint32_t threads; /* engine loops, 1 to HCSD_THREADS_MAX; 0: one per CPU */
} cmdline_t;

/* Applies option c; false when optarg is not a value for it. */
static bool apply_opt(cmdline_t *cl, int c, const char *v) {
  unsigned long long n;
  switch (c) {
  case 'H':
    cl->o.socket_path = strncmp(v, "unix://", 7) == 0 ? v + 7 : v;
    return cl->o.socket_path[0] != '\0';
  case O_STATE_DIR:
    cl->o.state_dir = v;
    return v[0] != '\0';
  case O_GROUP:
    return parse_group(v, &cl->o.gid);
  case O_LOG_MAX:
    if (!parse_number(v, SIZE_MAX, &n)) {
      return false;
    }
    cl->o.log_max = (size_t)n;
    return true;
  case O_CLIENT_TIMEOUT:
    if (!parse_number(v, UINT32_MAX / 1000, &n)) {
      return false;
    }
    cl->o.client_timeout_ms = (uint32_t)(n * 1000);
    return true;
  case O_LOG_LEVEL:
    cl->log_level = hcsd_log_level_parse(v);
    return cl->log_level >= 0;
  case O_LOG_FILE:
    cl->log_file = v;
    return v[0] != '\0';
  case O_THREADS:
    if (!parse_number(v, HCSD_THREADS_MAX, &n) || n == 0) {
      return false;
    }
    cl->threads = (uint32_t)n;
    return true;
  default:
    return false;
  }
}

/* The option as written, for messages: "--log-max" for "--log-max=x". */
static const char *opt_name(int c, int li, char *buf, size_t size) {
  for (int i = 0; li < 0 && longs[i].name != NULL; i++) {
    li = longs[i].val == c && c >= 256 ? i : li;
  }
  if (li >= 0) {
    snprintf(buf, size, "--%s", longs[li].name);
  } else {
    snprintf(buf, size, "-%c", c);
  }
  return buf;
}

/* Returns -1 to go on serving, else the exit status (0 after --help and
 * --version, 2 after a usage error, printed). */
static int parse_args(int argc, char **argv, cmdline_t *cl) {
  int c, li = -1;
  char name[64];
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":H:h", longs, &li)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == O_VERSION) {
      printf("hcsd %s\n", HCS_VERSION_STRING);
      return 0;
    }
    if (c == ':' || c == '?') {
      /* optopt is the option's value; 0 for an unknown long option,
       * which is then in argv. */
      fprintf(stderr, "hcsd: %s %s\n",
              c == ':' ? "missing value for" : "unknown option",
              optopt != 0 ? opt_name(optopt, -1, name, sizeof(name))
                          : argv[optind - 1]);
      usage(stderr);
      return 2;
    }
    if (!apply_opt(cl, c, optarg)) {
      fprintf(stderr, "hcsd: bad value for %s: \"%s\"\n",
              opt_name(c, li, name, sizeof(name)), optarg);
      return 2;
    }
    li = -1;
  }
  if (optind < argc) {
    fprintf(stderr, "hcsd: unexpected argument %s\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  return -1;
}

/* Socket activation (sd_listen_fds(3)): the listening socket a service
 * manager passed at fd 3, when LISTEN_PID names this process (the
 * variables are then removed, so that no child sees them). 0 when none
 * was passed; -1, said, when LISTEN_FDS is not one socket. */
static int activation_fd(int *fd) {
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  *fd = 0;
  if (pid == NULL || fds == NULL ||
      strtoll(pid, NULL, 10) != (long long)getpid()) {
    return 0;
  }
  bool one = strcmp(fds, "1") == 0;
  if (!one) {
    fprintf(stderr, "hcsd: LISTEN_FDS=%s: hcsd serves one socket\n", fds);
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  *fd = one ? 3 : 0;
  return one ? 0 : -1;
}

int main(int argc, char **argv) {
  cmdline_t cl = {.o = {.socket_path = "/run/hcsd.sock",
                        .state_dir = "/var/lib/hcsd",
                        .gid = -1,
                        .log_max = 1u << 20,
                        .client_timeout_ms = 60000},
                  .log_level = HCSD_LOG_INFO,
                  .threads = 0};
  int r = parse_args(argc, argv, &cl);
  if (r >= 0) {
    return r;
  }
  hcsd_options_t o = cl.o;
  if (activation_fd(&o.listen_fd) != 0) {
    return 1;
  }
  r = hcsd_log_setup(cl.log_level, cl.log_file);
  if (r != 0) {
    fprintf(stderr, "hcsd: --log-file %s: %s\n", cl.log_file, strerror(-r));
    return 1;
  }
  hcs_set_log_cb(lib_log, (hcs_log_level_t)cl.log_level, NULL);
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
  /* Loop 0 carries the model and the API; the others, the attached exec
   * streams moved to them (http/server.c). */
  hcs_options_t ho = {.state_dir = hcs_state, .threads = cl.threads};
  hcs_t *hcs = NULL;
  hcs_error_t *err = NULL;
  if (hcs_open(&hcs, &ho, &err) != HCS_OK) {
    hcsd_logl(HCSD_LOG_ERROR, "%s", hcs_error_message(err));
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
  if (o.listen_fd > 0) {
    hcsd_logl(HCSD_LOG_INFO,
              "serving the Docker API " HCSD_API_VERSION
              " on fd %d, the socket the service manager passed",
              o.listen_fd);
  } else {
    hcsd_logl(HCSD_LOG_INFO,
              "serving the Docker API " HCSD_API_VERSION " on %s",
              o.socket_path);
  }
  int sig = 0;
  /* SIGHUP is logrotate's "reopen your log", not a reason to stop. */
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    r = hcsd_log_reopen();
    if (r != 0) {
      hcsd_logl(HCSD_LOG_ERROR, "SIGHUP: reopening %s: %s", cl.log_file,
                strerror(-r));
    } else {
      hcsd_logl(HCSD_LOG_INFO, "SIGHUP: log reopened");
    }
  }
  hcsd_logl(HCSD_LOG_INFO, "signal %d: stopping", sig);
  if (as_loop_post(daemon_.loop, stop_fn, NULL) == 0) {
    wait_state(2);
  }
  hcsd_free(&daemon_);
  hcs_close(hcs);
  hcsd_logl(HCSD_LOG_INFO, "stopped");
  return 0;
}
