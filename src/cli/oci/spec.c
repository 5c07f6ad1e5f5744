/* SPDX-License-Identifier: MIT */
/* An OCI bundle's config.json as an hcs ContainerConfig and a process.
 * Every field is either carried into the hcs configuration, matched
 * against what hcs always does (a container of hcs always has its own
 * pid, mount, uts, ipc and cgroup namespaces, a fresh /proc, a read-only
 * /sys, a private /dev with devpts and a 64 MiB /dev/shm, Docker's masked
 * and read-only paths), made by the keeper once the system runs (late.c:
 * net.* sysctls, /sys/fs/cgroup), or refused with a
 * sentence naming it. */
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ctx_s {
  char *why;
  size_t wn;
  json_t *cfg; /* the ContainerConfig being made */
  oci_spec_t *spec;
} ctx_t;

static void note(ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(ctx_t *c, const char *fmt, ...) {
  size_t n = strlen(c->spec->notes);
  if (n > 0 && n + 2 < sizeof(c->spec->notes)) {
    memcpy(c->spec->notes + n, "; ", 3);
    n += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->spec->notes + n, sizeof(c->spec->notes) - n, fmt, ap);
  va_end(ap);
}

static int say(ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int say(ctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, c->wn, fmt, ap);
  va_end(ap);
  return -1;
}

/* Whether o holds something: not absent, null, false, 0, "", [] or {}. */
static bool given(const json_t *o) {
  switch (o != NULL ? json_typeof(o) : JSON_NULL) {
  case JSON_OBJECT:
    return json_object_size(o) > 0;
  case JSON_ARRAY:
    return json_array_size(o) > 0;
  case JSON_STRING:
    return json_string_length(o) > 0;
  case JSON_INTEGER:
    return json_integer_value(o) != 0;
  case JSON_REAL:
    return json_real_value(o) != 0;
  case JSON_TRUE:
    return true;
  default:
    return false;
  }
}

/* Refuses each member of o that is given and not in known. */
static int only(ctx_t *c, json_t *o, const char *path,
                const char *const *known) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    bool ok = false;
    for (size_t i = 0; known[i] != NULL && !ok; i++) {
      ok = strcmp(known[i], k) == 0;
    }
    if (!ok && given(v)) {
      return say(c, "%s%s%s: not supported by hcs-runc", path,
                 path[0] ? "." : "", k);
    }
  }
  return 0;
}

static char **str_array(json_t *a) {
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  char **v = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; v != NULL && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    v[i] = strdup(s != NULL ? s : "");
  }
  return v;
}

static void str_array_free(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

static int parse_user(ctx_t *c, json_t *u, const char *path, oci_process_t *p) {
  static const char *const known[] = {"uid", "gid", "additionalGids", "umask",
                                      NULL};
  json_int_t uid = 0, gid = 0;
  if (u != NULL && (only(c, u, path, known) != 0)) {
    return -1;
  }
  if (u != NULL && json_unpack(u, "{s?I, s?I}", "uid", &uid, "gid", &gid)) {
    return say(c, "%s: uid and gid must be numbers", path);
  }
  /* additionalGids and umask belong to the system (map_user_system). */
  json_t *extra = json_object_get(u, "additionalGids"), *e;
  size_t i;
  json_array_foreach(extra, i, e) {
    if (!json_is_integer(e) || json_integer_value(e) < 0) {
      return say(c, "%s.additionalGids[%zu]: not a gid", path, i);
    }
  }
  json_t *um = json_object_get(u, "umask");
  if (um != NULL && !json_is_null(um) &&
      (!json_is_integer(um) || json_integer_value(um) < 0 ||
       json_integer_value(um) > 0777)) {
    return say(c, "%s.umask: not a umask (0 to 0777)", path);
  }
  snprintf(p->user, sizeof(p->user), "%lld:%lld", (long long)uid,
           (long long)gid);
  return 0;
}

int oci_process_parse(json_t *o, const char *path, oci_process_t *p, char *why,
                      size_t wn) {
  ctx_t c = {.why = why, .wn = wn};
  static const char *const known[] = {
      "terminal", "consoleSize",  "user",    "args",        "env",
      "cwd",      "capabilities", "rlimits", "oomScoreAdj", "noNewPrivileges",
      NULL};
  memset(p, 0, sizeof(*p));
  if (!json_is_object(o)) {
    return say(&c, "%s: missing", path);
  }
  if (only(&c, o, path, known) != 0) {
    return -1;
  }
  json_t *args = json_object_get(o, "args");
  if (!json_is_array(args) || json_array_size(args) == 0) {
    return say(&c, "%s.args: required, at least the program", path);
  }
  char upath[128];
  snprintf(upath, sizeof(upath), "%s.user", path);
  if (parse_user(&c, json_object_get(o, "user"), upath, p) != 0) {
    return -1;
  }
  const char *cwd = json_string_value(json_object_get(o, "cwd"));
  if (cwd != NULL && cwd[0] != '/') {
    return say(&c, "%s.cwd: \"%s\" is not absolute", path, cwd);
  }
  p->terminal = json_is_true(json_object_get(o, "terminal"));
  json_t *size = json_object_get(o, "consoleSize");
  p->rows = (uint16_t)json_integer_value(json_object_get(size, "height"));
  p->cols = (uint16_t)json_integer_value(json_object_get(size, "width"));
  p->args = str_array(args);
  p->env = str_array(json_object_get(o, "env"));
  p->cwd = strdup(cwd != NULL ? cwd : "/");
  if (p->args == NULL || p->env == NULL || p->cwd == NULL) {
    oci_process_free(p);
    return say(&c, "out of memory");
  }
  return 0;
}

void oci_process_free(oci_process_t *p) {
  str_array_free(p->args);
  str_array_free(p->env);
  free(p->cwd);
  memset(p, 0, sizeof(*p));
}

/* Docker's default capabilities: what a process of an hcs container has
 * (the bounding, effective and permitted sets). */
static const char *const default_caps[] = {"CAP_CHOWN",
                                           "CAP_DAC_OVERRIDE",
                                           "CAP_FSETID",
                                           "CAP_FOWNER",
                                           "CAP_MKNOD",
                                           "CAP_NET_RAW",
                                           "CAP_SETGID",
                                           "CAP_SETUID",
                                           "CAP_SETFCAP",
                                           "CAP_SETPCAP",
                                           "CAP_NET_BIND_SERVICE",
                                           "CAP_SYS_CHROOT",
                                           "CAP_KILL",
                                           "CAP_AUDIT_WRITE",
                                           NULL};

static bool in_list(const char *const *list, const char *s) {
  for (size_t i = 0; list[i] != NULL; i++) {
    if (strcmp(list[i], s) == 0) {
      return true;
    }
  }
  return false;
}

static bool in_array(json_t *a, const char *s) {
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) {
      return true;
    }
  }
  return false;
}

