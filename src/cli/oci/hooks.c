/* SPDX-License-Identifier: MIT */
/* config.json's hooks, as the runtime spec runs them: each hook a program
 * (an absolute path, args, env, an optional timeout in seconds) started
 * with the container's state as JSON on its stdin, one after the other,
 * waited for. prestart, createRuntime, poststart and poststop run in the
 * runtime's namespaces; createContainer and startContainer in the
 * container's (those of its init, joined with setns), createContainer's
 * path found in the runtime's namespace and startContainer's in the
 * container's. A hook that cannot be started, exits other than 0, dies
 * or outlives its timeout has failed; the caller says what that does to
 * the operation. The child runs after fork() in a threaded process: it
 * only makes system calls on what was prepared before. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const kinds[] = {"prestart",
                                    "createRuntime",
                                    "createContainer",
                                    "startContainer",
                                    "poststart",
                                    "poststop",
                                    NULL};

static bool is_strings(json_t *a) {
  size_t i;
  json_t *e;
  if (a != NULL && !json_is_array(a)) {
    return false;
  }
  json_array_foreach(a, i, e) {
    if (!json_is_string(e)) {
      return false;
    }
  }
  return true;
}

int oci_hooks_check(json_t *hooks, char *why, size_t wn) {
  const char *k;
  json_t *list;
  if (hooks != NULL && !json_is_object(hooks) && !json_is_null(hooks)) {
    snprintf(why, wn, "hooks: not an object");
    return -1;
  }
  json_object_foreach(hooks, k, list) {
    bool known = false;
    for (size_t i = 0; kinds[i] != NULL && !known; i++) {
      known = strcmp(kinds[i], k) == 0;
    }
    if (!known && list != NULL && !json_is_null(list)) {
      snprintf(why, wn, "hooks.%s: not a hook of the runtime spec", k);
      return -1;
    }
    size_t i;
    json_t *h;
    json_array_foreach(list, i, h) {
      const char *path = json_string_value(json_object_get(h, "path"));
      json_t *t = json_object_get(h, "timeout");
      const char *bad =
          path == NULL || path[0] != '/'            ? "path: required, absolute"
          : !is_strings(json_object_get(h, "args")) ? "args: not strings"
          : !is_strings(json_object_get(h, "env"))  ? "env: not strings"
          : t != NULL && !json_is_null(t) &&
                  (!json_is_integer(t) || json_integer_value(t) <= 0)
              ? "timeout: must be a number of seconds above 0"
              : NULL;
      if (bad != NULL) {
        snprintf(why, wn, "hooks.%s[%zu].%s", k, i, bad);
        return -1;
      }
    }
  }
  return 0;
}

bool oci_hooks_any(json_t *hooks, const char *kind) {
  return json_array_size(json_object_get(hooks, kind)) > 0;
}

char *oci_hook_state(const char *id, const char *status, pid_t pid,
                     const char *bundle, json_t *annotations) {
  json_t *o =
      json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", OCI_VERSION, "id",
                id, "status", status, "pid", (int)pid, "bundle", bundle);
  if (o != NULL && json_object_size(annotations) > 0) {
    json_object_set(o, "annotations", annotations);
  }
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return text;
}

static char **strings(json_t *a) {
  size_t n = json_array_size(a);
  char **v = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; v != NULL && i < n; i++) {
    v[i] = (char *)json_string_value(json_array_get(a, i));
  }
  return v;
}

/* The root of the process pidfd names, opened O_PATH (its
 * /proc/PID/root), or -1. */
