/* SPDX-License-Identifier: MIT */
/* Seccomp profiles in Docker's JSON format (see seccomp.h), read with
 * jansson and built with the builder of seccomp.c. */
#include "hcs/system/seccomp.h"
#include "hcs/system/seccomp_build.h"

#include "hcs-async.h"

#include <errno.h>
#include <jansson.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

typedef struct prof_s {
  hcs__seccomp_build_t b;
  uint64_t caps;
  const char *native; /* Docker's name of the native architecture */
  unsigned kernel[2]; /* the running kernel's version and major revision */
} prof_t;

/* A sentence about field (under path, "" at the top) into why: -EINVAL. */
__attribute__((format(printf, 4, 5))) static int
bad(prof_t *p, const char *path, const char *field, const char *fmt, ...) {
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return hcs__seccomp_say(&p->b, -EINVAL, "%s%s%s: %s", path,
                          *path != '\0' ? "." : "", field, msg);
}

static int known_fields(prof_t *p, json_t *obj, const char *path,
                        const char *const *known) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    size_t i = 0;
    while (known[i] != NULL && strcmp(known[i], key) != 0) {
      i++;
    }
    if (known[i] == NULL) {
      return bad(p, path, key, "unknown field");
    }
  }
  return 0;
}

/* A member of obj; null counts as absent, as Docker reads it. */
static json_t *member(json_t *obj, const char *name) {
  json_t *v = json_object_get(obj, name);
  return json_is_null(v) ? NULL : v;
}

/* 1 and *out when present, 0 when absent, -EINVAL when not a string. */
static int get_str(prof_t *p, json_t *obj, const char *path, const char *name,
                   const char **out) {
  json_t *v = member(obj, name);
  if (v == NULL) {
    return 0;
  }
  if (!json_is_string(v)) {
    return bad(p, path, name, "must be a string");
  }
  *out = json_string_value(v);
  return 1;
}

/* The same for an integer in [0, max]. */
static int get_u64(prof_t *p, json_t *obj, const char *path, const char *name,
                   uint64_t max, uint64_t *out) {
  json_t *v = member(obj, name);
  if (v == NULL) {
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) > max) {
    return bad(p, path, name, "must be an integer from 0 to %llu",
               (unsigned long long)max);
  }
  *out = (uint64_t)json_integer_value(v);
  return 1;
}

/* The same for an array of strings. */
static int get_strs(prof_t *p, json_t *obj, const char *path, const char *name,
                    json_t **out) {
  json_t *v = member(obj, name);
  if (v == NULL) {
    return 0;
  }
  size_t i;
  json_t *s;
  if (!json_is_array(v)) {
    return bad(p, path, name, "must be an array of strings");
  }
  json_array_foreach(v, i, s) {
    if (!json_is_string(s)) {
      return bad(p, path, name, "item %zu is not a string", i);
    }
  }
  *out = v;
  return 1;
}

static const struct {
  const char *name;
  uint32_t act;
  uint64_t max_ret; /* 0: takes no errnoRet */
} actions[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), 4095},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, 0},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), 65535},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, 0},
};

/* An action (field aname) with its errnoRet (field rname; EPERM when
 * absent, as in Docker). */