/* The bounding set becomes CapAdd/CapDrop against Docker's defaults,
 * the inheritable and ambient sets CapInheritable and CapAmbient (the
 * ambient ones must be in the inheritable and bounding sets, as the
 * kernel raises no other); hcs keeps effective = permitted = bounding, so
 * those sets must say the same. A user other than root keeps them all,
 * as with runc (CapsForUser). */
static int map_caps(ctx_t *c, json_t *caps) {
  if (caps == NULL) {
    return 0;
  }
  static const char *const known[] = {"bounding",    "effective", "permitted",
                                      "inheritable", "ambient",   NULL};
  if (only(c, caps, "process.capabilities", known) != 0) {
    return -1;
  }
  json_t *bnd = json_object_get(caps, "bounding");
  const char *sets[] = {"effective", "permitted"};
  for (size_t k = 0; k < 2; k++) {
    json_t *s = json_object_get(caps, sets[k]);
    if (json_array_size(s) != json_array_size(bnd)) {
      return say(c,
                 "process.capabilities.%s: hcs keeps it equal to the "
                 "bounding set",
                 sets[k]);
    }
    size_t i;
    json_t *e;
    json_array_foreach(s, i, e) {
      if (!in_array(bnd, json_string_value(e))) {
        return say(c,
                   "process.capabilities.%s: hcs keeps it equal to the "
                   "bounding set",
                   sets[k]);
      }
    }
  }
  json_t *inh = json_object_get(caps, "inheritable");
  json_t *amb = json_object_get(caps, "ambient");
  size_t i;
  json_t *e;
  json_array_foreach(amb, i, e) {
    if (!in_array(inh, json_string_value(e)) ||
        !in_array(bnd, json_string_value(e))) {
      return say(c,
                 "process.capabilities.ambient[%zu]: %s is not in the "
                 "inheritable and bounding sets (the kernel raises no "
                 "other)",
                 i, json_string_value(e));
    }
  }
  json_object_set_new(c->cfg, "CapInheritable",
                      json_is_array(inh) ? json_copy(inh) : json_array());
  json_object_set_new(c->cfg, "CapAmbient",
                      json_is_array(amb) ? json_copy(amb) : json_array());
  json_object_set_new(c->cfg, "CapsForUser", json_true());
  json_t *add = json_array(), *drop = json_array();
  json_array_foreach(bnd, i, e) {
    if (!in_list(default_caps, json_string_value(e))) {
      json_array_append(add, e);
    }
  }
  for (i = 0; default_caps[i] != NULL; i++) {
    if (!in_array(bnd, default_caps[i])) {
      json_array_append_new(drop, json_string(default_caps[i]));
    }
  }
  json_object_set_new(c->cfg, "CapAdd", add);
  json_object_set_new(c->cfg, "CapDrop", drop);
  return 0;
}

static int map_rlimits(ctx_t *c, json_t *rl) {
  json_t *out = json_array(), *e;
  size_t i;
  json_array_foreach(rl, i, e) {
    const char *type = json_string_value(json_object_get(e, "type"));
    if (type == NULL || strncmp(type, "RLIMIT_", 7) != 0) {
      json_decref(out);
      return say(c, "process.rlimits[%zu].type: not RLIMIT_*", i);
    }
    char name[32];
    size_t k = 0;
    for (const char *s = type + 7; *s != '\0' && k + 1 < sizeof(name); s++) {
      name[k++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    }
    name[k] = '\0';
    json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "Name", name,
                                         "Soft", json_object_get(e, "soft"),
                                         "Hard", json_object_get(e, "hard")));
  }
  json_object_set_new(c->cfg, "Ulimits", out);
  return 0;
}

/* process.user's supplementary groups and umask: the system's GroupAdd
 * and Umask (an exec process must ask for the same, exec.c). */
