/* SPDX-License-Identifier: MIT */
/* hcs-runc exec: a process in a running container, as another libhcs
 * session of the container's keeper (handed over on ROOT/ID/exec.sock,
 * see keeper.c): no service is opened and no runtime runs inside the
 * container. hcs-runc exec itself (or, with --detach, a child of it that
 * stays) is the pid in --pid-file, which the shim waits for: it forwards
 * the signals it gets and exits with the process's status. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct exec_args_s {
  const char *process, *pid_file, *console, *cwd, *user, *id;
  bool detach, tty;
  char **cmd; /* the command after the id, without --process */
  int ncmd;
} exec_args_t;

static int parse_exec(const oci_global_t *g, int argc, char **argv,
                      exec_args_t *a) {
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (a->id != NULL || s[0] != '-') {
      if (a->id == NULL) {
        a->id = s;
        continue;
      }
      a->cmd = argv + i;
      a->ncmd = argc - i;
      break;
    }
    const char *n = s + (s[1] == '-' ? 2 : 1);
    const char **val =
        strcmp(n, "process") == 0 || strcmp(n, "p") == 0 ? &a->process
        : strcmp(n, "pid-file") == 0                     ? &a->pid_file
        : strcmp(n, "console-socket") == 0               ? &a->console
        : strcmp(n, "cwd") == 0                          ? &a->cwd
        : strcmp(n, "user") == 0 || strcmp(n, "u") == 0  ? &a->user
                                                         : NULL;
    if (val != NULL) {
      if (i + 1 >= argc) {
        return oci_error(g, "exec: %s needs a value", s);
      }
      *val = argv[++i];
    } else if (strcmp(n, "detach") == 0 || strcmp(n, "d") == 0) {
      a->detach = true;
    } else if (strcmp(n, "tty") == 0 || strcmp(n, "t") == 0) {
      a->tty = true;
    } else {
      return oci_error(g, "exec: option %s is not supported by hcs-runc", s);
    }
  }
  if (a->id == NULL) {
    return oci_error(g, "exec: the container id is required");
  }
  if (a->process == NULL) {
    return oci_error(g, "exec: --process FILE is required (hcs-runc takes "
                        "the process as JSON)");
  }
  if (a->ncmd > 0 || a->cwd != NULL || a->user != NULL) {
    return oci_error(g, "exec: with --process, the command, --cwd and --user "
                        "come from the file");
  }
  return 0;
}

static bool unset(const json_t *v) {
  return v == NULL || json_is_null(v) || json_is_false(v) ||
         (json_is_integer(v) && json_integer_value(v) == 0) ||
         (json_is_array(v) && json_array_size(v) == 0);
}

/* What hcs sets for the whole system (capabilities, rlimits, the OOM
 * score, no_new_privs): an exec process must ask for the container's. */
static int same_as_container(const oci_global_t *g, json_t *o,
                             const char *bundle) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_t *spec = json_load_file(path, 0, NULL);
  json_t *cp = json_object_get(spec, "process");
  static const char *const keys[] = {"capabilities",        "rlimits",
                                     "oomScoreAdj",         "noNewPrivileges",
                                     "user.additionalGids", "user.umask"};
  int r = spec == NULL ? oci_error(g, "exec: %s: unreadable", path) : 0;
  for (size_t i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
    const char *k = keys[i];
    json_t *ao = o, *bo = cp;
    if (strncmp(k, "user.", 5) == 0) {
      ao = json_object_get(o, "user");
      bo = json_object_get(cp, "user");
      k += 5;
    }
    json_t *a = json_object_get(ao, k), *b = json_object_get(bo, k);
    bool same =
        (unset(a) && unset(b)) || (a != NULL && b != NULL && json_equal(a, b));
    if (!same) {
      r = oci_error(g,
                    "--process: process.%s: an exec process of hcs has the "
                    "container's (%s/config.json)",
                    keys[i], bundle);
    }
  }
  json_decref(spec);
  return r;
}

/* The --process file, checked, as the text to send (*text, the caller
 * frees it). */
static int load_process(const oci_global_t *g, const exec_args_t *a,
                        const char *bundle, char **text) {
  json_error_t jerr;
  json_t *o = json_load_file(a->process, 0, &jerr);
  if (o == NULL) {
    return oci_error(g, "--process %s: %s", a->process, jerr.text);
  }
  if (a->tty) {
    json_object_set_new(o, "terminal", json_true());
  }
  char why[1024];
  oci_process_t p;
  int r = same_as_container(g, o, bundle);
  if (r == 0 && oci_process_parse(o, "process", &p, why, sizeof(why)) != 0) {
    r = oci_error(g, "--process %s: %s", a->process, why);
  } else if (r == 0) {
    if (p.terminal != (a->console != NULL)) {
      r = oci_error(g, "exec: a terminal needs --console-socket, and "
                       "--console-socket a terminal");
    }
    oci_process_free(&p);
  }
  *text = r == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return r != 0 ? r : *text == NULL ? oci_error(g, "exec: no memory") : 0;
}

