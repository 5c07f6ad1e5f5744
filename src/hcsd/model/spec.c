/* SPDX-License-Identifier: MIT */
/* Container create and exec create bodies, decoded and checked with the
 * types Docker's schema gives the fields hcsd reads. */
#include "hcsd/model/spec.h"
#include "hcsd/model/ports.h"
#include "hcsd/model/restart.h"
#include "hcsd/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

void hcsd_err_set(hcsd_err_t *e, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  e->status = status;
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
}

/* null, a string or an array of strings. */
static int strv_ok(json_t *v, int allow_string) {
  if (v == NULL || json_is_null(v) || (allow_string && json_is_string(v))) {
    return 1;
  }
  if (!json_is_array(v)) {
    return 0;
  }
  for (size_t i = 0; i < json_array_size(v); i++) {
    if (!json_is_string(json_array_get(v, i))) {
      return 0;
    }
  }
  return 1;
}

/* The fields hcsd reads, with the types Docker's schema gives them: the
 * name of the first that is wrong, or NULL. */
static const char *create_body_check(json_t *b) {
  static const char *const strs[] = {"Image",    "User",       "WorkingDir",
                                     "Hostname", "StopSignal", NULL};
  static const char *const bools[] = {
      "Tty",          "OpenStdin",    "StdinOnce", "AttachStdin",
      "AttachStdout", "AttachStderr", NULL};
  for (int i = 0; strs[i] != NULL; i++) {
    json_t *v = json_object_get(b, strs[i]);
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
      return strs[i];
    }
  }
  for (int i = 0; bools[i] != NULL; i++) {
    json_t *v = json_object_get(b, bools[i]);
    if (v != NULL && !json_is_null(v) && !json_is_boolean(v)) {
      return bools[i];
    }
  }
  if (!strv_ok(json_object_get(b, "Cmd"), 1)) {
    return "Cmd";
  }
  if (!strv_ok(json_object_get(b, "Entrypoint"), 1)) {
    return "Entrypoint";
  }
  if (!strv_ok(json_object_get(b, "Env"), 0)) {
    return "Env";
  }
  json_t *stop = json_object_get(b, "StopTimeout");
  if (stop != NULL && !json_is_null(stop) &&
      (!json_is_integer(stop) || json_integer_value(stop) < -1 ||
       json_integer_value(stop) > 86400 * 365)) {
    return "StopTimeout";
  }
  json_t *hc = json_object_get(b, "HostConfig");
  if (hc != NULL && !json_is_null(hc) && !json_is_object(hc)) {
    return "HostConfig";
  }
  json_t *nm = json_object_get(hc, "NetworkMode");
  if (nm != NULL && !json_is_null(nm) && !json_is_string(nm)) {
    return "HostConfig.NetworkMode";
  }
  json_t *ar = json_object_get(hc, "AutoRemove");
  if (ar != NULL && !json_is_null(ar) && !json_is_boolean(ar)) {
    return "HostConfig.AutoRemove";
  }
  json_t *cs = json_object_get(hc, "ConsoleSize");
  if (cs != NULL && !json_is_null(cs) &&
      (!json_is_array(cs) || json_array_size(cs) != 2 ||
       !json_is_integer(json_array_get(cs, 0)) ||
       !json_is_integer(json_array_get(cs, 1)))) {
    return "HostConfig.ConsoleSize";
  }
  return NULL;
}

/* ---- the rule: every documented field honoured or refused ----
 *
 * A documented field of a create or exec body that hcsd does not
 * implement is accepted only at its default (what the docker CLI sends
 * when its flag is not given: absent, null, false, 0, "", [], {}, a
 * struct of such, or the field's own default below) and otherwise
 * refused with a 400 naming the CLI flag, never stored and ignored.
 * Members that no version of the API documents are ignored, as dockerd's
 * JSON decoder ignores them: a newer client's field is not an error.
 * HostConfig.Init is honoured whatever its value: pid 1 of every container
 * is hcs's init, which reaps and forwards signals as docker-init does. */

typedef struct refused_s {
  const char *field; /* member of its object */
  const char *flag;  /* the docker CLI flag that sets it, or NULL */
  const char *also;  /* one more default value, as JSON text, or NULL */
  bool null_only;    /* only absent or null is the default ([] is not) */
  const struct refused_s *sub; /* an object's members, each its own flag */
} refused_t;

