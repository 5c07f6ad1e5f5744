/* SPDX-License-Identifier: MIT */
/* hcs exec: a process in a running compute system, its stdio joined to
 * ours; and the relay that `hcs run` shares. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

int cli_proc_opts_parse(int argc, char **argv, const char *prog,
                        bool with_params, void (*usage)(FILE *f),
                        cli_proc_opts_t *o) {
  static const struct option longs[] = {{"timeout", required_argument, 0, 'T'},
                                        {"help", no_argument, 0, 'h'},
                                        {"params", required_argument, 0, 'P'},
                                        {0, 0, 0, 0}};
  int c;
  optind = 0;
  while ((c = cli_getopt(argc, argv, prog, "+tie:w:h", longs)) != -1) {
    switch (c) {
    case 't':
      o->tty = true;
      break;
    case 'i':
      o->interactive = true;
      break;
    case 'e':
      if (cli_env_set(&o->sets, prog, optarg) != 0) {
        return -1;
      }
      break;
    case 'w':
      o->cwd = optarg;
      break;
    case 'T': {
      uint32_t ms;
      if (cli_parse_ms(prog, "--timeout", optarg, &ms) != 0) {
        return -1;
      }
      o->timeout_ms = (long)ms;
      break;
    }
    case 'P':
      if (with_params) {
        o->params = optarg;
        break;
      }
      fprintf(stderr, "%s: unknown option --params\n", prog);
      usage(stderr);
      return -1;
    case 'h':
      usage(stdout);
      return 1;
    default:
      usage(stderr);
      return -1;
    }
  }
  o->first = optind;
  return 0;
}

/* The relay: our stdin to the process (with -i), its stdout and stderr
 * to ours, until both reach EOF. */
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

/* The engine's drain bound for pumped output (hcs.h: drain_timeout_ms 0),
 * which the relay keeps too. */
enum { CLI_DRAIN_DEFAULT_MS = 2000 };

typedef struct run_ctx_s {
  hcs_t *hcs;
  const char *id;
  uint32_t pid;
  int tty_fd; /* our terminal, for sizes, or -1 */
  /* The waiter thread takes the result and says so on exit_pipe, so that
   * the relay knows when the drain after the exit begins. */
  pthread_t waiter;
  int exit_pipe[2];
  hcs_result_t wait_res;
  hcs_error_t *wait_err;
  hcs_process_result_t result;
  long drain_ms; /* how long output may stay open after the exit */
} run_ctx_t;

static void *waiter_main(void *arg) {
  run_ctx_t *c = arg;
  c->wait_res = hcs_WaitForProcessResult(
      c->hcs, c->id, c->pid, HCS_TIMEOUT_INFINITE, &c->result, &c->wait_err);
  /* The pipe's buffer holds the byte: the write cannot block. */
  ssize_t n;
  do {
    n = write(c->exit_pipe[1], "x", 1);
  } while (n < 0 && errno == EINTR);
  return NULL;
}

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

