/* SPDX-License-Identifier: MIT */
/* The keeper (see oci.h): the host process that holds the container's
 * service; the shim waits for the container's init, its sibling. It runs
 * the OCI process as a libhcs session in the compute system; the
 * session's calls are made on the engine thread (as_loop_post), and the
 * keeper's main thread waits in poll() on its signals (a signalfd), the
 * engine's events (a pipe) and the stdin it relays. */
#include "oci.h"

#include <hcs-async.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
  STOP_MS = 10000, /* the system's terminate after its process ended */
  EXECS_MS = 2000, /* exec'd processes' waiters gone, after it ended */
  IN_BUF = 65536,
};

typedef struct keeper_s keeper_t;
/* What comes on the control fd: the keeper's signals, or an exec
 * client's messages. -1: stop watching it. */
typedef int (*ctl_fn)(keeper_t *k, int fd);

struct keeper_s {
  const oci_keeper_opts_t *o;
  const oci_process_t *proc;
  const char *id;
  ctl_fn on_ctl;
  hcs_t *hcs;
  as_loop_t *loop;
  hcs_session_t *s; /* engine thread only */
  int ev[2];        /* engine -> main: 's' started, 'w' written, 'd' done */
  int out_fd, err_fd, in_fd; /* where the process's stdio goes */
  int tty;                   /* the console's slave end, or -1 */
  hcs_result_t start_res;
  hcs_error_t *start_err;
  hcs_process_result_t result;
  bool is_main; /* the OCI process's, not an exec client's */
  char in_buf[IN_BUF];
  bool in_busy; /* in_buf lent to the engine */
  /* The main keeper's exec server: its socket and the clients whose
   * sessions are still the service's (hcs_close waits for them). */
  int srv_fd;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int clients;
  bool ending; /* the OCI process ended: no new exec client */
};

typedef struct post_s {
  keeper_t *k;
  int sig;
  size_t len;
  uint16_t rows, cols;
  int what; /* 'k' kill, 'w' write, 'c' close stdin, 'r' resize, 'u' unref */
} post_t;

static void event(keeper_t *k, char c) {
  ssize_t n;
  do {
    n = write(k->ev[1], &c, 1);
  } while (n < 0 && errno == EINTR);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return; /* the reader went away: its output is dropped */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void on_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  (void)s;
  keeper_t *k = data;
  if (len > 0) {
    write_all(stream == HCS_STDERR ? k->err_fd : k->out_fd, buf, len);
  }
}

/* The OCI process exited: the main thread ends the container's other
 * processes now, as pid 1's exit does under runc; their pipes close, so
 * its output is complete without the drain timeout. */
static void on_proc_exit(hcs_session_t *s, const hcs_process_result_t *r,
                         void *data) {
  (void)s;
  (void)r;
  event(data, 'x');
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *r,
                    void *data) {
  (void)s;
  keeper_t *k = data;
  k->result = *r;
  event(k, 'd');
}

static void start_cb(as_loop_t *loop, void *data) {
  (void)loop;
  keeper_t *k = data;
  const oci_process_t *p = k->proc;
  hcs_process_params_t pp = {
      .size = sizeof(pp),
      .args = (const char *const *)p->args,
      .environment = (const char *const *)p->env,
      .working_directory = p->cwd,
      .user = p->user,
      .emulate_console = p->terminal,
  };
  if (p->terminal) {
    struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
    if (k->tty >= 0) {
      (void)ioctl(k->tty, TIOCGWINSZ, &ws);
    }
    pp.console_size[0] = ws.ws_row;
    pp.console_size[1] = ws.ws_col;
  }
  hcs_session_in_t in = {
      .size = sizeof(in),
      .use_stdin = true,
      .use_stdout = true,
      .use_stderr = !p->terminal,
      .cb = {.data = on_data,
             .exit = k->is_main ? on_proc_exit : NULL,
             .done = on_done},
      .data = k,
  };
  k->start_res =
      hcs_session_start_in(k->hcs, k->id, &pp, &in, &k->s, &k->start_err);
  event(k, 's');
}

static void write_cb(hcs_session_t *s, int status, void *data) {
  (void)s;
  (void)status;
  event(data, 'w');
}