static const refused_t health_refused[] = {
    {"Test", "--health-cmd", NULL, false, NULL},
    {"Interval", "--health-interval", NULL, false, NULL},
    {"Timeout", "--health-timeout", NULL, false, NULL},
    {"StartPeriod", "--health-start-period", NULL, false, NULL},
    {"StartInterval", "--health-start-interval", NULL, false, NULL},
    {"Retries", "--health-retries", NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

static const refused_t ipam_refused[] = {
    {"IPv4Address", "--ip", NULL, false, NULL},
    {"IPv6Address", "--ip6", NULL, false, NULL},
    {"LinkLocalIPs", "--link-local-ip", NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

static const refused_t config_refused[] = {
    {"Domainname", "--domainname", NULL, false, NULL},
    {"Healthcheck", "--health-cmd", "{\"Test\":[\"NONE\"]}", false,
     health_refused},
    {"NetworkDisabled", NULL, NULL, false, NULL},
    {"MacAddress", "--mac-address", NULL, false, NULL},
    {"Shell", NULL, NULL, false, NULL},
    {"OnBuild", NULL, NULL, false, NULL},
    {"ArgsEscaped", NULL, NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

static const refused_t host_refused[] = {
    {"VolumeDriver", "--volume-driver", NULL, false, NULL},
    {"VolumesFrom", "--volumes-from", NULL, false, NULL},
    {"Annotations", "--annotation", NULL, false, NULL},
    {"CgroupnsMode", "--cgroupns", "\"private\"", false, NULL},
    {"Dns", "--dns", NULL, false, NULL},
    {"DnsOptions", "--dns-option", NULL, false, NULL},
    {"DnsSearch", "--dns-search", NULL, false, NULL},
    {"GroupAdd", "--group-add", NULL, false, NULL},
    {"IpcMode", "--ipc", "\"private\"", false, NULL},
    {"Cgroup", NULL, NULL, false, NULL},
    {"PidMode", "--pid", NULL, false, NULL},
    {"Privileged", "--privileged", NULL, false, NULL},
    {"SecurityOpt", "--security-opt", NULL, false, NULL},
    {"StorageOpt", "--storage-opt", NULL, false, NULL},
    {"UTSMode", "--uts", NULL, false, NULL},
    {"UsernsMode", "--userns", NULL, false, NULL},
    {"Sysctls", "--sysctl", NULL, false, NULL},
    {"Runtime", "--runtime", NULL, false, NULL},
    {"Isolation", "--isolation", "\"default\"", false, NULL},
    {"MaskedPaths", "--security-opt systempaths=unconfined", NULL, true, NULL},
    {"ReadonlyPaths", "--security-opt systempaths=unconfined", NULL, true,
     NULL},
    {"CgroupParent", "--cgroup-parent", NULL, false, NULL},
    {"BlkioWeight", "--blkio-weight", NULL, false, NULL},
    {"BlkioWeightDevice", "--blkio-weight-device", NULL, false, NULL},
    {"BlkioDeviceReadBps", "--device-read-bps", NULL, false, NULL},
    {"BlkioDeviceWriteBps", "--device-write-bps", NULL, false, NULL},
    {"BlkioDeviceReadIOps", "--device-read-iops", NULL, false, NULL},
    {"BlkioDeviceWriteIOps", "--device-write-iops", NULL, false, NULL},
    {"CpuPeriod", "--cpu-period", NULL, false, NULL},
    {"CpuQuota", "--cpu-quota", NULL, false, NULL},
    {"CpuRealtimePeriod", "--cpu-rt-period", NULL, false, NULL},
    {"CpuRealtimeRuntime", "--cpu-rt-runtime", NULL, false, NULL},
    {"Devices", "--device", NULL, false, NULL},
    {"DeviceCgroupRules", "--device-cgroup-rule", NULL, false, NULL},
    {"DeviceRequests", "--gpus", NULL, false, NULL},
    {"KernelMemory", "--kernel-memory", NULL, false, NULL},
    {"KernelMemoryTCP", NULL, NULL, false, NULL},
    {"MemorySwappiness", "--memory-swappiness", "-1", false, NULL},
    {"OomKillDisable", "--oom-kill-disable", NULL, false, NULL},
    {"CpuCount", "--cpu-count", NULL, false, NULL},
    {"CpuPercent", "--cpu-percent", NULL, false, NULL},
    {"IOMaximumIOps", "--io-maxiops", NULL, false, NULL},
    {"IOMaximumBandwidth", "--io-maxbandwidth", NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

/* EndpointsConfig.<network>: what a create may ask of its endpoint. */
static const refused_t endpoint_refused[] = {
    {"IPAMConfig", "--ip", NULL, false, ipam_refused},
    {"Links", "--link", NULL, false, NULL},
    {"MacAddress", "--mac-address", NULL, false, NULL},
    {"DriverOpts", "--network driver-opt", NULL, false, NULL},
    {"GwPriority", "--network gw-priority", NULL, false, NULL},
    {"DNSNames", NULL, NULL, false, NULL},
    {"NetworkID", NULL, NULL, false, NULL},
    {"EndpointID", NULL, NULL, false, NULL},
    {"Gateway", NULL, NULL, false, NULL},
    {"IPAddress", NULL, NULL, false, NULL},
    {"IPPrefixLen", NULL, NULL, false, NULL},
    {"IPv6Gateway", NULL, NULL, false, NULL},
    {"GlobalIPv6Address", NULL, NULL, false, NULL},
    {"GlobalIPv6PrefixLen", NULL, NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

static const refused_t exec_refused[] = {
    {"Privileged", "--privileged", NULL, false, NULL},
    {"DetachKeys", "--detach-keys", NULL, false, NULL},
    {NULL, NULL, NULL, false, NULL}};

/* Go's zero value: absent, null, false, 0, "", [] or {}. */
static bool is_zero(json_t *v) {
  if (v == NULL) {
    return true;
  }
  switch (json_typeof(v)) {
  case JSON_NULL:
  case JSON_FALSE:
    return true;
  case JSON_INTEGER:
    return json_integer_value(v) == 0;
  case JSON_REAL:
    return json_real_value(v) == 0.0;
  case JSON_STRING:
    return json_string_length(v) == 0;
  case JSON_ARRAY:
    return json_array_size(v) == 0;
  case JSON_OBJECT:
    /* A map's keys are its content ({"/t": ""} is a tmpfs); a struct's
     * members are looked at one by one (refused_t.sub). */
    return json_object_size(v) == 0;
  default:
    return false;
  }
}

static bool is_default(json_t *v, const refused_t *f) {
  if (v == NULL || json_is_null(v)) {
    return true;
  }
  if (f->null_only) {
    return false;
  }
  if (is_zero(v)) {
    return true;
  }
  if (f->sub != NULL && json_is_object(v)) {
    const refused_t *m = f->sub;
    while (m->field != NULL && is_default(json_object_get(v, m->field), m)) {
      m++;
    }
    if (m->field == NULL) {
      return true;
    }
  }
  json_t *also =
      f->also != NULL ? json_loads(f->also, JSON_DECODE_ANY, NULL) : NULL;
  bool eq = also != NULL && json_equal(v, also);
  json_decref(also);
  return eq;
}

static int refuse(hcsd_err_t *e, const char *flag, const char *where,
                  const char *field) {
  if (flag != NULL) {
    hcsd_err_set(e, 400, "hcsd does not support %s (%s%s)", flag, where, field);
  } else {
    hcsd_err_set(e, 400, "hcsd does not support %s%s", where, field);
  }
  return -1;
}

/* The first field of o in table not at its default: -1 with e set
 * naming it (by the member that is not, when its members have flags). */
static int check_refused(json_t *o, const refused_t *table, const char *where,
                         hcsd_err_t *e) {
  for (const refused_t *f = table; f->field != NULL; f++) {
    json_t *v = json_object_get(o, f->field);
    if (is_default(v, f)) {
      continue;
    }
    char sub[128];
    snprintf(sub, sizeof(sub), "%s%s.", where, f->field);
    if (f->sub != NULL && json_is_object(v) &&
        check_refused(v, f->sub, sub, e) != 0) {
      return -1;
    }
    return refuse(e, f->flag, where, f->field);
  }
  return 0;
}

int hcsd_platform_check(const char *platform, hcsd_err_t *e) {
  if (platform == NULL || platform[0] == '\0') {
    return 0;
  }
  struct utsname u;
  const char *arch = uname(&u) != 0                      ? "?"
                     : strcmp(u.machine, "x86_64") == 0  ? "amd64"
                     : strcmp(u.machine, "aarch64") == 0 ? "arm64"
                                                         : u.machine;
  char mine[80];
  snprintf(mine, sizeof(mine), "linux/%s", arch);
  if (strcmp(platform, "linux") == 0 || strcmp(platform, mine) == 0) {
    return 0;
  }
  hcsd_err_set(e, 400,
               "hcsd does not support --platform %s (its images are %s)",
               platform, mine);
  return -1;
}

/* An integer field of HostConfig: 0 when absent or null, -1 with e set
 * when it is not an integer. */
static int int_field(json_t *hc, const char *name, json_int_t *out,
                     hcsd_err_t *e) {
  json_t *v = json_object_get(hc, name);
  *out = 0;
  if (v == NULL || json_is_null(v)) {
    return 0;
  }
  if (!json_is_integer(v)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of HostConfig.%s",
                 name);
    return -1;
  }
  *out = json_integer_value(v);
  return 0;
}

static long online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

#define MIB (1024LL * 1024)
#define NANO 1000000000LL
/* libhcs's bounds: ProcessorMaximum and ProcessorWeight run to 10000
 * (a share of all CPUs, a relative weight), PidsMaximum to the kernel's
 * pid_max ceiling. */
#define HCS_CPU_UNITS 10000
#define HCS_PIDS_MAX 4194304
/* Docker's cpu shares run 2-262144 (cgroup v1's range). */
#define SHARES_MAX 262144

/* Whether word is one of the space-separated words of list. */
static bool in_words(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = strstr(list, word); n > 0 && p != NULL;
       p = strstr(p + 1, word)) {
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
      return true;
    }
  }
  return false;
}

/* CapAdd and CapDrop: capability names, with or without CAP_, or ALL
 * (what libhcs's CapAdd/CapDrop take), checked here to refuse at create
 * as dockerd does. */
static int caps_check(json_t *hc, hcsd_err_t *e) {
  static const char known[] =
      "ALL CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID "
      "SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST "
      "NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
      "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE "
      "SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
      "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
      "PERFMON BPF CHECKPOINT_RESTORE";
  static const char *const fields[] = {"CapAdd", "CapDrop"};
  for (int f = 0; f < 2; f++) {
    json_t *v = json_object_get(hc, fields[f]);
    if (!strv_ok(v, 0)) {
      hcsd_err_set(e, 400, "json: cannot unmarshal the value of HostConfig.%s",
                   fields[f]);
      return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c) {
      const char *name = json_string_value(c);
      char up[64];
      size_t k = 0;
      for (const char *p = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
           *p != '\0' && k < sizeof(up) - 1; p++) {
        up[k++] = (char)toupper((unsigned char)*p);
      }
      up[k] = '\0';
      if (!in_words(known, up)) {
        hcsd_err_set(e, 400, "invalid %s: unknown capability: \"%s\"",
                     fields[f], name);
        return -1;
      }
    }
  }
  return 0;
}

/* Ulimits: [{Name, Soft, Hard}] with the names docker's --ulimit takes. */
static int ulimits_check(json_t *hc, hcsd_err_t *e) {
  static const char known[] = "core cpu data fsize locks memlock msgqueue "
                              "nice nofile nproc rss rtprio rttime "
                              "sigpending stack";
  json_t *v = json_object_get(hc, "Ulimits");
  if (v != NULL && !json_is_null(v) && !json_is_array(v)) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal the value of HostConfig.Ulimits");
    return -1;
  }
  size_t i;
  json_t *u;
  json_array_foreach(v, i, u) {
    const char *name = json_string_value(json_object_get(u, "Name"));
    json_t *soft = json_object_get(u, "Soft"),
           *hard = json_object_get(u, "Hard");
    if (name == NULL || !json_is_integer(soft) || !json_is_integer(hard)) {
      hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.Ulimits[%zu]", i);
      return -1;
    }
    if (!in_words(known, name)) {
      hcsd_err_set(e, 400, "invalid --ulimit: unknown ulimit: %s", name);
      return -1;
    }
    if (json_integer_value(soft) > json_integer_value(hard) &&
        json_integer_value(hard) != -1) {
      hcsd_err_set(e, 400,
                   "ulimit soft limit must be less than or equal to hard "
                   "limit: %lld > %lld",
                   (long long)json_integer_value(soft),
                   (long long)json_integer_value(hard));
      return -1;
    }
  }
  return 0;
}

/* A cpuset list ("0-1,3") whose numbers are all below max: 0, or -1. */
static int cpuset_list_ok(const char *s, long max) {
  while (*s != '\0') {
    char *end;
    if (*s < '0' || *s > '9') {
      return -1;
    }
    long a = strtol(s, &end, 10), b = a;
    if (*end == '-') {
      if (end[1] < '0' || end[1] > '9') {
        return -1;
      }
      b = strtol(end + 1, &end, 10);
    }
    if (b < a || b >= max || (*end != ',' && *end != '\0') ||
        (*end == ',' && end[1] == '\0')) {
      return -1;
    }
    s = *end == ',' ? end + 1 : end;
  }
  return 0;
}

/* CpusetCpus and CpusetMems: lists of what this machine has. */
static int cpuset_check(json_t *hc, hcsd_err_t *e) {
  static const char *const fields[] = {"CpusetCpus", "CpusetMems"};
  for (int f = 0; f < 2; f++) {
    json_t *v = json_object_get(hc, fields[f]);
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
      hcsd_err_set(e, 400, "json: cannot unmarshal the value of HostConfig.%s",
                   fields[f]);
      return -1;
    }
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0') {
      continue;
    }
    /* Memory nodes: those the kernel lists online. */
    long max = f == 0 ? online_cpus() : 1;
    FILE *nodes =
        f == 1 ? fopen("/sys/devices/system/node/online", "re") : NULL;
    char line[64];
    if (nodes != NULL && fgets(line, sizeof(line), nodes) != NULL) {
      const char *last = strrchr(line, '-');
      max = strtol(last != NULL ? last + 1 : line, NULL, 10) + 1;
    }
    if (nodes != NULL) {
      fclose(nodes);
    }
    if (cpuset_list_ok(s, max) != 0) {
      hcsd_err_set(e, 400,
                   "Requested %s are not available - requested %s, "
                   "available: 0-%ld",
                   f == 0 ? "CPUs" : "memory nodes", s, max - 1);
      return -1;
    }
  }
  return 0;
}

/* MemorySwap, MemoryReservation and ShmSize against Memory, and
 * OomScoreAdj, as dockerd checks them. */
static int memory_check(json_t *hc, json_int_t mem, hcsd_err_t *e) {
  json_int_t swap, resv, shm;
  if (int_field(hc, "MemorySwap", &swap, e) != 0 ||
      int_field(hc, "MemoryReservation", &resv, e) != 0 ||
      int_field(hc, "ShmSize", &shm, e) != 0) {
    return -1;
  }
  if (swap > 0 && mem == 0) {
    hcsd_err_set(e, 400,
                 "You should always set the Memory limit when using "
                 "Memoryswap limit, see usage");
    return -1;
  }
  if (swap < -1 || (swap > 0 && swap < mem)) {
    hcsd_err_set(e, 400,
                 "Minimum memoryswap limit should be larger than memory "
                 "limit, see usage");
    return -1;
  }
  if (resv < 0 || (resv > 0 && resv < 6 * MIB)) {
    hcsd_err_set(e, 400, "Minimum memory reservation allowed is 6MB");
    return -1;
  }
  if (mem > 0 && resv > mem) {
    hcsd_err_set(e, 400,
                 "Minimum memory limit can not be less than memory "
                 "reservation limit, see usage");
    return -1;
  }
  if (shm < 0) {
    hcsd_err_set(e, 400, "SHM size can not be less than 0");
    return -1;
  }
  json_int_t oom;
  if (int_field(hc, "OomScoreAdj", &oom, e) != 0) {
    return -1;
  }
  if (oom < -1000 || oom > 1000) {
    hcsd_err_set(e, 400,
                 "Invalid value %lld, range for oom score adj is "
                 "[-1000, 1000]",
                 (long long)oom);
    return -1;
  }
  return 0;
}

/* The limits of HostConfig that libhcs's system config carries, checked
 * as dockerd checks them: 0, or -1 with e set. */
int hcsd_spec_limits_check(json_t *hc, hcsd_err_t *e) {
  json_int_t mem, cpus, shares, pids;
  if (int_field(hc, "Memory", &mem, e) != 0 ||
      int_field(hc, "NanoCpus", &cpus, e) != 0 ||
      int_field(hc, "CpuShares", &shares, e) != 0 ||
      int_field(hc, "PidsLimit", &pids, e) != 0) {
    return -1;
  }
  if (mem < 0) {
    hcsd_err_set(e, 400, "invalid --memory: %lld", (long long)mem);
    return -1;
  }
  if (mem > 0 && mem < 6 * MIB) {
    hcsd_err_set(e, 400, "Minimum memory limit allowed is 6MB");
    return -1;
  }
  long ncpu = online_cpus();
  if (cpus < 0 || cpus > (json_int_t)ncpu * NANO) {
    hcsd_err_set(e, 400,
                 "Range of CPUs is from 0.01 to %ld.00, as there are only %ld "
                 "CPUs available",
                 ncpu, ncpu);
    return -1;
  }
  if (shares < 0 || shares > SHARES_MAX) {
    hcsd_err_set(e, 400, "invalid --cpu-shares: %lld (2 to %d)",
                 (long long)shares, SHARES_MAX);
    return -1;
  }
  return memory_check(hc, mem, e) != 0 || cpuset_check(hc, e) != 0 ||
                 caps_check(hc, e) != 0 || ulimits_check(hc, e) != 0
             ? -1
             : 0;
}

/* HostConfig's fields that libhcs's config takes as they are: the
 * capabilities, the ulimits (Docker's {Name, Soft, Hard} is libhcs's
 * shape) and the cpusets. */
static void system_process_fields(json_t *hc, json_t *sys) {
  static const char *const same[] = {"CapAdd", "CapDrop", "Ulimits",
                                     "CpusetCpus", "CpusetMems"};
  for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
    json_t *v = json_object_get(hc, same[i]);
    if (v != NULL && !is_zero(v)) {
      json_object_set(sys, same[i], v);
    }
  }
  json_t *shm = json_object_get(hc, "ShmSize");
  if (json_integer_value(shm) > 0) {
    json_object_set(sys, "ShmSizeInBytes", shm);
  }
  json_t *oom = json_object_get(hc, "OomScoreAdj");
  if (json_integer_value(oom) != 0) {
    json_object_set(sys, "OomScoreAdj", oom);
  }
}

void hcsd_spec_system_limits(json_t *hc, json_t *sys) {
  hcsd_err_t e;
  json_int_t mem, cpus, shares, pids;
  if (int_field(hc, "Memory", &mem, &e) != 0 ||
      int_field(hc, "NanoCpus", &cpus, &e) != 0 ||
      int_field(hc, "CpuShares", &shares, &e) != 0 ||
      int_field(hc, "PidsLimit", &pids, &e) != 0) {
    return; /* decode refused these; a record from before has none */
  }
  system_process_fields(hc, sys);
  json_int_t swap, resv;
  (void)int_field(hc, "MemorySwap", &swap, &e);
  (void)int_field(hc, "MemoryReservation", &resv, &e);
  if (resv > 0) {
    json_object_set_new(sys, "MemoryReservationInMB",
                        json_integer((resv + MIB - 1) / MIB));
  }
  if (mem > 0) {
    /* libhcs counts in MiB: a limit that is not whole MiB rounds up.
     * MemorySwap is memory and swap together (-1: swap unlimited). */
    json_object_set_new(sys, "MemoryMaximumInMB",
                        json_integer((mem + MIB - 1) / MIB));
    json_object_set_new(sys, "SwapMaximumInMB",
                        json_integer(swap < 0     ? -1
                                     : swap > mem ? (swap + MIB - 1) / MIB -
                                                        (mem + MIB - 1) / MIB
                                                  : 0));
  }
  if (cpus > 0) {
    long long all = (long long)online_cpus() * NANO;
    long long units = (cpus * HCS_CPU_UNITS + all - 1) / all;
    json_object_set_new(
        sys, "ProcessorMaximum",
        json_integer(units > HCS_CPU_UNITS ? HCS_CPU_UNITS : units));
  }
  if (shares > 0) {
    /* Docker's v2 conversion of shares to a weight (1-10000), which
     * libhcs writes as cpu.weight, or as shares again on v1. */
    long long w = 1 + (shares < 2 ? 0 : (shares - 2) * 9999 / 262142);
    json_object_set_new(sys, "ProcessorWeight", json_integer(w));
  }
  if (pids > 0) {
    json_object_set_new(
        sys, "PidsMaximum",
        json_integer(pids > HCS_PIDS_MAX ? HCS_PIDS_MAX : pids));
  }
}

/* LogConfig: json-file (what hcsd's log is), with no options. */
static int log_config_check(json_t *hc, hcsd_err_t *e) {
  json_t *lc = json_object_get(hc, "LogConfig");
  if (lc == NULL || json_is_null(lc)) {
    return 0;
  }
  if (!json_is_object(lc)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of LogConfig");
    return -1;
  }
  json_t *t = json_object_get(lc, "Type");
  const char *type = json_string_value(t);
  if (t != NULL && !json_is_null(t) &&
      (type == NULL || (type[0] != '\0' && strcmp(type, "json-file") != 0))) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --log-driver %s "
                 "(HostConfig.LogConfig.Type); its log is json-file",
                 type != NULL ? type : "");
    return -1;
  }
  if (!is_zero(json_object_get(lc, "Config"))) {
    return refuse(e, "--log-opt", "HostConfig.", "LogConfig.Config");
  }
  return 0;
}

int hcsd_spec_endpoint_check(json_t *ep, const char *where, hcsd_err_t *e) {
  return check_refused(ep, endpoint_refused, where, e);
}

/* HostConfig.Links: on a user network an alias of the linked container
 * that the linking one resolves (netshosts.c), as dockerd's embedded DNS
 * answers it there; the default bridge's legacy links (environment
 * variables, a shared /etc/hosts) are refused. */
static int links_check(json_t *hc, const char *nm, hcsd_err_t *e) {
  json_t *links = json_object_get(hc, "Links");
  if (is_zero(links)) {
    return 0;
  }
  if (!json_is_array(links)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.Links");
    return -1;
  }
  if (nm == NULL || nm[0] == '\0' || strcmp(nm, "default") == 0 ||
      strcmp(nm, "bridge") == 0 || strcmp(nm, "host") == 0 ||
      strcmp(nm, "none") == 0 || strncmp(nm, "container:", 10) == 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --link (HostConfig.Links) but on a "
                 "user network: the default bridge's legacy links are not "
                 "made");
    return -1;
  }
  size_t i;
  json_t *l;
  json_array_foreach(links, i, l) {
    const char *s = json_string_value(l);
    if (s == NULL || s[0] == '\0' || s[0] == ':') {
      hcsd_err_set(e, 400, "invalid link: HostConfig.Links[%zu]", i);
      return -1;
    }
  }
  return 0;
}

