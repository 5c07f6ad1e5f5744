/* SPDX-License-Identifier: MIT */
/* Records of compute systems in the state directory, one JSON file per
 * system (ID.json), and a lock file per id (ID.lock).
 *
 * A record is written whole to ID.json.tmp, synced, renamed over the old
 * one and the directory synced: a reader sees the old record or the new
 * one, and after a crash the disk holds one of them (the new one once the
 * directory is synced; hcs__state_save_atomic leaves that to the next
 * durable write, for records whose loss to a crash changes nothing). A
 * service opened with state_per_boot syncs nothing: its records are
 * renamed into place the same way, which is what a process that dies, or
 * a reader, depends on, and only a power loss, after which none of them
 * counts, could find them torn or lost. Every write and every
 * decision taken on a record happens under the id's lock, an flock(2)
 * that the kernel drops when its holder dies; so a lock that can be taken
 * means that nobody is in the middle of an operation on that id. */
#include "hcs/api/schema.h"
#include "hcs/system/system.h"

#include "hcs/api/id.h"
#include "hcs/api/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const state_names[] = {"Created", "Running", "Stopped"};

const char *hcs__state_name(int state) {
  return state >= 0 && state <= HCS__SYS_STOPPED ? state_names[state] : "?";
}

static int state_of(const char *name) {
  for (int i = 0; i <= HCS__SYS_STOPPED; i++) {
    if (strcmp(state_names[i], name) == 0) {
      return i;
    }
  }
  return -1;
}

static int id_path(const hcs_t *hcs, const char *id, const char *suffix,
                   char *buf, size_t n) {
  if (hcs->state_dir == NULL) {
    return -ENOENT; /* a stateless service has no records */
  }
  int len = snprintf(buf, n, "%s/%s%s", hcs->state_dir, id, suffix);
  return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int hcs__state_lock(hcs_t *hcs, const char *id, int wait, int *fd) {
  *fd = -1;
  if (hcs->state_dir == NULL) {
    return 0;
  }
  char path[PATH_MAX];
  int err = id_path(hcs, id, ".lock", path, sizeof(path));
  while (err == 0) {
    int f = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) {
      return -errno;
    }
    int r;
    do {
      r = flock(f, LOCK_EX | (wait ? 0 : LOCK_NB));
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      err = -errno;
      close(f);
      return err;
    }
    /* The holder before us may have removed the file (hcs__state_unlock
     * does once the record is gone): then the lock we hold guards
     * nothing, and the file there now, if any, is the one to lock. */
    struct stat held, now;
    if (fstat(f, &held) == 0 && stat(path, &now) == 0 &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
      *fd = f;
      return 0;
    }
    close(f);
  }
  return err;
}

void hcs__state_unlock(hcs_t *hcs, const char *id, int fd) {
  if (fd < 0) {
    return;
  }
  char path[PATH_MAX];
  struct stat st;
  /* An id without a record keeps no lock file; removing it while it is
   * held is safe (see hcs__state_lock). */
  if (id_path(hcs, id, ".json", path, sizeof(path)) == 0 &&
      stat(path, &st) != 0 && errno == ENOENT &&
      id_path(hcs, id, ".lock", path, sizeof(path)) == 0) {
    (void)unlink(path);
  }
  close(fd);
}

