/* SPDX-License-Identifier: MIT */
/* The JSON documents: the compute-system configuration and
 * CreateProcessParams, described as schema tables (schema.h). */
#include "hcs/system/config.h"

#include "hcs/api/opts.h"

#include "hcs-async.h"
#include "hcs/system/ns.h"
#include "hcs/system/rootfs.h"
#include "hcs/system/seccomp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#define OFF(type, field) offsetof(type, field)
#define STR(type, json, field)                                                 \
  { json, HCS__F_STR, OFF(type, field), 0, 0, 0, 0, NULL }
#define BOOL(type, json, field)                                                \
  { json, HCS__F_BOOL, OFF(type, field), 0, 0, 0, 0, NULL }
#define INT(type, json, field, lo, hi)                                         \
  { json, HCS__F_INT, OFF(type, field), 0, lo, hi, 0, NULL }
/* A field Go always wrote, whose zero value means "not set". */
#define GO_STR(type, json, field)                                              \
  { json, HCS__F_STR, OFF(type, field), 0, 0, 0, HCS__ZERO_ABSENT, NULL }
#define GO_BOOL(type, json, field)                                             \
  { json, HCS__F_BOOL, OFF(type, field), 0, 0, 0, HCS__ZERO_ABSENT, NULL }
#define GO_INT(type, json, field)                                              \
  {                                                                            \
    json, HCS__F_INT, OFF(type, field), 0, INT64_MIN, INT64_MAX,               \
        HCS__ZERO_ABSENT, NULL                                                 \
  }
/* Any JSON; null and Go's zero values ([] and {} too) are absent. */
#define GO_RAW(type, json, field)                                              \
  { json, HCS__F_RAW, OFF(type, field), 0, 0, 0, HCS__ZERO_ABSENT, NULL }