static int parse_action(prof_t *p, json_t *obj, const char *path,
                        const char *aname, const char *rname, uint32_t *out) {
  const char *s = NULL; /* set when get_str returns 1 */
  int r = get_str(p, obj, path, aname, &s);
  if (r <= 0) {
    return r < 0 ? r : bad(p, path, aname, "required");
  }
  if (strcmp(s, "SCMP_ACT_NOTIFY") == 0) {
    return bad(p, path, aname,
               "SCMP_ACT_NOTIFY needs a notify agent, which hcs does not run");
  }
  size_t i = 0;
  while (i < sizeof(actions) / sizeof(actions[0]) &&
         strcmp(actions[i].name, s) != 0) {
    i++;
  }
  if (i == sizeof(actions) / sizeof(actions[0])) {
    return bad(p, path, aname, "unknown action \"%s\"", s);
  }
  uint64_t ret = EPERM;
  if (actions[i].max_ret == 0) {
    if (member(obj, rname) != NULL) {
      return bad(p, path, rname, "only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    }
    ret = 0;
  } else if ((r = get_u64(p, obj, path, rname, actions[i].max_ret, &ret)) < 0) {
    return r;
  }
  *out = actions[i].act | (uint32_t)ret;
  return 0;
}

static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static int parse_arg(prof_t *p, json_t *a, const char *path,
                     struct scmp_arg_cmp *cmp) {
  static const char *const known[] = {"index", "value", "valueTwo", "op", NULL};
  if (!json_is_object(a)) {
    return hcs__seccomp_say(&p->b, -EINVAL, "%s: must be an object", path);
  }
  int r = known_fields(p, a, path, known);
  uint64_t index = 0, value = 0, two = 0;
  const char *op = NULL;
  if (r == 0 && (r = get_u64(p, a, path, "index", 5, &index)) == 0) {
    r = bad(p, path, "index", "required");
  }
  if (r >= 0) {
    r = get_u64(p, a, path, "value", UINT64_MAX, &value);
  }
  if (r >= 0) {
    r = get_u64(p, a, path, "valueTwo", UINT64_MAX, &two);
  }
  if (r >= 0 && (r = get_str(p, a, path, "op", &op)) == 0) {
    r = bad(p, path, "op", "required");
  }
  if (r < 0) {
    return r;
  }
  size_t i = 0;
  while (i < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[i].name, op) != 0) {
    i++;
  }
  if (i == sizeof(ops) / sizeof(ops[0])) {
    return bad(p, path, "op", "unknown operator \"%s\"", op);
  }
  if (two != 0 && ops[i].op != SCMP_CMP_MASKED_EQ) {
    return bad(p, path, "valueTwo", "only with SCMP_CMP_MASKED_EQ");
  }
  *cmp = (struct scmp_arg_cmp){(unsigned)index, ops[i].op, value, two};
  return 0;
}

/* Up to six comparisons, libseccomp's limit for one rule. */
static int parse_args(prof_t *p, json_t *sc, const char *path,
                      struct scmp_arg_cmp cmp[6], unsigned *n) {
  json_t *args = member(sc, "args");
  *n = 0;
  if (args == NULL) {
    return 0;
  }
  if (!json_is_array(args) || json_array_size(args) > 6) {
    return bad(p, path, "args", "must be an array of at most 6 comparisons");
  }
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a) {
    char apath[64];
    snprintf(apath, sizeof(apath), "%s.args[%zu]", path, i);
    int r = parse_arg(p, a, apath, &cmp[i]);
    if (r != 0) {
      return r;
    }
  }
  *n = (unsigned)json_array_size(args);
  return 0;
}

#define CAPNAME(c) [c] = #c
static const char *const cap_names[] = {
    CAPNAME(CAP_CHOWN),
    CAPNAME(CAP_DAC_OVERRIDE),
    CAPNAME(CAP_DAC_READ_SEARCH),
    CAPNAME(CAP_FOWNER),
    CAPNAME(CAP_FSETID),
    CAPNAME(CAP_KILL),
    CAPNAME(CAP_SETGID),
    CAPNAME(CAP_SETUID),
    CAPNAME(CAP_SETPCAP),
    CAPNAME(CAP_LINUX_IMMUTABLE),
    CAPNAME(CAP_NET_BIND_SERVICE),
    CAPNAME(CAP_NET_BROADCAST),
    CAPNAME(CAP_NET_ADMIN),
    CAPNAME(CAP_NET_RAW),
    CAPNAME(CAP_IPC_LOCK),
    CAPNAME(CAP_IPC_OWNER),
    CAPNAME(CAP_SYS_MODULE),
    CAPNAME(CAP_SYS_RAWIO),
    CAPNAME(CAP_SYS_CHROOT),
    CAPNAME(CAP_SYS_PTRACE),
    CAPNAME(CAP_SYS_PACCT),
    CAPNAME(CAP_SYS_ADMIN),
    CAPNAME(CAP_SYS_BOOT),
    CAPNAME(CAP_SYS_NICE),
    CAPNAME(CAP_SYS_RESOURCE),
    CAPNAME(CAP_SYS_TIME),
    CAPNAME(CAP_SYS_TTY_CONFIG),
    CAPNAME(CAP_MKNOD),
    CAPNAME(CAP_LEASE),
    CAPNAME(CAP_AUDIT_WRITE),
    CAPNAME(CAP_AUDIT_CONTROL),
    CAPNAME(CAP_SETFCAP),
    CAPNAME(CAP_MAC_OVERRIDE),
    CAPNAME(CAP_MAC_ADMIN),
    CAPNAME(CAP_SYSLOG),
    CAPNAME(CAP_WAKE_ALARM),
    CAPNAME(CAP_BLOCK_SUSPEND),
    CAPNAME(CAP_AUDIT_READ),
    CAPNAME(CAP_PERFMON),
    CAPNAME(CAP_BPF),
    CAPNAME(CAP_CHECKPOINT_RESTORE),
};