static int sync_dir(const hcs_t *hcs) {
  if (hcs->state_per_boot) {
    return 0;
  }
  int fd = open(hcs->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  int err = fsync(fd) != 0 ? -errno : 0;
  close(fd);
  return err;
}

static char *record_text(const hcs__system_t *s) {
  json_t *o = json_pack("{s:s, s:s, s:o*}", "Id", s->id, "State",
                        hcs__state_name(s->state), "Configuration",
                        json_loads(s->config, 0, NULL));
  if (o == NULL) {
    return NULL;
  }
  if (s->starting) {
    json_object_set_new(o, "Starting", json_true());
  }
  if (!s->is_dummy && (s->starting || s->state == HCS__SYS_RUNNING)) {
    /* What the system has outside this process, for whoever finds the
     * record after its writer died. */
    char cg[200], root[PATH_MAX];
    hcs__system_cgroup_name(s, cg, sizeof(cg));
    hcs__system_path(s, ".root", root, sizeof(root));
    json_object_set_new(o, "Cgroup", json_string(cg));
    json_object_set_new(o, "Root", json_string(root));
  }
  if (s->init_pid > 0 && s->state == HCS__SYS_RUNNING) {
    json_object_set_new(o, "Init",
                        json_pack("{s:i, s:I}", "Pid", (int)s->init_pid,
                                  "StartTime", (json_int_t)s->init_start));
  }
  char *text = json_dumps(o, JSON_INDENT(2));
  json_decref(o);
  return text;
}

/* The record's text into path, synced to the disk unless sync is 0. */
static int write_record(const char *path, const char *text, int sync) {
  int fd =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return -errno;
  }
  int err = 0;
  size_t len = strlen(text), off = 0;
  while (err == 0 && off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n > 0) {
      off += (size_t)n;
    } else if (n < 0 && errno != EINTR) {
      err = -errno;
    }
  }
  if (err == 0 && sync && fsync(fd) != 0) {
    err = -errno;
  }
  if (close(fd) != 0 && err == 0) {
    err = -errno;
  }
  return err;
}

static int save(hcs__system_t *s, int durable) {
  hcs_t *hcs = s->hcs;
  if (hcs->state_dir == NULL) {
    return 0;
  }
  char tmp[PATH_MAX], path[PATH_MAX];
  int err = id_path(hcs, s->id, ".json.tmp", tmp, sizeof(tmp));
  if (err == 0) {
    err = id_path(hcs, s->id, ".json", path, sizeof(path));
  }
  if (err != 0) {
    return err;
  }
  char *text = record_text(s);
  if (text == NULL) {
    return -ENOMEM;
  }
  err = write_record(tmp, text, !hcs->state_per_boot);
  free(text);
  if (err == 0 && rename(tmp, path) != 0) {
    err = -errno;
  }
  if (err != 0) {
    (void)unlink(tmp);
    return err;
  }
  return durable ? sync_dir(hcs) : 0;
}

int hcs__state_save(hcs__system_t *s) { return save(s, 1); }

int hcs__state_save_atomic(hcs__system_t *s) { return save(s, 0); }

int hcs__state_remove(hcs__system_t *s) {
  hcs_t *hcs = s->hcs;
  if (hcs->state_dir == NULL) {
    return 0;
  }
  char path[PATH_MAX];
  int err = id_path(hcs, s->id, ".json", path, sizeof(path));
  if (err != 0) {
    return err;
  }
  if (unlink(path) != 0 && errno != ENOENT) {
    return -errno;
  }
  return sync_dir(hcs);
}

/* A system (not in the service's list) from the record in file, or NULL
 * with *err: -ENOENT when there is none, -EINVAL when it is malformed
 * (then it is kept on disk for a human to look at), -ENOMEM. */
static hcs__system_t *record_parse(hcs_t *hcs, const char *file,
                                   const char *want_id, int *err) {
  json_error_t je;
  /* Not json_load_file: its FILE is not close-on-exec. */
  int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *err = errno == ENOENT ? -ENOENT : -EINVAL;
    return NULL;
  }
  json_t *o = hcs__json_load_fd(fd, &je);
  close(fd);
  const char *id = NULL, *state = NULL;
  json_t *cfg = NULL;
  if (o == NULL) {
    *err = -EINVAL;
    return NULL;
  }
  *err = -EINVAL;
  hcs__system_t *s = NULL;
  if (json_unpack(o, "{s:s, s:s, s:o}", "Id", &id, "State", &state,
                  "Configuration", &cfg) == 0 &&
      hcs__id_valid(id) && state_of(state) >= 0 &&
      (want_id == NULL || strcmp(id, want_id) == 0)) {
    json_t *name = json_object_get(cfg, "Name");
    char *text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    s = text != NULL
            ? hcs__system_new(
                  hcs, id, json_is_string(name) ? json_string_value(name) : id,
                  text, json_is_true(json_object_get(cfg, "IsDummy")),
                  state_of(state))
            : NULL;
    free(text);
    *err = s != NULL ? 0 : -ENOMEM;
  }
  json_int_t pid = 0, start = 0;
  if (s != NULL && json_unpack(json_object_get(o, "Init"), "{s:I, s:I}", "Pid",
                               &pid, "StartTime", &start) == 0) {
    s->init_pid = (pid_t)pid;
    s->init_start = (unsigned long long)start;
  }
  if (s != NULL) {
    s->starting = json_is_true(json_object_get(o, "Starting"));
  }
  json_decref(o);
  return s;
}