static void map_user_system(ctx_t *c, json_t *u) {
  json_t *groups = json_array(), *e;
  size_t i;
  json_array_foreach(json_object_get(u, "additionalGids"), i, e) {
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(e));
    json_array_append_new(groups, json_string(num));
  }
  json_object_set_new(c->cfg, "GroupAdd", groups);
  json_t *um = json_object_get(u, "umask");
  if (json_is_integer(um)) {
    json_object_set(c->cfg, "Umask", um);
  }
}

/* What of "process" belongs to the system (capabilities, rlimits, the
 * OOM score, no_new_privs, groups and umask). */
static int map_process_system(ctx_t *c, json_t *proc) {
  json_object_set_new(
      c->cfg, "NoNewPrivileges",
      json_boolean(json_is_true(json_object_get(proc, "noNewPrivileges"))));
  map_user_system(c, json_object_get(proc, "user"));
  json_t *adj = json_object_get(proc, "oomScoreAdj");
  if (given(adj)) {
    json_object_set(c->cfg, "OomScoreAdj", adj);
  }
  if (map_caps(c, json_object_get(proc, "capabilities")) != 0) {
    return -1;
  }
  return map_rlimits(c, json_object_get(proc, "rlimits"));
}

/* The mounts hcs makes itself in every container, by destination and
 * type. */
static const struct {
  const char *dest, *type;
} own_mounts[] = {
    {"/proc", "proc"}, {"/dev", "tmpfs"},     {"/dev/pts", "devpts"},
    {"/sys", "sysfs"}, {"/dev/shm", "tmpfs"},
};

static bool is_own_mount(const char *dest, const char *type) {
  for (size_t i = 0; i < sizeof(own_mounts) / sizeof(own_mounts[0]); i++) {
    if (strcmp(own_mounts[i].dest, dest) == 0 &&
        strcmp(own_mounts[i].type, type) == 0) {
      return true;
    }
  }
  return false;
}

/* A bind's options go to MappedDirectories[].Options, which libhcs checks
 * at create, naming any it does not take (its key=value data options go
 * to the kernel with the bind, as runc hands them; bind is not
 * recursive, rbind is). Order i + 1: libhcs mounts binds and tmpfs in
 * the order the config lists them. */
static int map_bind(ctx_t *c, json_t *m, size_t i, json_t *maps) {
  char opts[1024] = "";
  size_t k, n = 0;
  json_t *o;
  json_array_foreach(json_object_get(m, "options"), k, o) {
    const char *s = json_string_value(o);
    if (s == NULL || strchr(s, ',') != NULL) {
      return say(c, "mounts[%zu].options[%zu]: not a string or has a comma", i,
                 k);
    }
    int w = snprintf(opts + n, sizeof(opts) - n, "%s%s", n ? "," : "", s);
    if (w < 0 || (size_t)w >= sizeof(opts) - n) {
      return say(c, "mounts[%zu]: the options of a bind are too long", i);
    }
    n += (size_t)w;
  }
  json_array_append_new(maps,
                        json_pack("{s:O, s:O, s:s, s:I}", "HostPath",
                                  json_object_get(m, "source"), "ContainerPath",
                                  json_object_get(m, "destination"), "Options",
                                  opts, "Order", (json_int_t)i + 1));
  return 0;
}

static int map_tmpfs(ctx_t *c, json_t *m, size_t i, json_t *tmpfs) {
  char opts[1024] = "";
  size_t k, n = 0;
  json_t *o;
  json_array_foreach(json_object_get(m, "options"), k, o) {
    const char *s = json_string_value(o);
    int w = snprintf(opts + n, sizeof(opts) - n, "%s%s", n ? "," : "",
                     s != NULL ? s : "");
    if (w < 0 || (size_t)w >= sizeof(opts) - n) {
      return say(c, "mounts: the options of a tmpfs are too long");
    }
    n += (size_t)w;
  }
  json_array_append_new(tmpfs,
                        json_pack("{s:O, s:s, s:I}", "ContainerPath",
                                  json_object_get(m, "destination"), "Options",
                                  opts, "Order", (json_int_t)i + 1));
  return 0;
}

/* mqueue and cgroup mounts: hcs makes /dev/mqueue (nosuid, nodev,
 * noexec), the keeper the cgroup tree (late.c), with the options it
 * honours. relatime (in `runc spec`'s default cgroup mount) is what both
 * get: they are mounted with no atime flag, and the kernel makes such a
 * mount relatime. */
static int map_late(ctx_t *c, json_t *m, size_t i, oci_late_t *late) {
  const char *type = json_string_value(json_object_get(m, "type"));
  bool cg = strcmp(type, "cgroup") == 0;
  const char *dest = cg ? "/sys/fs/cgroup" : "/dev/mqueue";
  if (strcmp(json_string_value(json_object_get(m, "destination")), dest)) {
    return say(c, "mounts[%zu]: a %s mount goes on %s only", i, type, dest);
  }
  size_t k;
  json_t *o;
  json_array_foreach(json_object_get(m, "options"), k, o) {
    const char *s = json_string_value(o);
    if (s == NULL ||
        (strcmp(s, "nosuid") != 0 && strcmp(s, "nodev") != 0 &&
         strcmp(s, "noexec") != 0 && strcmp(s, "relatime") != 0 &&
         (!cg || (strcmp(s, "ro") != 0 && strcmp(s, "rw") != 0)))) {
      return say(c, "mounts[%zu].options: \"%s\" on %s is not supported", i,
                 s != NULL ? s : "?", dest);
    }
    late->cgroup_ro = late->cgroup_ro || (cg && strcmp(s, "ro") == 0);
  }
  late->cgroup = late->cgroup || cg;
  return 0;
}