int hcs__cap_number(const char *name) {
  for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
    if (cap_names[i] != NULL && strcmp(cap_names[i], name) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* Whether the process holds the capability named; a name this module does
 * not know is not held (Docker looks names up in the bounding set). */
static int cap_held(const prof_t *p, const char *name) {
  int n = hcs__cap_number(name);
  return n >= 0 && ((p->caps >> n) & 1);
}

/* Docker's names of architectures in includes/excludes (Go's, mostly). */
static const char *native_name(void) {
  switch (seccomp_arch_native()) {
  case SCMP_ARCH_X86_64:
    return "amd64";
  case SCMP_ARCH_X86:
    return "x86";
  case SCMP_ARCH_AARCH64:
    return "arm64";
  case SCMP_ARCH_ARM:
    return "arm";
  case SCMP_ARCH_PPC64LE:
    return "ppc64le";
  case SCMP_ARCH_S390X:
    return "s390x";
  case SCMP_ARCH_RISCV64:
    return "riscv64";
  default:
    return "";
  }
}

/* "<kernel>.<major>", each 0-255, not both 0 (Docker's form). */
static int parse_kernel(const char *s, unsigned v[2]) {
  char *end;
  for (int i = 0; i < 2; i++) {
    if (*s < '0' || *s > '9') {
      return -EINVAL;
    }
    unsigned long n = strtoul(s, &end, 10);
    if (n > 255 || *end != (i == 0 ? '.' : '\0')) {
      return -EINVAL;
    }
    v[i] = (unsigned)n;
    s = end + 1;
  }
  return v[0] == 0 && v[1] == 0 ? -EINVAL : 0;
}

/* What includes or excludes says of this machine: for each condition,
 * -1 when it is not there, else whether it holds (arches: the native one
 * is listed; caps: all held, any held; minKernel: this kernel is at least
 * it). */
typedef struct cond_s {
  int arch, caps_all, caps_any, kernel;
} cond_t;

static int parse_cond(prof_t *p, json_t *sc, const char *path, const char *name,
                      cond_t *c) {
  static const char *const known[] = {"caps", "arches", "minKernel", NULL};
  *c = (cond_t){-1, -1, -1, -1};
  json_t *f = member(sc, name), *list = NULL, *s;
  if (f == NULL) {
    return 0;
  }
  char fpath[64];
  snprintf(fpath, sizeof(fpath), "%s.%s", path, name);
  if (!json_is_object(f)) {
    return hcs__seccomp_say(&p->b, -EINVAL, "%s: must be an object", fpath);
  }
  int r = known_fields(p, f, fpath, known);
  size_t i;
  if (r == 0 && (r = get_strs(p, f, fpath, "arches", &list)) > 0) {
    c->arch = 0;
    json_array_foreach(list, i, s) {
      c->arch |= strcmp(json_string_value(s), p->native) == 0;
    }
  }
  if (r >= 0 && (r = get_strs(p, f, fpath, "caps", &list)) > 0) {
    c->caps_all = 1;
    c->caps_any = 0;
    json_array_foreach(list, i, s) {
      int held = cap_held(p, json_string_value(s));
      c->caps_all &= held;
      c->caps_any |= held;
    }
  }
  const char *kv = NULL;
  if (r >= 0 && (r = get_str(p, f, fpath, "minKernel", &kv)) > 0 &&
      *kv != '\0') {
    unsigned v[2];
    if (parse_kernel(kv, v) != 0) {
      return bad(p, fpath, "minKernel", "\"%s\" is not \"<kernel>.<major>\"",
                 kv);
    }
    c->kernel =
        p->kernel[0] > v[0] || (p->kernel[0] == v[0] && p->kernel[1] >= v[1]);
  }
  return r < 0 ? r : 0;
}

static int same_arg_twice(const struct scmp_arg_cmp *cmp, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    for (unsigned j = i + 1; j < n; j++) {
      if (cmp[i].arg == cmp[j].arg) {
        return 1;
      }
    }
  }
  return 0;
}

static int add_named(prof_t *p, const char *path, const char *name,
                     uint32_t act, const struct scmp_arg_cmp *cmp, unsigned n) {
  int late, nr = hcs__seccomp_resolve(name, &late);
  if (nr == __NR_SCMP_ERROR) {
    return 0; /* unknown here: skipped, as Docker skips it */
  }
  if (act == p->b.defact) {
    /* Changes nothing (and libseccomp refuses it), but runc counts it
     * toward the ENOSYS bound. */
    p->b.max_nr = nr > p->b.max_nr ? nr : p->b.max_nr;
    return 0;
  }
  int r = 0;
  if (same_arg_twice(cmp, n)) {
    /* libseccomp 2.5 refuses two comparisons of one argument in a rule;
     * runc and crun then make each comparison a rule of its own (so they
     * are or-ed), which is what profiles written for Docker expect. */
    for (unsigned i = 0; i < n && r == 0; i++) {
      r = hcs__seccomp_build_add(&p->b, act, nr, late, 1, &cmp[i]);
    }
  } else {
    r = hcs__seccomp_build_add(&p->b, act, nr, late, n, cmp);
  }
  if (r != 0) {
    return hcs__seccomp_say(&p->b, r == -ENOMEM ? r : -EINVAL,
                            "%s: libseccomp refused the rule for %s: %s", path,
                            name, strerror(-r));
  }
  return 0;
}

static int parse_syscall(prof_t *p, json_t *sc, size_t index) {
  static const char *const known[] = {"names",    "name",     "action",
                                      "errnoRet", "args",     "comment",
                                      "includes", "excludes", NULL};
  char path[32];
  snprintf(path, sizeof(path), "syscalls[%zu]", index);
  if (!json_is_object(sc)) {
    return hcs__seccomp_say(&p->b, -EINVAL, "%s: must be an object", path);
  }
  json_t *names = NULL;
  const char *name = NULL, *comment;
  uint32_t act;
  struct scmp_arg_cmp cmp[6];
  unsigned n;
  cond_t inc, exc;
  int r = known_fields(p, sc, path, known);
  if (r == 0 && (r = get_strs(p, sc, path, "names", &names)) >= 0 &&
      (r = get_str(p, sc, path, "name", &name)) >= 0 &&
      (r = get_str(p, sc, path, "comment", &comment)) >= 0 &&
      (r = parse_action(p, sc, path, "action", "errnoRet", &act)) == 0 &&
      (r = parse_args(p, sc, path, cmp, &n)) == 0 &&
      (r = parse_cond(p, sc, path, "includes", &inc)) == 0) {
    r = parse_cond(p, sc, path, "excludes", &exc);
  }
  if (r != 0) {
    return r;
  }
  if (names != NULL && name != NULL) {
    return bad(p, path, "name", "given with names; use one of the two");
  }
  /* Docker: an exclude that holds, or an include that does not, drops the
   * rule. */
  if (exc.arch == 1 || exc.caps_any == 1 || exc.kernel == 1 || inc.arch == 0 ||
      inc.caps_all == 0 || inc.kernel == 0) {
    return 0;
  }
  if (name != NULL) {
    return add_named(p, path, name, act, cmp, n);
  }
  size_t i;
  json_t *s;
  json_array_foreach(names, i, s) {
    if ((r = add_named(p, path, json_string_value(s), act, cmp, n)) != 0) {
      return r;
    }
  }
  return 0;
}

/* A libseccomp architecture token from "SCMP_ARCH_X86_64" and the like;
 * 0 when unknown. */
static uint32_t arch_token(const char *s) {
  static const char prefix[] = "SCMP_ARCH_";
  char lower[32];
  size_t n = strlen(s);
  if (strncmp(s, prefix, sizeof(prefix) - 1) != 0 ||
      n - (sizeof(prefix) - 1) >= sizeof(lower)) {
    return 0;
  }
  s += sizeof(prefix) - 1;
  for (n = 0; s[n] != '\0'; n++) {
    lower[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] - 'A' + 'a' : s[n]);
  }
  lower[n] = '\0';
  return seccomp_arch_resolve_name(lower);
}

