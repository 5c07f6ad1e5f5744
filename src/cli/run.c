/* hcs run: one process on the host, its stdio joined to ours. */
#include "cli.h"

#include <hcs.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct run_opts_s {
  int tty, interactive;
  const char *cwd;
  long timeout_ms;  /* -1: none */
  const char **env; /* NULL-terminated, environ plus -e */
  size_t nenv;
} run_opts_t;

static void run_usage(FILE *f) {
  fprintf(f, "usage: hcs run [-t] [-i] [-e K=V]... [-w DIR] [--timeout MS] -- "
             "CMD [ARGS...]\n"
             "\n"
             "  -t            run under a console (pty); its size follows "
             "yours\n"
             "  -i            pass stdin to the process\n"
             "  -e K=V        set an environment variable\n"
             "  -w DIR        working directory\n"
             "  --timeout MS  kill the process after MS milliseconds\n"
             "\n"
             "Exits with the process's exit code (128+n for signal n); 127 "
             "when CMD is\nnot found, 126 when it cannot be executed.\n");
}

/* Adds or replaces NAME=value in o->env. */
static int env_set(run_opts_t *o, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL || eq == kv) {
    fprintf(stderr, "hcs run: -e %s: expected NAME=value\n", kv);
    return -1;
  }
  size_t klen = (size_t)(eq - kv) + 1;
  for (size_t i = 0; i < o->nenv; i++) {
    if (strncmp(o->env[i], kv, klen) == 0) {
      o->env[i] = kv;
      return 0;
    }
  }
  const char **n = realloc(o->env, (o->nenv + 2) * sizeof(char *));
  if (n == NULL) {
    fprintf(stderr, "hcs run: out of memory\n");
    return -1;
  }
  o->env = n;
  o->env[o->nenv++] = kv;
  o->env[o->nenv] = NULL;
  return 0;
}

static int parse(int argc, char **argv, run_opts_t *o) {
  static const struct option longs[] = {{"timeout", required_argument, 0, 'T'},
                                        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
  o->timeout_ms = -1;
  for (char **e = environ; *e != NULL; e++) {
    if (env_set(o, *e) != 0) {
      continue; /* an environ entry without '=' is passed over */
    }
  }
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+tie:w:h", longs, NULL)) != -1) {
    switch (c) {
    case 't':
      o->tty = 1;
      break;
    case 'i':
      o->interactive = 1;
      break;
    case 'e':
      if (env_set(o, optarg) != 0) {
        return -1;
      }
      break;
    case 'w':
      o->cwd = optarg;
      break;
    case 'T': {
      char *end;
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno != 0 || *end != '\0' || v < 0 || v >= 0xFFFFFFFFL) {
        fprintf(stderr, "hcs run: --timeout %s: expected milliseconds\n",
                optarg);
        return -1;
      }
      o->timeout_ms = v;
      break;
    }
    case 'h':
      run_usage(stdout);
      exit(0);
    default:
      run_usage(stderr);
      return -1;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "hcs run: no command given\n");
    run_usage(stderr);
    return -1;
  }
  return optind;
}

typedef struct relay_s {
  int in_fd;     /* our stdin, or -1 when not passed or at EOF */
  int child_in;  /* the process's stdin, or -1 */
  int child_out; /* stdout (the console with -t), or -1 at EOF */
  int child_err; /* stderr, or -1 */
  int sigfd;
  char buf[65536];
  size_t pending, off; /* stdin bytes read, not yet written */
  int tty;
} relay_t;

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0) {
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Copies one chunk from fd to out; returns 0 at EOF (fd then closed). */
static int pump_out(int *fd, int out) {
  char buf[65536];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return 1;
  }
  if (n <= 0) { /* EOF, or EIO from a console whose last user left */
    close(*fd);
    *fd = -1;
    return 0;
  }
  if (write_all(out, buf, (size_t)n) != 0 && errno == EPIPE) {
    close(*fd);
    *fd = -1;
    return 0;
  }
  return 1;
}