/* Whether network names a and b are the one network (the default one
 * has three names). */
static bool same_network(const char *a, const char *b) {
  static const char *const dflt[] = {"", "default", "bridge"};
  bool da = false, db = false;
  for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++) {
    da = da || strcmp(a, dflt[i]) == 0;
    db = db || strcmp(b, dflt[i]) == 0;
  }
  return (da && db) || strcmp(a, b) == 0;
}

/* --network-alias: names, on a network of the user's only (dockerd's
 * words for the others). */
static int aliases_check(json_t *ep, const char *nm, hcsd_err_t *e) {
  json_t *a = json_object_get(ep, "Aliases");
  size_t i;
  json_t *v;
  if (a != NULL && !json_is_null(a) && !json_is_array(a)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of Aliases");
    return -1;
  }
  json_array_foreach(a, i, v) {
    if (json_string_length(v) == 0) {
      hcsd_err_set(e, 400, "Aliases[%zu]: must be a name", i);
      return -1;
    }
  }
  if (json_array_size(a) > 0 &&
      (same_network(nm, "bridge") || strcmp(nm, "host") == 0 ||
       strcmp(nm, "none") == 0 || strncmp(nm, "container:", 10) == 0)) {
    hcsd_err_set(e, 400,
                 "network-scoped alias is supported only for containers in "
                 "user defined networks");
    return -1;
  }
  return 0;
}

