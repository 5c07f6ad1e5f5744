/* SPDX-License-Identifier: MIT */
/* What a container sees besides its image: -v host binds, --mount bind
 * and tmpfs, --tmpfs, --read-only and --add-host, checked at create with
 * dockerd's rules and words, and turned at start into libhcs's
 * MappedDirectories and its Tmpfs and ReadOnlyRoot extensions, with the
 * container's /etc/hosts written beside its record and mapped over the
 * image's. Named volumes are checked here and mapped at start by the
 * volume store (volumes.h); anonymous ones are refused. */
#include "hcsd/model/spec.h"
#include "hcsd/model/volumes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { M_BIND, M_TMPFS, M_VOLUME }; /* M_VOLUME: volumes.c maps it */

/* One mount of a create body, checked. */
typedef struct mnt_s {
  int kind;
  const char *flag; /* "--volume", "--mount", "--tmpfs": for messages */
  char src[PATH_MAX];
  char dst[PATH_MAX];
  bool ro;
  bool make_src;  /* -v: a missing host directory is made at start */
  char opts[512]; /* tmpfs: libhcs's Options */
} mnt_t;

typedef int (*mnt_fn)(const mnt_t *m, void *data, hcsd_err_t *e);

/* path cleaned as Go's filepath.Clean would an absolute path without
 * "..": no repeated or trailing '/', no "." component. -1 for a ".."
 * or a path too long. */
static int clean_path(const char *path, char *out, size_t n) {
  size_t o = 0;
  for (const char *p = path; *p != '\0';) {
    while (*p == '/') {
      p++;
    }
    size_t len = strcspn(p, "/");
    if (len == 0) {
      break;
    }
    if (len == 2 && strncmp(p, "..", 2) == 0) {
      return -1;
    }
    if (!(len == 1 && p[0] == '.')) {
      if (o + len + 2 > n) {
        return -1;
      }
      out[o++] = '/';
      memcpy(out + o, p, len);
      o += len;
    }
    p += len;
  }
  if (o == 0) {
    out[o++] = '/';
  }
  out[o] = '\0';
  return 0;
}

static int destination_check(mnt_t *m, const char *dst, const char *spec,
                             hcsd_err_t *e) {
  if (dst == NULL || dst[0] != '/') {
    hcsd_err_set(e, 400,
                 "invalid mount config for %s \"%s\": invalid mount path: "
                 "'%s' mount path must be absolute",
                 m->flag, spec, dst != NULL ? dst : "");
    return -1;
  }
  if (clean_path(dst, m->dst, sizeof(m->dst)) != 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support %s with \"..\" in a mount path (%s)",
                 m->flag, spec);
    return -1;
  }
  if (strcmp(m->dst, "/") == 0) {
    hcsd_err_set(e, 400, "invalid specification: destination can't be '/'");
    return -1;
  }
  return 0;
}

/* The options --tmpfs takes (libhcs's Tmpfs Options): 0, or -1 with e
 * naming the first other one, in dockerd's words. */