static const hcs__field_t layer_fields[] = {
    {"ID", HCS__F_STR, OFF(hcs__layer_ref_t, id), 0, 0, 0, 1, NULL},
    {"Path", HCS__F_STR, OFF(hcs__layer_ref_t, path), 0, 0, 0, 1, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const hcs__schema_t layer_schema = {
    layer_fields, sizeof(hcs__layer_ref_t), OFF(hcs__layer_ref_t, present)};

static const hcs__field_t mapped_fields[] = {
    {"HostPath", HCS__F_STR, OFF(hcs__mapped_dir_t, host_path), 0, 0, 0, 1,
     NULL},
    {"ContainerPath", HCS__F_STR, OFF(hcs__mapped_dir_t, container_path), 0, 0,
     0, 1, NULL},
    BOOL(hcs__mapped_dir_t, "ReadOnly", read_only),
    GO_STR(hcs__mapped_dir_t, "Options", options),
    INT(hcs__mapped_dir_t, "Order", order, 1, INT64_MAX),
    GO_INT(hcs__mapped_dir_t, "BandwidthMaximum", bandwidth_maximum),
    GO_INT(hcs__mapped_dir_t, "IOPSMaximum", iops_maximum),
    GO_BOOL(hcs__mapped_dir_t, "CreateInUtilityVM", create_in_utility_vm),
    GO_BOOL(hcs__mapped_dir_t, "LinuxMetadata", linux_metadata),
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const hcs__schema_t mapped_schema = {
    mapped_fields, sizeof(hcs__mapped_dir_t), OFF(hcs__mapped_dir_t, present)};

static const hcs__field_t tmpfs_fields[] = {
    {"ContainerPath", HCS__F_STR, OFF(hcs__tmpfs_t, container_path), 0, 0, 0, 1,
     NULL},
    GO_STR(hcs__tmpfs_t, "Options", options),
    INT(hcs__tmpfs_t, "Order", order, 1, INT64_MAX),
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const hcs__schema_t tmpfs_schema = {tmpfs_fields, sizeof(hcs__tmpfs_t),
                                           OFF(hcs__tmpfs_t, present)};

static const hcs__field_t ns_fields[] = {
    {"Type", HCS__F_STR, OFF(hcs__ns_ref_t, type), 0, 0, 0, 1, NULL},
    STR(hcs__ns_ref_t, "Path", path),
    BOOL(hcs__ns_ref_t, "Host", host),
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const hcs__schema_t ns_schema = {ns_fields, sizeof(hcs__ns_ref_t),
                                        OFF(hcs__ns_ref_t, present)};

#define ID_MAX 4294967295LL
static const hcs__field_t idmap_fields[] = {
    {"ContainerID", HCS__F_INT, OFF(hcs__id_map_t, container_id), 0, 0, ID_MAX,
     1, NULL},
    {"HostID", HCS__F_INT, OFF(hcs__id_map_t, host_id), 0, 0, ID_MAX, 1, NULL},
    {"Size", HCS__F_INT, OFF(hcs__id_map_t, size), 0, 1, ID_MAX, 1, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const hcs__schema_t idmap_schema = {idmap_fields, sizeof(hcs__id_map_t),
                                           OFF(hcs__id_map_t, present)};

#define U hcs__ulimit_t
#define RLIM_BIG INT64_MAX
static const hcs__field_t ulimit_fields[] = {
    {"Name", HCS__F_STR, OFF(U, name), 0, 0, 0, HCS__REQUIRED, NULL},
    {"Soft", HCS__F_INT, OFF(U, soft), 0, -1, RLIM_BIG, HCS__REQUIRED, NULL},
    {"Hard", HCS__F_INT, OFF(U, hard), 0, -1, RLIM_BIG, HCS__REQUIRED, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
#undef U
static const hcs__schema_t ulimit_schema = {
    ulimit_fields, sizeof(hcs__ulimit_t), OFF(hcs__ulimit_t, present)};

#define C hcs__config_t
#define BIG 4503599627370496LL /* 2^52: beyond any real limit */
/* The most MiB whose bytes an int64_t holds (8 EiB). */
#define MEM_MB_MAX (INT64_MAX >> 20)
static const hcs__field_t config_fields[] = {
    {"SystemType", HCS__F_STR, OFF(C, system_type), 0, 0, 0, HCS__REQUIRED,
     NULL},
    GO_STR(C, "Name", name),
    GO_STR(C, "Owner", owner),
    BOOL(C, "IsDummy", is_dummy),
    GO_STR(C, "VolumePath", volume_path),
    BOOL(C, "IgnoreFlushesDuringBoot", ignore_flushes),
    GO_STR(C, "LayerFolderPath", layer_folder_path),
    {"Layers", HCS__F_OBJARR, OFF(C, layers), OFF(C, n_layers), 0, 0, 0,
     &layer_schema},
    GO_STR(C, "HostName", host_name),
    {"MappedDirectories", HCS__F_OBJARR, OFF(C, mapped_dirs),
     OFF(C, n_mapped_dirs), 0, 0, 0, &mapped_schema},
    GO_STR(C, "SandboxPath", sandbox_path),
    BOOL(C, "HvPartition", hv_partition),
    {"EndpointList", HCS__F_STRARR, OFF(C, endpoint_list), 0, 0, 0, 0, NULL},
    INT(C, "ProcessorWeight", processor_weight, 0, 10000),
    INT(C, "ProcessorMaximum", processor_maximum, 0, 10000),
    INT(C, "ProcessorCount", processor_count, 0, 4096),
    INT(C, "CpuShares", cpu_shares, 0, 262144),
    INT(C, "CpuQuota", cpu_quota, -1, BIG),
    INT(C, "CpuPeriod", cpu_period, 0, 1000000),
    INT(C, "MemoryMaximumInMB", memory_maximum_mb, 0, MEM_MB_MAX),
    INT(C, "StorageIOPSMaximum", storage_iops_maximum, 0, BIG),
    INT(C, "StorageBandwidthMaximum", storage_bandwidth_maximum, 0, BIG),
    INT(C, "StorageSandboxSize", storage_sandbox_size, 0, BIG),
    GO_STR(C, "DNSSearchList", dns_search_list),
    BOOL(C, "AllowUnqualifiedDNSQuery", allow_unqualified_dns),
    GO_STR(C, "Credentials", credentials),
    BOOL(C, "Servicing", servicing),
    GO_RAW(C, "Devices", devices),
    GO_RAW(C, "HvRuntime", hv_runtime),
    GO_RAW(C, "MappedPipes", mapped_pipes),
    GO_RAW(C, "MappedVirtualDisks", mapped_virtual_disks),
    GO_RAW(C, "AssignedDevices", assigned_devices),
    GO_STR(C, "NetworkSharedContainerName", network_shared_container_name),
    GO_STR(C, "ContainerType", container_type),
    GO_BOOL(C, "TerminateOnLastHandleClosed", terminate_on_last_handle_closed),
    INT(C, "PidsMaximum", pids_maximum, 0, 4194304),
    BOOL(C, "HostNetwork", host_network),
    STR(C, "SeccompProfile", seccomp_profile),
    {"Environment", HCS__F_ENVMAP, OFF(C, environment), 0, 0, 0, 0, NULL},
    {"UidMap", HCS__F_OBJARR, OFF(C, uid_map), OFF(C, n_uid_map), 0, 0, 0,
     &idmap_schema},
    {"GidMap", HCS__F_OBJARR, OFF(C, gid_map), OFF(C, n_gid_map), 0, 0, 0,
     &idmap_schema},
    {"Tmpfs", HCS__F_OBJARR, OFF(C, tmpfs), OFF(C, n_tmpfs), 0, 0, 0,
     &tmpfs_schema},
    BOOL(C, "ReadOnlyRoot", read_only_root),
    {"CapAdd", HCS__F_STRARR, OFF(C, cap_add), 0, 0, 0, 0, NULL},
    {"CapDrop", HCS__F_STRARR, OFF(C, cap_drop), 0, 0, 0, 0, NULL},
    {"Ulimits", HCS__F_OBJARR, OFF(C, ulimits), OFF(C, n_ulimits), 0, 0, 0,
     &ulimit_schema},
    INT(C, "ShmSizeInBytes", shm_size, 0, BIG),
    STR(C, "CpusetCpus", cpuset_cpus),
    STR(C, "CpusetMems", cpuset_mems),
    INT(C, "SwapMaximumInMB", swap_maximum_mb, -1, MEM_MB_MAX),
    INT(C, "MemoryReservationInMB", memory_reservation_mb, 0, MEM_MB_MAX),
    INT(C, "OomScoreAdj", oom_score_adj, -1000, 1000),
    {"CapInheritable", HCS__F_STRARR, OFF(C, cap_inheritable), 0, 0, 0, 0,
     NULL},
    {"CapAmbient", HCS__F_STRARR, OFF(C, cap_ambient), 0, 0, 0, 0, NULL},
    BOOL(C, "CapsForUser", caps_for_user),
    {"GroupAdd", HCS__F_STRARR, OFF(C, group_add), 0, 0, 0, 0, NULL},
    INT(C, "Umask", umask, 0, 0777),
    BOOL(C, "NoNewPrivileges", no_new_privileges),
    STR(C, "CgroupPath", cgroup_path),
    {"Namespaces", HCS__F_OBJARR, OFF(C, namespaces), OFF(C, n_namespaces), 0,
     0, 0, &ns_schema},
    BOOL(C, "InitSibling", init_sibling),
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
#undef C

const hcs__schema_t hcs__config_schema = {config_fields, sizeof(hcs__config_t),
                                          OFF(hcs__config_t, present)};

static const char create_op[] = "hcs::CreateComputeSystem";

/* RFC 1123 host names, within the 64 bytes the uts namespace holds. */
static int hostname_ok(const char *h) {
  size_t n = strlen(h), label = 0;
  if (n == 0 || n > 64) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') {
        return 0;
      }
      label = 0;
      continue;
    }
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) {
      return 0;
    }
    if (++label > 63) {
      return 0;
    }
  }
  return h[n - 1] != '-' && h[n - 1] != '.';
}

/* Every host path is absolute: a relative one would be resolved against
 * the working directory of whichever process starts the system. */
static hcs_result_t check_paths(const hcs__config_t *cfg, const char *object,
                                hcs_error_t **err) {
  const char *const roots[][2] = {{"VolumePath", cfg->volume_path},
                                  {"LayerFolderPath", cfg->layer_folder_path}};
  for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
    if (roots[i][1] != NULL && roots[i][1][0] != '/') {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "%s: must be an absolute path, not \"%.64s\"",
                       roots[i][0], roots[i][1]);
    }
  }
  for (size_t i = 0; i < cfg->n_mapped_dirs; i++) {
    const hcs__mapped_dir_t *m = &cfg->mapped_dirs[i];
    const char *which = m->host_path[0] != '/'        ? "HostPath"
                        : m->container_path[0] != '/' ? "ContainerPath"
                                                      : NULL;
    if (which != NULL) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "MappedDirectories[%zu].%s: must be an absolute path", i,
                       which);
    }
    hcs__bind_opts_t o;
    char bad[64];
    if (hcs__bind_options(m->options, m->read_only, &o, bad, sizeof(bad)) !=
        0) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "MappedDirectories[%zu].Options: \"%s\" is not an "
                       "option hcs takes (ro, rw, [no]suid, [no]dev, "
                       "[no]exec, relatime, noatime, strictatime, "
                       "[no]diratime, [r]private, [r]shared, [r]slave, "
                       "[r]unbindable, bind, rbind, key=value data)",
                       i, bad);
    }
  }
  if (cfg->is_dummy && (cfg->n_tmpfs > 0 || cfg->read_only_root)) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "%s: a system without isolation has the host's mounts",
                     cfg->n_tmpfs > 0 ? "Tmpfs" : "ReadOnlyRoot");
  }
  for (size_t i = 0; i < cfg->n_tmpfs; i++) {
    unsigned long flags;
    char data[256], bad[64];
    if (cfg->tmpfs[i].container_path[0] != '/') {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "Tmpfs[%zu].ContainerPath: must be an absolute path", i);
    }
    if (hcs__tmpfs_options(cfg->tmpfs[i].options, &flags, data, sizeof(data),
                           bad, sizeof(bad)) != 0) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "Tmpfs[%zu].Options: \"%s\" is not an option hcs "
                       "takes (size=, mode=, uid=, gid=, nr_inodes=, ro, rw, "
                       "exec, noexec, nosuid, nodev, [r]private, [r]shared, "
                       "[r]slave, [r]unbindable, atime options)",
                       i, bad);
    }
  }
  for (size_t i = 0; i < cfg->n_layers; i++) {
    if (cfg->layers[i].path[0] != '/') {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "Layers[%zu].Path: must be an absolute path", i);
    }
  }
  return HCS_OK;
}