/* The Aliases of the endpoint of NetworkingConfig nc on network nm (a
 * new reference), or NULL when it has none. */
static json_t *endpoint_aliases(json_t *nc, const char *nm) {
  const char *k;
  json_t *ep;
  json_object_foreach(json_object_get(nc, "EndpointsConfig"), k, ep) {
    json_t *a = json_object_get(ep, "Aliases");
    if (same_network(k, nm)) {
      return json_array_size(a) > 0 ? json_incref(a) : NULL;
    }
  }
  return NULL;
}

/* The endpoints of nc on other networks than nm's (a new object), or
 * NULL when there are none. */
static json_t *endpoint_others(json_t *nc, const char *nm) {
  json_t *o = NULL;
  const char *k;
  json_t *ep;
  json_object_foreach(json_object_get(nc, "EndpointsConfig"), k, ep) {
    if (!same_network(k, nm)) {
      o = o != NULL ? o : json_object();
      json_object_set_new(
          o, k, json_is_object(ep) ? json_deep_copy(ep) : json_object());
    }
  }
  return o;
}

/* A second network at create: not beside host, none or container:, and
 * neither host nor none itself (dockerd's words). */
static int second_network_check(const char *k, const char *nm, hcsd_err_t *e) {
  if (strcmp(nm, "host") == 0 || strncmp(nm, "container:", 10) == 0) {
    hcsd_err_set(e, 400,
                 "container sharing network namespace with another "
                 "container or host cannot be connected to any other "
                 "network (NetworkingConfig.EndpointsConfig.%s)",
                 k);
    return -1;
  }
  if (strcmp(nm, "none") == 0 || strcmp(k, "none") == 0 ||
      strcmp(k, "host") == 0) {
    hcsd_err_set(e, 400,
                 "container cannot be connected to multiple networks with "
                 "one of the networks in private (none) or host mode "
                 "(NetworkingConfig.EndpointsConfig.%s)",
                 k);
    return -1;
  }
  return 0;
}

