/* SPDX-License-Identifier: MIT */
/* hcs-runc exec: a process in a running container, as a libhcs session
 * of a keeper of its own (the pid in --pid-file, which the shim waits
 * for); no runtime is run inside the container. */
#include "oci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
         (json_is_integer(v) && json_integer_value(v) == 0);
}

/* What hcs sets for the whole system (capabilities, rlimits, the OOM
 * score, no_new_privs): an exec process must ask for the container's. */
static int same_as_container(const oci_global_t *g, json_t *o,
                             const char *bundle) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_t *spec = json_load_file(path, 0, NULL);
  json_t *cp = json_object_get(spec, "process");
  static const char *const keys[] = {"capabilities", "rlimits", "oomScoreAdj",
                                     "noNewPrivileges"};
  int r = spec == NULL ? oci_error(g, "exec: %s: unreadable", path) : 0;
  for (size_t i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
    json_t *a = json_object_get(o, keys[i]), *b = json_object_get(cp, keys[i]);
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

static int load_process(const oci_global_t *g, const exec_args_t *a,
                        const char *bundle, oci_process_t *p) {
  json_error_t jerr;
  json_t *o = json_load_file(a->process, 0, &jerr);
  if (o == NULL) {
    return oci_error(g, "--process %s: %s", a->process, jerr.text);
  }
  char why[1024];
  int r = same_as_container(g, o, bundle);
  if (r == 0 && oci_process_parse(o, "process", p, why, sizeof(why)) != 0) {
    r = oci_error(g, "--process %s: %s", a->process, why);
  }
  json_decref(o);
  if (r != 0) {
    return r;
  }
  if (a->tty) {
    p->terminal = true;
  }
  if (p->terminal != (a->console != NULL)) {
    oci_process_free(p);
    return oci_error(g, "exec: a terminal needs --console-socket, and "
                        "--console-socket a terminal");
  }
  return 0;
}

int oci_cmd_exec(const oci_global_t *g, int argc, char **argv) {
  exec_args_t a = {0};
  oci_state_t st;
  oci_process_t p;
  if (parse_exec(g, argc, argv, &a) != 0) {
    return 1;
  }
  int r = oci_state_read(g, a.id, &st);
  if (r != 0) {
    return oci_error(g, "container \"%s\" does not exist", a.id);
  }
  oci_status_t s = oci_status(g, &st);
  if (s != OCI_RUNNING) {
    return oci_error(g, "cannot exec in a container that is %s",
                     oci_status_name(s));
  }
  if (load_process(g, &a, st.bundle, &p) != 0) {
    return 1;
  }
  oci_keeper_opts_t ko = {.g = g,
                          .id = a.id,
                          .proc = &p,
                          .console_socket = a.console,
                          .bundle = st.bundle};
  pid_t pid = oci_keeper_spawn(&ko);
  oci_process_free(&p);
  if (pid < 0) {
    return 1;
  }
  if (a.pid_file != NULL && (r = oci_write_pid_file(a.pid_file, pid)) != 0) {
    kill(pid, SIGKILL); /* our child still: it cannot be a stranger */
    return oci_error(g, "--pid-file %s: %s", a.pid_file, strerror(-r));
  }
  if (a.detach) {
    return 0;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