/* The fields of hcsshim's and Docker's structs that hcs has no meaning
 * for, and why; present only when not Go's zero value (HCS__ZERO_ABSENT),
 * that is, when set to something hcs would have to honour. */
typedef struct unsupported_s {
  const char *name;
  size_t off; /* of a char * (RAW, STR) or an int (BOOL) */
  int is_bool;
  const char *why;
} unsupported_t;

static const unsupported_t unsupported[] = {
    {"Devices", OFF(hcs__config_t, devices), 0,
     "devices of Windows containers (network adapters come from "
     "EndpointList)"},
    {"HvRuntime", OFF(hcs__config_t, hv_runtime), 0,
     "Hyper-V isolation does not exist on Linux"},
    {"MappedPipes", OFF(hcs__config_t, mapped_pipes), 0,
     "Windows named pipes do not exist on Linux"},
    {"MappedVirtualDisks", OFF(hcs__config_t, mapped_virtual_disks), 0,
     "virtual disks of a utility VM"},
    {"AssignedDevices", OFF(hcs__config_t, assigned_devices), 0,
     "device assignment by interface class GUID"},
    {"NetworkSharedContainerName",
     OFF(hcs__config_t, network_shared_container_name), 0,
     "sharing another system's network stack"},
    {"ContainerType", OFF(hcs__config_t, container_type), 0,
     "a container in a utility VM (hcs runs Linux containers on the host)"},
    {"TerminateOnLastHandleClosed",
     OFF(hcs__config_t, terminate_on_last_handle_closed), 1,
     "hcs hands out no system handles (a system lives until it is "
     "terminated)"},
};