static int add_arch(prof_t *p, const char *path, const char *s) {
  uint32_t token = arch_token(s);
  if (token == 0) {
    return hcs__seccomp_say(&p->b, -EINVAL, "%s: unknown architecture \"%s\"",
                            path, s);
  }
  int r = hcs__seccomp_build_arch(&p->b, token);
  if (r != 0) {
    return hcs__seccomp_say(&p->b, r, "%s: libseccomp refused %s: %s", path, s,
                            strerror(-r));
  }
  return 0;
}

/* "architectures" (every one listed), or "archMap" (the sub-architectures
 * of the entry for the native one, as Docker picks them). */
static int parse_arches(prof_t *p, json_t *root) {
  static const char *const known[] = {"architecture", "subArchitectures", NULL};
  json_t *list = NULL, *map = member(root, "archMap"), *e, *sub;
  int r = get_strs(p, root, "", "architectures", &list);
  size_t i, j;
  char path[96];
  if (r < 0 || (list != NULL && map != NULL)) {
    return r < 0 ? r
                 : bad(p, "", "archMap",
                       "given with architectures; use one of the two");
  }
  if (list != NULL) {
    json_array_foreach(list, i, e) {
      snprintf(path, sizeof(path), "architectures[%zu]", i);
      if ((r = add_arch(p, path, json_string_value(e))) != 0) {
        return r;
      }
    }
  }
  if (map != NULL && !json_is_array(map)) {
    return bad(p, "", "archMap", "must be an array");
  }
  json_array_foreach(map, i, e) {
    const char *arch = NULL;
    json_t *subs = NULL;
    snprintf(path, sizeof(path), "archMap[%zu]", i);
    if (!json_is_object(e)) {
      return hcs__seccomp_say(&p->b, -EINVAL, "%s: must be an object", path);
    }
    if ((r = known_fields(p, e, path, known)) != 0 ||
        (r = get_str(p, e, path, "architecture", &arch)) < 0 ||
        (r = get_strs(p, e, path, "subArchitectures", &subs)) < 0) {
      return r;
    }
    if (arch == NULL || arch_token(arch) != seccomp_arch_native()) {
      continue;
    }
    json_array_foreach(subs, j, sub) {
      snprintf(path, sizeof(path), "archMap[%zu].subArchitectures[%zu]", i, j);
      if ((r = add_arch(p, path, json_string_value(sub))) != 0) {
        return r;
      }
    }
  }
  return 0;
}

