/* SPDX-License-Identifier: MIT */
/* The event bus (events.h): events as moby's events.Message (with the
 * deprecated status, id and from, which API 1.50 still sends and the
 * CLI's {{.Status}} reads), a ring of the last HCSD_EVENTS_KEEP for
 * since/until, and the subscribers with their filters matched as moby's
 * events filter does. What a subscriber is sent is bounded by its
 * adapter (a chunked reply, HCSD_OUT_MAX), and the ring by its size, so
 * no client makes the bus grow. */
#include "hcsd/model/events.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/filters.h"
#include "hcsd/model/images.h"
#include "hcsd/model/imgint.h"
#include "hcsd/model/nets.h"
#include "hcsd/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev_s {
  json_t *o;  /* for the filters */
  char *text; /* its JSON and a newline */
  size_t len;
  int64_t ns;
} ev_t;

struct hcsd_events_sub_s {
  hcsd_events_sub_t *next;
  hcsd_t *d;
  json_t *filters; /* {key: [values]} */
  hcsd_events_ops_t ops;
  void *data;
  as_timer_t *until;
};

typedef struct hcsd_events_s {
  ev_t ring[HCSD_EVENTS_KEEP];
  size_t head, n; /* the oldest at ring[head] */
  hcsd_events_sub_t *subs;
} events_t;

static events_t *bus(hcsd_t *d) {
  if (d->events == NULL) {
    d->events = calloc(1, sizeof(events_t));
  }
  return d->events;
}

/* ---- filters, as moby's daemon/events/filter.go ---- */

static const char *const filter_keys[] = {
    "config", "container", "daemon", "event",  "image",   "label", "network",
    "node",   "plugin",    "scope",  "secret", "service", "type",  "volume"};

/* No value for key, or one that s equals (or, prefix, starts with). */
static bool any_value(const json_t *f, const char *key, const char *s,
                      bool prefix) {
  json_t *vals = json_object_get(f, key);
  size_t i;
  json_t *v;
  if (json_array_size(vals) == 0) {
    return true;
  }
  json_array_foreach(vals, i, v) {
    const char *p = json_string_value(v);
    if (s != NULL &&
        (prefix ? strncmp(s, p, strlen(p)) == 0 : strcmp(s, p) == 0)) {
      return true;
    }
  }
  return false;
}

static bool exact(const json_t *f, const char *key, const char *s) {
  return any_value(f, key, s, false);
}

static bool fuzzy(const json_t *f, const char *key, const char *s) {
  return any_value(f, key, s, true);
}

static const char *attr(const json_t *ev, const char *key) {
  return json_string_value(json_object_get(
      json_object_get(json_object_get(ev, "Actor"), "Attributes"), key));
}

/* key's values match the actor's id or its name (fuzzily). */
static bool name_match(const json_t *f, const json_t *ev, const char *key) {
  const char *id =
      json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
  return fuzzy(f, key, id) || fuzzy(f, key, attr(ev, "name"));
}

/* name without its tag (not a registry's port). */
static void strip_tag(const char *name, char *out, size_t n) {
  snprintf(out, n, "%s", name != NULL ? name : "");
  char *colon = strrchr(out, ':');
  if (colon != NULL && strchr(colon, '/') == NULL) {
    *colon = '\0';
  }
}

static bool image_match(const json_t *f, const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "Type"));
  const char *id =
      json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
  const char *name =
      attr(ev, type != NULL && strcmp(type, "image") == 0 ? "name" : "image");
  char a[512], b[512];
  strip_tag(id, a, sizeof(a));
  strip_tag(name, b, sizeof(b));
  return exact(f, "image", id) || exact(f, "image", name) ||
         exact(f, "image", a) || exact(f, "image", b);
}

static bool event_match(const json_t *f, const json_t *ev) {
  const char *action = json_string_value(json_object_get(ev, "Action"));
  /* moby #25798: exec_create and exec_start carry their command. */
  json_t *vals = json_object_get(f, "event");
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) {
    const char *s = json_string_value(v);
    if (strcmp(s, "exec_create") == 0 || strcmp(s, "exec_start") == 0 ||
        strcmp(s, "health_status") == 0) {
      return fuzzy(f, "event", action);
    }
  }
  return exact(f, "event", action);
}