static int tmpfs_opts_check(const char *opts, hcsd_err_t *e) {
  static const char *const words[] = {
      "ro",       "rw",          "exec",       "noexec",  "nosuid",
      "nodev",    "private",     "rprivate",   "noatime", "relatime",
      "diratime", "strictatime", "nodiratime", NULL};
  static const char *const keys[] = {
      "size=", "mode=", "uid=", "gid=", "nr_inodes=", NULL};
  for (const char *p = opts; *p != '\0';) {
    size_t len = strcspn(p, ",");
    bool ok = len == 0;
    for (int i = 0; !ok && words[i] != NULL; i++) {
      ok = strlen(words[i]) == len && strncmp(p, words[i], len) == 0;
    }
    for (int i = 0; !ok && keys[i] != NULL; i++) {
      size_t kl = strlen(keys[i]);
      ok = len > kl && strncmp(p, keys[i], kl) == 0;
    }
    if (!ok) {
      hcsd_err_set(e, 400,
                   "hcsd does not support --tmpfs option \"%.*s\" (size=, "
                   "mode=, uid=, gid=, nr_inodes=, ro, rw, exec, noexec, "
                   "nosuid, nodev, the atime options)",
                   (int)len, p);
      return -1;
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

/* libhcs's Options of a tmpfs: Docker's defaults, then what was asked (a
 * later option wins, so "exec" undoes "noexec"). */
static int tmpfs_opts(mnt_t *m, const char *asked, hcsd_err_t *e) {
  if (tmpfs_opts_check(asked, e) != 0) {
    return -1;
  }
  int n = snprintf(m->opts, sizeof(m->opts), "noexec,nosuid,nodev%s%s",
                   asked[0] != '\0' ? "," : "", asked);
  if (n < 0 || (size_t)n >= sizeof(m->opts)) {
    hcsd_err_set(e, 400, "--tmpfs options too long: %s", asked);
    return -1;
  }
  return 0;
}

/* A mode of -v: ro or rw, and what dockerd accepts as no-ops on this
 * host (SELinux labels without SELinux, the private propagation every
 * mount of a container has, the macOS consistency words). */
static int bind_mode(mnt_t *m, const char *mode, const char *spec,
                     hcsd_err_t *e) {
  static const char *const noops[] = {"z",         "Z",          "private",
                                      "rprivate",  "consistent", "cached",
                                      "delegated", NULL};
  for (const char *p = mode; *p != '\0';) {
    size_t len = strcspn(p, ",");
    bool ok = false;
    if (len == 2 && strncmp(p, "ro", 2) == 0) {
      m->ro = ok = true;
    } else if (len == 2 && strncmp(p, "rw", 2) == 0) {
      m->ro = false;
      ok = true;
    }
    for (int i = 0; !ok && noops[i] != NULL; i++) {
      ok = strlen(noops[i]) == len && strncmp(p, noops[i], len) == 0;
    }
    if (!ok) {
      hcsd_err_set(e, 400,
                   "hcsd does not support --volume mode \"%.*s\" (%s): ro, "
                   "rw, z, Z, private and rprivate are taken",
                   (int)len, p, spec);
      return -1;
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

/* One of HostConfig.Binds: "/host:/ctr[:mode]". */
static int bind_spec(const char *spec, mnt_t *m, hcsd_err_t *e) {
  *m = (mnt_t){.kind = M_BIND, .flag = "--volume", .make_src = true};
  char buf[3 * PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf)) {
    hcsd_err_set(e, 400, "invalid volume specification: '%.64s...'", spec);
    return -1;
  }
  char *dst = strchr(buf, ':');
  char *mode = dst != NULL ? strchr(dst + 1, ':') : NULL;
  if (dst != NULL) {
    *dst++ = '\0';
  }
  if (mode != NULL) {
    *mode++ = '\0';
  }
  if (dst == NULL || buf[0] == '\0' || dst[0] == '\0') {
    hcsd_err_set(e, 400, "invalid volume specification: '%s'", spec);
    return -1;
  }
  if (buf[0] != '/' && hcsd_vol_name_check(buf, e) != 0) {
    return -1;
  }
  m->kind = buf[0] != '/' ? M_VOLUME : M_BIND;
  (void)clean_path(buf, m->src, sizeof(m->src));
  if (destination_check(m, dst, spec, e) != 0) {
    return -1;
  }
  return mode != NULL ? bind_mode(m, mode, spec, e) : 0;
}

/* A member of a --mount that hcsd cannot honour at this value. */
static int mount_refuse(const char *type, const char *member, hcsd_err_t *e) {
  hcsd_err_set(e, 400,
               "hcsd does not support --mount type=%s with %s "
               "(HostConfig.Mounts)",
               type, member);
  return -1;
}

static bool absent(json_t *v) {
  return v == NULL || json_is_null(v) ||
         (json_is_object(v) && json_object_size(v) == 0);
}

static int bind_options(json_t *bo, mnt_t *m, hcsd_err_t *e) {
  if (absent(bo)) {
    return 0;
  }
  const char *prop = json_string_value(json_object_get(bo, "Propagation"));
  if (prop != NULL && prop[0] != '\0' && strcmp(prop, "rprivate") != 0 &&
      strcmp(prop, "private") != 0) {
    return mount_refuse("bind", "bind-propagation other than rprivate", e);
  }
  if (json_is_true(json_object_get(bo, "NonRecursive"))) {
    return mount_refuse("bind", "bind-recursive=disabled", e);
  }
  if (json_is_true(json_object_get(bo, "ReadOnlyNonRecursive"))) {
    return mount_refuse("bind", "bind-recursive=writable", e);
  }
  /* ReadOnlyForceRecursive is what a read-only mapping always is. */
  m->make_src = json_is_true(json_object_get(bo, "CreateMountpoint"));
  return 0;
}

static int tmpfs_options(json_t *to, mnt_t *m, hcsd_err_t *e) {
  char asked[256] = "";
  size_t n = 0;
  json_t *size = json_object_get(to, "SizeBytes");
  json_t *mode = json_object_get(to, "Mode");
  if ((size != NULL && !json_is_null(size) && !json_is_integer(size)) ||
      (mode != NULL && !json_is_null(mode) && !json_is_integer(mode))) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal HostConfig.Mounts "
                 "TmpfsOptions");
    return -1;
  }
  if (json_integer_value(size) < 0) {
    hcsd_err_set(e, 400,
                 "invalid mount config for type \"tmpfs\": invalid "
                 "tmpfs size");
    return -1;
  }
  if (json_integer_value(size) > 0) {
    n += (size_t)snprintf(asked + n, sizeof(asked) - n, ",size=%lld",
                          (long long)json_integer_value(size));
  }
  if (json_integer_value(mode) != 0) {
    n += (size_t)snprintf(asked + n, sizeof(asked) - n, ",mode=%llo",
                          (unsigned long long)json_integer_value(mode) & 07777);
  }
  if (m->ro) {
    n += (size_t)snprintf(asked + n, sizeof(asked) - n, ",ro");
  }
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(to, "Options"), i, o) {
    /* [flag] or [key, value], as tmpfs-options=[["exec"]] gives. */
    const char *k = json_string_value(json_array_get(o, 0));
    const char *v = json_string_value(json_array_get(o, 1));
    if (k == NULL || n >= sizeof(asked)) {
      hcsd_err_set(e, 400,
                   "invalid mount config for type \"tmpfs\": bad "
                   "tmpfs-options");
      return -1;
    }
    n += (size_t)snprintf(asked + n, sizeof(asked) - n, ",%s%s%s", k,
                          v != NULL ? "=" : "", v != NULL ? v : "");
  }
  if (n >= sizeof(asked)) {
    hcsd_err_set(e, 400, "--mount type=tmpfs: options too long");
    return -1;
  }
  return tmpfs_opts(m, n > 0 ? asked + 1 : "", e);
}

/* One of HostConfig.Mounts. */
static int mount_spec(json_t *o, mnt_t *m, hcsd_err_t *e) {
  *m = (mnt_t){.flag = "--mount"};
  const char *type = json_string_value(json_object_get(o, "Type"));
  const char *src = json_string_value(json_object_get(o, "Source"));
  const char *dst = json_string_value(json_object_get(o, "Target"));
  if (!json_is_object(o) || type == NULL) {
    hcsd_err_set(e, 400, "invalid mount config: type is required");
    return -1;
  }
  m->ro = json_is_true(json_object_get(o, "ReadOnly"));
  if (strcmp(type, "volume") == 0) {
    m->kind = M_VOLUME;
    return destination_check(m, dst, dst != NULL ? dst : "", e) != 0
               ? -1
               : hcsd_vol_mount_check(o, e);
  }
  if (strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --mount type=%s (HostConfig.Mounts): "
                 "bind and tmpfs are taken",
                 type);
    return -1;
  }
  if (destination_check(m, dst, dst != NULL ? dst : "", e) != 0) {
    return -1;
  }
  bool bind = strcmp(type, "bind") == 0;
  if (!absent(json_object_get(o, "VolumeOptions")) ||
      !absent(json_object_get(o, "ImageOptions")) ||
      !absent(json_object_get(o, "ClusterOptions"))) {
    return mount_refuse(type, "options of another type", e);
  }
  if (bind) {
    m->kind = M_BIND;
    if (!absent(json_object_get(o, "TmpfsOptions"))) {
      return mount_refuse(type, "tmpfs options", e);
    }
    if (src == NULL || src[0] == '\0') {
      hcsd_err_set(e, 400,
                   "invalid mount config for type \"bind\": field "
                   "Source must not be empty");
      return -1;
    }
    if (src[0] != '/') {
      hcsd_err_set(e, 400,
                   "invalid mount config for type \"bind\": invalid mount "
                   "path: '%s' mount path must be absolute",
                   src);
      return -1;
    }
    (void)clean_path(src, m->src, sizeof(m->src));
    if (bind_options(json_object_get(o, "BindOptions"), m, e) != 0) {
      return -1;
    }
    struct stat st;
    if (!m->make_src && stat(m->src, &st) != 0) {
      hcsd_err_set(e, 400,
                   "invalid mount config for type \"bind\": bind source path "
                   "does not exist: %s",
                   m->src);
      return -1;
    }
    return 0;
  }
  m->kind = M_TMPFS;
  if (src != NULL && src[0] != '\0') {
    hcsd_err_set(e, 400,
                 "invalid mount config for type \"tmpfs\": field "
                 "Source must be empty");
    return -1;
  }
  if (!absent(json_object_get(o, "BindOptions"))) {
    return mount_refuse(type, "bind options", e);
  }
  return tmpfs_options(json_object_get(o, "TmpfsOptions"), m, e);
}

/* Every mount of hc, checked, to fn in order: Binds, Mounts, Tmpfs. */
static int mounts_each(json_t *hc, mnt_fn fn, void *data, hcsd_err_t *e) {
  mnt_t m;
  json_t *binds = json_object_get(hc, "Binds");
  json_t *mounts = json_object_get(hc, "Mounts");
  json_t *tmpfs = json_object_get(hc, "Tmpfs");
  if ((binds != NULL && !json_is_null(binds) && !json_is_array(binds)) ||
      (mounts != NULL && !json_is_null(mounts) && !json_is_array(mounts)) ||
      (tmpfs != NULL && !json_is_null(tmpfs) && !json_is_object(tmpfs))) {
    hcsd_err_set(
        e, 400, "json: cannot unmarshal HostConfig.%s",
        !json_is_array(binds) && binds != NULL && !json_is_null(binds) ? "Binds"
        : !json_is_array(mounts) && mounts != NULL && !json_is_null(mounts)
            ? "Mounts"
            : "Tmpfs");
    return -1;
  }
  size_t i;
  json_t *v;
  json_array_foreach(binds, i, v) {
    const char *s = json_string_value(v);
    if (s == NULL) {
      hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.Binds[%zu]", i);
      return -1;
    }
    if (bind_spec(s, &m, e) != 0 || (m.kind != M_VOLUME && fn(&m, data, e))) {
      return -1;
    }
  }
  json_array_foreach(mounts, i, v) {
    if (mount_spec(v, &m, e) != 0 || (m.kind != M_VOLUME && fn(&m, data, e))) {
      return -1;
    }
  }
  const char *k;
  json_object_foreach(tmpfs, k, v) {
    m = (mnt_t){.kind = M_TMPFS, .flag = "--tmpfs"};
    if (!json_is_string(v)) {
      hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.Tmpfs.%s", k);
      return -1;
    }
    if (destination_check(&m, k, k, e) != 0 ||
        tmpfs_opts(&m, json_string_value(v), e) != 0 || fn(&m, data, e) != 0) {
      return -1;
    }
  }
  return 0;
}

/* dockerd's rule: one mount per destination. data: an object of the
 * destinations seen. */
static int dup_check(const mnt_t *m, void *data, hcsd_err_t *e) {
  json_t *seen = data;
  if (json_object_get(seen, m->dst) != NULL) {
    hcsd_err_set(e, 400, "Duplicate mount point: %s", m->dst);
    return -1;
  }
  json_object_set_new(seen, m->dst, json_true());
  return 0;
}

/* An --add-host entry: "name:ip" or "name=ip" (the first separator),
 * the address as inet_pton reads it ([v6] too). 0 with name and ip, or
 * -1 with e. */
static int extra_host(const char *s, char *name, size_t nn, char *ip, size_t in,
                      hcsd_err_t *e) {
  size_t at = strcspn(s, "=");
  if (s[at] == '\0') {
    at = strcspn(s, ":");
  }
  if (s[at] == '\0' || at == 0) {
    hcsd_err_set(e, 400, "bad format for add-host: \"%s\"", s);
    return -1;
  }
  snprintf(name, nn, "%.*s", (int)at, s);
  const char *a = s + at + 1;
  size_t al = strlen(a);
  if (al >= 2 && a[0] == '[' && a[al - 1] == ']') {
    a++;
    al -= 2;
  }
  snprintf(ip, in, "%.*s", (int)al, a);
  if (strcmp(ip, "host-gateway") == 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --add-host %s:host-gateway (it has "
                 "no host gateway address)",
                 name);
    return -1;
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1) {
    hcsd_err_set(e, 400, "invalid IP address in add-host: \"%s\"", ip);
    return -1;
  }
  return 0;
}

static int extra_hosts_each(json_t *hc, FILE *out, hcsd_err_t *e) {
  json_t *eh = json_object_get(hc, "ExtraHosts");
  if (eh != NULL && !json_is_null(eh) && !json_is_array(eh)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.ExtraHosts");
    return -1;
  }
  size_t i;
  json_t *v;
  json_array_foreach(eh, i, v) {
    char name[256], ip[INET6_ADDRSTRLEN + 8];
    const char *s = json_string_value(v);
    if (s == NULL) {
      hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.ExtraHosts");
      return -1;
    }
    if (extra_host(s, name, sizeof(name), ip, sizeof(ip), e) != 0) {
      return -1;
    }
    if (out != NULL) {
      fprintf(out, "%s\t%s\n", ip, name);
    }
  }
  return 0;
}

int hcsd_spec_mounts_check(json_t *hc, hcsd_err_t *e) {
  json_t *ro = json_object_get(hc, "ReadonlyRootfs");
  if (ro != NULL && !json_is_null(ro) && !json_is_boolean(ro)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal HostConfig.ReadonlyRootfs");
    return -1;
  }
  json_t *seen = json_object();
  int r = seen != NULL ? mounts_each(hc, dup_check, seen, e) : -1;
  json_decref(seen);
  return r != 0 ? -1 : extra_hosts_each(hc, NULL, e);
}

/* Whether path (cleaned) is the destination of a mount of hc. */
static bool mounted_at(json_t *hc, const char *path) {
  mnt_t m;
  hcsd_err_t e;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Binds"), i, v) {
    const char *s = json_string_value(v);
    if (s != NULL && bind_spec(s, &m, &e) == 0 && strcmp(m.dst, path) == 0) {
      return true;
    }
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    if (mount_spec(v, &m, &e) == 0 && strcmp(m.dst, path) == 0) {
      return true;
    }
  }
  const char *k;
  json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
    char dst[PATH_MAX];
    if (clean_path(k, dst, sizeof(dst)) == 0 && strcmp(dst, path) == 0) {
      return true;
    }
  }
  return false;
}

