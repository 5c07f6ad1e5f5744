/* SPDX-License-Identifier: MIT */
/* What a container looks like from outside: Docker's list entries and
 * inspect object, built from the record. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/ports.h"
#include "hcsd/model/volumes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void status_text(const hcsd_ctr_t *c, char *out, size_t n) {
  int64_t now = hcsd_now_ns();
  int64_t since = c->state == CS_RUNNING ? c->started_ns : c->finished_ns;
  int64_t s = (now - since) / 1000000000;
  char ago[64];
  if (s < 1) {
    snprintf(ago, sizeof(ago), "Less than a second");
  } else if (s < 60) {
    snprintf(ago, sizeof(ago), "%lld second%s", (long long)s,
             s == 1 ? "" : "s");
  } else if (s < 3600) {
    snprintf(ago, sizeof(ago), "%lld minute%s", (long long)(s / 60),
             s / 60 == 1 ? "" : "s");
  } else {
    snprintf(ago, sizeof(ago), "%lld hours", (long long)(s / 3600));
  }
  if (c->state == CS_RUNNING) {
    snprintf(out, n, "Up %s%s", ago, hcsd__ctr_paused(c) ? " (Paused)" : "");
  } else if (c->restarting) {
    snprintf(out, n, "Restarting (%d) %s ago", c->exit_code, ago);
  } else if (c->state == CS_EXITED && c->finished_ns != 0) {
    snprintf(out, n, "Exited (%d) %s ago", c->exit_code, ago);
  } else if (c->state == CS_REMOVING) {
    snprintf(out, n, "Removal In Progress");
  } else {
    snprintf(out, n, "Created");
  }
}

/* The list's Command as moby makes it: the program, then its arguments,
 * each one with a space in it between single quotes. */
static char *joined(char *const *v) {
  size_t n = 1;
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    n += strlen(v[i]) + 3;
  }
  char *s = calloc(1, n);
  for (size_t i = 0; s != NULL && v != NULL && v[i] != NULL; i++) {
    bool quote = i > 0 && strchr(v[i], ' ') != NULL;
    if (i > 0) {
      strcat(s, " ");
    }
    strcat(s, quote ? "'" : "");
    strcat(s, v[i]);
    strcat(s, quote ? "'" : "");
  }
  return s;
}

static json_t *networks_json(const hcsd_ctr_t *c) {
  json_t *n = json_object();
  if (c->net_name != NULL && c->net_settings != NULL) {
    json_t *s = json_loads(c->net_settings, 0, NULL);
    if (s != NULL) {
      json_object_set_new(n, c->net_name, s);
    }
  }
  if (c->d->nets != NULL) {
    json_t *more = hcsd_nets_extra(c->d->nets, c->id);
    json_object_update(n, more);
    json_decref(more);
  }
  return n;
}

/* NetworkSettings.Ports: the mappings of its endpoint while it runs. */
static json_t *ctr_ports(const hcsd_ctr_t *c) {
  return c->d->nets != NULL && c->endpoint_id != NULL
             ? hcsd_nets_ports(c->d->nets, c->id)
             : json_object();
}

json_t *hcsd_ctr_list(hcsd_t *d, const hcsd_ctr_list_opts_t *o, hcsd_err_t *e) {
  hcsd_ctr_filter_t *f;
  if (hcsd__ctr_filter_new(d, o->filters, &f, e) != 0) {
    return NULL;
  }
  /* As moby: a limit, or a status filter, lists those not running too. */
  bool all = o->all || o->limit > 0 || hcsd__ctr_filter_all(f);
  json_t *a = json_array();
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if ((!all && c->state != CS_RUNNING) || (c->busy && c->image_id == NULL) ||
        !hcsd__ctr_filter_match(f, c)) {
      continue;
    }
    if (o->limit > 0 && json_array_size(a) >= (size_t)o->limit) {
      break;
    }
    json_t *labels = json_object_get(c->config, "Labels");
    char st[96], nm[256];
    status_text(c, st, sizeof(st));
    snprintf(nm, sizeof(nm), "/%s", c->name);
    char *cmd = joined(c->argv);
    json_t *view = ctr_ports(c);
    json_t *ports = hcsd_ports_list(view);
    json_decref(view);
    json_array_append_new(
        a, json_pack("{s:s,s:[s],s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s,"
                     "s:{s:s},s:{s:o},s:o}",
                     "Id", c->id, "Names", nm, "Image", c->image, "ImageID",
                     c->image_id != NULL ? c->image_id : "", "Command",
                     cmd != NULL ? cmd : "", "Created",
                     (json_int_t)(c->created_ns / 1000000000), "Ports", ports,
                     "Labels",
                     json_is_object(labels) ? json_deep_copy(labels)
                                            : json_object(),
                     "State", hcsd__state_name(c), "Status", st, "HostConfig",
                     "NetworkMode", c->net_mode, "NetworkSettings", "Networks",
                     networks_json(c), "Mounts",
                     hcsd_volumes_mounts(c->d, c->host_config)));
    free(cmd);
  }
  hcsd__ctr_filter_free(f);
  return a;
}

