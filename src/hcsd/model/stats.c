/* SPDX-License-Identifier: MIT */
/* docker stats (stats.h): each sample read from the files of the
 * container's cgroup, the group libhcs names in the system's inspect
 * ("hcs/<name>"): in the unified hierarchy on a v2 host, else in each v1
 * controller's (memory, cpuacct, pids, blkio; a controller the system did
 * not join reads as zero, and pids falls back to the memory group's
 * tasks). As dockerd's collector, samples are a second apart and the
 * first of a stream only primes precpu_stats, unless one-shot. */
#include "hcsd/model/stats.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PERIOD_MS 1000
#define ZERO_TIME "0001-01-01T00:00:00Z"

struct hcsd_stats_s {
  hcsd_ctr_t *c; /* a reference */
  as_timer_t *timer;
  bool stream, prime;
  json_t *pre_cpu;   /* the last sample's cpu_stats */
  char pre_read[40]; /* and its time */
  hcsd_stats_cb frame;
  void *data;
  int pin; /* inside frame: freed after it */
  bool cancelled;
};

/* ---- reading a group ---- */

/* The first line of path, NUL-terminated, into buf: its length or -1. */
static int read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return -1;
  }
  bool ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  if (!ok) {
    return -1;
  }
  buf[strcspn(buf, "\n")] = '\0';
  return (int)strlen(buf);
}

/* A number file ("max" and what is not a number: dflt). */
static uint64_t read_u64(const char *path, uint64_t dflt) {
  char buf[64], *end;
  if (read_line(path, buf, sizeof(buf)) <= 0) {
    return dflt;
  }
  unsigned long long v = strtoull(buf, &end, 10);
  return end != buf && *end == '\0' ? (uint64_t)v : dflt;
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as an object
 * of numbers. */
static json_t *read_kv(const char *path) {
  json_t *o = json_object();
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return o;
  }
  char key[128];
  unsigned long long v;
  while (fscanf(f, "%127s %llu", key, &v) == 2) {
    json_object_set_new(o, key, json_integer((json_int_t)v));
  }
  fclose(f);
  return o;
}

static uint64_t kv_u64(json_t *o, const char *key) {
  return (uint64_t)json_integer_value(json_object_get(o, key));
}

/* Lines of path (a member list: its members). */
static uint64_t count_lines(const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return 0;
  }
  uint64_t n = 0;
  int ch;
  while ((ch = getc(f)) != EOF) {
    n += ch == '\n';
  }
  fclose(f);
  return n;
}

/* The user and system ticks of the processes listed in path, with their
 * reaped children's (/proc/PID/stat fields 14 to 17). */
static void members_ticks(const char *path, uint64_t *user, uint64_t *sys) {
  *user = *sys = 0;
  FILE *f = fopen(path, "re");
  long pid;
  while (f != NULL && fscanf(f, "%ld", &pid) == 1) {
    char sp[64], buf[1024];
    snprintf(sp, sizeof(sp), "/proc/%ld/stat", pid);
    if (read_line(sp, buf, sizeof(buf)) <= 0) {
      continue;
    }
    /* comm may hold anything: the fields follow the last ')'. */
    const char *r = strrchr(buf, ')');
    unsigned long long ut, st, cut, cst;
    if (r != NULL && sscanf(r + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%llu %llu %llu %llu",
                            &ut, &st, &cut, &cst) == 4) {
      *user += ut + cut;
      *sys += st + cst;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
}

static uint64_t machine_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

/* The host's cpu time, as dockerd's system_cpu_usage: /proc/stat's cpu
 * line (user to steal) in ns. */
static uint64_t system_cpu_ns(void) {
  char buf[512];
  unsigned long long f[8] = {0};
  if (read_line("/proc/stat", buf, sizeof(buf)) <= 0 ||
      sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
             &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]) < 4) {
    return 0;
  }
  uint64_t ticks = 0;
  for (int i = 0; i < 8; i++) {
    ticks += f[i];
  }
  long hz = sysconf(_SC_CLK_TCK);
  return ticks * (1000000000u / (uint64_t)(hz > 0 ? hz : 100));
}

/* The group's directory for a controller (v2: the one group). */
typedef struct group_s {
  char cg[256]; /* "hcs/<name>" */
  bool v2;
} group_t;

static void group_path(const group_t *g, const char *ctrl, const char *file,
                       char *out, size_t n) {
  if (g->v2) {
    snprintf(out, n, "/sys/fs/cgroup/%s/%s", g->cg, file);
  } else {
    snprintf(out, n, "/sys/fs/cgroup/%s/%s/%s", ctrl != NULL ? ctrl : "", g->cg,
             file);
  }
}

