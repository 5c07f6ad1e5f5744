/* SPDX-License-Identifier: MIT */
/* hcs-runc: the global options, the commands, and errors in runc's log
 * form (containerd's shim reads the last "error" line of --log to say
 * why a command failed). */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcs-version.h"

static void log_line(const oci_global_t *g, const char *level,
                     const char *msg) {
  if (g->log == NULL) {
    return;
  }
  int fd = open(g->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  struct timespec ts;
  struct tm tm;
  char when[64];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof(when) - n, ".%09ldZ", ts.tv_nsec);
  char *line = NULL;
  if (g->log_json) {
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
    line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
  } else if (asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"", when, level,
                      msg) < 0) {
    line = NULL;
  }
  if (line != NULL) {
    dprintf(fd, "%s\n", line);
    free(line);
  }
  close(fd);
}

int oci_error(const oci_global_t *g, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_line(g, "error", msg);
  fprintf(stderr, "hcs-runc: %s\n", msg);
  return 1;
}

void oci_warn(const oci_global_t *g, const char *msg) {
  log_line(g, "warning", msg);
}

int oci_hcs_error(const oci_global_t *g, const char *what, hcs_error_t *err) {
  int r = oci_error(g, "%s: %s", what,
                    err != NULL ? hcs_error_message(err) : "failed");
  hcs_error_free(err);
  return r;
}

static void usage(FILE *f) {
  fprintf(f, "usage: hcs-runc [GLOBAL OPTIONS] COMMAND [OPTIONS] ID ...\n"
             "\n"
             "An OCI runtime with runc's command line on libhcs: containers\n"
             "are hcs compute systems.\n"
             "\n"
             "Global options:\n"
             "  --root DIR         state (default " OCI_DEFAULT_ROOT ")\n"
             "  --log FILE         log file\n"
             "  --log-format F     text or json\n"
             "  --debug            debug lines in the log\n"
             "  --systemd-cgroup   refused: hcs places cgroups itself\n"
             "\n"
             "Commands: create, start, state, kill, delete, exec, ps, pause,\n"
             "resume, update, features; --version.\n");
}

static const struct {
  const char *name;
  int (*fn)(const oci_global_t *g, int argc, char **argv);
} commands[] = {
    {"create", oci_cmd_create}, {"start", oci_cmd_start},
    {"state", oci_cmd_state},   {"kill", oci_cmd_kill},
    {"delete", oci_cmd_delete}, {"exec", oci_cmd_exec},
    {"ps", oci_cmd_ps},         {"pause", oci_cmd_pause},
    {"resume", oci_cmd_resume}, {"features", oci_cmd_features},
    {"update", oci_cmd_update},
};

/* "--name value" or "--name=value" (also with one dash, as Go's flags);
 * returns the value, advancing *i, or NULL when argv[*i] is not name. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             bool *bad) {
  const char *a = argv[*i];
  a += a[1] == '-' ? 2 : 1;
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) {
    return NULL;
  }
  if (a[n] == '=') {
    return a + n + 1;
  }
  if (a[n] != '\0') {
    return NULL;
  }
  if (*i + 1 >= argc) {
    *bad = true;
    return NULL;
  }
  return argv[++*i];
}

static int global_flag(oci_global_t *g, int argc, char **argv, int *i) {
  bool bad = false;
  const char *v;
  const char *a = argv[*i];
  if ((v = opt_value(argc, argv, i, "root", &bad)) != NULL) {
    g->root = v;
  } else if ((v = opt_value(argc, argv, i, "log", &bad)) != NULL) {
    g->log = v;
  } else if ((v = opt_value(argc, argv, i, "log-format", &bad)) != NULL) {
    if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0) {
      return oci_error(g, "--log-format: \"%s\" is neither text nor json", v);
    }
    g->log_json = strcmp(v, "json") == 0;
  } else if ((v = opt_value(argc, argv, i, "criu", &bad)) != NULL) {
    return oci_error(g, "--criu: hcs-runc has no checkpoint/restore");
  } else if (bad) {
    return oci_error(g, "%s needs a value", a);
  } else if (strcmp(a, "--debug") == 0 || strcmp(a, "-debug") == 0) {
    g->debug = true;
  } else if (strncmp(a, "--systemd-cgroup", 16) == 0 &&
             strcmp(a, "--systemd-cgroup=false") != 0) {
    return oci_error(g, "--systemd-cgroup: hcs places each container in a "
                        "cgroup of its own (hcs/ID), not through systemd");
  } else if (strcmp(a, "--systemd-cgroup=false") == 0) {
  } else if (strncmp(a, "--rootless", 10) == 0) {
    if (strcmp(a, "--rootless=false") != 0) {
      return oci_error(g, "--rootless: hcs-runc runs as root only");
    }
  } else {
    return oci_error(g, "unknown global option %s", a);
  }
  return 0;
}

/* The command line's memory, argv[0] to the end of the last argument:
 * what /proc/PID/cmdline shows. */
static char *args_start;
static size_t args_len;

char *oci_title_set(const char *title) {
  char *old = args_len > 0 ? malloc(args_len) : NULL;
  if (old != NULL) {
    memcpy(old, args_start, args_len);
    memset(args_start, 0, args_len);
    /* The last byte stays 0: the kernel shows all up to it. */
    memcpy(args_start, title, strnlen(title, args_len - 1));
  }
  return old;
}

void oci_title_restore(char *old) {
  if (old != NULL) {
    memcpy(args_start, old, args_len);
    free(old);
  }
}

int main(int argc, char **argv) {
  oci_global_t g = {.root = OCI_DEFAULT_ROOT};
  args_start = argv[0];
  args_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
      printf("hcs-runc version %s\nspec: %s\nlibhcs: %s\n", HCS_VERSION_STRING,
             OCI_VERSION, hcs_version());
      return 0;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (global_flag(&g, argc, argv, &i) != 0) {
      return 1;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
    if (strcmp(argv[i], commands[k].name) == 0) {
      return commands[k].fn(&g, argc - i, argv + i);
    }
  }
  if (strcmp(argv[i], "run") == 0 || strcmp(argv[i], "checkpoint") == 0 ||
      strcmp(argv[i], "restore") == 0) {
    return oci_error(&g, "%s: not supported by hcs-runc", argv[i]);
  }
  return oci_error(&g, "unknown command \"%s\" (hcs-runc does %s)", argv[i],
                   "create, start, state, kill, delete, exec, ps, pause, "
                   "resume, update, features");
}