static hcs_result_t check_unsupported(const hcs__config_t *cfg,
                                      const char *object, hcs_error_t **err) {
  for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
    const unsupported_t *u = &unsupported[i];
    const void *at = (const char *)cfg + u->off;
    int set = u->is_bool ? *(const int *)at != 0 : *(char *const *)at != NULL;
    if (set) {
      return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, create_op, object, ENOTSUP,
                       "%s: hcs cannot honour it (%s); leave it "
                       "null or empty",
                       u->name, u->why);
    }
  }
  for (size_t i = 0; i < cfg->n_mapped_dirs; i++) {
    const hcs__mapped_dir_t *m = &cfg->mapped_dirs[i];
    const char *which = m->bandwidth_maximum != 0 ? "BandwidthMaximum"
                        : m->iops_maximum != 0    ? "IOPSMaximum"
                        : m->create_in_utility_vm ? "CreateInUtilityVM"
                        : m->linux_metadata       ? "LinuxMetadata"
                                                  : NULL;
    if (which != NULL) {
      return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, create_op, object, ENOTSUP,
                       "MappedDirectories[%zu].%s: hcs cannot honour it (a "
                       "bind mount has no limits of its own, and there is "
                       "no utility VM); leave it zero",
                       i, which);
    }
  }
  return HCS_OK;
}

/* A profile of its own must compile now, not fail at the start. */
static hcs_result_t check_seccomp(const hcs__config_t *cfg, const char *object,
                                  hcs_error_t **err) {
  const char *p = cfg->seccomp_profile;
  if (p == NULL || strcmp(p, "default") == 0 || strcmp(p, "unconfined") == 0) {
    return HCS_OK;
  }
  hcs__bpf_t bpf = {0};
  char why[256] = "";
  int e = hcs__seccomp_from_json(p, HCS__SECCOMP_DOCKER_CAPS, &bpf, why,
                                 sizeof(why));
  hcs__bpf_free(&bpf);
  if (e == -EINVAL) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "SeccompProfile: %s", why);
  }
  if (e != 0) {
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, create_op, object, -e,
                     "SeccompProfile: %s", strerror(-e));
  }
  return HCS_OK;
}

