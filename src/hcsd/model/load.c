/* SPDX-License-Identifier: MIT */
/* The records of an earlier hcsd found again at open: each container
 * from its record.json, with the execs of its execs log (store.c writes
 * them). */
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The finished execs of c, one JSON line each. */
static void execs_load(hcsd_ctr_t *c) {
  char path[4200];
  hcsd__execs_path(c, path, sizeof(path), "");
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return;
  }
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *o = json_loads(line, 0, NULL);
    if (o != NULL) {
      hcsd__exec_from_json(c->d, c, o);
      c->exec_lines++;
    }
    json_decref(o);
  }
  free(line);
  fclose(f);
}

static char *str_or_null(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s != NULL ? strdup(s) : NULL;
}

/* A container from its record, with its finished execs; NULL when the
 * record lacks what a container needs. */
static hcsd_ctr_t *ctr_from_json(hcsd_t *d, json_t *o) {
  const char *id = json_string_value(json_object_get(o, "Id"));
  if (id == NULL || strlen(id) != 64) {
    return NULL;
  }
  hcsd_ctr_t *c = hcsd__ctr_alloc(d);
  if (c == NULL) {
    return NULL;
  }
  memcpy(c->id, id, 65);
  c->name = str_or_null(o, "Name");
  c->image = str_or_null(o, "Image");
  c->image_id = str_or_null(o, "ImageID");
  c->config = json_incref(json_object_get(o, "Config"));
  c->host_config = json_incref(json_object_get(o, "HostConfig"));
  c->layers = hcsd__strv_from_json(json_object_get(o, "Layers"));
  c->argv = hcsd__strv_from_json(json_object_get(o, "Argv"));
  c->env = hcsd__strv_from_json(json_object_get(o, "Env"));
  c->cwd = str_or_null(o, "Cwd");
  c->user = str_or_null(o, "User");
  c->stop_signal = str_or_null(o, "StopSignal");
  c->hostname = str_or_null(o, "Hostname");
  c->net_mode = str_or_null(o, "NetMode");
  c->sandbox = str_or_null(o, "Sandbox");
  c->tty = json_is_true(json_object_get(o, "Tty"));
  c->open_stdin = json_is_true(json_object_get(o, "OpenStdin"));
  c->stdin_once = json_is_true(json_object_get(o, "StdinOnce"));
  c->auto_remove = json_is_true(json_object_get(o, "AutoRemove"));
  c->rows = (uint16_t)json_integer_value(json_object_get(o, "Rows"));
  c->cols = (uint16_t)json_integer_value(json_object_get(o, "Cols"));
  c->state = (int)json_integer_value(json_object_get(o, "State"));
  c->exit_code = (int)json_integer_value(json_object_get(o, "ExitCode"));
  c->error = str_or_null(o, "Error");
  if (c->error != NULL && c->error[0] == '\0') {
    free(c->error);
    c->error = NULL;
  }
  c->oom = json_is_true(json_object_get(o, "OOM"));
  c->created_ns = json_integer_value(json_object_get(o, "Created"));
  c->started_ns = json_integer_value(json_object_get(o, "Started"));
  c->finished_ns = json_integer_value(json_object_get(o, "Finished"));
  c->exits = (int)json_integer_value(json_object_get(o, "Exits"));
  c->restart_count =
      (int)json_integer_value(json_object_get(o, "RestartCount"));
  c->manual_stop = json_is_true(json_object_get(o, "ManuallyStopped"));
  if (c->name == NULL || c->image == NULL || c->config == NULL ||
      c->host_config == NULL || c->hostname == NULL || c->net_mode == NULL) {
    hcsd__ctr_unref(c);
    return NULL;
  }
  execs_load(c);
  return c;
}

int hcsd__ctrs_load(hcsd_t *d) {
  char *dir = hcsd__ctr_dir(d, "");
  if (dir == NULL) {
    return -1;
  }
  DIR *dh = opendir(dir);
  if (dh == NULL) {
    free(dir);
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(dh)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s/record.json", dir, e->d_name);
    json_t *o = json_load_file(path, 0, NULL);
    hcsd_ctr_t *c = o != NULL ? ctr_from_json(d, o) : NULL;
    json_decref(o);
    if (c == NULL) {
      hcsd_log("skipping the unreadable container record %s", path);
      continue;
    }
    c->next = d->ctrs;
    d->ctrs = c;
    d->nctrs++;
  }
  closedir(dh);
  free(dir);
  return 0;
}