/* The running system's group: 0, or -1 when it has none (not running,
 * or a system without isolation). */
static int group_find(hcsd_ctr_t *c, group_t *g) {
  char *json = NULL;
  if (c->state != CS_RUNNING ||
      hcs_InspectComputeSystem(c->d->hcs, c->id, &json, NULL) != HCS_OK) {
    return -1;
  }
  json_t *j = json_loads(json, 0, NULL);
  hcs_free(json);
  const char *cg = json_string_value(json_object_get(j, "Cgroup"));
  int r = cg != NULL ? 0 : -1;
  if (cg != NULL) {
    snprintf(g->cg, sizeof(g->cg), "%s", cg);
  }
  json_decref(j);
  char path[512];
  snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/memory.current", g->cg);
  g->v2 = r == 0 && access(path, F_OK) == 0;
  return r;
}

static json_t *memory_json(const group_t *g) {
  char path[512];
  uint64_t usage, limit;
  json_t *stats;
  if (g->v2) {
    group_path(g, NULL, "memory.current", path, sizeof(path));
    usage = read_u64(path, 0);
    group_path(g, NULL, "memory.max", path, sizeof(path));
    limit = read_u64(path, UINT64_MAX);
    group_path(g, NULL, "memory.stat", path, sizeof(path));
    stats = read_kv(path);
  } else {
    group_path(g, "memory", "memory.usage_in_bytes", path, sizeof(path));
    usage = read_u64(path, 0);
    group_path(g, "memory", "memory.limit_in_bytes", path, sizeof(path));
    limit = read_u64(path, UINT64_MAX);
    group_path(g, "memory", "memory.stat", path, sizeof(path));
    stats = read_kv(path);
  }
  /* No limit (or one past the machine): the machine's, as dockerd. */
  uint64_t mm = machine_memory();
  if (mm > 0 && limit > mm) {
    limit = mm;
  }
  json_t *o = json_pack("{s:I,s:o,s:I}", "usage", (json_int_t)usage, "stats",
                        stats, "limit", (json_int_t)limit);
  if (!g->v2) {
    group_path(g, "memory", "memory.max_usage_in_bytes", path, sizeof(path));
    json_object_set_new(o, "max_usage",
                        json_integer((json_int_t)read_u64(path, 0)));
    group_path(g, "memory", "memory.failcnt", path, sizeof(path));
    json_object_set_new(o, "failcnt",
                        json_integer((json_int_t)read_u64(path, 0)));
  }
  return o;
}

static json_t *cpu_usage_json(uint64_t total, uint64_t user, uint64_t sys) {
  return json_pack("{s:I,s:I,s:I}", "total_usage", (json_int_t)total,
                   "usage_in_kernelmode", (json_int_t)sys, "usage_in_usermode",
                   (json_int_t)user);
}

static json_t *throttling_json(json_t *stat) {
  return json_pack("{s:I,s:I,s:I}", "periods",
                   (json_int_t)kv_u64(stat, "nr_periods"), "throttled_periods",
                   (json_int_t)kv_u64(stat, "nr_throttled"), "throttled_time",
                   (json_int_t)(kv_u64(stat, "throttled_usec") * 1000 +
                                kv_u64(stat, "throttled_time")));
}