/* Ulimits names as Docker spells them (go-units). */
static const struct {
  const char *name;
  int res;
} ulimit_names[] = {
    {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},       {"as", RLIMIT_AS},
};

int hcs__ulimit_resource(const char *name) {
  for (size_t i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++) {
    if (strcmp(ulimit_names[i].name, name) == 0) {
      return ulimit_names[i].res;
    }
  }
  return -1;
}

int hcs__config_has(const hcs__config_t *cfg, const char *json) {
  for (size_t i = 0; config_fields[i].name != NULL; i++) {
    if (strcmp(config_fields[i].name, json) == 0) {
      return hcs__schema_has(&hcs__config_schema, cfg, i);
    }
  }
  return 0;
}

int hcs__config_cap_bits(char **v, uint64_t *out, const char **bad) {
  *out = 0;
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    if (strcasecmp(v[i], "ALL") == 0) {
      *out |= (UINT64_C(2) << HCS__CAP_LAST) - 1;
      continue;
    }
    char name[64];
    snprintf(name, sizeof(name), "%s%s",
             strncasecmp(v[i], "CAP_", 4) == 0 ? "" : "CAP_", v[i]);
    for (char *p = name; *p != '\0'; p++) {
      *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    }
    int n = hcs__cap_number(name);
    if (n < 0) {
      *bad = v[i];
      return -EINVAL;
    }
    *out |= UINT64_C(1) << n;
  }
  return 0;
}

int hcs__config_caps(const hcs__config_t *cfg, uint64_t dflt, uint64_t *caps,
                     const char **bad) {
  uint64_t add, drop;
  int e = hcs__config_cap_bits(cfg->cap_add, &add, bad);
  if (e == 0) {
    e = hcs__config_cap_bits(cfg->cap_drop, &drop, bad);
  }
  if (e == 0) {
    *caps = (dflt & ~drop) | add;
  }
  return e;
}

/* A cpuset list: numbers and ranges a-b (a <= b), comma-separated. */
static int cpuset_ok(const char *s) {
  if (*s == '\0') {
    return 0;
  }
  for (;;) {
    char *end;
    if (*s < '0' || *s > '9') {
      return 0;
    }
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-') {
      if (end[1] < '0' || end[1] > '9') {
        return 0;
      }
      b = strtoul(end + 1, &end, 10);
    }
    if (b < a || b > 4095) {
      return 0;
    }
    if (*end == '\0') {
      return 1;
    }
    if (*end != ',') {
      return 0;
    }
    s = end + 1;
  }
}

/* A CgroupPath: names under a hierarchy's root ("/a/b" is "a/b"), none
 * of them . or .., no ':' (a systemd slice is not a path). */
static int cgroup_path_ok(const char *p) {
  p += strspn(p, "/");
  if (*p == '\0' || strlen(p) >= 150 || strchr(p, ':') != NULL) {
    return 0;
  }
  while (*p != '\0') {
    size_t len = strcspn(p, "/");
    if ((len == 1 && p[0] == '.') || (len == 2 && strncmp(p, "..", 2) == 0)) {
      return 0;
    }
    p += len;
    p += strspn(p, "/");
  }
  return 1;
}

/* The hcs extensions of processes and cgroups: capability and ulimit
 * names, cpuset lists. */