/* NetworkingConfig: an endpoint on the network of NetworkMode (nm) and
 * on any other (connected at create, as dockerd does), each asking for
 * nothing hcsd cannot give. */
static int networking_check(json_t *nc, json_t *hc, const char *nm,
                            hcsd_err_t *e) {
  json_t *eps = json_object_get(nc, "EndpointsConfig");
  if (eps == NULL || json_is_null(eps)) {
    return 0;
  }
  if (!json_is_object(eps)) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal the value of "
                 "NetworkingConfig.EndpointsConfig");
    return -1;
  }
  const char *k;
  json_t *ep;
  json_object_foreach(eps, k, ep) {
    if (!same_network(k, nm) && second_network_check(k, nm, e) != 0) {
      return -1;
    }
    if (!json_is_null(ep) && !json_is_object(ep)) {
      hcsd_err_set(e, 400,
                   "json: cannot unmarshal the value of "
                   "NetworkingConfig.EndpointsConfig.%s",
                   k);
      return -1;
    }
    /* The docker CLI sends --link in its network's endpoint as well as in
     * HostConfig.Links, which links_check takes. */
    json_t *mine = json_is_object(ep) ? json_copy(ep) : NULL;
    json_t *links = json_object_get(mine, "Links");
    if (links != NULL && same_network(k, nm) &&
        json_equal(links, json_object_get(hc, "Links"))) {
      json_object_del(mine, "Links");
    }
    int r =
        check_refused(mine, endpoint_refused,
                      "NetworkingConfig.EndpointsConfig.<network>.", e) != 0 ||
        aliases_check(ep, same_network(k, nm) ? nm : k, e) != 0;
    json_decref(mine);
    if (r != 0) {
      return -1;
    }
  }
  return 0;
}