static void stdin_eof(relay_t *r) {
  r->in_fd = -1;
  if (r->child_in < 0) {
    return;
  }
  if (r->tty) {
    /* A console's stdin cannot be closed: its EOF is ^D. */
    (void)write_all(r->child_in, "\x04", 1);
  }
  close(r->child_in);
  r->child_in = -1;
}

static void pump_in(relay_t *r, short in_ev, short child_ev) {
  if (r->pending == 0 && (in_ev & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(r->in_fd, r->buf, sizeof(r->buf));
    if (n > 0) {
      r->pending = (size_t)n;
      r->off = 0;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      stdin_eof(r);
      return;
    }
  }
  if (r->pending > 0 && (child_ev & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t w = write(r->child_in, r->buf + r->off, r->pending);
    if (w > 0) {
      r->off += (size_t)w;
      r->pending -= (size_t)w;
    } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
      close(r->child_in); /* the process closed its stdin */
      r->child_in = -1;
      r->in_fd = -1;
      r->pending = 0;
    }
  }
}

typedef struct run_ctx_s {
  hcs_t *hcs;
  const char *id;
  uint32_t pid;
  int tty_fd; /* our terminal, for sizes, or -1 */
} run_ctx_t;

static void forward_size(run_ctx_t *c) {
  struct winsize ws;
  if (c->tty_fd >= 0 && ioctl(c->tty_fd, TIOCGWINSZ, &ws) == 0 &&
      ws.ws_row > 0 && ws.ws_col > 0) {
    (void)hcs_ResizeConsoleInComputeSystem(c->hcs, c->id, c->pid, ws.ws_row,
                                           ws.ws_col, NULL);
  }
}

static void on_signal(run_ctx_t *c, relay_t *r) {
  struct signalfd_siginfo si;
  while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    if (si.ssi_signo == SIGWINCH) {
      forward_size(c);
    } else {
      (void)hcs_TerminateProcessInComputeSystem(c->hcs, c->id, c->pid, NULL);
    }
  }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Relays until both outputs reach EOF; kills at the deadline. */
static void relay(run_ctx_t *c, relay_t *r, long timeout_ms) {
  long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
  while (r->child_out >= 0 || r->child_err >= 0) {
    struct pollfd p[5];
    int n = 0, i_in = -1, i_cin = -1, i_out = -1, i_err = -1;
    p[n] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
    n++;
    if (r->in_fd >= 0 && r->pending == 0) {
      i_in = n;
      p[n++] = (struct pollfd){.fd = r->in_fd, .events = POLLIN};
    }
    if (r->child_in >= 0 && r->pending > 0) {
      i_cin = n;
      p[n++] = (struct pollfd){.fd = r->child_in, .events = POLLOUT};
    }
    if (r->child_out >= 0) {
      i_out = n;
      p[n++] = (struct pollfd){.fd = r->child_out, .events = POLLIN};
    }
    if (r->child_err >= 0) {
      i_err = n;
      p[n++] = (struct pollfd){.fd = r->child_err, .events = POLLIN};
    }
    int wait = -1;
    if (deadline >= 0) {
      long long left = deadline - now_ms();
      wait = left > 0 ? (int)left : 0;
    }
    int k = poll(p, (nfds_t)n, wait);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k == 0) {
      (void)hcs_TerminateProcessInComputeSystem(c->hcs, c->id, c->pid, NULL);
      deadline = -1;
      continue;
    }
    if (p[0].revents) {
      on_signal(c, r);
    }
    if ((i_in >= 0 && p[i_in].revents) || (i_cin >= 0 && p[i_cin].revents)) {
      pump_in(r, i_in >= 0 ? p[i_in].revents : 0,
              i_cin >= 0 ? p[i_cin].revents : 0);
    }
    if (i_out >= 0 && p[i_out].revents) {
      pump_out(&r->child_out, STDOUT_FILENO);
    }
    if (i_err >= 0 && p[i_err].revents) {
      pump_out(&r->child_err, STDERR_FILENO);
    }
  }
}