static hcs_result_t check_resources(const hcs__config_t *cfg,
                                    const char *object, hcs_error_t **err) {
  uint64_t caps;
  const char *bad = NULL;
  if (hcs__config_caps(cfg, 0, &caps, &bad) != 0) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "CapAdd/CapDrop: \"%.64s\" is not a capability", bad);
  }
  uint64_t inh, amb;
  if (hcs__config_cap_bits(cfg->cap_inheritable, &inh, &bad) != 0 ||
      hcs__config_cap_bits(cfg->cap_ambient, &amb, &bad) != 0) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "CapInheritable/CapAmbient: \"%.64s\" is not a "
                     "capability",
                     bad);
  }
  if ((amb & ~inh) != 0) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "CapAmbient: an ambient capability must be in "
                     "CapInheritable too");
  }
  if (cfg->cgroup_path != NULL && !cgroup_path_ok(cfg->cgroup_path)) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "CgroupPath: \"%.64s\" is not a path of names (no . "
                     "or .., no :, under 150 bytes)",
                     cfg->cgroup_path);
  }
  for (size_t i = 0; cfg->group_add != NULL && cfg->group_add[i]; i++) {
    char *end;
    unsigned long g = strtoul(cfg->group_add[i], &end, 10);
    if (cfg->group_add[i][0] < '0' || cfg->group_add[i][0] > '9' ||
        *end != '\0' || g > UINT32_MAX - 1) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "GroupAdd[%zu]: \"%.64s\" is not a gid number", i,
                       cfg->group_add[i]);
    }
  }
  for (size_t i = 0; i < cfg->n_ulimits; i++) {
    const hcs__ulimit_t *u = &cfg->ulimits[i];
    if (hcs__ulimit_resource(u->name) < 0) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "Ulimits[%zu].Name: \"%.64s\" is not a resource "
                       "limit (nofile, nproc, core, ...)",
                       i, u->name);
    }
    if (u->hard != -1 && (u->soft == -1 || u->soft > u->hard)) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "Ulimits[%zu]: Soft above Hard", i);
    }
  }
  /* The CFS values as given, or the share of the machine: not both. */
  const char *both =
      cfg->cpu_shares > 0 && cfg->processor_weight > 0
          ? "CpuShares with ProcessorWeight"
      : (cfg->cpu_quota != 0 || cfg->cpu_period > 0) &&
              (cfg->processor_maximum > 0 || cfg->processor_count > 0)
          ? "CpuQuota/CpuPeriod with ProcessorMaximum or "
            "ProcessorCount"
          : NULL;
  if (both != NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "%s: one or the other", both);
  }
  if ((cfg->cpu_period > 0 && cfg->cpu_period < 1000) ||
      (cfg->cpu_quota > 0 && cfg->cpu_quota < 1000)) {
    return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                     "%s: under the kernel's 1000 us",
                     cfg->cpu_quota > 0 && cfg->cpu_quota < 1000 ? "CpuQuota"
                                                                 : "CpuPeriod");
  }
  const char *const sets[][2] = {{"CpusetCpus", cfg->cpuset_cpus},
                                 {"CpusetMems", cfg->cpuset_mems}};
  for (size_t i = 0; i < 2; i++) {
    if (sets[i][1] != NULL && !cpuset_ok(sets[i][1])) {
      return hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                       "%s: \"%.64s\" is not a list of numbers and ranges "
                       "(0-3,5)",
                       sets[i][0], sets[i][1]);
    }
  }
  return HCS_OK;
}

hcs_result_t hcs__config_parse(const char *text, hcs__config_t *cfg,
                               const char *object, hcs_error_t **err) {
  memset(cfg, 0, sizeof(*cfg));
  hcs_result_t r = hcs__schema_parse_text(&hcs__config_schema, text, cfg,
                                          create_op, object, err);
  if (r == HCS_OK && strcmp(cfg->system_type, "Container") != 0) {
    r = hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                  "SystemType: must be \"Container\", not \"%.64s\"",
                  cfg->system_type);
  }
  if (r == HCS_OK && cfg->host_name != NULL && !hostname_ok(cfg->host_name)) {
    r = hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                  "HostName: \"%.80s\" is not a host name (RFC 1123, at most "
                  "64 bytes)",
                  cfg->host_name);
  }
  if (r == HCS_OK) {
    r = check_unsupported(cfg, object, err);
  }
  if (r == HCS_OK) {
    r = check_paths(cfg, object, err);
  }
  if (r == HCS_OK) {
    r = check_seccomp(cfg, object, err);
  }
  if (r == HCS_OK) {
    r = hcs__ns_check(cfg, object, err);
  }
  if (r == HCS_OK) {
    r = check_resources(cfg, object, err);
  }
  if (r == HCS_OK && cfg->is_dummy && cfg->init_sibling) {
    r = hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                  "InitSibling: a system without isolation has no init");
  }
  if (r == HCS_OK && cfg->host_network && cfg->endpoint_list != NULL &&
      cfg->endpoint_list[0] != NULL) {
    r = hcs__fail(err, HCS_WSAEINVAL, create_op, object, EINVAL,
                  "HostNetwork: a system on the host's network cannot also "
                  "have an EndpointList");
  }
  if (r != HCS_OK) {
    hcs__config_free(cfg);
  }
  return r;
}

void hcs__config_free(hcs__config_t *cfg) {
  hcs__schema_free(&hcs__config_schema, cfg);
  memset(cfg, 0, sizeof(*cfg));
}

static char *dump_text(const hcs__schema_t *sc, const void *doc) {
  json_t *o = hcs__schema_dump(sc, doc);
  if (o == NULL) {
    return NULL;
  }
  char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  char *copy = text != NULL ? as_strdup(text) : NULL;
  free(text);
  return copy;
}

char *hcs__config_json(const hcs__config_t *cfg) {
  return dump_text(&hcs__config_schema, cfg);
}