int hcs__state_read(hcs_t *hcs, const char *id, hcs__system_t **out) {
  char path[PATH_MAX];
  int err = id_path(hcs, id, ".json", path, sizeof(path));
  *out = err == 0 ? record_parse(hcs, path, id, &err) : NULL;
  return err;
}

int hcs__state_names_run(const hcs__system_t *s) {
  hcs__system_t *disk = NULL;
  if (s->hcs->state_dir == NULL) {
    return 1;
  }
  if (hcs__state_read(s->hcs, s->id, &disk) != 0) {
    return 0;
  }
  int same = disk->state == HCS__SYS_RUNNING && disk->init_pid == s->init_pid &&
             disk->init_start == s->init_start;
  hcs__system_free(disk);
  return same;
}

/* ID.json.tmp of a writer that died before its rename: removed once the
 * id's lock shows that no writer is at work. */
static void remove_stale_tmp(hcs_t *hcs, const char *name) {
  char id[160];
  size_t n = strlen(name) - strlen(".json.tmp");
  if (n >= sizeof(id)) {
    return;
  }
  memcpy(id, name, n);
  id[n] = '\0';
  int fd;
  if (!hcs__id_valid(id) || hcs__state_lock(hcs, id, 0, &fd) != 0) {
    return;
  }
  char path[PATH_MAX];
  if (id_path(hcs, id, ".json.tmp", path, sizeof(path)) == 0 &&
      unlink(path) == 0) {
    hcs__log(HCS_LOG_INFO, "removed %s, left by a writer that died", path);
  }
  hcs__state_unlock(hcs, id, fd);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n > k && strcmp(s + n - k, suffix) == 0;
}

hcs_result_t hcs__state_load(hcs_t *hcs, hcs_error_t **err) {
  static const char op[] = "hcs::Open";
  if (mkdir(hcs->state_dir, 0700) != 0 && errno != EEXIST) {
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, errno,
                     "mkdir %s: %s", hcs->state_dir, strerror(errno));
  }
  DIR *d = opendir(hcs->state_dir);
  if (d == NULL) {
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, errno,
                     "opendir %s: %s", hcs->state_dir, strerror(errno));
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (ends_with(e->d_name, ".json.tmp")) {
      remove_stale_tmp(hcs, e->d_name);
    }
    if (!ends_with(e->d_name, ".json")) {
      continue;
    }
    char path[PATH_MAX];
    int r;
    snprintf(path, sizeof(path), "%s/%s", hcs->state_dir, e->d_name);
    hcs__system_t *s = record_parse(hcs, path, NULL, &r);
    char want[PATH_MAX];
    if (s != NULL && (hcs__system_find(hcs, s->id) != NULL ||
                      id_path(hcs, s->id, ".json", want, sizeof(want)) != 0 ||
                      strcmp(want, path) != 0)) {
      hcs__log(HCS_LOG_WARN, "skipping %s: a record of compute system %s", path,
               s->id);
      hcs__system_free(s); /* a record under another id's name */
      s = NULL;
    } else if (s == NULL && r != -ENOENT) {
      hcs__log(HCS_LOG_WARN, "skipping %s: %s", path,
               r == -EINVAL ? "not a compute system's record" : strerror(-r));
    }
    if (s != NULL) {
      hcs__system_link(hcs, s);
    }
  }
  closedir(d);
  return HCS_OK;
}
