/* SPDX-License-Identifier: MIT */
/* GET /containers/json's filters, as moby reads them: a JSON object of
 * key -> values (an array of strings, or the older {"value":true}). Keys
 * combine with AND; the values of one key with OR, but label values with
 * AND. Every documented key is honoured; an unknown key or a value a key
 * cannot take is refused with 400 naming it, as dockerd does. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/filters.h"
#include "hcsd/model/imgint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hcsd_ctr_filter_s {
  json_t *f;             /* key -> array of value strings */
  int64_t before, since; /* created_ns bounds, 0 when not asked */
  bool has_before, has_since;
};

static const char *const keys[] = {"id",      "name",     "label",    "status",
                                   "exited",  "ancestor", "before",   "since",
                                   "network", "health",   "volume",   "publish",
                                   "expose",  "is-task",  "isolation"};

static const char *const statuses[] = {
    "created", "restarting", "running", "removing", "paused", "exited", "dead"};

static const char *const healths[] = {"starting", "healthy", "unhealthy",
                                      "none"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(s, list[i]) == 0) {
      return true;
    }
  }
  return false;
}

#define IN(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

/* ---- ports: "80", "80/udp", "8000-8010/tcp" ---- */

typedef struct port_range_s {
  long lo, hi;
  char proto[8];
} port_range_t;

static int port_parse(const char *s, port_range_t *p) {
  char *end;
  errno = 0;
  p->lo = strtol(s, &end, 10);
  p->hi = p->lo;
  if (end == s || errno != 0) {
    return -1;
  }
  if (*end == '-') {
    const char *h = end + 1;
    p->hi = strtol(h, &end, 10);
    if (end == h || p->hi < p->lo) {
      return -1;
    }
  }
  snprintf(p->proto, sizeof(p->proto), "tcp");
  if (*end == '/') {
    if (strlen(end + 1) >= sizeof(p->proto) || end[1] == '\0') {
      return -1;
    }
    snprintf(p->proto, sizeof(p->proto), "%s", end + 1);
  } else if (*end != '\0') {
    return -1;
  }
  return p->lo >= 0 && p->hi <= 65535 ? 0 : -1;
}

/* Whether a key of obj (a container port, "80/tcp") falls in the range
 * value. */
static bool port_keys_match(json_t *obj, const char *value) {
  port_range_t want, have;
  if (port_parse(value, &want) != 0) {
    return false;
  }
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (port_parse(k, &have) == 0 && strcmp(have.proto, want.proto) == 0 &&
        have.lo <= want.hi && want.lo <= have.hi) {
      return true;
    }
  }
  return false;
}

/* ---- parse ---- */

/* A value the key cannot take: -1 with e set (moby's words where it has
 * them), else 0. */
static int value_check(const char *key, const char *v, hcsd_err_t *e) {
  port_range_t p;
  char *end;
  if (strcmp(key, "status") == 0 && !IN(v, statuses)) {
    hcsd_err_set(e, 400, "Invalid filter 'status=%s'", v);
  } else if (strcmp(key, "health") == 0 && !IN(v, healths)) {
    hcsd_err_set(e, 400, "Unrecognised filter value for health: %s", v);
  } else if (strcmp(key, "exited") == 0 &&
             (v[0] == '\0' || (strtol(v, &end, 10), *end != '\0'))) {
    hcsd_err_set(e, 400, "Invalid filter 'exited=%s'", v);
  } else if ((strcmp(key, "publish") == 0 || strcmp(key, "expose") == 0) &&
             port_parse(v, &p) != 0) {
    hcsd_err_set(e, 400, "Invalid filter '%s=%s': not a port or range", key, v);
  } else if (strcmp(key, "is-task") == 0 && strcmp(v, "true") != 0 &&
             strcmp(v, "false") != 0) {
    hcsd_err_set(e, 400, "Invalid filter 'is-task=%s'", v);
  } else {
    return 0;
  }
  return -1;
}