static bool matches(const json_t *f, const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "Type"));
  json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
  bool typed = true;
  static const char *const named[] = {"container", "network", "volume",
                                      "plugin",    "service", "node",
                                      "secret",    "config"};
  for (size_t i = 0; i < sizeof(named) / sizeof(named[0]) && typed; i++) {
    typed = json_array_size(json_object_get(f, named[i])) == 0 ||
            name_match(f, ev, named[i]);
  }
  return typed && event_match(f, ev) && exact(f, "type", type) &&
         exact(f, "scope", "local") &&
         (json_array_size(json_object_get(f, "daemon")) == 0 ||
          strcmp(type, "daemon") == 0) &&
         image_match(f, ev) && hcsd__filters_labels(f, attrs);
}

/* ---- publishing ---- */

static void ev_clear(ev_t *ev) {
  json_decref(ev->o);
  free(ev->text);
  memset(ev, 0, sizeof(*ev));
}

void hcsd_event(hcsd_t *d, const char *type, const char *action, const char *id,
                json_t *attrs) {
  events_t *b = bus(d);
  if (b == NULL) {
    json_decref(attrs);
    return;
  }
  int64_t ns = hcsd_now_ns();
  json_t *o =
      json_pack("{s:s,s:s,s:{s:s,s:o},s:s,s:I,s:I}", "Type", type, "Action",
                action, "Actor", "ID", id, "Attributes",
                attrs != NULL ? attrs : json_object(), "scope", "local", "time",
                (json_int_t)(ns / 1000000000), "timeNano", (json_int_t)ns);
  if (o != NULL &&
      (strcmp(type, "container") == 0 || strcmp(type, "image") == 0)) {
    json_object_set_new(o, "status", json_string(action));
    json_object_set_new(o, "id", json_string(id));
    const char *from = strcmp(type, "container") == 0 ? attr(o, "image") : NULL;
    if (from != NULL) {
      json_object_set_new(o, "from", json_string(from));
    }
  }
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  size_t len = text != NULL ? strlen(text) : 0;
  char *line = text != NULL ? realloc(text, len + 2) : NULL;
  if (line == NULL) {
    free(text);
    json_decref(o);
    return;
  }
  line[len++] = '\n';
  line[len] = '\0';
  ev_t *slot;
  if (b->n == HCSD_EVENTS_KEEP) {
    slot = &b->ring[b->head];
    ev_clear(slot);
    b->head = (b->head + 1) % HCSD_EVENTS_KEEP;
  } else {
    slot = &b->ring[(b->head + b->n++) % HCSD_EVENTS_KEEP];
  }
  *slot = (ev_t){o, line, len, ns};
  for (hcsd_events_sub_t *s = b->subs, *next; s != NULL; s = next) {
    next = s->next; /* a subscriber may leave inside its call */
    if (matches(s->filters, o)) {
      s->ops.on_event(line, len, s->data);
    }
  }
}

void hcsd_event_ctr(hcsd_ctr_t *c, const char *action, json_t *attrs) {
  json_t *a = json_object();
  json_t *labels = json_object_get(c->config, "Labels");
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) {
    if (json_is_string(v)) {
      json_object_set(a, k, v);
    }
  }
  json_object_update(a, attrs);
  json_decref(attrs);
  json_object_set_new(a, "image", json_string(c->image));
  json_object_set_new(a, "name", json_string(c->name));
  hcsd_event(c->d, "container", action, c->id, a);
}

void hcsd_event_ctr_int(hcsd_ctr_t *c, const char *action, const char *key,
                        int value) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%d", value);
  hcsd_event_ctr(c, action, json_pack("{s:s}", key, buf));
}