static void post_cb(as_loop_t *loop, void *data) {
  (void)loop;
  post_t *p = data;
  keeper_t *k = p->k;
  if (k->s == NULL) {
    if (p->what == 'w') {
      event(k, 'w');
    }
  } else if (p->what == 'k') {
    (void)hcs_session_kill(k->s, p->sig);
  } else if (p->what == 'w') {
    if (hcs_session_write(k->s, k->in_buf, p->len, write_cb, k) != 0) {
      event(k, 'w');
    }
  } else if (p->what == 'c') {
    (void)hcs_session_close_stdin(k->s);
  } else if (p->what == 'r') {
    (void)hcs_session_resize(k->s, p->rows, p->cols);
  } else if (p->what == 'u') {
    hcs_session_unref(k->s);
    k->s = NULL;
    event(k, 'u');
  }
  free(p);
}

static void post(keeper_t *k, int what, int sig, size_t len) {
  post_t *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return;
  }
  *p = (post_t){.k = k, .what = what, .sig = sig, .len = len};
  if (what == 'r' && k->tty >= 0) {
    struct winsize ws;
    if (ioctl(k->tty, TIOCGWINSZ, &ws) != 0) {
      free(p);
      return;
    }
    p->rows = ws.ws_row;
    p->cols = ws.ws_col;
  }
  if (as_loop_post(k->loop, post_cb, p) != 0) {
    free(p);
  }
}

/* The signals a keeper or an exec waiter takes (blocked in every
 * thread, read from a signalfd): all but those a fault raises, the
 * unstoppable two, and SIGCHLD/SIGPIPE, which they never forward. */
void oci_forward_sigset(sigset_t *set) {
  sigfillset(set);
  static const int keep[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,  SIGFPE, SIGILL,
                             SIGTRAP, SIGSYS,  SIGABRT, SIGPIPE, SIGCHLD};
  for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
    sigdelset(set, keep[i]);
  }
}

/* The signal a signalfd read says, as the container's signal: `kill`
 * sends OCI_KILL_SIGNAL carrying it, anyone else sends it directly. */
static int container_signal(const struct signalfd_siginfo *si) {
  if ((int)si->ssi_signo == OCI_KILL_SIGNAL) {
    return si->ssi_int;
  }
  return (int)si->ssi_signo;
}

static void report(int ready, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(int ready, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  write_all(ready, "E", 1);
  write_all(ready, msg,
            n > 0 ? (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1 : 0);
}

/* Makes and starts the system (create); -1 after report(). */
static int make_system(keeper_t *k, int ready) {
  hcs_error_t *err = NULL;
  const char *id = k->o->id;
  /* init is the keeper's sibling: its parent is create's process and,
   * once that exits, the shim, which reaps it and takes its status as the
   * container's; so are its cgroup and namespaces what /proc/<state pid>
   * shows. The keeper stays out of the container's group. */
  json_t *cfg = json_loads(k->o->spec->system_json, 0, NULL);
  char *text =
      cfg != NULL && json_object_set_new(cfg, "InitSibling", json_true()) == 0
          ? json_dumps(cfg, JSON_COMPACT)
          : NULL;
  json_decref(cfg);
  if (text == NULL) {
    report(ready, "creating the container: its configuration");
    return -1;
  }
  hcs_result_t cr = hcs_CreateComputeSystem(k->hcs, id, text, &err);
  free(text);
  if (cr != HCS_OK) {
    report(ready, "creating the container: %s", hcs_error_message(err));
    hcs_error_free(err);
    return -1;
  }
  char why[600] = "";
  /* init, cloned from the keeper's memory, would show create's command
   * line (docker top lists it): "hcs-init ID" instead, while it is. The
   * options' strings are that memory: nothing reads them meanwhile. */
  char title[160], sid[sizeof(title)];
  snprintf(sid, sizeof(sid), "%s", id);
  snprintf(title, sizeof(title), "hcs-init %s", id);
  char *old = oci_title_set(title);
  hcs_result_t sr = hcs_StartComputeSystem(k->hcs, sid, &err);
  oci_title_restore(old);
  if (sr != HCS_OK) {
    report(ready, "starting the container: %s", hcs_error_message(err));
    hcs_error_free(err);
  } else if (oci_late_setup(k->o->g, id, &k->o->spec->late, why, sizeof(why)) !=
             0) {
    report(ready, "%s", why);
    (void)hcs_TerminateComputeSystem(k->hcs, id, STOP_MS, NULL, NULL);
  } else {
    return 0;
  }
  (void)hcs_DeleteComputeSystem(k->hcs, id, NULL);
  return -1;
}

/* --console-socket: a pty whose master goes to the socket (as runc sends
 * it, SCM_RIGHTS); the caller keeps the slave, raw, as its controlling
 * terminal (after setsid), so that a resize of the master reaches it as
 * SIGWINCH. The process's own console is hcs's, relayed through this
 * one. */
int oci_console_make(const char *path, int *slave, char *why, size_t wn) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64] = "";
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 ||
      ptsname_r(m, name, sizeof(name)) != 0 ||
      (*slave = open(name, O_RDWR | O_CLOEXEC)) < 0) {
    snprintf(why, wn, "console %s: %s", name, strerror(errno));
    if (m >= 0) {
      close(m);
    }
    return -1;
  }
  struct termios t;
  if (tcgetattr(*slave, &t) == 0) {
    cfmakeraw(&t);
    (void)tcsetattr(*slave, TCSANOW, &t);
  }
  (void)ioctl(*slave, TIOCSCTTY, 0);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf,
                       .msg_controllen = sizeof(cbuf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &m, sizeof(int));
  int r = sock >= 0 && connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                  sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0
              ? 0
              : -errno;
  if (sock >= 0) {
    close(sock);
  }
  close(m);
  if (r != 0) {
    snprintf(why, wn, "--console-socket %s: %s", path, strerror(-r));
    close(*slave);
    return -1;
  }
  return 0;
}

