/* SPDX-License-Identifier: MIT */
/* docker top: the processes of a container's compute system, read from
 * its cgroup's member list and /proc, in the columns of `ps -ef` (what
 * dockerd runs by default): UID PID PPID C STIME TTY TIME CMD, pids as
 * the host sees them. The system's own init (pid 1 inside, hcs-init) is
 * no process of the container's and is left out, as dockerd leaves out
 * its shim. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The system's cgroup ("hcs/<name>"), from its inspect: malloc'ed, or
 * NULL. */
static char *system_cgroup(hcsd_ctr_t *c) {
  char *json = NULL;
  if (hcs_InspectComputeSystem(c->d->hcs, c->id, &json, NULL) != HCS_OK) {
    return NULL;
  }
  json_t *j = json_loads(json, 0, NULL);
  hcs_free(json);
  const char *cg = json_string_value(json_object_get(j, "Cgroup"));
  char *out = cg != NULL ? strdup(cg) : NULL;
  json_decref(j);
  return out;
}

/* Its member list, open: the unified hierarchy, else v1's freezer (which
 * every system joins). */
static FILE *procs_open(const char *cg) {
  static const char *const dirs[] = {"", "freezer/", "memory/"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    char path[512];
    snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/cgroup.procs", dirs[i],
             cg);
    FILE *f = fopen(path, "re");
    if (f != NULL) {
      return f;
    }
  }
  return NULL;
}

static int read_text(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return -1;
  }
  size_t got = fread(buf, 1, n - 1, f);
  fclose(f);
  buf[got] = '\0';
  return (int)got;
}

/* What /proc tells of one process. */
typedef struct pinfo_s {
  long uid, ppid, nspid_last;
  long tty;
  unsigned long long ticks, start; /* utime+stime, starttime (ticks) */
  char comm[64];
  char cmd[1024];
} pinfo_t;

static int pinfo_read(long pid, pinfo_t *p) {
  char path[64], buf[4096];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if (read_text(path, buf, sizeof(buf)) <= 0) {
    return -1;
  }
  /* comm is in parentheses and may hold anything: the fields follow the
   * last ')'. */
  char *l = strchr(buf, '('), *r = strrchr(buf, ')');
  if (l == NULL || r == NULL || r < l) {
    return -1;
  }
  snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(r - l - 1), l + 1);
  unsigned long long ut = 0, st = 0;
  /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
   * cmajflt utime stime cutime cstime priority nice threads itreal
   * starttime */
  if (sscanf(r + 2,
             "%*c %ld %*d %*d %ld %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
             "%*d %*d %*d %*d %llu",
             &p->ppid, &p->tty, &ut, &st, &p->start) != 5) {
    return -1;
  }
  p->ticks = ut + st;
  snprintf(path, sizeof(path), "/proc/%ld/status", pid);
  if (read_text(path, buf, sizeof(buf)) <= 0) {
    return -1;
  }
  const char *u = strstr(buf, "\nUid:");
  p->uid = u != NULL ? strtol(u + 5, NULL, 10) : 0;
  const char *ns = strstr(buf, "\nNSpid:");
  p->nspid_last = 0;
  for (const char *q = ns != NULL ? ns + 7 : NULL; q != NULL && *q != '\n';) {
    char *end;
    long v = strtol(q, &end, 10);
    if (end == q) {
      break;
    }
    p->nspid_last = v;
    q = end;
  }
  snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
  int n = read_text(path, p->cmd, sizeof(p->cmd));
  for (int i = 0; i < n; i++) {
    if (p->cmd[i] == '\0') {
      p->cmd[i] = ' ';
    }
  }
  while (n > 0 && p->cmd[n - 1] == ' ') {
    p->cmd[--n] = '\0';
  }
  if (n <= 0) {
    snprintf(p->cmd, sizeof(p->cmd), "[%s]", p->comm);
  }
  return 0;
}

static unsigned long long boot_time(void) {
  char buf[8192];
  if (read_text("/proc/stat", buf, sizeof(buf)) <= 0) {
    return 0;
  }
  const char *b = strstr(buf, "\nbtime ");
  return b != NULL ? strtoull(b + 7, NULL, 10) : 0;
}

