/* SPDX-License-Identifier: MIT */
/* The JSON documents of compute systems and processes. */
#ifndef HCS_HCS_CONFIG_H
#define HCS_HCS_CONFIG_H

#include "hcs/api/schema.h"

typedef struct hcs__layer_ref_s {
  uint64_t present;
  char *id;
  char *path;
} hcs__layer_ref_t;

typedef struct hcs__mapped_dir_s {
  uint64_t present;
  char *host_path;
  char *container_path;
  int read_only;
  char *options; /* hcs extension: hcs__bind_options reads it */
  int64_t order; /* hcs extension: its place among the mappings; 0: none */
  /* hcsshim's, which hcs cannot honour: refused unless zero */
  int64_t bandwidth_maximum, iops_maximum;
  int create_in_utility_vm, linux_metadata;
} hcs__mapped_dir_t;

/* hcs extension "Tmpfs": a tmpfs at ContainerPath, with Options as
 * hcs__tmpfs_options reads them. */
typedef struct hcs__tmpfs_s {
  uint64_t present;
  char *container_path;
  char *options;
  int64_t order; /* as hcs__mapped_dir_t's */
} hcs__tmpfs_t;

/* hcs extension "Ulimits": a resource limit (setrlimit(2)) of every
 * process of the system; Name as Docker spells it (nofile, nproc, ...). */
typedef struct hcs__ulimit_s {
  uint64_t present;
  char *name;
  int64_t soft, hard; /* -1: unlimited */
} hcs__ulimit_t;

/* hcs extension "Namespaces": one type of the system's namespaces, made
 * for it (neither Path nor Host), joined (Path) or the host's (Host). */
typedef struct hcs__ns_ref_s {
  uint64_t present;
  char *type; /* pid, mount, uts, ipc, network, cgroup, user */
  char *path; /* a namespace file, as /proc/PID/ns/net */
  int host;
} hcs__ns_ref_t;

typedef struct hcs__id_map_s {
  uint64_t present;
  int64_t container_id, host_id, size;
} hcs__id_map_t;

/* The compute-system configuration (the ContainerConfig Docker sent) and
 * the hcs extensions. */
typedef struct hcs__config_s {
  uint64_t present;
  char *system_type, *name, *owner;
  int is_dummy;
  char *volume_path;
  int ignore_flushes;
  char *layer_folder_path;
  hcs__layer_ref_t *layers;
  size_t n_layers;
  char *host_name;
  hcs__mapped_dir_t *mapped_dirs;
  size_t n_mapped_dirs;
  char *sandbox_path;
  int hv_partition;
  char **endpoint_list;
  int64_t processor_weight, processor_maximum, processor_count;
  /* hcs extensions, the CFS values as given: shares 2-262144, quota in
   * us (-1: none), period in us; 0: not set */
  int64_t cpu_shares, cpu_quota, cpu_period;
  int64_t memory_maximum_mb;
  int64_t storage_iops_maximum, storage_bandwidth_maximum;
  int64_t storage_sandbox_size;
  char *dns_search_list;
  int allow_unqualified_dns;
  char *credentials;
  int servicing;
  /* Fields of hcsshim's and Docker's structs that hcs cannot honour:
   * accepted when null or zero (as Go wrote them unset), refused naming
   * the field otherwise (hcs__config_parse), so never kept. */
  char *devices, *hv_runtime, *mapped_pipes, *mapped_virtual_disks;
  char *assigned_devices, *network_shared_container_name, *container_type;
  int terminate_on_last_handle_closed;
  /* hcs extensions */
  int64_t pids_maximum;
  int host_network;      /* share the host's network namespace */
  int init_sibling;      /* init cloned as the embedder's sibling */
  char *seccomp_profile; /* "unconfined", or a profile in Docker's JSON */
  char **environment;
  hcs__id_map_t *uid_map;
  size_t n_uid_map;
  hcs__id_map_t *gid_map;
  size_t n_gid_map;
  hcs__tmpfs_t *tmpfs;
  size_t n_tmpfs;
  int read_only_root;         /* the root read-only once its mounts are made */
  char **cap_add, **cap_drop; /* names, with or without CAP_, or ALL */
  hcs__ulimit_t *ulimits;
  size_t n_ulimits;
  int64_t shm_size;                /* /dev/shm in bytes; 0: 64 MiB */
  char *cpuset_cpus, *cpuset_mems; /* cpuset lists ("0-1,3") */
  int64_t swap_maximum_mb;         /* beyond memory; -1 unlimited */
  int64_t memory_reservation_mb;   /* a soft limit; 0: none */
  int64_t oom_score_adj;           /* of every process; 0: the host's */
  /* As an OCI runtime sets a process: */
  char **cap_inheritable, **cap_ambient; /* names, as CapAdd's */
  int caps_for_user;     /* a User other than root keeps the capabilities */
  char **group_add;      /* supplementary gids, as numbers */
  int64_t umask;         /* when given (hcs__config_has) */
  int no_new_privileges; /* when given; absent: true */
  char *cgroup_path;     /* the group under each hierarchy; NULL: hcs's */
  /* "Namespaces", which ns.c reads */
  hcs__ns_ref_t *namespaces;
  size_t n_namespaces;
} hcs__config_t;

extern const hcs__schema_t hcs__config_schema;

/* Parses and checks a configuration (types, ranges, and the rules across
 * fields: SystemType, HostName, absolute paths, the fields hcs cannot
 * honour). On failure *cfg holds nothing. Free with hcs__config_free. */
hcs_result_t hcs__config_parse(const char *text, hcs__config_t *cfg,
                               const char *object, hcs_error_t **err);
void hcs__config_free(hcs__config_t *cfg);
/* The configuration as normalized JSON text (as_free), or NULL. */
char *hcs__config_json(const hcs__config_t *cfg);
/* The capabilities (1 << CAP_*) of a system's processes: default (the
 * default set) with cfg's CapDrop taken out, then its CapAdd put in (ALL
 * in either: every capability the kernel knows). 0, or -EINVAL with bad
 * set to the name that is not a capability. */
int hcs__config_caps(const hcs__config_t *cfg, uint64_t dflt, uint64_t *caps,
                     const char **bad);
/* The bits of the capabilities named in v (NULL-ended, as CapAdd): 0, or
 * -EINVAL with *bad naming the first that is none. */
int hcs__config_cap_bits(char **v, uint64_t *out, const char **bad);
/* Whether the configuration gave the field named json. */
int hcs__config_has(const hcs__config_t *cfg, const char *json);
/* The resource number (RLIMIT_*) of a Ulimits Name, or -1. */
int hcs__ulimit_resource(const char *name);

#endif