/* /dev/shm, which hcs makes: its size= (bytes, or with k, m or g) as
 * ShmSizeInBytes; the other options must be hcs's (nosuid, nodev,
 * noexec, mode=1777). */
static int map_shm(ctx_t *c, json_t *m, const char *path) {
  size_t k;
  json_t *o;
  json_array_foreach(json_object_get(m, "options"), k, o) {
    const char *v = json_string_value(o);
    if (v != NULL && strncmp(v, "size=", 5) == 0) {
      char *end;
      long long n = strtoll(v + 5, &end, 10);
      long long mult = *end == 'k'   ? 1024
                       : *end == 'm' ? 1024 * 1024
                       : *end == 'g' ? 1024 * 1024 * 1024
                                     : 1;
      if (n <= 0 || (*end != '\0' && end[1] != '\0')) {
        return say(c, "%s.options: %s is not a size", path, v);
      }
      json_object_set_new(c->cfg, "ShmSizeInBytes", json_integer(n * mult));
    } else if (v == NULL || (strcmp(v, "nosuid") && strcmp(v, "nodev") &&
                             strcmp(v, "noexec") && strcmp(v, "mode=1777"))) {
      return say(c, "%s.options: \"%s\" on /dev/shm is not supported", path,
                 v != NULL ? v : "?");
    }
  }
  return 0;
}

static int map_mounts(ctx_t *c, json_t *mounts, oci_late_t *late) {
  json_t *maps = json_array(), *tmpfs = json_array(), *m;
  json_object_set_new(c->cfg, "MappedDirectories", maps);
  json_object_set_new(c->cfg, "Tmpfs", tmpfs);
  size_t i, first_mapping = SIZE_MAX;
  json_array_foreach(mounts, i, m) {
    static const char *const known[] = {"destination", "type", "source",
                                        "options", NULL};
    char path[32];
    snprintf(path, sizeof(path), "mounts[%zu]", i);
    if (only(c, m, path, known) != 0) {
      return -1;
    }
    const char *dest = json_string_value(json_object_get(m, "destination"));
    const char *type = json_string_value(json_object_get(m, "type"));
    bool bind = in_array(json_object_get(m, "options"), "bind") ||
                in_array(json_object_get(m, "options"), "rbind");
    if (dest == NULL || dest[0] != '/') {
      return say(c, "%s.destination: required, absolute", path);
    }
    if (type == NULL) {
      type = bind ? "bind" : "";
    }
    if (strcmp(dest, "/dev/shm") == 0 && strcmp(type, "tmpfs") == 0 &&
        map_shm(c, m, path) != 0) {
      return -1;
    }
    bool own = is_own_mount(dest, type) || strcmp(type, "mqueue") == 0;
    if (own && first_mapping != SIZE_MAX) {
      return say(c,
                 "%s: %s after mounts[%zu]: hcs makes /proc, /dev, "
                 "/dev/pts, /dev/shm, /dev/mqueue and /sys before the "
                 "binds and tmpfs",
                 path, dest, first_mapping);
    }
    int r = 0;
    if (is_own_mount(dest, type)) {
      continue;
    } else if (strcmp(type, "mqueue") == 0 || strcmp(type, "cgroup") == 0) {
      r = map_late(c, m, i, late);
    } else if (strcmp(type, "bind") == 0 || bind) {
      r = map_bind(c, m, i, maps);
      first_mapping = first_mapping < i ? first_mapping : i;
    } else if (strcmp(type, "tmpfs") == 0) {
      r = map_tmpfs(c, m, i, tmpfs);
      first_mapping = first_mapping < i ? first_mapping : i;
    } else {
      r = say(c, "%s: a %s mount on %s is not supported", path, type, dest);
    }
    if (r != 0) {
      return r;
    }
  }
  return 0;
}

/* linux.namespaces as libhcs's Namespaces: a type listed with a path is
 * joined, listed without one made; pid, uts and ipc left out are the
 * host's, the network the host's as HostNetwork. */
static int map_namespaces(ctx_t *c, json_t *nss) {
  static const char *const kinds[] = {"pid",     "mount",  "uts", "ipc",
                                      "network", "cgroup", "user"};
  enum { N_KINDS = sizeof(kinds) / sizeof(kinds[0]) };
  bool have[N_KINDS] = {false};
  json_t *out = json_array();
  size_t i;
  json_t *ns;
  json_array_foreach(nss, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    size_t k = 0;
    while (k < N_KINDS && (type == NULL || strcmp(kinds[k], type) != 0)) {
      k++;
    }
    if (k == N_KINDS || have[k]) {
      json_decref(out);
      return say(c, "linux.namespaces[%zu].type: \"%s\" is %s", i,
                 type != NULL ? type : "",
                 k == N_KINDS ? "not supported" : "given twice");
    }
    have[k] = true;
    json_t *path = json_object_get(ns, "path");
    struct stat st;
    if (given(path) && json_is_string(path) &&
        stat(json_string_value(path), &st) != 0) {
      json_decref(out);
      return say(c, "linux.namespaces[%zu].path: %s: %s", i,
                 json_string_value(path), strerror(errno));
    }
    if (given(path)) {
      json_array_append_new(
          out, json_pack("{s:s, s:O}", "Type", type, "Path", path));
    } else if (strcmp(type, "user") == 0) {
      json_array_append_new(out, json_pack("{s:s}", "Type", "user"));
    }
  }
  /* mount (1): the root is then built in the host's mount namespace and
   * entered by chroot, as runc does; cgroup (5): its tree at
   * /sys/fs/cgroup is then the container's own groups bound (late.c). */
  for (size_t k = 0; k < 6; k++) {
    if (!have[k] && k != 4) {
      json_array_append_new(
          out, json_pack("{s:s, s:b}", "Type", kinds[k], "Host", true));
    }
  }
  if (!have[4]) {
    json_object_set_new(c->cfg, "HostNetwork", json_true());
  }
  if (json_array_size(out) > 0) {
    json_object_set_new(c->cfg, "Namespaces", out);
  } else {
    json_decref(out);
  }
  return 0;
}

