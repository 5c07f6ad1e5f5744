/* SPDX-License-Identifier: MIT */
/* Users and groups of a process: "uid[:gid]" or "name[:group]", names
 * read from the host's databases or from a system's root. */
#include "hcs/system/user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* User: "uid", "uid:gid", "name" or "name:group". A name is looked up in
 * the host's databases (a dummy system runs on the host). */
static int lookup_id(const char *s, int group, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s != '\0' && *end == '\0' && errno == 0 && v < 0xFFFFFFFFul) {
    *out = v;
    return 0;
  }
  char buf[4096];
  if (group) {
    struct group gr, *res = NULL;
    if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
      return -ENOENT;
    }
    *out = gr.gr_gid;
  } else {
    struct passwd pw, *res = NULL;
    if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
      return -ENOENT;
    }
    *out = pw.pw_uid;
  }
  return 0;
}

int hcs__parse_user(const char *user, uid_t *uid, gid_t *gid) {
  char name[256];
  const char *colon = strchr(user, ':');
  size_t n = colon != NULL ? (size_t)(colon - user) : strlen(user);
  if (n == 0 || n >= sizeof(name) || (colon != NULL && colon[1] == '\0')) {
    return -EINVAL;
  }
  memcpy(name, user, n);
  name[n] = '\0';
  unsigned long u, g;
  if (lookup_id(name, 0, &u) != 0) {
    return -ENOENT;
  }
  if (colon != NULL) {
    if (lookup_id(colon + 1, 1, &g) != 0) {
      return -ENOENT;
    }
  } else {
    /* No group: the user's primary group, or the uid's number. */
    char buf[4096];
    struct passwd pw, *res = NULL;
    g = getpwuid_r((uid_t)u, &pw, buf, sizeof(buf), &res) == 0 && res
            ? pw.pw_gid
            : u;
  }
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return 0;
}

/* Looks name up in the colon-separated database file (passwd or group)
 * under root: the third field is the id, the fourth (passwd) the group. */
static int db_lookup(const char *root, const char *db, const char *name,
                     unsigned long *id, unsigned long *gid) {
  char path[512];
  snprintf(path, sizeof(path), "%s/etc/%s", root, db);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return -ENOENT;
  }
  char line[1024];
  size_t n = strlen(name);
  int found = -ENOENT;
  while (found != 0 && fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, name, n) != 0 || line[n] != ':') {
      continue;
    }
    char *p = strchr(line + n + 1, ':'); /* past the password */
    if (p == NULL) {
      continue;
    }
    *id = strtoul(p + 1, &p, 10);
    if (gid != NULL && *p == ':') {
      *gid = strtoul(p + 1, NULL, 10);
    }
    found = 0;
  }
  fclose(f);
  return found;
}

static int number(const char *s, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v >= 0xFFFFFFFFul) {
    return -EINVAL;
  }
  *out = v;
  return 0;
}

int hcs__parse_user_in(const char *root, const char *user, uid_t *uid,
                       gid_t *gid) {
  char name[256];
  const char *colon = strchr(user, ':');
  size_t n = colon != NULL ? (size_t)(colon - user) : strlen(user);
  if (n == 0 || n >= sizeof(name) || (colon != NULL && colon[1] == '\0')) {
    return -EINVAL;
  }
  memcpy(name, user, n);
  name[n] = '\0';
  unsigned long u = 0, g = 0;
  int have_g = 0;
  if (number(name, &u) != 0) {
    if (db_lookup(root, "passwd", name, &u, &g) != 0) {
      return -ENOENT;
    }
    have_g = 1;
  }
  if (colon != NULL) {
    if (number(colon + 1, &g) != 0 &&
        db_lookup(root, "group", colon + 1, &g, NULL) != 0) {
      return -ENOENT;
    }
    have_g = 1;
  }
  *uid = (uid_t)u;
  *gid = (gid_t)(have_g ? g : u);
  return 0;
}