/* Every field of the body either hcsd's or at its default. */
static int create_fields_check(json_t *b, hcsd_err_t *e) {
  json_t *hc = json_object_get(b, "HostConfig");
  json_t *nc = json_object_get(b, "NetworkingConfig");
  const char *wd = json_string_value(json_object_get(b, "WorkingDir"));
  if (wd != NULL && wd[0] != '\0' && wd[0] != '/') {
    hcsd_err_set(e, 400,
                 "the working directory '%s' is invalid, it needs to be an "
                 "absolute path",
                 wd);
    return -1;
  }
  if (nc != NULL && !json_is_null(nc) && !json_is_object(nc)) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal the value of "
                 "NetworkingConfig");
    return -1;
  }
  if (check_refused(b, config_refused, "", e) != 0 ||
      check_refused(hc, host_refused, "HostConfig.", e) != 0 ||
      log_config_check(hc, e) != 0 || hcsd_restart_policy_check(hc, e) != 0 ||
      hcsd_spec_limits_check(hc, e) != 0 ||
      hcsd_spec_mounts_check(hc, e) != 0 ||
      hcsd_spec_volumes_check(b, e) != 0) {
    return -1;
  }
  const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
  if (links_check(hc, nm, e) != 0) {
    return -1;
  }
  if (hcsd_ports_check(b, hc, nm, e) != 0) {
    return -1;
  }
  return networking_check(nc, hc, nm != NULL ? nm : "", e);
}