/* linux.uidMappings and gidMappings as libhcs's UidMap and GidMap, for
 * a new user namespace (one listed without a path) and only then. */
static int map_id_maps(ctx_t *c, json_t *lx) {
  static const char *const oci[] = {"uidMappings", "gidMappings"};
  static const char *const hcs[] = {"UidMap", "GidMap"};
  bool user = false;
  size_t i;
  json_t *ns;
  json_array_foreach(json_object_get(c->cfg, "Namespaces"), i, ns) {
    user |= json_object_get(ns, "Path") == NULL &&
            strcmp(json_string_value(json_object_get(ns, "Type")), "user") == 0;
  }
  for (size_t k = 0; k < 2; k++) {
    json_t *maps = json_object_get(lx, oci[k]);
    if (json_array_size(maps) > 0 && !user) {
      return say(c,
                 "linux.%s: without a new user namespace in "
                 "linux.namespaces",
                 oci[k]);
    }
    if (user && json_array_size(maps) == 0) {
      return say(c, "linux.%s: a new user namespace needs it", oci[k]);
    }
    json_t *out = json_array();
    json_t *m;
    json_array_foreach(maps, i, m) {
      json_t *cid = json_object_get(m, "containerID"),
             *hid = json_object_get(m, "hostID"),
             *size = json_object_get(m, "size");
      if (!json_is_integer(cid) || !json_is_integer(hid) ||
          !json_is_integer(size)) {
        json_decref(out);
        return say(c,
                   "linux.%s[%zu]: containerID, hostID and size are "
                   "numbers",
                   oci[k], i);
      }
      json_array_append_new(out, json_pack("{s:O, s:O, s:O}", "ContainerID",
                                           cid, "HostID", hid, "Size", size));
    }
    json_object_set_new(c->cfg, hcs[k], out);
  }
  return 0;
}

/* The device cgroup of an hcs container opens Docker's default devices
 * less /dev/console; an allow rule for anything else is refused. */
static int check_devices(ctx_t *c, json_t *devs) {
  static const int ok[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8},   {1, 9},
                              {5, 0}, {5, 1}, {5, 2}, {136, -1}};
  size_t i;
  json_t *d;
  json_array_foreach(devs, i, d) {
    if (!json_is_true(json_object_get(d, "allow"))) {
      continue;
    }
    const char *type = json_string_value(json_object_get(d, "type"));
    json_t *maj = json_object_get(d, "major"),
           *min = json_object_get(d, "minor");
    bool found = false;
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]) && !found; k++) {
      found = type != NULL && strcmp(type, "c") == 0 &&
              json_integer_value(maj) == ok[k][0] &&
              (ok[k][1] < 0 ||
               (json_is_integer(min) && json_integer_value(min) == ok[k][1]));
    }
    if (!found) {
      return say(c,
                 "linux.resources.devices[%zu]: hcs opens only Docker's "
                 "default devices; allowing %s %lld:%lld is not supported",
                 i, type != NULL ? type : "a",
                 (long long)json_integer_value(maj),
                 (long long)json_integer_value(min));
    }
  }
  return 0;
}

/* A byte count in whole MiB for field; -1 after say() otherwise. */
static long long mib(ctx_t *c, const char *field, json_int_t v) {
  if (v % (1024 * 1024) != 0) {
    return say(c,
               "linux.resources.memory.%s: hcs sets memory in whole MiB; "
               "%lld is not",
               field, (long long)v);
  }
  return v / (1024 * 1024);
}

static int map_memory(ctx_t *c, json_t *mem) {
  static const char *const known[] = {"limit", "swap", "reservation",
                                      "disableOOMKiller", NULL};
  if (only(c, mem, "linux.resources.memory", known) != 0) {
    return -1;
  }
  json_int_t limit = json_integer_value(json_object_get(mem, "limit"));
  json_int_t swap = json_integer_value(json_object_get(mem, "swap"));
  json_int_t resv = json_integer_value(json_object_get(mem, "reservation"));
  long long lm = limit > 0 ? mib(c, "limit", limit) : 0;
  long long rm = resv > 0 ? mib(c, "reservation", resv) : 0;
  if (lm < 0 || rm < 0) {
    return -1;
  }
  if (lm > 0) {
    json_object_set_new(c->cfg, "MemoryMaximumInMB", json_integer(lm));
  }
  if (rm > 0) {
    json_object_set_new(c->cfg, "MemoryReservationInMB", json_integer(rm));
  }
  /* OCI's swap is memory+swap; hcs's SwapMaximumInMB the swap beside
   * the memory (-1: unlimited). */
  if (swap == -1 || (swap > 0 && lm == 0)) {
    json_object_set_new(c->cfg, "SwapMaximumInMB", json_integer(-1));
  } else if (swap > 0) {
    long long sm = mib(c, "swap", swap);
    if (sm < 0 || sm < lm) {
      return sm < 0 ? -1
                    : say(c,
                          "linux.resources.memory.swap: %lld is below "
                          "the limit",
                          (long long)swap);
    }
    json_object_set_new(c->cfg, "SwapMaximumInMB", json_integer(sm - lm));
  }
  return 0;
}

