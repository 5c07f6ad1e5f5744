/* SPDX-License-Identifier: MIT */
/* Container create and exec create bodies, decoded and checked with the
 * types Docker's schema gives the fields hcsd reads. */
#include "hcsd/model/spec.h"
#include "hcsd/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  json_t *hc = json_incref(json_object_get(b, "HostConfig"));
  spec->host_config = hc != NULL ? hc : json_object();
  json_object_del(b, "HostConfig");
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