/* As runc's init moves its stdio to the console: whoever ran create
 * (go-runc) reads its output to EOF before it goes on. */
void oci_stdio_to_null(void) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; null >= 0 && fd < 3; fd++) {
    (void)dup2(null, fd);
  }
  if (null >= 0) {
    close(null);
  }
}

void oci_close_inherited(int keep) {
  if (keep > 3) {
    (void)syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u);
  }
  (void)syscall(SYS_close_range, keep >= 3 ? (unsigned)keep + 1 : 3u, ~0u, 0u);
}

static int console_open(keeper_t *k, int ready) {
  char why[600];
  if (oci_console_make(k->o->console_socket, &k->tty, why, sizeof(why))) {
    report(ready, "%s", why);
    return -1;
  }
  k->in_fd = k->out_fd = k->err_fd = k->tty;
  oci_stdio_to_null();
  return 0;
}

/* Waits for `start` (a byte in the fifo). Returns 0, or the exit status
 * when a signal ended the container first. */
static int wait_start(int fifo, int sigfd) {
  for (;;) {
    struct pollfd p[2] = {{.fd = fifo, .events = POLLIN},
                          {.fd = sigfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      continue;
    }
    char c;
    if (p[0].revents && read(fifo, &c, 1) == 1) {
      close(fifo);
      return 0;
    }
    struct signalfd_siginfo si;
    if (p[1].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
      int sig = container_signal(&si);
      if (sig > 0 && sig != SIGCONT && sig != SIGWINCH && sig != SIGURG &&
          sig != SIGCHLD) {
        close(fifo);
        return 128 + sig;
      }
    }
  }
}

static int on_signal(keeper_t *k, int sigfd) {
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    int sig = container_signal(&si);
    if ((int)si.ssi_signo == SIGWINCH && k->tty >= 0) {
      post(k, 'r', 0, 0);
    } else if (sig > 0 && sig < _NSIG) {
      post(k, 'k', sig, 0);
    }
  }
  return 0;
}

