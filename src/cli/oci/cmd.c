/* SPDX-License-Identifier: MIT */
/* The runc commands on a container's lifetime: create, start, state,
 * kill, delete, pause, resume, ps, features. */
#include "oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { STOP_MS = 10000, MAX_POS = 4 };

/* A command's line: flags (with a value when the table says so) and
 * positionals. */
typedef struct flag_s {
  const char *name;
  bool has_value;
  const char **value; /* with has_value */
  bool *set;          /* without */
} flag_t;

static int parse(const oci_global_t *g, int argc, char **argv,
                 const flag_t *flags, const char **pos, int npos_max,
                 int *npos) {
  *npos = 0;
  bool no_more = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (no_more || a[0] != '-' || a[1] == '\0') {
      if (*npos >= npos_max) {
        return oci_error(g, "%s: unexpected argument \"%s\"", argv[0], a);
      }
      pos[(*npos)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      no_more = true;
      continue;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const flag_t *f = flags;
    while (f->name != NULL &&
           (strlen(f->name) != len || strncmp(f->name, name, len) != 0)) {
      f++;
    }
    if (f->name == NULL) {
      return oci_error(g, "%s: unknown option %s", argv[0], a);
    }
    if (f->has_value) {
      if (eq == NULL && i + 1 >= argc) {
        return oci_error(g, "%s: %s needs a value", argv[0], a);
      }
      *f->value = eq != NULL ? eq + 1 : argv[++i];
    } else if (eq == NULL || strcmp(eq + 1, "true") == 0) {
      *f->set = true;
    } else if (strcmp(eq + 1, "false") != 0) {
      return oci_error(g, "%s: %s: true or false", argv[0], a);
    }
  }
  return 0;
}

static int need_id(const oci_global_t *g, const char *cmd, int npos, int min) {
  return npos < min ? oci_error(g, "%s: the container id is required", cmd) : 0;
}

static int load(const oci_global_t *g, const char *id, oci_state_t *st) {
  int r = oci_state_read(g, id, st);
  if (r == -ENOENT || r == -EINVAL) {
    return oci_error(g, "container \"%s\" does not exist", id);
  }
  return r != 0 ? oci_error(g, "%s: state: %s", id, strerror(-r)) : 0;
}

static void rfc3339_now(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

static int valid_id(const oci_global_t *g, const char *id) {
  size_t n = strlen(id);
  bool ok = n > 0 && n <= 128 && id[0] != '.' && id[0] != '-';
  for (size_t i = 0; ok && i < n; i++) {
    char c = id[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  }
  return ok ? 0
            : oci_error(g,
                        "invalid container id \"%s\": 1 to 128 of "
                        "[A-Za-z0-9_.-], not starting with . or -",
                        id);
}

/* ROOT/ID made for a new container; an existing one is an error. */
static int make_dir(const oci_global_t *g, const char *id) {
  char dir[PATH_MAX];
  int e = oci_make_root(g);
  if (e != 0) {
    return oci_error(g, "--root %s: %s", g->root, strerror(-e));
  }
  if (oci_path(g, id, "", dir, sizeof(dir)) != 0) {
    return oci_error(g, "%s: path too long", id);
  }
  if (mkdir(dir, 0700) != 0) {
    return errno == EEXIST ? oci_error(g, "container with id exists: %s", id)
                           : oci_error(g, "mkdir %s: %s", dir, strerror(errno));
  }
  return 0;
}

/* ROOT/ID/hooks.json: the hooks and annotations of config.json as
 * create read them, for delete's poststop hooks and state's annotations
 * (the bundle may have changed since). */
static int save_hooks(const oci_global_t *g, const char *id, json_t *hooks,
                      json_t *ann) {
  char path[PATH_MAX];
  oci_path(g, id, "hooks.json", path, sizeof(path));
  json_t *o = json_object();
  json_object_set(o, "hooks", hooks != NULL ? hooks : json_null());
  json_object_set(o, "annotations", ann != NULL ? ann : json_null());
  int r = json_dump_file(o, path, JSON_COMPACT);
  json_decref(o);
  return r;
}

static json_t *saved_hooks(const oci_global_t *g, const char *id,
                           const char *key) {
  char path[PATH_MAX];
  oci_path(g, id, "hooks.json", path, sizeof(path));
  json_t *o = json_load_file(path, 0, NULL);
  json_t *v = json_incref(json_object_get(o, key));
  json_decref(o);
  return v;
}

static int create_with(const oci_global_t *g, const char *id,
                       const char *bundle, const char *pid_file,
                       const char *console) {
  char why[1024], fifo[PATH_MAX], ack[PATH_MAX], abs_bundle[PATH_MAX];
  oci_spec_t spec;
  if (realpath(bundle, abs_bundle) == NULL) {
    return oci_error(g, "--bundle %s: %s", bundle, strerror(errno));
  }
  if (oci_spec_load(abs_bundle, &spec, why, sizeof(why)) != 0) {
    return oci_error(g, "%s", why);
  }
  if (spec.proc.terminal && console == NULL) {
    oci_spec_free(&spec);
    return oci_error(g, "process.terminal: --console-socket is required");
  }
  if (!spec.proc.terminal && console != NULL) {
    oci_spec_free(&spec);
    return oci_error(g, "--console-socket: process.terminal is false");
  }
  if (make_dir(g, id) != 0) {
    oci_spec_free(&spec);
    return 1;
  }
  if (spec.notes[0] != '\0') {
    oci_warn(g, spec.notes);
  }
  oci_path(g, id, "exec.fifo", fifo, sizeof(fifo));
  oci_path(g, id, "start.ack", ack, sizeof(ack));
  bool wait_ack = oci_hooks_any(spec.hooks, "startContainer") ||
                  oci_hooks_any(spec.hooks, "poststart");
  const char *bad = mkfifo(fifo, 0600) != 0              ? fifo
                    : wait_ack && mkfifo(ack, 0600) != 0 ? ack
                    : save_hooks(g, id, spec.hooks, spec.annotations) != 0
                        ? "hooks.json"
                        : NULL;
  if (bad != NULL) {
    oci_spec_free(&spec);
    oci_state_remove(g, id);
    return oci_error(g, "%s: %s", bad, strerror(errno));
  }
  oci_keeper_opts_t ko = {.g = g,
                          .id = id,
                          .spec = &spec,
                          .proc = &spec.proc,
                          .console_socket = console,
                          .fifo = fifo,
                          .bundle = abs_bundle,
                          .start_ack = wait_ack ? ack : NULL};
  pid_t pid = oci_keeper_spawn(&ko);
  oci_state_t st = {.pid = pid, .start_time = oci_start_time(pid)};
  snprintf(st.id, sizeof(st.id), "%s", id);
  snprintf(st.bundle, sizeof(st.bundle), "%s", abs_bundle);
  snprintf(st.rootfs, sizeof(st.rootfs), "%s", spec.rootfs);
  rfc3339_now(st.created, sizeof(st.created));
  oci_spec_free(&spec);
  int r = pid > 0 ? 0 : 1, e = 0;
  /* The pid the shim waits for is the container's init, our child until
   * we exit (libhcs clones it as the keeper's sibling, InitSibling). */
  if (r == 0 && oci_init_read(g, id, &st.init_pid, &st.init_start) != 0) {
    r = oci_error(g, "%s: the container's init is not found", id);
  } else if (r == 0 && (e = oci_state_write(g, &st)) != 0) {
    r = oci_error(g, "%s: writing its state: %s", id, strerror(-e));
  } else if (r == 0 && pid_file != NULL &&
             (e = oci_write_pid_file(pid_file, st.init_pid)) != 0) {
    r = oci_error(g, "--pid-file %s: %s", pid_file, strerror(-e));
  }
  if (r != 0 && pid > 0) {
    kill(pid, SIGKILL); /* our children still: neither can be a stranger */
  }
  if (r != 0 && st.init_pid > 0) {
    kill(st.init_pid, SIGKILL);
  }
  if (r != 0) {
    oci_state_remove(g, id);
    return 1;
  }
  return 0;
}

int oci_cmd_create(const oci_global_t *g, int argc, char **argv) {
  const char *bundle = ".", *pid_file = NULL, *console = NULL, *pos[1];
  bool no_pivot = false, no_new_keyring = false;
  const char *preserve = NULL;
  flag_t flags[] = {{"bundle", true, &bundle, NULL},
                    {"b", true, &bundle, NULL},
                    {"pid-file", true, &pid_file, NULL},
                    {"console-socket", true, &console, NULL},
                    {"no-pivot", false, NULL, &no_pivot},
                    {"no-new-keyring", false, NULL, &no_new_keyring},
                    {"preserve-fds", true, &preserve, NULL},
                    {NULL, false, NULL, NULL}};
  int npos;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "create", npos, 1) != 0 || valid_id(g, pos[0]) != 0) {
    return 1;
  }
  if (no_pivot) {
    return oci_error(g, "--no-pivot: hcs always pivots into the root");
  }
  if (no_new_keyring) {
    return oci_error(g, "--no-new-keyring: hcs does not manage keyrings");
  }
  if (preserve != NULL && strcmp(preserve, "0") != 0) {
    return oci_error(g, "--preserve-fds: a container sees only fds 0-2");
  }
  return create_with(g, pos[0], bundle, pid_file, console);
}

/* Waits for the keeper's answer on afd (closed): 0, or 1 after saying
 * why start failed (a startContainer hook, the process). */
static int start_wait(const oci_global_t *g, const oci_state_t *st, int afd) {
  int kfd = oci_keeper_pidfd(st);
  char msg[800];
  size_t n = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = afd, .events = POLLIN},
                          {.fd = kfd, .events = POLLIN}};
    if (poll(p, kfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
      break;
    }
    ssize_t r = (p[0].revents & (POLLIN | POLLHUP)) != 0
                    ? read(afd, msg + n, sizeof(msg) - 1 - n)
                    : -1;
    if (r > 0 && (n += (size_t)r) < sizeof(msg) - 1) {
      continue;
    }
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
        n >= sizeof(msg) - 1 || (p[1].revents & POLLIN) != 0) {
      break;
    }
  }
  msg[n] = '\0';
  close(afd);
  if (kfd >= 0) {
    close(kfd);
  }
  if (n > 0 && msg[0] == '0') {
    return 0;
  }
  return oci_error(g, "start %s: %s", st->id,
                   n > 1 ? msg + 1 : "the container ended before it ran");
}