static int open_root(int pidfd) {
  char name[64], line[128];
  snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", pidfd);
  FILE *f = fopen(name, "re");
  int pid = -1;
  while (f != NULL && pid < 0 && fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "Pid: %d", &pid) != 1) {
      pid = -1;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  if (pid <= 0) {
    errno = ESRCH;
    return -1;
  }
  snprintf(name, sizeof(name), "/proc/%d/root", pid);
  return open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* In the child: joins the container (pidfd >= 0) and runs the hook;
 * never returns. The pid namespace takes effect for children only, so a
 * second fork runs the program there. The root is init's: its mount
 * namespace's own, or in the host's mount namespace a chroot. */
static void child_run(const int in[2], int pidfd, int root, int exe,
                      const char *path, char **argv, char **envp) {
  close(in[1]); /* the hook's stdin ends where we stop writing */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(in[0], 0) != 0) {
    _exit(126);
  }
  if (pidfd >= 0) {
    if (root < 0 ||
        setns(pidfd, CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                         CLONE_NEWPID | CLONE_NEWCGROUP) != 0 ||
        fchdir(root) != 0 || chroot(".") != 0 || chdir("/") != 0) {
      _exit(126);
    }
    pid_t pid = fork();
    if (pid < 0) {
      _exit(126);
    }
    if (pid > 0) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
  if (exe >= 0) {
    syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
  } else {
    execve(path, argv, envp);
  }
  _exit(errno == ENOENT ? 127 : 126);
}

/* Waits for pid up to timeout_s (0: no bound); its status, or -1 when it
 * was killed for the timeout. */
static int wait_hook(pid_t pid, long timeout_s) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int timed_out = 0;
  if (pfd >= 0 && timeout_s > 0) {
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, (int)(timeout_s * 1000))) < 0 && errno == EINTR) {
    }
    if (n == 0) {
      timed_out = 1;
      (void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
    }
  }
  if (pfd >= 0) {
    close(pfd);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_one(json_t *h, const char *what, const char *state, int pidfd,
                   bool path_at_host, char *why, size_t wn) {
  const char *path = json_string_value(json_object_get(h, "path"));
  json_t *args = json_object_get(h, "args");
  char **argv = strings(args), **envp = strings(json_object_get(h, "env"));
  const char *dflt[] = {path, NULL};
  long timeout = (long)json_integer_value(json_object_get(h, "timeout"));
  int p[2] = {-1, -1}, exe = -1, root = -1, r = -1;
  if (argv == NULL || envp == NULL || pipe2(p, O_CLOEXEC) != 0) {
    snprintf(why, wn, "%s: %s", what, strerror(errno));
    goto out;
  }
  /* Found in the runtime's namespace, run in the container's: the open
   * file goes in (not close-on-exec, so that a script's interpreter can
   * read it through /dev/fd). */
  if (pidfd >= 0 && path_at_host && (exe = open(path, O_PATH)) < 0) {
    snprintf(why, wn, "%s: %s: %s", what, path, strerror(errno));
    goto out;
  }
  /* Opened here: the child of a threaded keeper makes system calls only. */
  if (pidfd >= 0 && (root = open_root(pidfd)) < 0) {
    snprintf(why, wn, "%s: the container's root: %s", what, strerror(errno));
    goto out;
  }
  char **av = json_array_size(args) > 0 ? argv : (char **)dflt;
  pid_t pid = fork();
  if (pid == 0) {
    child_run(p, pidfd, root, exe, path, av, envp);
  }
  close(p[0]);
  p[0] = -1;
  if (pid < 0) {
    snprintf(why, wn, "%s: fork: %s", what, strerror(errno));
    goto out;
  }
  /* A hook that does not read its stdin is no failure. */
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  size_t n = strlen(state);
  (void)!write(p[1], state, n);
  signal(SIGPIPE, old);
  close(p[1]);
  p[1] = -1;
  int st = wait_hook(pid, timeout);
  if (st < 0) {
    snprintf(why, wn, "%s (%s): timed out after %ld s", what, path, timeout);
  } else if (st != 0) {
    snprintf(why, wn, "%s (%s): exit status %d", what, path, st);
  } else {
    r = 0;
  }
out:
  for (int i = 0; i < 2; i++) {
    if (p[i] >= 0) {
      close(p[i]);
    }
  }
  if (exe >= 0) {
    close(exe);
  }
  if (root >= 0) {
    close(root);
  }
  free(argv);
  free(envp);
  return r;
}

int oci_hooks_run(json_t *hooks, const char *kind, const char *state, int pidfd,
                  char *why, size_t wn) {
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(hooks, kind), i, h) {
    char what[64];
    snprintf(what, sizeof(what), "hooks.%s[%zu]", kind, i);
    if (run_one(h, what, state, pidfd, strcmp(kind, "startContainer") != 0, why,
                wn) != 0) {
      return -1;
    }
  }
  return 0;
}