static void on_stdin(keeper_t *k) {
  ssize_t n = read(k->in_fd, k->in_buf, sizeof(k->in_buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n <= 0) {
    post(k, 'c', 0, 0);
    k->in_fd = -1;
    return;
  }
  k->in_busy = true;
  post(k, 'w', 0, (size_t)n);
}

static void end_others(keeper_t *k);

/* Relays until the session is done. */
static void relay(keeper_t *k, int ctl) {
  for (bool done = false; !done;) {
    struct pollfd p[3] = {{.fd = ctl, .events = POLLIN},
                          {.fd = k->ev[0], .events = POLLIN},
                          {.fd = -1}};
    if (k->in_fd >= 0 && !k->in_busy) {
      p[2] = (struct pollfd){.fd = k->in_fd, .events = POLLIN};
    }
    if (poll(p, 3, -1) < 0) {
      continue;
    }
    if (p[0].revents && k->on_ctl(k, ctl) < 0) {
      ctl = -1;
    }
    char c;
    if (p[1].revents && read(k->ev[0], &c, 1) == 1) {
      k->in_busy = c == 'w' ? false : k->in_busy;
      done = c == 'd';
      if (c == 'x') {
        end_others(k);
      }
    }
    if (p[2].revents) {
      on_stdin(k);
    }
  }
}

static char wait_event(keeper_t *k, char want) {
  char c = 0;
  while (c != want) {
    ssize_t n = read(k->ev[0], &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
  }
  return c;
}

/* The status the keeper exits with: the process's, as a shell gives it. */
static int exit_status(keeper_t *k) {
  const hcs_process_result_t *r = &k->result;
  const char *prog = k->proc->args[0];
  if (r->exit_code == HCS_WAIT_ERR_EXEC_FAILED) {
    dprintf(k->err_fd, "hcs-runc: exec %s: %s\n", prog,
            strerror(r->exec_errno));
    return r->exec_errno == ENOENT && r->exec_stage == HCS_EXEC_STAGE_PROGRAM
               ? 127
               : 126;
  }
  return r->exit_code >= 0 && r->exit_code <= 255 ? r->exit_code : 255;
}

/* Starts the session; 0, or -1 after saying why on its stderr. */
static int start_session(keeper_t *k) {
  if (as_loop_post(k->loop, start_cb, k) != 0 || wait_event(k, 's') != 's') {
    return -1;
  }
  if (k->start_res != HCS_OK) {
    dprintf(k->err_fd, "hcs-runc: starting %s: %s\n", k->proc->args[0],
            hcs_error_message(k->start_err));
    oci_hcs_error(k->o->g, "starting the process", k->start_err);
    k->start_err = NULL;
    return -1;
  }
  return 0;
}

/* Relays until done; drops the session; the exit status. */
static int finish_session(keeper_t *k, int ctl) {
  relay(k, ctl);
  post(k, 'u', 0, 0);
  wait_event(k, 'u');
  return exit_status(k);
}

/* The exec server: `hcs-runc exec` (exec.c) hands the main keeper a
 * process and its stdio over ROOT/ID/exec.sock (SOCK_SEQPACKET): the
 * process JSON with three fds (SCM_RIGHTS). The keeper starts it as
 * another session of its service (no new service, no reattach) and
 * answers "S" (or "E" and why), then "X" and the exit status; the client
 * sends "k" and a signal, or "r" for a resize of its console. A client
 * that goes away takes its process with it (SIGKILL). Each client has a
 * thread of its own; they all end with the keeper. */
typedef struct exec_srv_s {
  keeper_t *main;
  int fd;
} exec_srv_t;

static int on_client(keeper_t *k, int conn) {
  char msg[8];
  ssize_t n = recv(conn, msg, sizeof(msg), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return 0;
  }
  if (n <= 0) {
    post(k, 'k', SIGKILL, 0);
    return -1;
  }
  int sig = 0;
  if (msg[0] == 'k' && n == 1 + (ssize_t)sizeof(int)) {
    memcpy(&sig, msg + 1, sizeof(int));
    post(k, 'k', sig, 0);
  } else if (msg[0] == 'r') {
    post(k, 'r', 0, 0);
  }
  return 0;
}

/* The client's first message: the process and its fds. */
static int recv_process(int conn, oci_process_t *p, int fds[3], char *why,
                        size_t wn) {
  char *buf = malloc(IN_BUF);
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = IN_BUF - 1};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cbuf,
                     .msg_controllen = sizeof(cbuf)};
  ssize_t n = buf != NULL ? recvmsg(conn, &m, MSG_CMSG_CLOEXEC) : -1;
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (c == NULL || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(3 * sizeof(int))) {
    free(buf);
    snprintf(why, wn, "exec: no process and stdio from the client");
    return -1;
  }
  memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
  buf[n] = '\0';
  json_t *o = json_loads(buf, 0, NULL);
  free(buf);
  int r = oci_process_parse(o, "process", p, why, wn);
  json_decref(o);
  if (r != 0) {
    for (int i = 0; i < 3; i++) {
      close(fds[i]);
    }
  }
  return r;
}

/* Counts a client in, unless the container is ending. */
static bool client_add(keeper_t *m) {
  pthread_mutex_lock(&m->mu);
  bool ok = !m->ending;
  m->clients += ok ? 1 : 0;
  pthread_mutex_unlock(&m->mu);
  return ok;
}