static int parse_profile(prof_t *p, json_t *root, hcs__bpf_t *out) {
  static const char *const known[] = {
      "defaultAction", "defaultErrnoRet",  "architectures",
      "archMap",       "syscalls",         "flags",
      "listenerPath",  "listenerMetadata", NULL};
  json_t *flags, *syscalls, *sc;
  const char *s;
  uint32_t defact;
  size_t i;
  if (!json_is_object(root)) {
    return hcs__seccomp_say(&p->b, -EINVAL,
                            "the profile must be a JSON object");
  }
  int r = known_fields(p, root, "", known);
  if (r != 0) {
    return r;
  }
  if ((flags = member(root, "flags")) != NULL &&
      !(json_is_array(flags) && json_array_size(flags) == 0)) {
    return bad(p, "", "flags", "not supported (hcs installs with no flags)");
  }
  static const char *const listener[] = {"listenerPath", "listenerMetadata"};
  for (i = 0; i < 2; i++) {
    s = "";
    if ((r = get_str(p, root, "", listener[i], &s)) < 0) {
      return r;
    }
    if (*s != '\0') {
      return bad(p, "", listener[i],
                 "not supported (hcs runs no notify agent)");
    }
  }
  if ((syscalls = member(root, "syscalls")) != NULL &&
      !json_is_array(syscalls)) {
    return bad(p, "", "syscalls", "must be an array");
  }
  if ((r = parse_action(p, root, "", "defaultAction", "defaultErrnoRet",
                        &defact)) != 0 ||
      (r = hcs__seccomp_build_init(&p->b, defact, p->b.why, p->b.why_len)) !=
          0) {
    return r;
  }
  if ((r = parse_arches(p, root)) == 0) {
    json_array_foreach(syscalls, i, sc) {
      if ((r = parse_syscall(p, sc, i)) != 0) {
        break;
      }
    }
  }
  if (r == 0) {
    r = hcs__seccomp_build_finish(&p->b, out);
  }
  hcs__seccomp_build_abort(&p->b);
  return r;
}