int hcsd_spec_volumes_check(json_t *b, hcsd_err_t *e) {
  json_t *vols = json_object_get(b, "Volumes");
  if (vols != NULL && !json_is_null(vols) && !json_is_object(vols)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal Volumes");
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(vols, k, v) {
    char path[PATH_MAX];
    if (k[0] != '/' || clean_path(k, path, sizeof(path)) != 0) {
      hcsd_err_set(e, 400,
                   "invalid volume specification: '%s': the destination "
                   "must be an absolute path",
                   k);
      return -1;
    }
  }
  return 0;
}

void hcsd_spec_anon_volumes(json_t *vols, json_t *hc) {
  json_t *mounts = json_object_get(hc, "Mounts");
  if (!json_is_array(mounts)) {
    mounts = json_array();
    json_object_set_new(hc, "Mounts", mounts);
  }
  size_t i;
  json_t *v;
  json_array_foreach(mounts, i, v) { hcsd_vol_anon_source(v); }
  const char *k;
  json_object_foreach(vols, k, v) {
    char path[PATH_MAX];
    if (clean_path(k, path, sizeof(path)) == 0 && !mounted_at(hc, path)) {
      json_t *m = json_pack("{s:s,s:s}", "Type", "volume", "Target", path);
      hcsd_vol_anon_source(m);
      json_array_append_new(mounts, m);
    }
  }
  if (json_array_size(mounts) == 0) {
    json_object_del(hc, "Mounts");
  }
}

/* mkdir -p path (absolute, clean), as dockerd makes a -v source: 0 or
 * -1 with errno. */
static int make_dirs(const char *path, mode_t mode) {
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s", path);
  for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
    if (s != NULL) {
      *s = '\0';
    }
    if (mkdir(p, mode) != 0 && errno != EEXIST) {
      return -1;
    }
    if (s == NULL) {
      return 0;
    }
    *s = '/';
  }
}