/* Counts a client out once its waiter has hung up (it exits on "X"), so
 * that the shim has its exit before init's, as under runc, whose pid 1
 * ends only after the rest of its namespace. */
static void client_gone(keeper_t *m, int conn, int fds[3], oci_process_t *p) {
  struct pollfd pf = {.fd = conn, .events = POLLIN};
  char b[8];
  while (poll(&pf, 1, EXECS_MS) > 0 && recv(conn, b, sizeof(b), 0) > 0) {
  }
  for (int i = 0; i < 3; i++) {
    close(fds[i]);
  }
  oci_process_free(p);
  pthread_mutex_lock(&m->mu);
  m->clients--;
  pthread_cond_signal(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

static void *client_main(void *arg) {
  exec_srv_t *c = arg;
  keeper_t *m = c->main;
  keeper_t k = {.o = m->o,
                .hcs = m->hcs,
                .loop = m->loop,
                .id = m->id,
                .on_ctl = on_client,
                .tty = -1};
  oci_process_t p;
  int fds[3];
  char why[1024];
  if (recv_process(c->fd, &p, fds, why, sizeof(why)) != 0) {
    (void)send(c->fd, why, strlen(why), MSG_NOSIGNAL);
  } else if (!client_add(m)) {
    (void)send(c->fd, "Ethe container is stopping", 26, MSG_NOSIGNAL);
    for (int i = 0; i < 3; i++) {
      close(fds[i]);
    }
    oci_process_free(&p);
  } else if (pipe2(k.ev, O_CLOEXEC) != 0) {
    client_gone(m, c->fd, fds, &p);
  } else {
    k.proc = &p;
    k.in_fd = fds[0];
    k.out_fd = fds[1];
    k.err_fd = fds[2];
    k.tty = p.terminal ? fds[0] : -1;
    if (start_session(&k) != 0) {
      (void)send(c->fd, "Enot started", 12, MSG_NOSIGNAL);
    } else {
      (void)send(c->fd, "S", 1, MSG_NOSIGNAL);
      char x[1 + sizeof(int)] = "X";
      int status = finish_session(&k, c->fd);
      memcpy(x + 1, &status, sizeof(int));
      (void)send(c->fd, x, sizeof(x), MSG_NOSIGNAL);
    }
    close(k.ev[0]);
    close(k.ev[1]);
    client_gone(m, c->fd, fds, &p);
  }
  close(c->fd);
  free(c);
  return NULL;
}

static void *server_main(void *arg) {
  exec_srv_t *srv = arg;
  for (;;) {
    int conn = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0 && errno != EINTR && errno != ECONNABORTED &&
        errno != EMFILE && errno != ENFILE && errno != ENOMEM) {
      return NULL; /* shut down: the keeper is ending */
    }
    exec_srv_t *c = conn >= 0 ? malloc(sizeof(*c)) : NULL;
    pthread_t t;
    if (c == NULL) {
      if (conn >= 0) {
        close(conn);
      }
      continue;
    }
    *c = (exec_srv_t){.main = srv->main, .fd = conn};
    if (pthread_create(&t, NULL, client_main, c) != 0) {
      close(conn);
      free(c);
    } else {
      pthread_detach(t);
    }
  }
  return NULL;
}

/* Listens on ROOT/ID/exec.sock for the main process's keeper; without it
 * exec finds the container not running. */
static void exec_server_start(keeper_t *k) {
  static exec_srv_t srv; /* the one server of this keeper process */
  struct sockaddr_un sa;
  int dirfd;
  if (oci_sock_addr(k->o->g, k->id, &sa, &dirfd) != 0) {
    return;
  }
  (void)unlinkat(dirfd, "exec.sock", 0);
  srv = (exec_srv_t){.main = k,
                     .fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
  pthread_t t;
  int bad = srv.fd < 0 ||
            bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            listen(srv.fd, 64) != 0 ||
            pthread_create(&t, NULL, server_main, &srv) != 0;
  int e = errno;
  close(dirfd);
  if (bad) {
    oci_error(k->o->g, "exec.sock: %s", strerror(e));
    return;
  }
  k->srv_fd = srv.fd;
  pthread_detach(t);
}

/* Waits up to ms for the exec clients to be gone. */
static void wait_clients(keeper_t *k, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&k->mu);
  while (k->clients > 0 &&
         pthread_cond_timedwait(&k->cv, &k->mu, &until) == 0) {
  }
  pthread_mutex_unlock(&k->mu);
}

/* No new client, and the sessions of those there are over (the system
 * was terminated, so their processes are gone): then hcs_close may run. */
static void exec_server_stop(keeper_t *k) {
  if (k->srv_fd < 0) {
    return;
  }
  (void)shutdown(k->srv_fd, SHUT_RDWR);
  wait_clients(k, STOP_MS);
}

/* The state a hook of this container reads. */
static char *hook_state(keeper_t *k, const char *status) {
  pid_t pid = 0;
  unsigned long long start;
  (void)oci_init_read(k->o->g, k->id, &pid, &start);
  return oci_hook_state(k->id, status, pid, k->o->bundle,
                        k->o->spec->annotations);
}

/* Runs the hooks of kind, in the container's namespaces when in_ct; 0, or
 * -1 with why. */
static int hooks(keeper_t *k, const char *kind, const char *status, bool in_ct,
                 char *why, size_t wn) {
  json_t *h = k->o->spec->hooks;
  if (!oci_hooks_any(h, kind)) {
    return 0;
  }
  char *state = hook_state(k, status);
  int pidfd = in_ct ? oci_init_pidfd(k->o->g, k->id) : -1;
  int r = -1;
  if (state == NULL) {
    snprintf(why, wn, "hooks.%s: out of memory", kind);
  } else if (in_ct && pidfd < 0) {
    snprintf(why, wn, "hooks.%s: the container's init is not found", kind);
  } else {
    r = oci_hooks_run(h, kind, state, pidfd, why, wn);
  }
  if (pidfd >= 0) {
    close(pidfd);
  }
  free(state);
  return r;
}

/* The hooks of create, once the system runs (prestart, createRuntime in
 * ours, createContainer in its namespaces); -1 after report(). */
static int create_hooks(keeper_t *k, int ready) {
  char why[700];
  if (hooks(k, "prestart", "created", false, why, sizeof(why)) != 0 ||
      hooks(k, "createRuntime", "created", false, why, sizeof(why)) != 0 ||
      hooks(k, "createContainer", "created", true, why, sizeof(why)) != 0) {
    report(ready, "%s", why);
    (void)hcs_TerminateComputeSystem(k->hcs, k->id, STOP_MS, NULL, NULL);
    (void)hcs_DeleteComputeSystem(k->hcs, k->id, NULL);
    return -1;
  }
  return 0;
}

/* Tells a waiting `start` how it went: "0", or "E" and why. */
static void start_answer(keeper_t *k, const char *why) {
  if (k->o->start_ack == NULL) {
    return;
  }
  int fd = open(k->o->start_ack, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    if (why != NULL) {
      write_all(fd, "E", 1);
      write_all(fd, why, strlen(why));
    } else {
      write_all(fd, "0", 1);
    }
    close(fd);
  }
}

/* startContainer hooks (their failure fails start and the container),
 * the process, then poststart hooks (their failure is a warning), all
 * before `start` returns. */
static int run_process(keeper_t *k, int sigfd) {
  char why[700];
  if (hooks(k, "startContainer", "created", true, why, sizeof(why)) != 0) {
    oci_error(k->o->g, "%s", why);
    start_answer(k, why);
    return 255;
  }
  if (start_session(k) != 0) {
    start_answer(k, "the process did not start");
    return 255;
  }
  if (hooks(k, "poststart", "running", false, why, sizeof(why)) != 0) {
    oci_warn(k->o->g, why);
  }
  start_answer(k, NULL);
  return finish_session(k, sigfd);
}

/* Queues HCS_INIT_EXIT_SIGNAL with value to the container's init; its
 * pidfd, or -1 when it is gone or the signal failed. */
static int init_queue(keeper_t *k, int value) {
  int fd = oci_init_pidfd(k->o->g, k->id);
  siginfo_t si = {.si_signo = HCS_INIT_EXIT_SIGNAL, .si_code = SI_QUEUE};
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = value;
  if (fd >= 0 &&
      syscall(SYS_pidfd_send_signal, fd, HCS_INIT_EXIT_SIGNAL, &si, 0) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* The OCI process ended: no exec starts any more, and init kills every
 * other process of the container (exec'd ones, daemons) but stays, so
 * that the exec clients can report their ends before init's. */
static void end_others(keeper_t *k) {
  pthread_mutex_lock(&k->mu);
  bool was = k->ending;
  k->ending = true;
  pthread_mutex_unlock(&k->mu);
  int fd = was ? -1 : init_queue(k, HCS_INIT_KILL_ONLY);
  if (fd >= 0) {
    close(fd);
  }
}

/* Ends the container's init with status (HCS_INIT_EXIT_SIGNAL: init
 * kills what is left and exits with it) and waits for it to be gone, so
 * that the terminate after cannot kill it first. */
static void init_exit(keeper_t *k, int status) {
  int fd = init_queue(k, status);
  if (fd < 0) {
    return; /* gone already: its own status stands */
  }
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, STOP_MS) < 0 && errno == EINTR) {
  }
  close(fd);
}

static int keeper_main(const oci_keeper_opts_t *o, int ready) {
  keeper_t k = {.o = o,
                .proc = o->proc,
                .id = o->id,
                .is_main = true,
                .on_ctl = on_signal,
                .out_fd = 1,
                .err_fd = 2,
                .in_fd = 0,
                .tty = -1,
                .srv_fd = -1,
                .mu = PTHREAD_MUTEX_INITIALIZER,
                .cv = PTHREAD_COND_INITIALIZER};
  (void)setsid();
  sigset_t set;
  oci_forward_sigset(&set);
  sigaddset(&set, OCI_KILL_SIGNAL);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0 || pipe2(k.ev, O_CLOEXEC) != 0) {
    report(ready, "keeper: %s", strerror(errno));
    return 1;
  }
  if (o->console_socket != NULL && console_open(&k, ready) != 0) {
    return 1;
  }
  hcs_error_t *err = NULL;
  char dir[PATH_MAX];
  oci_hcs_dir(o->g, o->id, dir, sizeof(dir));
  hcs_options_t ho = {.size = sizeof(ho),
                      .state_dir = dir,
                      .threads = 1,
                      .state_per_boot = true};
  if (hcs_open(&k.hcs, &ho, &err) != HCS_OK) {
    report(ready, "opening hcs: %s", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  k.loop = hcs_engine_loop(k.hcs);
  if (make_system(&k, ready) != 0 || create_hooks(&k, ready) != 0) {
    hcs_close(k.hcs);
    return 1;
  }
  /* Open before create returns: start finds a reader, or no keeper. */
  int fifo = open(o->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0) {
    report(ready, "%s: %s", o->fifo, strerror(errno));
    (void)hcs_TerminateComputeSystem(k.hcs, o->id, STOP_MS, NULL, NULL);
    (void)hcs_DeleteComputeSystem(k.hcs, o->id, NULL);
    hcs_close(k.hcs);
    return 1;
  }
  /* Listening before create returns: an exec after start finds it. */
  exec_server_start(&k);
  write_all(ready, "K", 1);
  close(ready);
  int status = wait_start(fifo, sigfd);
  if (status == 0) {
    status = run_process(&k, sigfd);
  }
  /* The process was the container's life, as pid 1 is under runc: what
   * it leaves behind (exec'd processes, daemons) ends with it, and init
   * ends with the process's status, for the shim. */
  end_others(&k);
  wait_clients(&k, EXECS_MS);
  init_exit(&k, status);
  (void)hcs_TerminateComputeSystem(k.hcs, o->id, STOP_MS, NULL, NULL);
  exec_server_stop(&k);
  /* Forgotten by libhcs now: delete then has nothing to open it for. */
  (void)hcs_DeleteComputeSystem(k.hcs, o->id, NULL);
  hcs_close(k.hcs);
  return status;
}

pid_t oci_keeper_spawn(const oci_keeper_opts_t *o) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    oci_error(o->g, "pipe: %s", strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    oci_error(o->g, "fork: %s", strerror(errno));
    close(ready[0]);
    close(ready[1]);
    return -1;
  }
  if (pid == 0) {
    close(ready[0]);
    oci_close_inherited(ready[1]);
    _exit(keeper_main(o, ready[1]));
  }
  close(ready[1]);
  char msg[2048];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(ready[0], msg + n, sizeof(msg) - 1 - n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0 || (n += (size_t)r) >= sizeof(msg) - 1) {
      break;
    }
  }
  close(ready[0]);
  msg[n] = '\0';
  if (n > 0 && msg[0] == 'K') {
    return pid;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  oci_error(o->g, "%s",
            n > 1 ? msg + 1 : "the keeper died before it was ready");
  return -1;
}