/* cpu: shares, quota and period as given (libhcs's CpuShares, CpuQuota,
 * CpuPeriod: cpu.shares and cpu.cfs_* on cgroup v1; cpu.weight, by runc's
 * conversion, and cpu.max on v2), cpus and mems as the cpuset. */
static int map_cpu(ctx_t *c, json_t *cpu) {
  static const char *const known[] = {"shares", "quota", "period",
                                      "cpus",   "mems",  NULL};
  if (only(c, cpu, "linux.resources.cpu", known) != 0) {
    return -1;
  }
  static const char *const fields[][2] = {
      {"shares", "CpuShares"}, {"quota", "CpuQuota"}, {"period", "CpuPeriod"}};
  for (size_t i = 0; i < 3; i++) {
    json_t *v = json_object_get(cpu, fields[i][0]);
    json_int_t x = json_integer_value(v);
    if (x > 0 || (x == -1 && i == 1)) {
      json_object_set_new(c->cfg, fields[i][1], json_integer(x));
    }
  }
  const char *cpus = json_string_value(json_object_get(cpu, "cpus"));
  const char *mems = json_string_value(json_object_get(cpu, "mems"));
  if (cpus != NULL && cpus[0] != '\0') {
    json_object_set_new(c->cfg, "CpusetCpus", json_string(cpus));
  }
  if (mems != NULL && mems[0] != '\0') {
    json_object_set_new(c->cfg, "CpusetMems", json_string(mems));
  }
  return 0;
}

static int map_resources(ctx_t *c, json_t *res) {
  static const char *const known[] = {"devices", "memory",  "pids",
                                      "cpu",     "blockIO", NULL};
  if (res == NULL) {
    return 0;
  }
  if (only(c, res, "linux.resources", known) != 0 ||
      check_devices(c, json_object_get(res, "devices")) != 0 ||
      map_memory(c, json_object_get(res, "memory")) != 0) {
    return -1;
  }
  json_int_t pids = json_integer_value(
      json_object_get(json_object_get(res, "pids"), "limit"));
  if (pids > 0) {
    json_object_set_new(c->cfg, "PidsMaximum", json_integer(pids));
  }
  static const char *const none[] = {NULL};
  if (map_cpu(c, json_object_get(res, "cpu")) != 0 ||
      only(c, json_object_get(res, "blockIO"), "linux.resources.blockIO",
           none) != 0) {
    return -1;
  }
  return 0;
}

/* maskedPaths and readonlyPaths: hcs covers Docker's default set in
 * every container; a path beyond it the keeper covers (late.c), so it
 * goes into *extra. */
static int check_paths(ctx_t *c, json_t *list, const char *field,
                       const char *const *set, json_t **extra) {
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    const char *p = json_string_value(e);
    if (p == NULL || p[0] != '/' || strlen(p) >= 256) {
      return say(c, "linux.%s[%zu]: not an absolute path (under 256 bytes)",
                 field, i);
    }
    if (!in_list(set, p)) {
      if (*extra == NULL) {
        *extra = json_array();
      }
      json_array_append(*extra, e);
    }
  }
  return 0;
}

static int map_seccomp(ctx_t *c, json_t *sc) {
  if (sc == NULL) {
    json_object_set_new(c->cfg, "SeccompProfile", json_string("unconfined"));
    return 0;
  }
  static const char *const known[] = {"defaultAction", "defaultErrnoRet",
                                      "architectures", "syscalls", NULL};
  if (only(c, sc, "linux.seccomp", known) != 0) {
    return -1;
  }
  /* The OCI form is the one Docker's profiles use for these keys; hcs
   * compiles it at create and names what it refuses. */
  char *text = json_dumps(sc, JSON_COMPACT);
  if (text == NULL) {
    return say(c, "out of memory");
  }
  json_object_set_new(c->cfg, "SeccompProfile", json_string(text));
  free(text);
  return 0;
}

/* linux.rootfsPropagation: the keeper sets it on the container's root
 * (late.c); hcs makes the root private. */