static double uptime_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ps's STIME: HH:MM today, else MmmDD, else the year. */
static void stime_text(time_t t, char *out, size_t n) {
  time_t now = time(NULL);
  struct tm tm, tn;
  localtime_r(&t, &tm);
  localtime_r(&now, &tn);
  if (now - t < 24 * 3600 && tm.tm_yday == tn.tm_yday) {
    strftime(out, n, "%H:%M", &tm);
  } else if (tm.tm_year == tn.tm_year) {
    strftime(out, n, "%b%d", &tm);
  } else {
    strftime(out, n, "%Y", &tm);
  }
}

static void tty_text(long tty, char *out, size_t n) {
  unsigned major = ((unsigned)tty >> 8) & 0xfff;
  unsigned minor = ((unsigned)tty & 0xff) | (((unsigned)tty >> 12) & 0xfff00);
  if (tty == 0) {
    snprintf(out, n, "?");
  } else if (major >= 136 && major <= 143) {
    snprintf(out, n, "pts/%u", (major - 136) * 256 + minor);
  } else if (major == 4 && minor < 64) {
    snprintf(out, n, "tty%u", minor);
  } else {
    snprintf(out, n, "?");
  }
}

static json_t *row(long pid, const pinfo_t *p, long hz, unsigned long long bt,
                   double up) {
  char uid[64], spid[24], sppid[24], cpu[16], stime[16], tty[24], tm[32];
  struct passwd pw, *res = NULL;
  char pwbuf[1024];
  if (getpwuid_r((uid_t)p->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
      res != NULL) {
    snprintf(uid, sizeof(uid), "%s", pw.pw_name);
  } else {
    snprintf(uid, sizeof(uid), "%ld", p->uid);
  }
  snprintf(spid, sizeof(spid), "%ld", pid);
  snprintf(sppid, sizeof(sppid), "%ld", p->ppid);
  double age = up - (double)p->start / (double)hz;
  double used = (double)p->ticks / (double)hz;
  snprintf(cpu, sizeof(cpu), "%d", age > 0 ? (int)(used * 100 / age) : 0);
  stime_text((time_t)(bt + p->start / (unsigned long long)hz), stime,
             sizeof(stime));
  tty_text(p->tty, tty, sizeof(tty));
  unsigned long long s = p->ticks / (unsigned long long)hz;
  if (s >= 86400) {
    snprintf(tm, sizeof(tm), "%llu-%02llu:%02llu:%02llu", s / 86400,
             s / 3600 % 24, s / 60 % 60, s % 60);
  } else {
    snprintf(tm, sizeof(tm), "%02llu:%02llu:%02llu", s / 3600, s / 60 % 60,
             s % 60);
  }
  return json_pack("[s,s,s,s,s,s,s,s]", uid, spid, sppid, cpu, stime, tty, tm,
                   p->cmd);
}

json_t *hcsd_ctr_top(hcsd_t *d, const char *ref, const char *ps_args,
                     hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return NULL;
  }
  if (c->state != CS_RUNNING || c->main == NULL) {
    hcsd_err_set(e, 409, "Container %s is not running", c->id);
    return NULL;
  }
  if (ps_args != NULL && ps_args[0] != '\0' && strcmp(ps_args, "-ef") != 0) {
    hcsd_err_set(e, 400,
                 "ps_args \"%s\": hcsd lists processes as `ps -ef` only "
                 "(give none, or -ef)",
                 ps_args);
    return NULL;
  }
  char *cg = system_cgroup(c);
  FILE *f = cg != NULL ? procs_open(cg) : NULL;
  free(cg);
  if (f == NULL) {
    hcsd_err_set(e, 500, "the processes of container %s cannot be listed",
                 c->id);
    return NULL;
  }
  long hz = sysconf(_SC_CLK_TCK);
  unsigned long long bt = boot_time();
  double up = uptime_s();
  json_t *procs = json_array();
  long pid;
  while (fscanf(f, "%ld", &pid) == 1) {
    pinfo_t p;
    if (pinfo_read(pid, &p) == 0 && p.nspid_last != 1) {
      json_array_append_new(procs, row(pid, &p, hz > 0 ? hz : 100, bt, up));
    }
  }
  fclose(f);
  hcsd_event_ctr(c, "top", NULL);
  return json_pack("{s:[s,s,s,s,s,s,s,s],s:o}", "Titles", "UID", "PID", "PPID",
                   "C", "STIME", "TTY", "TIME", "CMD", "Processes", procs);
}