static json_t *cpu_json(const group_t *g) {
  char path[512];
  json_t *usage, *stat;
  if (g->v2) {
    group_path(g, NULL, "cpu.stat", path, sizeof(path));
    stat = read_kv(path);
    usage = cpu_usage_json(kv_u64(stat, "usage_usec") * 1000,
                           kv_u64(stat, "user_usec") * 1000,
                           kv_u64(stat, "system_usec") * 1000);
  } else {
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t tick_ns = 1000000000u / (uint64_t)(hz > 0 ? hz : 100);
    group_path(g, "cpuacct", "cpuacct.usage", path, sizeof(path));
    uint64_t total = read_u64(path, UINT64_MAX);
    group_path(g, "cpuacct", "cpuacct.stat", path, sizeof(path));
    json_t *acct = read_kv(path);
    uint64_t user = kv_u64(acct, "user"), sys = kv_u64(acct, "system");
    json_decref(acct);
    if (total == UINT64_MAX) {
      /* No cpuacct group (hcs joins cpu only for a limit): its members'
       * times, each with those of the children it reaped. */
      group_path(g, "memory", "cgroup.procs", path, sizeof(path));
      members_ticks(path, &user, &sys);
      total = (user + sys) * tick_ns;
    }
    usage = cpu_usage_json(total, user * tick_ns, sys * tick_ns);
    group_path(g, "cpu", "cpu.stat", path, sizeof(path));
    stat = read_kv(path);
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  json_t *o = json_pack("{s:o,s:I,s:i,s:o}", "cpu_usage", usage,
                        "system_cpu_usage", (json_int_t)system_cpu_ns(),
                        "online_cpus", (int)(ncpu > 0 ? ncpu : 1),
                        "throttling_data", throttling_json(stat));
  json_decref(stat);
  return o;
}

static json_t *pids_json(const group_t *g) {
  char path[512];
  group_path(g, "pids", "pids.current", path, sizeof(path));
  uint64_t cur = read_u64(path, UINT64_MAX);
  if (cur == UINT64_MAX) {
    /* v1 without the pids controller: the memory group's tasks. */
    group_path(g, "memory", "tasks", path, sizeof(path));
    cur = count_lines(path);
  }
  group_path(g, "pids", "pids.max", path, sizeof(path));
  uint64_t max = read_u64(path, 0);
  json_t *o = json_pack("{s:I}", "current", (json_int_t)cur);
  if (max > 0) {
    json_object_set_new(o, "limit", json_integer((json_int_t)max));
  }
  return o;
}

static void blkio_add(json_t *a, unsigned maj, unsigned min, const char *op,
                      unsigned long long v) {
  json_array_append_new(a, json_pack("{s:i,s:i,s:s,s:I}", "major", (int)maj,
                                     "minor", (int)min, "op", op, "value",
                                     (json_int_t)v));
}

/* Bytes read and written per device: v2's io.stat, v1's
 * blkio.throttle.io_service_bytes_recursive. */
static json_t *blkio_json(const group_t *g) {
  char path[512], line[512];
  json_t *a = json_array();
  group_path(g, "blkio",
             g->v2 ? "io.stat" : "blkio.throttle.io_service_bytes_recursive",
             path, sizeof(path));
  FILE *f = fopen(path, "re");
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    unsigned maj, min;
    unsigned long long r = 0, w = 0, v;
    char op[32];
    if (g->v2 && sscanf(line, "%u:%u rbytes=%llu wbytes=%llu", &maj, &min, &r,
                        &w) == 4) {
      blkio_add(a, maj, min, "read", r);
      blkio_add(a, maj, min, "write", w);
    } else if (!g->v2 &&
               sscanf(line, "%u:%u %31s %llu", &maj, &min, op, &v) == 4) {
      for (char *p = op; *p != '\0'; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
      }
      blkio_add(a, maj, min, op, v);
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  json_t *o = json_pack("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
                        "io_service_bytes_recursive", "io_serviced_recursive",
                        "io_queue_recursive", "io_service_time_recursive",
                        "io_wait_time_recursive", "io_merged_recursive",
                        "io_time_recursive", "sectors_recursive");
  json_object_set_new(o, "io_service_bytes_recursive", a);
  return o;
}

/* The interfaces of the network namespace pid is in, but lo, from its
 * /proc/PID/net/dev: {"eth0": {rx_bytes, ...}}, or NULL. */
static json_t *networks_json(int pid) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
  FILE *f = pid > 0 ? fopen(path, "re") : NULL;
  if (f == NULL) {
    return NULL;
  }
  json_t *o = json_object();
  while (fgets(line, sizeof(line), f) != NULL) {
    char *colon = strchr(line, ':');
    unsigned long long v[16];
    if (colon == NULL ||
        sscanf(colon + 1,
               "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
               "%llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
               &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16) {
      continue; /* the two header lines */
    }
    *colon = '\0';
    const char *name = line + strspn(line, " ");
    if (strcmp(name, "lo") == 0) {
      continue;
    }
    json_object_set_new(
        o, name,
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes",
                  (json_int_t)v[0], "rx_packets", (json_int_t)v[1], "rx_errors",
                  (json_int_t)v[2], "rx_dropped", (json_int_t)v[3], "tx_bytes",
                  (json_int_t)v[8], "tx_packets", (json_int_t)v[9], "tx_errors",
                  (json_int_t)v[10], "tx_dropped", (json_int_t)v[11]));
  }
  fclose(f);
  return o;
}

/* ---- frames ---- */

static json_t *zero_cpu(void) {
  json_t *stat = json_object();
  json_t *o = json_pack("{s:o,s:o}", "cpu_usage", cpu_usage_json(0, 0, 0),
                        "throttling_data", throttling_json(stat));
  json_decref(stat);
  return o;
}

/* The frame of c: a sample of its group, or the empty one dockerd sends
 * for a container not running (*cpu NULL then; else a reference of the
 * caller's to the frame's cpu_stats). */
static json_t *frame_json(hcsd_ctr_t *c, json_t **cpu) {
  group_t g;
  char nm[256], now[40];
  snprintf(nm, sizeof(nm), "/%s", c->name);
  bool up = group_find(c, &g) == 0;
  *cpu = up ? cpu_json(&g) : NULL;
  if (up) {
    hcsd_time_rfc3339(hcsd_now_ns(), now);
  } else {
    snprintf(now, sizeof(now), "%s", ZERO_TIME);
  }
  json_t *o = json_pack(
      "{s:s,s:s,s:o,s:o,s:i,s:{},s:o,s:o,s:s,s:s}", "read", now, "preread",
      ZERO_TIME, "pids_stats", up ? pids_json(&g) : json_object(),
      "blkio_stats", up ? blkio_json(&g) : json_object(), "num_procs", 0,
      "storage_stats", "cpu_stats", up ? json_incref(*cpu) : zero_cpu(),
      "memory_stats", up ? memory_json(&g) : json_object(), "name", nm, "id",
      c->id);
  json_t *nets = up && c->endpoint_id != NULL ? networks_json(c->pid) : NULL;
  if (o != NULL && nets != NULL) {
    json_object_set_new(o, "networks", nets);
  } else {
    json_decref(nets);
  }
  return o;
}

static void stats_free(hcsd_stats_t *s) {
  as_timer_free(s->timer);
  json_decref(s->pre_cpu);
  hcsd__ctr_unref(s->c);
  free(s);
}

/* Hands o (taken) to the listener: false when s is gone meanwhile (the
 * last frame, or a cancel inside the call). */
static bool emit(hcsd_stats_t *s, json_t *o, bool last) {
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  size_t n = text != NULL ? strlen(text) : 0;
  char *line = text != NULL ? realloc(text, n + 2) : NULL;
  if (line == NULL) {
    free(text);
    n = 0;
  } else {
    line[n++] = '\n';
    line[n] = '\0';
  }
  s->pin++;
  s->frame(line != NULL ? line : "", n, last, s->data);
  s->pin--;
  free(line);
  if (last || s->cancelled) {
    stats_free(s);
    return false;
  }
  return true;
}

static void tick(as_timer_t *t, void *data) {
  hcsd_stats_t *s = data;
  hcsd_ctr_t *c = s->c;
  if (c->state == CS_REMOVING) {
    (void)emit(s, NULL, true);
    return;
  }
  json_t *cpu;
  json_t *o = frame_json(c, &cpu);
  if (cpu != NULL && s->prime) {
    /* The first sample only primes precpu_stats, as dockerd's. */
    s->prime = false;
  } else {
    if (s->pre_cpu != NULL) {
      json_object_set(o, "precpu_stats", s->pre_cpu);
      json_object_set_new(o, "preread", json_string(s->pre_read));
    } else {
      json_object_set_new(o, "precpu_stats", zero_cpu());
    }
    if (!emit(s, json_incref(o), !s->stream)) {
      json_decref(o);
      json_decref(cpu);
      return;
    }
  }
  json_decref(s->pre_cpu);
  s->pre_cpu = cpu; /* frame_json's reference */
  snprintf(s->pre_read, sizeof(s->pre_read), "%s",
           json_string_value(json_object_get(o, "read")));
  json_decref(o);
  as_timer_arm(t, PERIOD_MS, tick, s);
}

int hcsd_ctr_stats(hcsd_t *d, const char *ref, bool stream, bool one_shot,
                   hcsd_stats_cb frame, void *data, hcsd_stats_t **out,
                   hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  hcsd_stats_t *s = calloc(1, sizeof(*s));
  if (s == NULL || as_timer_new(d->loop, &s->timer) != 0) {
    free(s);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  hcsd__ctr_ref(c);
  s->c = c;
  s->stream = stream;
  /* A single frame of a container not running is sent at once, empty. */
  s->prime = !one_shot && (stream || c->state == CS_RUNNING);
  s->frame = frame;
  s->data = data;
  as_timer_arm(s->timer, 0, tick, s);
  *out = s;
  return 0;
}

void hcsd_stats_cancel(hcsd_stats_t *s) {
  s->cancelled = true;
  if (s->pin == 0) {
    stats_free(s);
  }
}
