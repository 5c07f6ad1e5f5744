/* Records of compute systems in the state directory: one JSON file per
 * system, written whole to a temporary name and renamed over the old one,
 * so that a reader never sees half a record. */
#include "hcs/system.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
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

static void record_path(const hcs__system_t *s, char *buf, size_t n,
                        const char *suffix) {
  snprintf(buf, n, "%s/%s.json%s", s->hcs->state_dir, s->id, suffix);
}

/* A record that cannot be written leaves the system working in memory;
 * the next save tries again. */
void hcs__state_save(hcs__system_t *s) {
  if (s->hcs->state_dir == NULL) {
    return;
  }
  json_t *cfg = json_loads(s->config, 0, NULL);
  json_t *o = json_pack("{s:s, s:s, s:o*}", "Id", s->id, "State",
                        hcs__state_name(s->state), "Configuration", cfg);
  if (o != NULL && s->init_pid > 0 && s->state == HCS__SYS_RUNNING) {
    json_object_set_new(o, "Init",
                        json_pack("{s:i, s:I}", "Pid", (int)s->init_pid,
                                  "StartTime", (json_int_t)s->init_start));
  }
  char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  if (text == NULL) {
    return;
  }
  char tmp[4096], path[4096];
  record_path(s, tmp, sizeof(tmp), ".tmp");
  record_path(s, path, sizeof(path), "");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
      unlink(tmp);
    }
  }
  free(text);
}

void hcs__state_remove(hcs__system_t *s) {
  if (s->hcs->state_dir == NULL) {
    return;
  }
  char path[4096];
  record_path(s, path, sizeof(path), "");
  unlink(path);
}

/* Loads one record; a malformed one is skipped (and kept on disk for a
 * human to look at). */
static void load_one(hcs_t *hcs, const char *file) {
  json_error_t je;
  json_t *o = json_load_file(file, 0, &je);
  const char *id = NULL, *state = NULL;
  json_t *cfg = NULL;
  if (o == NULL ||
      json_unpack(o, "{s:s, s:s, s:o}", "Id", &id, "State", &state,
                  "Configuration", &cfg) != 0 ||
      !hcs__id_valid(id) || state_of(state) < 0 ||
      hcs__system_find(hcs, id) != NULL) {
    json_decref(o);
    return;
  }
  json_t *dummy = json_object_get(cfg, "IsDummy");
  json_t *name = json_object_get(cfg, "Name");
  char *text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
  if (text != NULL) {
    hcs__system_t *s = hcs__system_new(
        hcs, id, json_is_string(name) ? json_string_value(name) : id, text,
        json_is_true(dummy), state_of(state));
    json_t *init = json_object_get(o, "Init");
    json_int_t pid = 0, start = 0;
    if (s != NULL && init != NULL &&
        json_unpack(init, "{s:I, s:I}", "Pid", &pid, "StartTime", &start) ==
            0) {
      s->init_pid = (pid_t)pid;
      s->init_start = (unsigned long long)start;
    }
  }
  free(text);
  json_decref(o);
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
    size_t n = strlen(e->d_name);
    if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) {
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", hcs->state_dir, e->d_name);
      load_one(hcs, path);
    }
  }
  closedir(d);
  return HCS_OK;
}