/* HostConfig as stored, with the LogConfig that a record from before
 * hcsd kept one lacks (json-file: what its log is). */
static json_t *host_config_json(const hcsd_ctr_t *c) {
  json_t *lc = json_object_get(c->host_config, "LogConfig");
  const char *type = json_string_value(json_object_get(lc, "Type"));
  if (type != NULL && type[0] != '\0') {
    return json_incref(c->host_config);
  }
  json_t *hc = json_is_object(c->host_config) ? json_copy(c->host_config)
                                              : json_object();
  json_object_set_new(hc, "LogConfig",
                      json_pack("{s:s,s:{}}", "Type", "json-file", "Config"));
  return hc;
}

static json_t *ctr_json(const hcsd_ctr_t *c) {
  char created[40], started[40], finished[40], nm[256];
  hcsd_time_rfc3339(c->created_ns, created);
  hcsd_time_rfc3339(c->started_ns, started);
  hcsd_time_rfc3339(c->finished_ns, finished);
  snprintf(nm, sizeof(nm), "/%s", c->name);
  json_t *args = json_array();
  for (size_t i = 1; c->argv != NULL && c->argv[0] != NULL && c->argv[i]; i++) {
    json_array_append_new(args, json_string(c->argv[i]));
  }
  json_t *execs = json_array();
  for (hcsd_exec_t *e = c->execs; e != NULL; e = e->next) {
    json_array_append_new(execs, json_string(e->id));
  }
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,"
      "s:s},s:s,s:s,s:i,s:O,s:o,s:{s:o,s:s,s:s},s:[],s:s,s:s,s:o,s:s}",
      "Id", c->id, "Created", created, "Name", nm, "Path",
      c->argv != NULL && c->argv[0] != NULL ? c->argv[0] : "", "Args", args,
      "State", "Status", hcsd__state_name(c), "Running", c->state == CS_RUNNING,
      "Paused", hcsd__ctr_paused(c), "Restarting", 0, "OOMKilled", c->oom,
      "Dead", 0, "Removing", c->state == CS_REMOVING, "Pid", c->pid, "ExitCode",
      c->exit_code, "Error", c->error != NULL ? c->error : "", "StartedAt",
      started, "FinishedAt", finished, "Image",
      c->image_id != NULL ? c->image_id : "", "Driver", "overlay",
      "RestartCount", c->restart_count, "Config", c->config, "HostConfig",
      host_config_json(c), "NetworkSettings", "Networks", networks_json(c),
      "SandboxID", "", "SandboxKey", "", "Mounts", "Platform", "linux",
      "Hostname", c->hostname, "ExecIDs", execs, "LogPath", "");
  json_object_set_new(o, "Mounts", hcsd_volumes_mounts(c->d, c->host_config));
  /* A restart by its policy is due: dockerd counts it as running. */
  json_t *st = json_object_get(o, "State");
  json_object_set_new(st, "Running",
                      json_boolean(c->state == CS_RUNNING || c->restarting));
  json_object_set_new(st, "Restarting", json_boolean(c->restarting));
  json_object_set_new(json_object_get(o, "NetworkSettings"), "Ports",
                      ctr_ports(c));
  return o;
}

json_t *hcsd_ctr_inspect(hcsd_t *d, const char *ref, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  return c != NULL ? ctr_json(c) : NULL;
}