/* mounts_each's fn at start: libhcs's entries in sys. */
static int add_mapping(const mnt_t *m, void *data, hcsd_err_t *e) {
  json_t *sys = data;
  if (m->kind == M_TMPFS) {
    json_array_append_new(
        json_object_get(sys, "Tmpfs"),
        json_pack("{s:s,s:s}", "ContainerPath", m->dst, "Options", m->opts));
    return 0;
  }
  struct stat st;
  if (m->make_src && stat(m->src, &st) != 0 && make_dirs(m->src, 0755) != 0) {
    hcsd_err_set(e, 500, "error while creating mount source path '%s': %s",
                 m->src, strerror(errno));
    return -1;
  }
  json_array_append_new(json_object_get(sys, "MappedDirectories"),
                        json_pack("{s:s,s:s,s:b}", "HostPath", m->src,
                                  "ContainerPath", m->dst, "ReadOnly", m->ro));
  return 0;
}

/* dockerd's /etc/hosts: loopback names (the host's file with the host's
 * network), the --add-host entries, then the container's address and
 * name; written whole to path.tmp and renamed, so a running container
 * keeps the file it had. */
static int write_hosts(json_t *hc, const hcsd_hosts_t *h, hcsd_err_t *e) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s.tmp", h->path);
  FILE *f = fopen(tmp, "we");
  if (f == NULL) {
    hcsd_err_set(e, 500, "writing %s: %s", tmp, strerror(errno));
    return -1;
  }
  FILE *host = h->host_net ? fopen("/etc/hosts", "re") : NULL;
  if (host != NULL) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), host)) > 0) {
      fwrite(buf, 1, n, f);
    }
    fclose(host);
  } else {
    fputs("127.0.0.1\tlocalhost\n"
          "::1\tlocalhost ip6-localhost ip6-loopback\n"
          "fe00::\tip6-localnet\n"
          "ff00::\tip6-mcastprefix\n"
          "ff02::1\tip6-allnodes\n"
          "ff02::2\tip6-allrouters\n",
          f);
  }
  int r = extra_hosts_each(hc, f, e);
  if (h->ip != NULL && h->ip[0] != '\0' && h->name != NULL) {
    fprintf(f, "%s\t%s\n", h->ip, h->name);
  }
  if (fclose(f) != 0 && r == 0) {
    hcsd_err_set(e, 500, "writing %s: %s", tmp, strerror(errno));
    r = -1;
  }
  if (r == 0 && rename(tmp, h->path) != 0) {
    hcsd_err_set(e, 500, "renaming %s: %s", tmp, strerror(errno));
    r = -1;
  }
  if (r != 0) {
    (void)unlink(tmp);
  }
  return r;
}

int hcsd_spec_system_mounts(json_t *hc, const hcsd_hosts_t *hosts, json_t *sys,
                            hcsd_err_t *e) {
  /* Another's mappings (volumes) may be there already. */
  static const char *const arrays[] = {"MappedDirectories", "Tmpfs"};
  for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
    if (!json_is_array(json_object_get(sys, arrays[i]))) {
      json_object_set_new(sys, arrays[i], json_array());
    }
  }
  if (json_is_true(json_object_get(hc, "ReadonlyRootfs"))) {
    json_object_set_new(sys, "ReadOnlyRoot", json_true());
  }
  if (write_hosts(hc, hosts, e) != 0) {
    return -1;
  }
  json_t *etc = json_pack("{s:s,s:s,s:b}", "HostPath", hosts->path,
                          "ContainerPath", "/etc/hosts", "ReadOnly", false);
  json_array_append_new(json_object_get(sys, "MappedDirectories"), etc);
  return mounts_each(hc, add_mapping, sys, e);
}