static int compile_json(const char *json, uint64_t caps, hcs__bpf_t *out,
                        char *why, size_t why_len) {
  prof_t p;
  memset(&p, 0, sizeof(p));
  p.b.why = why;
  p.b.why_len = why_len;
  p.caps = caps;
  p.native = native_name();
  struct utsname u;
  if (uname(&u) == 0 &&
      sscanf(u.release, "%u.%u", &p.kernel[0], &p.kernel[1]) != 2) {
    p.kernel[0] = p.kernel[1] = 0;
  }
  out->insns = NULL;
  out->len = 0;
  if (why != NULL && why_len > 0) {
    why[0] = '\0';
  }
  if (json == NULL) {
    return hcs__seccomp_say(&p.b, -EINVAL, "the profile is NULL");
  }
  json_error_t je;
  json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL) {
    return hcs__seccomp_say(&p.b, -EINVAL, "not JSON: %s at line %d column %d",
                            je.text, je.line, je.column);
  }
  int r = parse_profile(&p, root, out);
  json_decref(root);
  return r;
}

/* The last two profiles compiled (text, caps, filter): create checks a
 * system's profile and its start compiles it again, in the same process
 * (hcs-runc's keeper, hcsd), against Docker's set and the system's; a
 * second compile of the same is a copy. */
static struct {
  pthread_mutex_t mu;
  struct {
    char *json;
    uint64_t caps;
    hcs__bpf_t bpf;
  } slot[2];
  unsigned next;
  unsigned long compiles;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int copy_bpf(const hcs__bpf_t *from, hcs__bpf_t *to) {
  size_t n = from->len * sizeof(from->insns[0]);
  to->insns = as_malloc(n > 0 ? n : 1);
  if (to->insns == NULL) {
    return -ENOMEM;
  }
  memcpy(to->insns, from->insns, n);
  to->len = from->len;
  return 0;
}

int hcs__seccomp_from_json(const char *json, uint64_t caps, hcs__bpf_t *out,
                           char *why, size_t why_len) {
  int r = -ENOENT;
  pthread_mutex_lock(&cache.mu);
  for (size_t i = 0; json != NULL && r == -ENOENT && i < 2; i++) {
    if (cache.slot[i].json != NULL && cache.slot[i].caps == caps &&
        strcmp(cache.slot[i].json, json) == 0) {
      r = copy_bpf(&cache.slot[i].bpf, out);
    }
  }
  pthread_mutex_unlock(&cache.mu);
  if (r != -ENOENT) {
    if (r == 0 && why != NULL && why_len > 0) {
      why[0] = '\0';
    }
    return r;
  }
  int stored = json != NULL && hcs__seccomp_cache_get(json, caps, out) == 0;
  if (stored && why != NULL && why_len > 0) {
    why[0] = '\0';
  }
  r = stored ? 0 : compile_json(json, caps, out, why, why_len);
  if (r == 0 && !stored) {
    hcs__seccomp_cache_put(json, caps, out);
  }
  char *text = r == 0 ? as_strdup(json) : NULL;
  hcs__bpf_t copy = {0};
  if (text == NULL || copy_bpf(out, &copy) != 0) {
    as_free(text);
    return r;
  }
  pthread_mutex_lock(&cache.mu);
  cache.compiles += !stored;
  unsigned k = cache.next++ % 2;
  as_free(cache.slot[k].json);
  hcs__bpf_free(&cache.slot[k].bpf);
  cache.slot[k].json = text;
  cache.slot[k].caps = caps;
  cache.slot[k].bpf = copy;
  pthread_mutex_unlock(&cache.mu);
  return r;
}

void hcs__seccomp_forget(void) {
  pthread_mutex_lock(&cache.mu);
  for (size_t i = 0; i < 2; i++) {
    as_free(cache.slot[i].json);
    cache.slot[i].json = NULL;
    hcs__bpf_free(&cache.slot[i].bpf);
  }
  pthread_mutex_unlock(&cache.mu);
}

unsigned long hcs__seccomp_compiles(void) {
  pthread_mutex_lock(&cache.mu);
  unsigned long n = cache.compiles;
  pthread_mutex_unlock(&cache.mu);
  return n;
}