/* The next deadline of the two (-1: none). */
static long long first_of(long long a, long long b) {
  return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Relays until both outputs reach EOF, or until the drain bound after the
 * process's exit has passed (a descendant may hold them open: as the
 * engine's sessions, the relay then cuts them); kills at the deadline. */
static void relay(run_ctx_t *c, relay_t *r, long timeout_ms) {
  long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
  long long drain_end = -1;
  while (r->child_out >= 0 || r->child_err >= 0) {
    struct pollfd p[6];
    int n = 0, i_in = -1, i_cin = -1, i_out = -1, i_err = -1, i_exit = -1;
    p[n] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
    n++;
    if (drain_end < 0) {
      i_exit = n;
      p[n++] = (struct pollfd){.fd = c->exit_pipe[0], .events = POLLIN};
    }
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
    long long next = first_of(deadline, drain_end);
    if (next >= 0) {
      long long left = next - now_ms();
      wait = left > 0 ? (int)left : 0;
    }
    int k = poll(p, (nfds_t)n, wait);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k == 0 && drain_end >= 0 && now_ms() >= drain_end) {
      break;
    }
    if (k == 0) {
      if (drain_end < 0) {
        (void)hcs_TerminateProcessInComputeSystem(c->hcs, c->id, c->pid, NULL);
      }
      deadline = -1;
      continue;
    }
    if (p[0].revents) {
      on_signal(c, r);
    }
    if (i_exit >= 0 && p[i_exit].revents) {
      drain_end = now_ms() + c->drain_ms;
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

/* The name to blame when the program could not be started. */
static const char *program_name(const hcs_process_params_t *pp) {
  if (pp->application_name != NULL && pp->application_name[0] != '\0') {
    return pp->application_name;
  }
  if (pp->args != NULL && pp->args[0] != NULL) {
    return pp->args[0];
  }
  return pp->command_line != NULL ? pp->command_line : "";
}

static int start(run_ctx_t *c, const hcs_process_params_t *params,
                 bool interactive, relay_t *r, const char *prog) {
  hcs_process_params_t pp = *params;
  struct winsize ws;
  if (pp.emulate_console && pp.console_size[0] == 0 &&
      pp.console_size[1] == 0 && c->tty_fd >= 0 &&
      ioctl(c->tty_fd, TIOCGWINSZ, &ws) == 0) {
    pp.console_size[0] = ws.ws_row;
    pp.console_size[1] = ws.ws_col;
  }
  /* Its own process group: the timeout and our signals kill the tree. */
  pp.process_group = true;
  int fin = -1, fout = -1, ferr = -1;
  hcs_error_t *err = NULL;
  hcs_result_t res = hcs_CreateProcessInComputeSystem(
      c->hcs, c->id, interactive, true, !pp.emulate_console, &pp, &c->pid, &fin,
      &fout, &ferr, &err);
  if (res != HCS_OK) {
    cli_print_error(prog, err);
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

void cli_exec_block_signals(void) {
  sigset_t set;
  relay_signals(&set);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Closes what the relay still holds (a stream cut after the drain). */
static void relay_end(run_ctx_t *c, relay_t *r) {
  int *fds[] = {&r->child_in, &r->child_out,    &r->child_err,
                &r->sigfd,    &c->exit_pipe[0], &c->exit_pipe[1]};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
  }
}

int cli_exec_process(hcs_t *hcs, const char *id,
                     const hcs_process_params_t *params, bool interactive,
                     long timeout_ms, const char *prog) {
  bool tty = params->emulate_console;
  run_ctx_t c = {.hcs = hcs,
                 .id = id,
                 .tty_fd = -1,
                 .exit_pipe = {-1, -1},
                 .drain_ms = params->drain_timeout_ms != 0
                                 ? (long)params->drain_timeout_ms
                                 : CLI_DRAIN_DEFAULT_MS};
  if (tty) {
    c.tty_fd = isatty(STDIN_FILENO)    ? STDIN_FILENO
               : isatty(STDOUT_FILENO) ? STDOUT_FILENO
                                       : -1;
  }
  sigset_t set;
  relay_signals(&set);
  relay_t r = {.in_fd = interactive ? STDIN_FILENO : -1,
               .child_in = -1,
               .child_out = -1,
               .child_err = -1,
               .sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK),
               .tty = tty};
  if (r.sigfd < 0) {
    fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
    return CLI_EXEC_HCS_FAILED;
  }
  if (pipe2(c.exit_pipe, O_CLOEXEC) != 0) {
    fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
    close(r.sigfd);
    return CLI_EXEC_HCS_FAILED;
  }
  struct termios saved;
  int raw = tty && interactive && isatty(STDIN_FILENO) &&
            tcgetattr(STDIN_FILENO, &saved) == 0;
  if (start(&c, params, interactive, &r, prog) != 0) {
    relay_end(&c, &r);
    return CLI_EXEC_HCS_FAILED;
  }
  int e = pthread_create(&c.waiter, NULL, waiter_main, &c);
  if (e != 0) {
    fprintf(stderr, "%s: starting a thread: %s\n", prog, strerror(e));
    (void)hcs_TerminateProcessInComputeSystem(hcs, id, c.pid, NULL);
    (void)hcs_WaitForProcessResult(hcs, id, c.pid, HCS_TIMEOUT_INFINITE, NULL,
                                   NULL);
    relay_end(&c, &r);
    return CLI_EXEC_HCS_FAILED;
  }
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
  }
  relay(&c, &r, timeout_ms);
  if (raw) {
    (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
  }
  relay_end(&c, &r);
  pthread_join(c.waiter, NULL);
  if (c.wait_res != HCS_OK) {
    cli_print_error(prog, c.wait_err);
    return CLI_EXEC_HCS_FAILED;
  }
  const hcs_process_result_t pr = c.result;
  if (pr.exit_code == HCS_WAIT_ERR_EXIT_LOST) {
    fprintf(stderr, "%s: %s: exit status lost (reaped by another wait)\n", prog,
            program_name(params));
    return CLI_EXEC_HCS_FAILED;
  }
  if (pr.exit_code == HCS_WAIT_ERR_EXEC_FAILED) {
    /* 127 only when the program itself is missing, as shells and docker
     * say; a missing working directory is not a missing program. */
    if (pr.exec_stage == HCS_EXEC_STAGE_CWD) {
      fprintf(stderr, "%s: working directory %s: %s\n", prog,
              params->working_directory != NULL ? params->working_directory
                                                : "?",
              strerror(pr.exec_errno));
      return 126;
    }
    if (pr.exec_stage != HCS_EXEC_STAGE_PROGRAM) {
      fprintf(stderr, "%s: %s: cannot start (%s): %s\n", prog,
              program_name(params),
              pr.exec_stage == HCS_EXEC_STAGE_USER ? "user" : "setup",
              strerror(pr.exec_errno));
      return 126;
    }
    fprintf(stderr, "%s: %s: %s\n", prog, program_name(params),
            strerror(pr.exec_errno));
    return pr.exec_errno == ENOENT ? 127 : 126;
  }
  return pr.exit_code;
}

/* hcs exec itself. */

static void exec_usage(FILE *f) {
  fprintf(f, "usage: hcs exec [OPTIONS] ID [OPTIONS] [--] CMD [ARGS...]\n"
             "       hcs exec [-i] [--timeout MS] ID --params FILE\n"
             "\n"
             "Runs a process in running compute system ID "
             "(CreateProcessInComputeSystem)\n"
             "with its stdio joined to yours.\n"
             "\n"
             "  -t             run under a console (pty); its size follows "
             "yours\n"
             "  -i             pass stdin to the process\n"
             "  -e K=V         set an environment variable over the system's "
             "default\n"
             "                 environment (yours for a system without "
             "isolation; PATH,\n"
             "                 HOSTNAME and its Environment in a container)\n"
             "  -w DIR         working directory\n"
             "  --timeout MS   kill the process and its group after MS ms\n"
             "  --params FILE  CreateProcessParams JSON from FILE (- for "
             "stdin) instead\n"
             "                 of CMD, -t, -e and -w\n"
             "\n"
             "Exits with the process's exit code (128+n for signal n); 127 "
             "when CMD is\n"
             "not found, 126 when it cannot be executed, 125 when hcs fails or "
             "the\n"
             "command line is wrong.\n");
}

/* Docker's default PATH, which hcs gives a container's processes. */
static const char default_path[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* Sets NAME=value in env, the string kept alive in the array strs. */
static int keep_env(json_t *strs, cli_strv_t *env, const char *prog,
                    const char *name, const char *value) {
  size_t n = strlen(name) + strlen(value) + 2;
  char *kv = malloc(n);
  json_t *s = NULL;
  if (kv != NULL) {
    snprintf(kv, n, "%s=%s", name, value);
    s = json_string(kv);
    free(kv);
  }
  if (s == NULL || json_array_append_new(strs, s) != 0) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return -1;
  }
  return cli_env_set(env, prog, json_string_value(s));
}

/* The environment -e applies over: the one the process would get without
 * it. Strings are borrowed from environ or from *doc (the caller
 * decrefs it). */
static int base_env(hcs_t *hcs, const char *id, const char *prog,
                    cli_strv_t *env, json_t **doc) {
  char *text = NULL;
  hcs_error_t *err = NULL;
  if (hcs_InspectComputeSystem(hcs, id, &text, &err) != HCS_OK) {
    cli_print_error(prog, err);
    return -1;
  }
  *doc = json_loads(text, 0, NULL);
  hcs_free(text);
  if (*doc == NULL) {
    fprintf(stderr, "%s: the description of %s is not JSON\n", prog, id);
    return -1;
  }
  json_t *cfg = json_object_get(*doc, "Configuration");
  if (json_is_true(json_object_get(*doc, "IsDummy"))) {
    for (char **e = environ; *e != NULL; e++) {
      if ((*e)[0] != '=' && strchr(*e, '=') != NULL &&
          cli_env_set(env, prog, *e) != 0) {
        return -1;
      }
    }
    return 0;
  }
  /* A container's default environment (hcs.h): PATH, HOSTNAME, then the
   * configuration's Environment over them. hcs_process_params_t can only
   * replace it, so it is rebuilt here; the strings are kept in *doc. */
  json_t *strs = json_array();
  if (json_object_set_new(*doc, "cli-env", strs) != 0) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return -1;
  }
  json_t *host = json_object_get(cfg, "HostName");
  if (keep_env(strs, env, prog, "PATH", default_path) != 0 ||
      keep_env(strs, env, prog, "HOSTNAME",
               json_is_string(host) ? json_string_value(host) : id) != 0) {
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(cfg, "Environment"), k, v) {
    if (json_is_string(v) &&
        keep_env(strs, env, prog, k, json_string_value(v)) != 0) {
      return -1;
    }
  }
  return 0;
}

/* Parses the command line: options may come before and after ID. */
static int exec_parse(int argc, char **argv, cli_proc_opts_t *o,
                      const char **id) {
  static const char prog[] = "hcs exec";
  int r = cli_proc_opts_parse(argc, argv, prog, true, exec_usage, o);
  if (r != 0) {
    return r;
  }
  if (o->first >= argc) {
    fprintf(stderr, "%s: no compute system id given\n", prog);
    exec_usage(stderr);
    return -1;
  }
  int at = o->first;
  *id = argv[at];
  /* argv[at] stands for the program name of the second round. */
  r = cli_proc_opts_parse(argc - at, argv + at, prog, true, exec_usage, o);
  if (r != 0) {
    return r;
  }
  o->first += at;
  if (o->params != NULL &&
      (o->first < argc || o->tty || o->sets.n > 0 || o->cwd != NULL)) {
    fprintf(stderr, "%s: --params FILE replaces CMD, -t, -e and -w\n", prog);
    return -1;
  }
  if (o->params == NULL && o->first >= argc) {
    fprintf(stderr, "%s: no command given\n", prog);
    exec_usage(stderr);
    return -1;
  }
  return 0;
}

static int exec_with(hcs_t *hcs, const char *id, cli_proc_opts_t *o,
                     char **cmd) {
  static const char prog[] = "hcs exec";
  if (o->params != NULL) {
    char *text = cli_read_text(prog, o->params);
    hcs_process_params_t *pp = NULL;
    hcs_error_t *err = NULL;
    if (text == NULL) {
      return CLI_EXEC_HCS_FAILED;
    }
    hcs_result_t res = hcs_process_params_from_json(text, &pp, &err);
    free(text);
    if (res != HCS_OK) {
      cli_print_error(prog, err);
      return CLI_EXEC_HCS_FAILED;
    }
    int code =
        cli_exec_process(hcs, id, pp, o->interactive, o->timeout_ms, prog);
    hcs_process_params_free(pp);
    return code;
  }
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = (const char *const *)cmd;
  pp.working_directory = o->cwd;
  pp.emulate_console = o->tty;
  cli_strv_t env = {0};
  json_t *doc = NULL;
  int code = CLI_EXEC_HCS_FAILED;
  if (o->sets.n > 0) {
    if (base_env(hcs, id, prog, &env, &doc) != 0) {
      goto out;
    }
    for (size_t i = 0; i < o->sets.n; i++) {
      if (cli_env_set(&env, prog, o->sets.v[i]) != 0) {
        goto out;
      }
    }
    pp.environment = env.v;
  }
  code = cli_exec_process(hcs, id, &pp, o->interactive, o->timeout_ms, prog);
out:
  json_decref(doc);
  cli_strv_free(&env);
  return code;
}

int cli_exec(const cli_ctx_t *ctx, int argc, char **argv) {
  cli_proc_opts_t o;
  memset(&o, 0, sizeof(o));
  o.timeout_ms = -1;
  const char *id = NULL;
  int r = exec_parse(argc, argv, &o, &id);
  if (r != 0) {
    cli_strv_free(&o.sets);
    return r > 0 ? CLI_OK : CLI_EXEC_HCS_FAILED;
  }
  cli_exec_block_signals();
  hcs_t *hcs;
  int code = CLI_EXEC_HCS_FAILED;
  if (cli_open(ctx, "hcs exec", &hcs) == 0) {
    code = exec_with(hcs, id, &o, argv + o.first);
    hcs_close(hcs);
  }
  cli_strv_free(&o.sets);
  return code;
}