/* CreateProcessParams. */
typedef struct params_doc_s {
  uint64_t present;
  char *application_name, *command_line, *working_directory, *user;
  char **environment, **args;
  int emulate_console;
  int64_t console_size[2];
  size_t n_console_size;
  int64_t drain_timeout_ms;
  int create_pipe[3]; /* CreateStdInPipe, CreateStdOutPipe, CreateStdErrPipe */
  char **command_args;
  int create_in_utility_vm; /* refused when true */
  char *oci_specification;  /* refused when not null */
  char *stdio_transport;    /* "Pipe" or "Socket" */
} params_doc_t;

/* The indices of params_fields, for documents built from a struct. */
enum {
  PF_APPLICATION_NAME,
  PF_COMMAND_LINE,
  PF_WORKING_DIRECTORY,
  PF_ENVIRONMENT,
  PF_EMULATE_CONSOLE,
  PF_CONSOLE_SIZE,
  PF_ARGS,
  PF_USER,
  PF_DRAIN_TIMEOUT_MS,
  PF_CREATE_STDIN_PIPE,
  PF_STDIO_TRANSPORT = PF_CREATE_STDIN_PIPE + 6, /* the last of the table */
};

/* ProcessConfig as hcsshim wrote it (v0.3 to v0.7: every field, or only
 * those set) and the hcs extensions. */
#define P params_doc_t
static const hcs__field_t params_fields[] = {
    GO_STR(P, "ApplicationName", application_name),
    GO_STR(P, "CommandLine", command_line),
    GO_STR(P, "WorkingDirectory", working_directory),
    {"Environment", HCS__F_ENVMAP, OFF(P, environment), 0, 0, 0, 0, NULL},
    BOOL(P, "EmulateConsole", emulate_console),
    {"ConsoleSize", HCS__F_INTARR, OFF(P, console_size), OFF(P, n_console_size),
     2, 65535, 0, NULL},
    {"Args", HCS__F_STRARR, OFF(P, args), 0, 0, 0, 0, NULL},
    GO_STR(P, "User", user),
    INT(P, "DrainTimeoutMs", drain_timeout_ms, 0, 86400000),
    BOOL(P, "CreateStdInPipe", create_pipe[0]),
    BOOL(P, "CreateStdOutPipe", create_pipe[1]),
    BOOL(P, "CreateStdErrPipe", create_pipe[2]),
    {"CommandArgs", HCS__F_STRARR, OFF(P, command_args), 0, 0, 0,
     HCS__ZERO_ABSENT, NULL},
    GO_BOOL(P, "CreateInUtilityVm", create_in_utility_vm),
    GO_RAW(P, "OCISpecification", oci_specification),
    GO_STR(P, "StdioTransport", stdio_transport),
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};
#undef P
static const hcs__schema_t params_schema = {params_fields, sizeof(params_doc_t),
                                            OFF(params_doc_t, present)};

/* The public struct and the document that owns its strings, in one
 * allocation. */
typedef struct params_owned_s {
  hcs_process_params_t pub;
  params_doc_t doc;
} params_owned_t;

/* The rules across fields, and the fields of hcsshim's ProcessConfig
 * that only a utility VM could honour. */
static hcs_result_t params_check(const params_doc_t *d, const char *op,
                                 hcs_error_t **err) {
  const char *t = d->stdio_transport;
  if (t != NULL && strcmp(t, "Pipe") != 0 && strcmp(t, "Socket") != 0) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                     "StdioTransport: must be \"Pipe\" or \"Socket\", not "
                     "\"%.64s\"",
                     t);
  }
  if (d->args != NULL && d->command_args != NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                     "CommandArgs: give the arguments once, as Args or as "
                     "CommandArgs");
  }
  const char *vm = d->create_in_utility_vm        ? "CreateInUtilityVm"
                   : d->oci_specification != NULL ? "OCISpecification"
                                                  : NULL;
  if (vm != NULL) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, NULL, ENOTSUP,
                     "%s: hcs cannot honour it (a process in a utility VM); "
                     "leave it null or false",
                     vm);
  }
  return HCS_OK;
}