/* before=/since=: the containers made before/after the one named. */
static int bound_set(hcsd_t *d, json_t *vals, int64_t *ns, bool *has,
                     hcsd_err_t *e) {
  size_t i;
  json_t *s;
  json_array_foreach(vals, i, s) {
    const char *ref = json_string_value(s);
    hcsd_ctr_t *c = hcsd_ctr_find(d, ref);
    if (c == NULL) {
      hcsd_err_set(e, 404, "No such container: %s", ref);
      return -1;
    }
    *ns = c->created_ns;
    *has = true;
  }
  return 0;
}

int hcsd__ctr_filter_new(hcsd_t *d, const char *text, hcsd_ctr_filter_t **out,
                         hcsd_err_t *e) {
  hcsd_ctr_filter_t *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *out = f;
  char msg[300];
  if (hcsd__filters_parse(text, keys, sizeof(keys) / sizeof(keys[0]), &f->f,
                          msg, sizeof(msg)) != 0) {
    hcsd_err_set(e, 400, "%s", msg);
    goto fail;
  }
  const char *key;
  json_t *vals;
  json_object_foreach(f->f, key, vals) {
    size_t i;
    json_t *s;
    json_array_foreach(vals, i, s) {
      if (value_check(key, json_string_value(s), e) != 0) {
        goto fail;
      }
    }
  }
  if (bound_set(d, json_object_get(f->f, "before"), &f->before, &f->has_before,
                e) != 0 ||
      bound_set(d, json_object_get(f->f, "since"), &f->since, &f->has_since,
                e) != 0) {
    goto fail;
  }
  return 0;
fail:
  hcsd__ctr_filter_free(f);
  *out = NULL;
  return -1;
}

void hcsd__ctr_filter_free(hcsd_ctr_filter_t *f) {
  if (f != NULL) {
    json_decref(f->f);
    free(f);
  }
}

bool hcsd__ctr_filter_all(const hcsd_ctr_filter_t *f) {
  return json_object_get(f->f, "status") != NULL;
}

/* ---- match ---- */

/* moby's name filter: a regular expression, against the name with and
 * without its '/'. */
static bool name_match(const char *re, const char *name) {
  char slashed[256];
  snprintf(slashed, sizeof(slashed), "/%s", name);
  return hcsd__filters_regex(re, name) || hcsd__filters_regex(re, slashed);
}

/* The image as given at create, or its id (with or without "sha256:",
 * any prefix of the hex). */
static bool ancestor_match(const hcsd_ctr_t *c, const char *want) {
  const char *id = c->image_id != NULL ? c->image_id : "";
  const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
  const char *w = strncmp(want, "sha256:", 7) == 0 ? want + 7 : want;
  if (w[0] != '\0' && strlen(w) <= strlen(hex) &&
      strspn(w, "0123456789abcdef") == strlen(w) &&
      strncmp(hex, w, strlen(w)) == 0) {
    return true;
  }
  char *a = hcsd__img_normalise(want);
  char *b = c->image != NULL ? hcsd__img_normalise(c->image) : NULL;
  bool hit = a != NULL && b != NULL && strcmp(a, b) == 0;
  free(a);
  free(b);
  return hit;
}

/* A network it was connected to beyond its mode's (netsconn.c), by name
 * or a prefix of the network's id. */
static bool extra_network_match(const hcsd_ctr_t *c, const char *want) {
  json_t *more = c->d->nets != NULL ? hcsd_nets_extra(c->d->nets, c->id) : NULL;
  bool hit = false;
  const char *k;
  json_t *v;
  json_object_foreach(more, k, v) {
    const char *id = json_string_value(json_object_get(v, "NetworkID"));
    hit =
        hit || strcmp(k, want) == 0 ||
        (id != NULL && want[0] != '\0' && strncmp(id, want, strlen(want)) == 0);
  }
  json_decref(more);
  return hit;
}

/* The network it is on (by name, "bridge" for the default) or a prefix
 * of that network's id, or one it was connected to. */
