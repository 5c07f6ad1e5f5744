/* SPDX-License-Identifier: MIT */
/* docker events (events.c): the model's one event bus. Each change the
 * model makes is told here as dockerd tells it (Type, Action, Actor with
 * its Attributes, time), kept in a ring of the last HCSD_EVENTS_KEEP for
 * since/until, and sent to every subscriber whose filters take it.
 * Engine thread only. */
#ifndef HCSD_EVENTS_H
#define HCSD_EVENTS_H

#include "hcsd/hcsd.h"
#include "hcsd/model/spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HCSD_EVENTS_KEEP 256 /* dockerd's too */

/* An event of type ("container", "image", "network", "volume") and
 * action about the object id, with attrs (taken; NULL: none). */
void hcsd_event(hcsd_t *d, const char *type, const char *action, const char *id,
                json_t *attrs);
/* A container's event: attrs (taken; NULL: none) get its labels, image
 * and name, as dockerd's. */
void hcsd_event_ctr(hcsd_ctr_t *c, const char *action, json_t *attrs);
/* Its action with a signal or exit code among the attributes. */
void hcsd_event_ctr_int(hcsd_ctr_t *c, const char *action, const char *key,
                        int value);
/* An exec's event about c: "exec_create" and "exec_start" carry its
 * command as dockerd's do ("exec_start: sh -c ..."), "exec_die" its exit
 * code. */
void hcsd_event_exec(hcsd_ctr_t *c, const char *action, const char *exec_id,
                     char *const *argv, int exit_code);
/* A network's create or destroy, from its inspect (JSON text). */
void hcsd_event_net(hcsd_t *d, const char *action, const char *inspect);
/* Its connect or disconnect of the container ctr_id, likewise. */
void hcsd_event_net_of(hcsd_t *d, const char *action, const char *inspect,
                       const char *ctr_id);
/* Its connect or disconnect of c, from c's endpoint settings. */
void hcsd_event_net_ctr(hcsd_ctr_t *c, const char *action);
/* On the pool, beside hcsd_nets_create: *out the inspect of the network
 * whose create reply (NULL: a failed create) is given, or NULL. */
void hcsd_event_net_find(hcsd_nets_t *n, const char *reply, char **out);
/* On the pool, before a tag or delete of ref: the image's id
 * (malloc'ed), or NULL. */
char *hcsd_event_img_id(hcsd_images_t *im, const char *ref);
/* An image tagged repo:tag (tag NULL: latest). */
void hcsd_event_img_tag(hcsd_t *d, const char *id, const char *repo,
                        const char *tag);
/* An image delete's reply ([{"Untagged"} / {"Deleted"}], JSON text):
 * its untag and delete events. */
void hcsd_event_img_deleted(hcsd_t *d, const char *id, const char *reply);
/* A docker load's message (JSON text): "Loaded image: REF" or "Loaded
 * image ID: ID" is the image's load event (its actor the ref or id). */
void hcsd_event_img_loaded(hcsd_t *d, const char *line);

typedef struct hcsd_events_sub_s hcsd_events_sub_t;
typedef struct hcsd_events_ops_s {
  /* One event: its JSON text and a newline, lent for the call. */
  void (*on_event)(const char *text, size_t len, void *data);
  /* until has come: no more events; the subscription is gone. */
  void (*on_end)(void *data);
} hcsd_events_ops_t;

typedef struct hcsd_events_opts_s {
  const char *filters;  /* moby's JSON text, or NULL */
  int64_t since, until; /* ns since the epoch; 0: none */
} hcsd_events_opts_t;

/* Subscribes: *replay (malloc'ed, *replay_len bytes, possibly 0) holds
 * the kept events in since..until that the filters take, one a line;
 * *out the subscription (ops from the loop, never inside this call), or
 * NULL when until has passed (nothing more comes). -1 with e: 400 a
 * filter moby does not have, since after until; 500. */
int hcsd_events_subscribe(hcsd_t *d, const hcsd_events_opts_t *o,
                          const hcsd_events_ops_t *ops, void *data,
                          char **replay, size_t *replay_len,
                          hcsd_events_sub_t **out, hcsd_err_t *e);
/* The subscriber leaves: its ops are not called again. */
void hcsd_events_unsubscribe(hcsd_events_sub_t *s);
/* The bus goes (hcsd_free; every subscriber left before). */
void hcsd_events_free(hcsd_t *d);

#endif