/* Hands the process and fds to the container's keeper; waits for "S". */
static int hand_over(const oci_global_t *g, const char *id, const char *text,
                     const int fds[3], int *conn) {
  struct sockaddr_un sa;
  int dirfd, e = oci_sock_addr(g, id, &sa, &dirfd);
  *conn = e == 0 ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0) : -1;
  if (e == 0 &&
      (*conn < 0 || connect(*conn, (struct sockaddr *)&sa, sizeof(sa)) != 0)) {
    e = -errno;
  }
  if (dirfd >= 0) {
    close(dirfd);
  }
  if (e != 0) {
    return oci_error(g, "exec: container %s is not running (%s)", id,
                     strerror(-e));
  }
  char cbuf[CMSG_SPACE(3 * sizeof(int))] = {0};
  struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cbuf,
                     .msg_controllen = sizeof(cbuf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
  char reply[1100];
  ssize_t n = sendmsg(*conn, &m, MSG_NOSIGNAL) < 0
                  ? -1
                  : recv(*conn, reply, sizeof(reply) - 1, 0);
  if (n == 1 && reply[0] == 'S') {
    return 0;
  }
  reply[n > 0 ? n : 0] = '\0';
  return oci_error(g, "exec: %s",
                   n > 0 ? (reply[0] == 'E' ? reply + 1 : reply)
                         : "the container's keeper went away");
}

/* The exec's pid for the shim: forwards its signals to the keeper and
 * exits with the process's status. */
static int wait_process(int conn, int sigfd) {
  for (;;) {
    struct pollfd p[2] = {{.fd = conn, .events = POLLIN},
                          {.fd = sigfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      continue;
    }
    struct signalfd_siginfo si;
    if (p[1].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
      char msg[1 + sizeof(int)] = "k";
      int sig = (int)si.ssi_signo;
      memcpy(msg + 1, &sig, sizeof(int));
      if (sig == SIGWINCH) {
        (void)send(conn, "r", 1, MSG_NOSIGNAL);
      } else {
        (void)send(conn, msg, sizeof(msg), MSG_NOSIGNAL);
      }
    }
    char x[8];
    ssize_t n = p[0].revents ? recv(conn, x, sizeof(x), MSG_DONTWAIT) : -1;
    if (n == 1 + (ssize_t)sizeof(int) && x[0] == 'X') {
      int status;
      memcpy(&status, x + 1, sizeof(int));
      return status;
    }
    if (n == 0) {
      return 255;
    }
  }
}

/* Hands the process over and waits for it; ready (with --detach) gets
 * "S" once it runs. Returns the process's status. */
static int waiter(const oci_global_t *g, const exec_args_t *a, const char *text,
                  int ready) {
  int fds[3] = {0, 1, 2}, conn = -1, tty = -1;
  char why[600];
  if (a->console != NULL) {
    (void)setsid();
    if (oci_console_make(a->console, &tty, why, sizeof(why)) != 0) {
      return oci_error(g, "%s", why);
    }
    fds[0] = fds[1] = fds[2] = tty;
  }
  sigset_t set;
  oci_forward_sigset(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int r = hand_over(g, a->id, text, fds, &conn);
  if (r != 0) {
    return r;
  }
  if (ready >= 0) {
    if (write(ready, "S", 1) != 1) {
      /* The waiting parent reads EOF instead, and says the exec failed. */
    }
    close(ready);
    /* The keeper holds the stdio now. */
    oci_stdio_to_null();
  } else if (a->pid_file != NULL &&
             (r = oci_write_pid_file(a->pid_file, getpid())) != 0) {
    return oci_error(g, "--pid-file %s: %s", a->pid_file, strerror(-r));
  }
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  return sigfd < 0 ? oci_error(g, "signalfd: %s", strerror(errno))
                   : wait_process(conn, sigfd);
}

int oci_cmd_exec(const oci_global_t *g, int argc, char **argv) {
  exec_args_t a = {0};
  oci_state_t st;
  char *text = NULL;
  if (parse_exec(g, argc, argv, &a) != 0) {
    return 1;
  }
  if (oci_state_read(g, a.id, &st) != 0) {
    return oci_error(g, "container \"%s\" does not exist", a.id);
  }
  oci_status_t s = oci_status(g, &st);
  if (s != OCI_RUNNING) {
    return oci_error(g, "cannot exec in a container that is %s",
                     oci_status_name(s));
  }
  if (load_process(g, &a, st.bundle, &text) != 0) {
    return 1;
  }
  int ready[2] = {-1, -1};
  pid_t pid = getpid();
  /* --detach: the waiter is a child that stays; it makes the console
   * itself, so that it leads the console's session (a leader that exits
   * would hang the console up: SIGHUP to the process). */
  if (a.detach && (pipe2(ready, O_CLOEXEC) != 0 || (pid = fork()) < 0)) {
    free(text);
    return oci_error(g, "exec: %s", strerror(errno));
  }
  if (pid > 0 && a.detach) {
    free(text);
    close(ready[1]);
    char c = 0;
    ssize_t n = read(ready[0], &c, 1);
    close(ready[0]);
    if (n != 1 || c != 'S') {
      int wst;
      (void)waitpid(pid, &wst, 0);
      return 1; /* the waiter said why */
    }
    int r = a.pid_file != NULL ? oci_write_pid_file(a.pid_file, pid) : 0;
    if (r != 0) {
      kill(pid, SIGKILL); /* our child still: it cannot be a stranger */
      return oci_error(g, "--pid-file %s: %s", a.pid_file, strerror(-r));
    }
    return 0;
  }
  if (a.detach) {
    close(ready[0]);
    oci_close_inherited(ready[1]);
  }
  int r = waiter(g, &a, text, ready[1]);
  free(text);
  if (a.detach) {
    _exit(r);
  }
  return r;
}