static int map_propagation(ctx_t *c, json_t *v, oci_late_t *late) {
  static const struct {
    const char *name;
    unsigned long flags;
  } modes[] = {
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
  const char *s = json_string_value(v);
  if (!given(v)) {
    return 0;
  }
  for (size_t i = 0; s != NULL && i < sizeof(modes) / sizeof(modes[0]); i++) {
    if (strcmp(modes[i].name, s) == 0) {
      late->root_propagation = modes[i].flags;
      return 0;
    }
  }
  return say(c,
             "linux.rootfsPropagation: \"%s\" is not shared, slave, "
             "private or unbindable",
             s != NULL ? s : "?");
}

/* linux.devices: each a path, a type (c, u, b or p), its numbers and
 * its mode and owner; the keeper makes them (late.c). Access through the
 * devices cgroup is linux.resources.devices' to give. */
static int map_devices(ctx_t *c, json_t *devs, oci_late_t *late) {
  static const char *const known[] = {"path",     "type", "major", "minor",
                                      "fileMode", "uid",  "gid",   NULL};
  size_t i;
  json_t *d;
  json_array_foreach(devs, i, d) {
    char path[48];
    snprintf(path, sizeof(path), "linux.devices[%zu]", i);
    if (only(c, d, path, known) != 0) {
      return -1;
    }
    const char *p = json_string_value(json_object_get(d, "path"));
    const char *t = json_string_value(json_object_get(d, "type"));
    json_t *maj = json_object_get(d, "major"),
           *min = json_object_get(d, "minor");
    json_t *mode = json_object_get(d, "fileMode");
    bool nums = t != NULL && strcmp(t, "p") != 0;
    if (p == NULL || p[0] != '/' || strlen(p) >= 256) {
      return say(c, "%s.path: required, absolute (under 256 bytes)", path);
    }
    if (t == NULL || strlen(t) != 1 || strchr("cubp", t[0]) == NULL) {
      return say(c, "%s.type: must be c, u, b or p", path);
    }
    if (nums && (!json_is_integer(maj) || !json_is_integer(min) ||
                 json_integer_value(maj) < 0 || json_integer_value(min) < 0)) {
      return say(c, "%s: major and minor are required for type %s", path, t);
    }
    if (mode != NULL &&
        (!json_is_integer(mode) || json_integer_value(mode) < 0 ||
         json_integer_value(mode) > 07777)) {
      return say(c, "%s.fileMode: not a mode", path);
    }
  }
  if (json_array_size(devs) > 0) {
    late->devices = json_incref(devs);
  }
  return 0;
}

static int map_linux(ctx_t *c, json_t *lx, oci_spec_t *spec) {
  static const char *const known[] = {
      "namespaces",  "resources",     "cgroupsPath", "seccomp",
      "maskedPaths", "readonlyPaths", "sysctl",      "rootfsPropagation",
      "devices",     "uidMappings",   "gidMappings", NULL};
  static const char *const masked[] = {"/proc/acpi",
                                       "/proc/asound",
                                       "/proc/interrupts",
                                       "/proc/kcore",
                                       "/proc/keys",
                                       "/proc/latency_stats",
                                       "/proc/timer_list",
                                       "/proc/timer_stats",
                                       "/proc/sched_debug",
                                       "/proc/scsi",
                                       "/sys/firmware",
                                       "/sys/devices/virtual/powercap",
                                       NULL};
  static const char *const ro[] = {"/proc/bus",           "/proc/fs",
                                   "/proc/irq",           "/proc/sys",
                                   "/proc/sysrq-trigger", NULL};
  if (!json_is_object(lx)) {
    return say(c, "linux: required");
  }
  if (only(c, lx, "linux", known) != 0 ||
      map_namespaces(c, json_object_get(lx, "namespaces")) != 0 ||
      map_id_maps(c, lx) != 0 ||
      map_resources(c, json_object_get(lx, "resources")) != 0 ||
      check_paths(c, json_object_get(lx, "maskedPaths"), "maskedPaths", masked,
                  &spec->late.masked) != 0 ||
      check_paths(c, json_object_get(lx, "readonlyPaths"), "readonlyPaths", ro,
                  &spec->late.readonly) != 0 ||
      map_seccomp(c, json_object_get(lx, "seccomp")) != 0 ||
      map_propagation(c, json_object_get(lx, "rootfsPropagation"),
                      &spec->late) != 0 ||
      map_devices(c, json_object_get(lx, "devices"), &spec->late) != 0) {
    return -1;
  }
  /* The group's path under each hierarchy's root (a relative one too:
   * the spec leaves where to the runtime); libhcs checks its names. */
  const char *cgp = json_string_value(json_object_get(lx, "cgroupsPath"));
  if (cgp != NULL && cgp[0] != '\0') {
    if (strchr(cgp, ':') != NULL) {
      return say(c,
                 "linux.cgroupsPath %s: a systemd slice needs "
                 "--systemd-cgroup, which hcs-runc does not support",
                 cgp);
    }
    json_object_set_new(c->cfg, "CgroupPath", json_string(cgp));
  }
  json_t *sysctl = json_object_get(lx, "sysctl");
  const char *k;
  json_t *v;
  json_object_foreach(sysctl, k, v) {
    if (strncmp(k, "net.", 4) != 0 || strstr(k, "..") != NULL ||
        !json_is_string(v)) {
      return say(c,
                 "linux.sysctl: %s: hcs-runc sets only net.* (in the "
                 "container's network namespace)",
                 k);
    }
    if (json_is_true(json_object_get(c->cfg, "HostNetwork"))) {
      return say(c,
                 "linux.sysctl: %s: the container shares the host's "
                 "network namespace",
                 k);
    }
  }
  spec->late.sysctl = json_incref(sysctl);
  return 0;
}

static int map_root(ctx_t *c, json_t *root, const char *bundle,
                    oci_spec_t *spec) {
  const char *path = json_string_value(json_object_get(root, "path"));
  if (path == NULL || path[0] == '\0') {
    return say(c, "root.path: required");
  }
  char full[PATH_MAX];
  if (path[0] == '/') {
    snprintf(full, sizeof(full), "%s", path);
  } else {
    snprintf(full, sizeof(full), "%s/%s", bundle, path);
  }
  spec->rootfs = realpath(full, NULL);
  if (spec->rootfs == NULL) {
    return say(c, "root.path: %s: %s", full, strerror(errno));
  }
  json_object_set_new(c->cfg, "VolumePath", json_string(spec->rootfs));
  if (json_is_true(json_object_get(root, "readonly"))) {
    json_object_set_new(c->cfg, "ReadOnlyRoot", json_true());
  }
  return 0;
}

/* ociVersion is required and a SemVer; hcs-runc reads version 1. */
static int check_version(ctx_t *c, json_t *v) {
  const char *s = json_string_value(v);
  unsigned maj = 0, min = 0, patch = 0;
  int n = 0;
  if (s == NULL) {
    return say(c, "ociVersion: required");
  }
  if (sscanf(s, "%u.%u.%u%n", &maj, &min, &patch, &n) != 3 || s[0] < '0' ||
      s[0] > '9' || (s[n] != '\0' && s[n] != '-' && s[n] != '+')) {
    return say(c, "ociVersion: \"%s\" is not a SemVer version", s);
  }
  if (maj != 1) {
    return say(c, "ociVersion: %s is not supported (hcs-runc reads 1.x)", s);
  }
  return 0;
}

/* The spec's top-level members hcs-runc reads and those it refuses; a
 * member the spec does not define MUST NOT be an error, so it is noted
 * and ignored. */
static int check_top(ctx_t *c, json_t *s) {
  static const char *const known[] = {"ociVersion", "process",     "root",
                                      "hostname",   "mounts",      "hooks",
                                      "linux",      "annotations", NULL};
  static const char *const other[] = {"domainname", "solaris", "windows", "vm",
                                      "zos",        "freebsd", NULL};
  const char *k;
  json_t *v;
  json_object_foreach(s, k, v) {
    if (in_list(known, k)) {
      continue;
    }
    if (in_list(other, k)) {
      if (given(v)) {
        return say(c, "%s: not supported by hcs-runc", k);
      }
      continue;
    }
    note(c, "%s: not a member of the OCI runtime spec, ignored", k);
  }
  return check_version(c, json_object_get(s, "ociVersion"));
}

static int map_spec(ctx_t *c, json_t *s, const char *bundle, oci_spec_t *spec) {
  if (check_top(c, s) != 0) {
    return -1;
  }
  json_t *hooks = json_object_get(s, "hooks");
  if (oci_hooks_check(hooks, c->why, c->wn) != 0) {
    return -1;
  }
  spec->hooks = json_incref(hooks);
  json_t *ann = json_object_get(s, "annotations");
  if (ann != NULL && !json_is_null(ann) && !json_is_object(ann)) {
    return say(c, "annotations: not an object");
  }
  spec->annotations = json_incref(ann);
  const char *host = json_string_value(json_object_get(s, "hostname"));
  if (host != NULL && host[0] != '\0') {
    json_object_set_new(c->cfg, "HostName", json_string(host));
  }
  json_t *proc = json_object_get(s, "process");
  if (map_root(c, json_object_get(s, "root"), bundle, spec) != 0 ||
      map_mounts(c, json_object_get(s, "mounts"), &spec->late) != 0 ||
      map_linux(c, json_object_get(s, "linux"), spec) != 0 ||
      map_process_system(c, proc) != 0) {
    return -1;
  }
  return oci_process_parse(proc, "process", &spec->proc, c->why, c->wn);
}

int oci_spec_load(const char *bundle, oci_spec_t *spec, char *why, size_t wn) {
  memset(spec, 0, sizeof(*spec));
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_error_t jerr;
  json_t *s = json_load_file(path, 0, &jerr);
  ctx_t c = {.why = why, .wn = wn, .cfg = NULL, .spec = spec};
  if (s == NULL) {
    return say(&c, "%s: %s", path, jerr.text);
  }
  c.cfg = json_pack("{s:s}", "SystemType", "Container");
  int r = c.cfg != NULL ? map_spec(&c, s, bundle, spec) : say(&c, "no memory");
  if (r == 0) {
    spec->system_json = json_dumps(c.cfg, JSON_COMPACT);
    r = spec->system_json != NULL ? 0 : say(&c, "out of memory");
  }
  json_decref(c.cfg);
  json_decref(s);
  if (r != 0) {
    oci_spec_free(spec);
  }
  return r;
}

void oci_spec_free(oci_spec_t *spec) {
  free(spec->system_json);
  free(spec->rootfs);
  oci_process_free(&spec->proc);
  json_decref(spec->late.sysctl);
  json_decref(spec->late.masked);
  json_decref(spec->late.readonly);
  json_decref(spec->late.devices);
  json_decref(spec->hooks);
  json_decref(spec->annotations);
  memset(spec, 0, sizeof(*spec));
}

json_t *oci_resources_settings(json_t *res, char *why, size_t wn) {
  oci_spec_t none;
  memset(&none, 0, sizeof(none));
  ctx_t c = {.why = why, .wn = wn, .cfg = json_object(), .spec = &none};
  if (c.cfg == NULL || !json_is_object(res) || map_resources(&c, res) != 0) {
    if (c.cfg != NULL && !json_is_object(res)) {
      say(&c, "resources: not a JSON object");
    }
    json_decref(c.cfg);
    return NULL;
  }
  return c.cfg;
}