int oci_cmd_start(const oci_global_t *g, int argc, char **argv) {
  const char *pos[1];
  int npos;
  flag_t flags[] = {{NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "start", npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  oci_status_t s = oci_status(g, &st);
  if (s != OCI_CREATED) {
    return oci_error(g, "cannot start a container that is %s",
                     oci_status_name(s));
  }
  char fifo[PATH_MAX], ack[PATH_MAX];
  oci_path(g, st.id, "exec.fifo", fifo, sizeof(fifo));
  oci_path(g, st.id, "start.ack", ack, sizeof(ack));
  /* With startContainer or poststart hooks, start returns once they have
   * run: the keeper answers on start.ack. */
  int afd = open(ack, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  /* The keeper holds the fifo open for reading: with none, the open
   * fails (ENXIO) and the container is not waiting any more. */
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || write(fd, "0", 1) != 1) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    if (afd >= 0) {
      close(afd);
    }
    return oci_error(g, "start %s: %s", st.id, strerror(e));
  }
  close(fd);
  (void)unlink(fifo);
  return afd >= 0 ? start_wait(g, &st, afd) : 0;
}

int oci_cmd_state(const oci_global_t *g, int argc, char **argv) {
  const char *pos[1];
  int npos;
  flag_t flags[] = {{NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "state", npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  oci_status_t s = oci_status(g, &st);
  struct passwd *pw = getpwuid(geteuid());
  json_t *o = json_pack(
      "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "ociVersion", OCI_VERSION,
      "id", st.id, "pid",
      s == OCI_STOPPED ? 0 : (int)(st.init_pid > 0 ? st.init_pid : st.pid),
      "status", oci_status_name(s), "bundle", st.bundle, "rootfs", st.rootfs,
      "created", st.created, "owner", pw != NULL ? pw->pw_name : "");
  json_t *ann = saved_hooks(g, st.id, "annotations");
  if (o != NULL && json_object_size(ann) > 0) {
    json_object_set(o, "annotations", ann);
  }
  json_decref(ann);
  char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  if (text == NULL) {
    return oci_error(g, "state: out of memory");
  }
  printf("%s\n", text);
  free(text);
  return 0;
}

static int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},
               {"KILL", SIGKILL}, {"TERM", SIGTERM},   {"USR1", SIGUSR1},
               {"USR2", SIGUSR2}, {"STOP", SIGSTOP},   {"CONT", SIGCONT},
               {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}, {"TSTP", SIGTSTP},
               {"PIPE", SIGPIPE}, {"ABRT", SIGABRT},   {"CHLD", SIGCHLD}};
  char *end;
  long n = strtol(s, &end, 10);
  if (*s != '\0' && *end == '\0') {
    return n > 0 && n < _NSIG ? (int)n : -1;
  }
  if (strncasecmp(s, "SIG", 3) == 0) {
    s += 3;
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcasecmp(names[i].name, s) == 0) {
      return names[i].sig;
    }
  }
  return -1;
}