static json_t *load_object(const char *body, size_t len, hcsd_err_t *e) {
  json_error_t je;
  json_t *b = json_loadb(body, len, 0, &je);
  if (!json_is_object(b)) {
    json_decref(b);
    hcsd_err_set(e, 400, "invalid JSON in the request body: %s", je.text);
    return NULL;
  }
  return b;
}

int hcsd_ctr_spec_decode(const char *body, size_t len, hcsd_ctr_spec_t *spec,
                         hcsd_err_t *e) {
  memset(spec, 0, sizeof(*spec));
  json_t *b = load_object(body, len, e);
  if (b == NULL) {
    return -1;
  }
  const char *bad = create_body_check(b);
  if (bad != NULL) {
    json_decref(b);
    hcsd_err_set(e, 400, "json: cannot unmarshal the value of %s", bad);
    return -1;
  }
  const char *image = json_string_value(json_object_get(b, "Image"));
  if (image == NULL || image[0] == '\0') {
    json_decref(b);
    hcsd_err_set(e, 400, "config: Image is required");
    return -1;
  }
  if (create_fields_check(b, e) != 0) {
    json_decref(b);
    return -1;
  }
  json_t *hc = json_object_get(b, "HostConfig");
  spec->host_config = json_is_object(hc) ? json_incref(hc) : json_object();
  hcsd_spec_anon_volumes(json_object_get(b, "Volumes"), spec->host_config);
  /* The log hcsd keeps is json-file, and inspect says so (the Python
   * SDK's containers.run reads HostConfig.LogConfig.Type). */
  json_object_set_new(spec->host_config, "LogConfig",
                      json_pack("{s:s,s:{}}", "Type", "json-file", "Config"));
  json_object_del(b, "HostConfig");
  json_t *nc = json_object_get(b, "NetworkingConfig");
  const char *mode =
      json_string_value(json_object_get(spec->host_config, "NetworkMode"));
  spec->aliases = endpoint_aliases(nc, mode != NULL ? mode : "");
  spec->networks = endpoint_others(nc, mode != NULL ? mode : "");
  json_object_del(b, "NetworkingConfig");
  spec->config = b;
  spec->image = image;
  spec->tty = json_is_true(json_object_get(b, "Tty"));
  spec->open_stdin = json_is_true(json_object_get(b, "OpenStdin"));
  spec->stdin_once = json_is_true(json_object_get(b, "StdinOnce"));
  spec->auto_remove =
      json_is_true(json_object_get(spec->host_config, "AutoRemove"));
  json_t *cs = json_object_get(spec->host_config, "ConsoleSize");
  spec->rows = (uint16_t)json_integer_value(json_array_get(cs, 0));
  spec->cols = (uint16_t)json_integer_value(json_array_get(cs, 1));
  spec->hostname = json_string_value(json_object_get(b, "Hostname"));
  const char *nm =
      json_string_value(json_object_get(spec->host_config, "NetworkMode"));
  spec->net_mode = nm != NULL ? nm : "default";
  return 0;
}