void hcsd_event_exec(hcsd_ctr_t *c, const char *action, const char *exec_id,
                     char *const *argv, int exit_code) {
  json_t *a = json_pack("{s:s}", "execID", exec_id);
  if (strcmp(action, "exec_die") == 0) {
    char code[16];
    snprintf(code, sizeof(code), "%d", exit_code);
    json_object_set_new(a, "exitCode", json_string(code));
    hcsd_event_ctr(c, action, a);
    return;
  }
  /* moby's: the action, ": ", the program, " ", its arguments. */
  size_t n = strlen(action) + 4;
  for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
    n += strlen(argv[i]) + 1;
  }
  char *what = malloc(n);
  if (what == NULL) {
    json_decref(a);
    return;
  }
  size_t at = (size_t)snprintf(what, n, "%s: %s ", action,
                               argv != NULL && argv[0] != NULL ? argv[0] : "");
  for (size_t i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++) {
    at +=
        (size_t)snprintf(what + at, n - at, "%s%s", i > 1 ? " " : "", argv[i]);
  }
  hcsd_event_ctr(c, what, a);
  free(what);
}

static json_t *net_attrs(const char *name, const char *driver) {
  return json_pack("{s:s,s:s}", "name", name != NULL ? name : "", "type",
                   driver != NULL && driver[0] != '\0' ? driver : "bridge");
}

void hcsd_event_net_of(hcsd_t *d, const char *action, const char *inspect,
                       const char *ctr_id) {
  json_t *n = json_loads(inspect, 0, NULL);
  const char *id = json_string_value(json_object_get(n, "Id"));
  if (id != NULL) {
    json_t *a = net_attrs(json_string_value(json_object_get(n, "Name")),
                          json_string_value(json_object_get(n, "Driver")));
    if (ctr_id != NULL) {
      json_object_set_new(a, "container", json_string(ctr_id));
    }
    hcsd_event(d, "network", action, id, a);
  }
  json_decref(n);
}

void hcsd_event_net(hcsd_t *d, const char *action, const char *inspect) {
  hcsd_event_net_of(d, action, inspect, NULL);
}

void hcsd_event_net_ctr(hcsd_ctr_t *c, const char *action) {
  json_t *s =
      c->net_settings != NULL ? json_loads(c->net_settings, 0, NULL) : NULL;
  const char *id = json_string_value(json_object_get(s, "NetworkID"));
  if (id != NULL) {
    json_t *a = net_attrs(c->net_name, NULL);
    json_object_set_new(a, "container", json_string(c->id));
    hcsd_event(c->d, "network", action, id, a);
  }
  json_decref(s);
}

void hcsd_event_net_find(hcsd_nets_t *n, const char *reply, char **out) {
  json_t *r = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
  const char *id = json_string_value(json_object_get(r, "Id"));
  *out = NULL;
  if (id != NULL && hcsd_nets_inspect(n, id, out) != 200) {
    free(*out);
    *out = NULL;
  }
  json_decref(r);
}

static void img_event(hcsd_t *d, const char *action, const char *id,
                      const char *name) {
  hcsd_event(d, "image", action, id != NULL ? id : name,
             json_pack("{s:s}", "name", name));
}

char *hcsd_event_img_id(hcsd_images_t *im, const char *ref) {
  hcsd_image_t *img = NULL;
  if (ref == NULL || hcsd_images_resolve(im, ref, &img) != 0) {
    return NULL;
  }
  char *id = strdup(img->id);
  hcsd_image_free(img);
  return id;
}

void hcsd_event_img_tag(hcsd_t *d, const char *id, const char *repo,
                        const char *tag) {
  char name[512];
  snprintf(name, sizeof(name), "%s:%s", repo != NULL ? repo : "",
           tag != NULL && tag[0] != '\0' ? tag : "latest");
  char *fam = hcsd__img_familiar(name); /* "x:1", as dockerd names it */
  img_event(d, "tag", id, fam != NULL ? fam : name);
  free(fam);
}

void hcsd_event_img_deleted(hcsd_t *d, const char *id, const char *reply) {
  json_t *a = json_loads(reply, 0, NULL);
  size_t i;
  json_t *item;
  json_array_foreach(a, i, item) {
    const char *u = json_string_value(json_object_get(item, "Untagged"));
    const char *del = json_string_value(json_object_get(item, "Deleted"));
    if (u != NULL) {
      img_event(d, "untag", id, u);
    } else if (del != NULL) {
      img_event(d, "delete", del, del);
    }
  }
  json_decref(a);
}