/* Sends sig to the container's process through its keeper. */
static int signal_keeper(const oci_global_t *g, const oci_state_t *st,
                         int sig) {
  int fd = oci_keeper_pidfd(st);
  if (fd < 0) {
    return oci_error(g, "container \"%s\" is not running", st->id);
  }
  siginfo_t si = {.si_signo = OCI_KILL_SIGNAL, .si_code = SI_QUEUE};
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = sig;
  int r = (int)syscall(SYS_pidfd_send_signal, fd, OCI_KILL_SIGNAL, &si, 0);
  int e = errno;
  close(fd);
  return r == 0 ? 0 : oci_error(g, "kill %s: %s", st->id, strerror(e));
}

static int terminate(const oci_global_t *g, const char *id) {
  hcs_t *hcs;
  if (oci_open(g, id, &hcs) != 0) {
    return 1;
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_TerminateComputeSystem(hcs, id, STOP_MS, NULL, &err);
  int rc = 0;
  if (r != HCS_OK && !hcs_is_already_stopped(r) && !hcs_is_not_exist(r)) {
    rc = oci_hcs_error(g, "kill --all", err);
  } else {
    hcs_error_free(err);
  }
  hcs_close(hcs);
  return rc;
}

int oci_cmd_kill(const oci_global_t *g, int argc, char **argv) {
  const char *pos[2];
  int npos;
  bool all = false;
  flag_t flags[] = {{"all", false, NULL, &all},
                    {"a", false, NULL, &all},
                    {NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 2, &npos) != 0 ||
      need_id(g, "kill", npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  int sig = parse_signal(npos > 1 ? pos[1] : "TERM");
  if (sig < 0) {
    return oci_error(g, "kill: unknown signal \"%s\"", pos[1]);
  }
  if (all && sig != SIGKILL) {
    return oci_error(g, "kill --all: hcs signals every process of a "
                        "container only with SIGKILL (TerminateComputeSystem)");
  }
  if (oci_status(g, &st) == OCI_STOPPED) {
    return oci_error(g, "container \"%s\" is not running", st.id);
  }
  return all ? terminate(g, st.id) : signal_keeper(g, &st, sig);
}

/* Waits up to ms for the keeper to be gone (its pidfd readable). */
static void wait_keeper(const oci_state_t *st, int ms) {
  int fd = oci_keeper_pidfd(st);
  if (fd >= 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    (void)poll(&p, 1, ms);
    close(fd);
  }
}

int oci_cmd_delete(const oci_global_t *g, int argc, char **argv) {
  const char *pos[1];
  int npos;
  bool force = false;
  flag_t flags[] = {{"force", false, NULL, &force},
                    {"f", false, NULL, &force},
                    {NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "delete", npos, 1) != 0) {
    return 1;
  }
  /* runc: deleting a container that is not there, with --force, is done
   * already. */
  if (force && oci_state_read(g, pos[0], &st) == -ENOENT) {
    return 0;
  }
  if (load(g, pos[0], &st) != 0) {
    return 1;
  }
  oci_status_t s = oci_status(g, &st);
  if ((s == OCI_RUNNING || s == OCI_PAUSED) && !force) {
    return oci_error(g, "cannot delete container %s that is not stopped: %s",
                     st.id, oci_status_name(s));
  }
  if (s != OCI_STOPPED) {
    (void)signal_keeper(g, &st, SIGKILL);
  }
  /* Stopped when init has ended: its keeper may be taking the system
   * down still, and does it before it exits. */
  wait_keeper(&st, STOP_MS);
  /* A keeper that ended as it should deleted the system; one that was
   * killed left it to do here. */
  json_t *rec = oci_hcs_record(g, st.id);
  json_decref(rec);
  hcs_t *hcs;
  if (rec != NULL && oci_open(g, st.id, &hcs) != 0) {
    return 1;
  }
  if (rec != NULL) {
    hcs_error_t *err = NULL;
    (void)hcs_TerminateComputeSystem(hcs, st.id, STOP_MS, NULL, NULL);
    hcs_result_t r = hcs_DeleteComputeSystem(hcs, st.id, &err);
    hcs_close(hcs);
    if (r != HCS_OK && !hcs_is_not_exist(r)) {
      return oci_hcs_error(g, "delete", err);
    }
    hcs_error_free(err);
  }
  /* poststop: after the container is gone, before delete returns; a
   * failure is a warning. */
  json_t *hooks = saved_hooks(g, st.id, "hooks");
  json_t *ann = saved_hooks(g, st.id, "annotations");
  oci_state_remove(g, st.id);
  char *state = oci_hooks_any(hooks, "poststop")
                    ? oci_hook_state(st.id, "stopped", 0, st.bundle, ann)
                    : NULL;
  char why[700];
  if (state != NULL &&
      oci_hooks_run(hooks, "poststop", state, -1, why, sizeof(why)) != 0) {
    oci_warn(g, why);
  }
  free(state);
  json_decref(hooks);
  json_decref(ann);
  return 0;
}

static int pause_or_resume(const oci_global_t *g, int argc, char **argv,
                           bool pause) {
  const char *pos[1];
  int npos;
  flag_t flags[] = {{NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, argv[0], npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  hcs_t *hcs;
  if (oci_open(g, st.id, &hcs) != 0) {
    return 1;
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = pause ? hcs_PauseComputeSystem(hcs, st.id, &err)
                         : hcs_ResumeComputeSystem(hcs, st.id, &err);
  hcs_close(hcs);
  return r == HCS_OK ? 0 : oci_hcs_error(g, argv[0], err);
}

int oci_cmd_pause(const oci_global_t *g, int argc, char **argv) {
  return pause_or_resume(g, argc, argv, true);
}

int oci_cmd_resume(const oci_global_t *g, int argc, char **argv) {
  return pause_or_resume(g, argc, argv, false);
}

/* The host pids of the container's processes: its cgroup's. */
static json_t *container_pids(const oci_global_t *g, const char *id) {
  json_t *pids = json_array();
  FILE *f = oci_cgroup_open(g, id, "cgroup.procs");
  int pid;
  while (f != NULL && fscanf(f, "%d", &pid) == 1) {
    json_array_append_new(pids, json_integer(pid));
  }
  if (f != NULL) {
    fclose(f);
  }
  return pids;
}

int oci_cmd_ps(const oci_global_t *g, int argc, char **argv) {
  const char *pos[2], *format = "table";
  int npos;
  flag_t flags[] = {{"format", true, &format, NULL},
                    {"f", true, &format, NULL},
                    {NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "ps", npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  if (strcmp(format, "json") != 0) {
    return oci_error(g, "ps: --format %s: hcs-runc gives json only", format);
  }
  json_t *pids = container_pids(g, st.id);
  char *text = json_dumps(pids, JSON_COMPACT);
  json_decref(pids);
  printf("%s\n", text != NULL ? text : "[]");
  free(text);
  return 0;
}

/* update --resources FILE|-: linux.resources applied to the running
 * container in place (hcs_ModifyComputeSystem, Limits). runc's
 * per-limit flags (--memory, ...) are refused as unknown options. */
int oci_cmd_update(const oci_global_t *g, int argc, char **argv) {
  const char *pos[1], *file = NULL;
  int npos;
  flag_t flags[] = {{"resources", true, &file, NULL},
                    {"r", true, &file, NULL},
                    {NULL, false, NULL, NULL}};
  oci_state_t st;
  if (parse(g, argc, argv, flags, pos, 1, &npos) != 0 ||
      need_id(g, "update", npos, 1) != 0 || load(g, pos[0], &st) != 0) {
    return 1;
  }
  if (file == NULL) {
    return oci_error(g, "update: --resources FILE (or -) is required");
  }
  json_error_t jerr;
  json_t *res = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                       : json_load_file(file, 0, &jerr);
  if (res == NULL) {
    return oci_error(g, "update --resources %s: %s", file, jerr.text);
  }
  char why[1024];
  json_t *set = oci_resources_settings(res, why, sizeof(why));
  json_decref(res);
  if (set == NULL) {
    return oci_error(g, "update: %s", why);
  }
  json_t *req = json_pack("{s:s, s:s, s:o}", "ResourcePath", "Limits",
                          "RequestType", "Update", "Settings", set);
  char *text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  hcs_t *hcs;
  if (text == NULL || oci_open(g, st.id, &hcs) != 0) {
    free(text);
    return text == NULL ? oci_error(g, "update: no memory") : 1;
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_ModifyComputeSystem(hcs, st.id, text, &err);
  free(text);
  hcs_close(hcs);
  return r == HCS_OK ? 0 : oci_hcs_error(g, "update", err);
}

int oci_cmd_features(const oci_global_t *g, int argc, char **argv) {
  (void)g;
  (void)argc;
  (void)argv;
  printf("{\n"
         "  \"ociVersionMin\": \"1.0.0\",\n"
         "  \"ociVersionMax\": \"" OCI_VERSION "\",\n"
         "  \"hooks\": [],\n"
         "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\", "
         "\"private\", \"rprivate\"],\n"
         "  \"linux\": {\n"
         "    \"namespaces\": [\"pid\", \"mount\", \"uts\", \"ipc\", "
         "\"network\", \"cgroup\"],\n"
         "    \"capabilities\": [],\n"
         "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false},\n"
         "    \"seccomp\": {\"enabled\": true}\n"
         "  }\n"
         "}\n");
  return 0;
}