static bool network_match(const hcsd_ctr_t *c, const char *want) {
  const char *name = c->net_name != NULL ? c->net_name : c->net_mode;
  if (name != NULL && strcmp(name, "default") == 0) {
    name = "bridge";
  }
  if (name != NULL && strcmp(name, want) == 0) {
    return true;
  }
  json_t *s =
      c->net_settings != NULL ? json_loads(c->net_settings, 0, NULL) : NULL;
  const char *nid = json_string_value(json_object_get(s, "NetworkID"));
  bool hit =
      nid != NULL && want[0] != '\0' && strncmp(nid, want, strlen(want)) == 0;
  json_decref(s);
  return hit || extra_network_match(c, want);
}

/* A bind's or mount's source or destination, or an anonymous volume's
 * path. */
static bool volume_match(const hcsd_ctr_t *c, const char *want) {
  json_t *binds = json_object_get(c->host_config, "Binds");
  size_t i;
  json_t *b;
  json_array_foreach(binds, i, b) {
    const char *s = json_string_value(b);
    const char *colon = s != NULL ? strchr(s, ':') : NULL;
    if (colon == NULL) {
      continue;
    }
    size_t dl = strcspn(colon + 1, ":");
    if ((strlen(want) == (size_t)(colon - s) &&
         strncmp(s, want, (size_t)(colon - s)) == 0) ||
        (strlen(want) == dl && strncmp(colon + 1, want, dl) == 0)) {
      return true;
    }
  }
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, b) {
    const char *src = json_string_value(json_object_get(b, "Source"));
    const char *dst = json_string_value(json_object_get(b, "Target"));
    if ((src != NULL && strcmp(src, want) == 0) ||
        (dst != NULL && strcmp(dst, want) == 0)) {
      return true;
    }
  }
  return json_object_get(json_object_get(c->config, "Volumes"), want) != NULL;
}

static bool isolation_match(const hcsd_ctr_t *c, const char *want) {
  const char *iso =
      json_string_value(json_object_get(c->host_config, "Isolation"));
  if (iso == NULL || iso[0] == '\0') {
    iso = "default";
  }
  return strcmp(iso, want) == 0;
}

/* Whether c passes the one value v of key. */
static bool value_match(const hcsd_ctr_t *c, const char *key, const char *v) {
  json_t *ports = json_object_get(c->host_config, "PortBindings");
  switch (key[0]) {
  case 'i':
    if (strcmp(key, "id") == 0) {
      return v[0] != '\0' && strncmp(c->id, v, strlen(v)) == 0;
    }
    if (strcmp(key, "is-task") == 0) {
      return strcmp(v, "false") == 0; /* no container is a swarm task */
    }
    return isolation_match(c, v);
  case 'n':
    return strcmp(key, "name") == 0 ? name_match(v, c->name)
                                    : network_match(c, v);
  case 's':
    return strcmp(hcsd__state_name(c), v) == 0;
  case 'e':
    if (strcmp(key, "exited") == 0) {
      return c->state == CS_EXITED && c->exit_code == atoi(v);
    }
    return port_keys_match(json_object_get(c->config, "ExposedPorts"), v) ||
           port_keys_match(ports, v);
  case 'a':
    return ancestor_match(c, v);
  case 'h':
    return strcmp(v, "none") == 0; /* hcsd runs no health checks */
  case 'v':
    return volume_match(c, v);
  case 'p':
    return port_keys_match(ports, v);
  default:
    return false;
  }
}

bool hcsd__ctr_filter_match(const hcsd_ctr_filter_t *f, const hcsd_ctr_t *c) {
  if ((f->has_before && c->created_ns >= f->before) ||
      (f->has_since && c->created_ns <= f->since)) {
    return false;
  }
  const char *key;
  json_t *vals;
  json_object_foreach(f->f, key, vals) {
    if (strcmp(key, "before") == 0 || strcmp(key, "since") == 0) {
      continue;
    }
    bool label = strcmp(key, "label") == 0;
    bool any = false;
    size_t i;
    json_t *s;
    json_array_foreach(vals, i, s) {
      const char *v = json_string_value(s);
      bool hit =
          label ? hcsd__filters_label(json_object_get(c->config, "Labels"), v)
                : value_match(c, key, v);
      if (label && !hit) {
        return false; /* every label asked for */
      }
      any = any || hit;
    }
    if (!any && json_array_size(vals) > 0) {
      return false;
    }
  }
  return true;
}