hcs_result_t hcs_process_params_from_json(const char *json,
                                          hcs_process_params_t **out,
                                          hcs_error_t **err) {
  static const char op[] = "hcs::CreateProcessParams";
  if (out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "out is NULL");
  }
  *out = NULL;
  as_alloc_init();
  params_owned_t *o = as_calloc(1, sizeof(*o));
  if (o == NULL) {
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                     "allocating the parameters");
  }
  hcs_result_t r =
      hcs__schema_parse_text(&params_schema, json, &o->doc, op, NULL, err);
  if (r == HCS_OK) {
    r = params_check(&o->doc, op, err);
  }
  if (r != HCS_OK) {
    hcs__schema_free(&params_schema, &o->doc);
    as_free(o);
    return r;
  }
  params_doc_t *d = &o->doc;
  hcs_process_params_t *p = &o->pub;
  p->size = sizeof(*p);
  p->application_name = d->application_name;
  p->command_line = d->command_line;
  p->args = (const char *const *)(d->args != NULL ? d->args : d->command_args);
  p->working_directory = d->working_directory;
  p->environment = (const char *const *)d->environment;
  p->emulate_console = d->emulate_console != 0;
  /* HCS ignores a console size without a console, as [0, 0]. */
  if (p->emulate_console) {
    p->console_size[0] = (uint16_t)d->console_size[0];
    p->console_size[1] = (uint16_t)d->console_size[1];
  }
  p->create_stdin_pipe = d->create_pipe[0] != 0;
  p->create_stdout_pipe = d->create_pipe[1] != 0;
  p->create_stderr_pipe = d->create_pipe[2] != 0;
  p->user = d->user;
  p->drain_timeout_ms = (uint32_t)d->drain_timeout_ms;
  p->stdio_transport =
      d->stdio_transport != NULL && strcmp(d->stdio_transport, "Socket") == 0
          ? HCS_STDIO_SOCKET
          : HCS_STDIO_PIPE;
  *out = p;
  return hcs__ok(err);
}

void hcs_process_params_free(hcs_process_params_t *p) {
  if (p == NULL) {
    return;
  }
  params_owned_t *o = (params_owned_t *)(void *)p;
  hcs__schema_free(&params_schema, &o->doc);
  as_free(o);
}

/* Fills a document that borrows p's strings (never freed through it). */
static void doc_of(const hcs_process_params_t *p, params_doc_t *d) {
  memset(d, 0, sizeof(*d));
  const char *const strs[] = {p->application_name, p->command_line,
                              p->working_directory};
  d->application_name = (char *)p->application_name;
  d->command_line = (char *)p->command_line;
  d->working_directory = (char *)p->working_directory;
  for (int i = 0; i < 3; i++) {
    if (strs[i] != NULL) {
      d->present |= UINT64_C(1) << (PF_APPLICATION_NAME + i);
    }
  }
  if (p->environment != NULL) {
    d->environment = (char **)p->environment;
    d->present |= UINT64_C(1) << PF_ENVIRONMENT;
  }
  d->emulate_console = p->emulate_console;
  d->present |= UINT64_C(1) << PF_EMULATE_CONSOLE;
  /* As HCS took it: no console, no size. */
  if (p->emulate_console &&
      (p->console_size[0] != 0 || p->console_size[1] != 0)) {
    d->console_size[0] = p->console_size[0];
    d->console_size[1] = p->console_size[1];
    d->n_console_size = 2;
    d->present |= UINT64_C(1) << PF_CONSOLE_SIZE;
  }
  if (p->args != NULL) {
    d->args = (char **)p->args;
    d->present |= UINT64_C(1) << PF_ARGS;
  }
  if (p->user != NULL) {
    d->user = (char *)p->user;
    d->present |= UINT64_C(1) << PF_USER;
  }
  if (p->drain_timeout_ms != 0) {
    d->drain_timeout_ms = p->drain_timeout_ms;
    d->present |= UINT64_C(1) << PF_DRAIN_TIMEOUT_MS;
  }
  const bool pipes[3] = {p->create_stdin_pipe, p->create_stdout_pipe,
                         p->create_stderr_pipe};
  for (int i = 0; i < 3; i++) {
    if (pipes[i]) {
      d->create_pipe[i] = 1;
      d->present |= UINT64_C(1) << (PF_CREATE_STDIN_PIPE + i);
    }
  }
  if (p->stdio_transport == HCS_STDIO_SOCKET) {
    d->stdio_transport = (char *)"Socket";
    d->present |= UINT64_C(1) << PF_STDIO_TRANSPORT;
  }
}

char *hcs_process_params_json(const hcs_process_params_t *p) {
  if (p == NULL) {
    return NULL;
  }
  hcs_process_params_t pp;
  if (hcs__opts_copy(&pp, sizeof(pp), HCS__PARAMS_FIRST, p) != 0 ||
      (pp.stdio_transport != HCS_STDIO_PIPE &&
       pp.stdio_transport != HCS_STDIO_SOCKET)) {
    return NULL;
  }
  params_doc_t d;
  doc_of(&pp, &d);
  return dump_text(&params_schema, &d);
}