static int exec_failed(const char *cmd, int err) {
  fprintf(stderr, "hcs run: %s: %s\n", cmd, strerror(err));
  return err == ENOENT ? 127 : 126;
}

static int start(run_ctx_t *c, const run_opts_t *o, char **cmd, relay_t *r) {
  hcs_error_t *err = NULL;
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = (const char *const *)cmd;
  pp.environment = o->env;
  pp.working_directory = o->cwd;
  pp.emulate_console = o->tty;
  struct winsize ws;
  if (o->tty && c->tty_fd >= 0 && ioctl(c->tty_fd, TIOCGWINSZ, &ws) == 0) {
    pp.console_size[0] = ws.ws_row;
    pp.console_size[1] = ws.ws_col;
  }
  int fin = -1, fout = -1, ferr = -1;
  hcs_result_t res = hcs_CreateProcessInComputeSystem(
      c->hcs, c->id, o->interactive, true, !o->tty, &pp, &c->pid, &fin, &fout,
      &ferr, &err);
  if (res != HCS_OK) {
    fprintf(stderr, "hcs run: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return -1;
  }
  r->child_in = fin;
  r->child_out = fout;
  r->child_err = ferr;
  if (fin >= 0) {
    (void)fcntl(fin, F_SETFL, fcntl(fin, F_GETFL) | O_NONBLOCK);
  }
  return 0;
}

/* The signals the relay takes over: blocked in every thread (so before the
 * engine thread starts) and read from a signalfd. */
static void relay_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
  sigaddset(set, SIGWINCH);
}

static int run_session(hcs_t *hcs, const run_opts_t *o, char **cmd) {
  char id[64];
  snprintf(id, sizeof(id), "run-%d", (int)getpid());
  run_ctx_t c = {.hcs = hcs, .id = id, .tty_fd = -1};
  hcs_error_t *err = NULL;
  if (hcs_CreateComputeSystem(hcs, id,
                              "{\"SystemType\":\"Container\",\"IsDummy\":true}",
                              &err) != HCS_OK ||
      hcs_StartComputeSystem(hcs, id, &err) != HCS_OK) {
    fprintf(stderr, "hcs run: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 125;
  }
  if (o->tty) {
    c.tty_fd = isatty(STDIN_FILENO)    ? STDIN_FILENO
               : isatty(STDOUT_FILENO) ? STDOUT_FILENO
                                       : -1;
  }
  sigset_t set;
  relay_signals(&set);
  relay_t r = {.in_fd = o->interactive ? STDIN_FILENO : -1,
               .sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK),
               .tty = o->tty};
  struct termios saved;
  int raw = o->tty && o->interactive && isatty(STDIN_FILENO) &&
            tcgetattr(STDIN_FILENO, &saved) == 0;
  if (start(&c, o, cmd, &r) != 0) {
    return 125;
  }
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
  }
  relay(&c, &r, o->timeout_ms);
  if (raw) {
    (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
  }
  if (r.child_in >= 0) {
    close(r.child_in);
  }
  close(r.sigfd);
  hcs_process_result_t pr;
  if (hcs_WaitForProcessResult(hcs, id, c.pid, HCS_TIMEOUT_INFINITE, &pr,
                               &err) != HCS_OK) {
    fprintf(stderr, "hcs run: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 125;
  }
  if (pr.exit_code == HCS_WAIT_ERR_EXEC_FAILED) {
    return exec_failed(cmd[0], pr.exec_errno);
  }
  return pr.exit_code;
}

int cli_run(int argc, char **argv) {
  run_opts_t o;
  memset(&o, 0, sizeof(o));
  int first = parse(argc, argv, &o);
  if (first < 0) {
    free(o.env);
    return 125;
  }
  hcs_t *hcs;
  hcs_error_t *err = NULL;
  sigset_t set;
  relay_signals(&set);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (hcs_open(&hcs, NULL, &err) != HCS_OK) {
    fprintf(stderr, "hcs run: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    free(o.env);
    return 125;
  }
  int code = run_session(hcs, &o, argv + first);
  hcs_close(hcs);
  free(o.env);
  return code;
}