void hcsd_ctr_spec_clear(hcsd_ctr_spec_t *spec) {
  json_decref(spec->aliases);
  json_decref(spec->networks);
  json_decref(spec->config);
  json_decref(spec->host_config);
  memset(spec, 0, sizeof(*spec));
}

static char *str_field(json_t *b, const char *name) {
  const char *s = json_string_value(json_object_get(b, name));
  return s != NULL ? strdup(s) : NULL;
}

int hcsd_exec_spec_decode(const char *body, size_t len, hcsd_exec_spec_t *spec,
                          hcsd_err_t *e) {
  memset(spec, 0, sizeof(*spec));
  json_t *b = load_object(body, len, e);
  if (b == NULL) {
    return -1;
  }
  json_t *cmd = json_object_get(b, "Cmd");
  if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
    json_decref(b);
    hcsd_err_set(e, 400, "No exec command specified");
    return -1;
  }
  if (check_refused(b, exec_refused, "", e) != 0) {
    json_decref(b);
    return -1;
  }
  spec->argv = hcsd__strv_from_json(cmd);
  spec->env = hcsd__strv_from_json(json_object_get(b, "Env"));
  spec->user = str_field(b, "User");
  spec->cwd = str_field(b, "WorkingDir");
  spec->tty = json_is_true(json_object_get(b, "Tty"));
  spec->in = json_is_true(json_object_get(b, "AttachStdin"));
  spec->out = json_is_true(json_object_get(b, "AttachStdout"));
  spec->err = json_is_true(json_object_get(b, "AttachStderr"));
  spec->detach = json_is_true(json_object_get(b, "Detach"));
  json_t *cs = json_object_get(b, "ConsoleSize");
  spec->rows = (uint16_t)json_integer_value(json_array_get(cs, 0));
  spec->cols = (uint16_t)json_integer_value(json_array_get(cs, 1));
  json_decref(b);
  if (spec->argv == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return 0;
}

void hcsd_exec_spec_clear(hcsd_exec_spec_t *spec) {
  hcsd__strv_free(spec->argv);
  hcsd__strv_free(spec->env);
  free(spec->user);
  free(spec->cwd);
  memset(spec, 0, sizeof(*spec));
}

void hcsd_exec_start_decode(const char *body, size_t len,
                            hcsd_exec_start_opts_t *o) {
  *o = (hcsd_exec_start_opts_t){0};
  json_t *b = json_loadb(body != NULL ? body : "", len, 0, NULL);
  if (json_is_object(b)) {
    o->detach = json_is_true(json_object_get(b, "Detach"));
    json_t *cs = json_object_get(b, "ConsoleSize");
    if (json_is_array(cs) && json_integer_value(json_array_get(cs, 0)) > 0) {
      o->rows = (uint16_t)json_integer_value(json_array_get(cs, 0));
      o->cols = (uint16_t)json_integer_value(json_array_get(cs, 1));
    }
  }
  json_decref(b);
}

int hcsd_size_check(int rows, int cols, hcsd_err_t *e) {
  if (rows < 0 || rows > 65535 || cols < 0 || cols > 65535) {
    hcsd_err_set(e, 400, "invalid resize: h and w must be 0-65535");
    return -1;
  }
  return 0;
}