void hcsd_event_img_loaded(hcsd_t *d, const char *line) {
  json_t *o = json_loads(line, 0, NULL);
  const char *m = json_string_value(json_object_get(o, "stream"));
  static const char ref[] = "Loaded image: ", idp[] = "Loaded image ID: ";
  const char *what = m == NULL                               ? NULL
                     : strncmp(m, ref, sizeof(ref) - 1) == 0 ? m + 14
                     : strncmp(m, idp, sizeof(idp) - 1) == 0 ? m + 17
                                                             : NULL;
  if (what != NULL) {
    char name[512];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(what, "\n"), what);
    /* Named as loaded: the store may be busy with the rest of the load
     * on the pool, and the loop does not wait for it. */
    img_event(d, "load", NULL, name);
  }
  json_decref(o);
}

/* ---- subscribers ---- */

static void sub_unlink(hcsd_events_sub_t *s) {
  events_t *b = s->d->events;
  for (hcsd_events_sub_t **pp = &b->subs; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  }
}

static void sub_free(hcsd_events_sub_t *s) {
  as_timer_free(s->until);
  json_decref(s->filters);
  free(s);
}

static void until_came(as_timer_t *t, void *data) {
  hcsd_events_sub_t *s = data;
  (void)t;
  sub_unlink(s);
  s->ops.on_end(s->data);
  sub_free(s);
}

/* The kept events in since..until that f takes, one a line. */
static char *replay_of(events_t *b, const json_t *f, int64_t since,
                       int64_t until, size_t *len) {
  size_t cap = 1;
  for (size_t i = 0; i < b->n; i++) {
    cap += b->ring[(b->head + i) % HCSD_EVENTS_KEEP].len;
  }
  char *out = malloc(cap);
  *len = 0;
  for (size_t i = 0; out != NULL && i < b->n && (since != 0 || until != 0);
       i++) {
    const ev_t *ev = &b->ring[(b->head + i) % HCSD_EVENTS_KEEP];
    if (ev->ns >= since && (until == 0 || ev->ns <= until) &&
        matches(f, ev->o)) {
      memcpy(out + *len, ev->text, ev->len);
      *len += ev->len;
    }
  }
  return out;
}

int hcsd_events_subscribe(hcsd_t *d, const hcsd_events_opts_t *o,
                          const hcsd_events_ops_t *ops, void *data,
                          char **replay, size_t *replay_len,
                          hcsd_events_sub_t **out, hcsd_err_t *e) {
  if (o->until != 0 && o->until < o->since) {
    hcsd_err_set(e, 400, "`since` time cannot be after `until` time");
    return -1;
  }
  json_t *f;
  char msg[256];
  if (hcsd__filters_parse(o->filters, filter_keys,
                          sizeof(filter_keys) / sizeof(filter_keys[0]), &f, msg,
                          sizeof(msg)) != 0) {
    hcsd_err_set(e, 400, "%s", msg);
    return -1;
  }
  events_t *b = bus(d);
  hcsd_events_sub_t *s = calloc(1, sizeof(*s));
  *replay = b != NULL && s != NULL
                ? replay_of(b, f, o->since, o->until, replay_len)
                : NULL;
  if (*replay == NULL || as_timer_new(d->loop, &s->until) != 0) {
    free(*replay);
    free(s);
    json_decref(f);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  int64_t now = hcsd_now_ns();
  if (o->until != 0 && o->until <= now) {
    sub_free(s); /* only past events were asked for */
    json_decref(f);
    *out = NULL;
    return 0;
  }
  *s = (hcsd_events_sub_t){.next = b->subs,
                           .d = d,
                           .filters = f,
                           .ops = *ops,
                           .data = data,
                           .until = s->until};
  b->subs = s;
  if (o->until != 0) {
    as_timer_arm(s->until, (uint64_t)((o->until - now) / 1000000) + 1,
                 until_came, s);
  }
  *out = s;
  return 0;
}

void hcsd_events_unsubscribe(hcsd_events_sub_t *s) {
  sub_unlink(s);
  sub_free(s);
}

void hcsd_events_free(hcsd_t *d) {
  events_t *b = d->events;
  if (b == NULL) {
    return;
  }
  while (b->subs != NULL) {
    hcsd_events_unsubscribe(b->subs);
  }
  for (size_t i = 0; i < HCSD_EVENTS_KEEP; i++) {
    ev_clear(&b->ring[i]);
  }
  free(b);
  d->events = NULL;
}
