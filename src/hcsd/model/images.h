/* SPDX-License-Identifier: MIT */
/* hcsd's image store: Docker images over hcs layer stores.
 *
 * Images live in a directory of hcsd's (images.json with ids, tags and
 * configs; the layers in a layer store under it). The built-in busybox
 * image (hcs_default_image_home()) is always there as
 * docker.io/library/busybox:latest. Every call is blocking (disk work) and
 * thread-safe (a mutex inside): hcsd calls them from as_loop_work() threads,
 * never from the engine thread. */
#ifndef HCSD_IMAGES_H
#define HCSD_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hcsd_images_s hcsd_images_t;

/* An image resolved for a container. Strings and arrays are owned by the
 * struct (hcsd_image_free). Arrays are NULL-terminated; NULL when the
 * image config has no such field. */
typedef struct hcsd_image_s {
  char *id;      /* "sha256:<64 hex>" */
  char *name;    /* the normalised reference that matched, or NULL */
  char **layers; /* layer folders, nearest first (ContainerConfig.Layers,
                    parents for hcs_CreateSandboxLayer); at least one */
  char **cmd;
  char **entrypoint;
  char **env;        /* "K=V" */
  char *working_dir; /* NULL or "" */
  char *user;        /* NULL or "" */
  char *stop_signal; /* NULL or e.g. "SIGTERM" */
  json_t *volumes;   /* its config's Volumes ({"/path": {}}), or NULL */
} hcsd_image_t;

/* Opens (creating, 0700) the store in dir. On failure returns -1 and
 * *errmsg (free()) says why. */
int hcsd_images_open(const char *dir, hcsd_images_t **out, char **errmsg);
void hcsd_images_close(hcsd_images_t *im);

/* Loads a `docker save` archive (both layouts of docs/docker-api.md
 * section 8; compressed layers sniffed) read from fd to its end. For each
 * message, emit(line, arg) gets one JSON object text without the newline:
 * progress lines when !quiet, {"stream":"Loaded image: NAME\n"} per tag,
 * {"stream":"Loaded image ID: sha256:...\n"} when untagged, and on
 * failure {"errorDetail":{"message":M},"error":M}. Returns 0, or -1 after
 * emitting the error. Nothing half-loaded stays. */
int hcsd_images_load(hcsd_images_t *im, int fd, bool quiet,
                     void (*emit)(const char *line, void *arg), void *arg);
/* Where a load's archive comes from: read(data, &p) gives the next piece
 * (*p valid until the next call) and its length, 0 at the end, -errno
 * when it failed or was cut short. */
typedef struct hcsd_img_src_s {
  ssize_t (*read)(void *data, const void **p);
  void *data;
} hcsd_img_src_t;
/* hcsd_images_load of the archive src gives, read to its end. */
int hcsd_images_load_src(hcsd_images_t *im, const hcsd_img_src_t *src,
                         bool quiet, void (*emit)(const char *line, void *arg),
                         void *arg);

/* Resolves ref as docker does: "busybox", "busybox:1", "library/busybox",
 * "docker.io/library/busybox:latest", "sha256:<hex>", "<hex>" or a unique
 * id prefix. 0, or -ENOENT, -ENOMEM. */
int hcsd_images_resolve(hcsd_images_t *im, const char *ref, hcsd_image_t **out);
void hcsd_image_free(hcsd_image_t *img);

/* GET /images/json: the JSON array text (free()). */
char *hcsd_images_list_json(hcsd_images_t *im);
/* GET /images/json?filters=: the array text (free()) of the images that
 * pass filters (moby's JSON text: dangling, reference, label, before,
 * since; NULL: all), *status 200; or NULL with *status (400 a key or
 * value moby refuses, 404 before/since naming no image, 500) and *msg
 * (free()). */
char *hcsd_images_query_json(hcsd_images_t *im, const char *filters,
                             int *status, char **msg);
/* GET /images/{ref}/json: the JSON object text (free()), NULL when ref
 * resolves to no image. */
char *hcsd_images_inspect_json(hcsd_images_t *im, const char *ref);
size_t hcsd_images_count(hcsd_images_t *im);

/* The containers, as the image calls below see them: which image each
 * stands on, whether it runs, and its image's layer folders (those stay
 * while a container uses them, even once its image is gone). */
typedef struct hcsd_img_user_s {
  char *image_id; /* "sha256:<hex>" */
  char ctr_id[65];
  bool running;
  char **layers; /* NULL-terminated, or NULL */
} hcsd_img_user_t;
typedef struct hcsd_img_users_s {
  hcsd_img_user_t *v;
  size_t n;
} hcsd_img_users_t;

/* The calls below answer an HTTP status and, on failure, *msg (free())
 * in dockerd's words. */

/* POST /images/{src}/tag?repo=&tag=: 201; 400 a reference docker
 * refuses, 404 src names no image, 500. */
int hcsd_images_tag(hcsd_images_t *im, const char *src, const char *repo,
                    const char *tag, char **msg);
/* DELETE /images/{ref}?force=: 200 with *out the JSON array of
 * {"Untagged"} and {"Deleted"} (the image, then its layers no other image
 * holds); 404, 409 the conflicts of dockerd (a container uses it, more
 * than one tag names it), 500. hcsd keeps no parent images, so noprune
 * has nothing to keep. */
int hcsd_images_delete(hcsd_images_t *im, const char *ref, bool force,
                       const hcsd_img_users_t *users, char **out, char **msg);
/* POST /images/prune?filters= (dangling, label, label!, until): 200 with
 * *out {"ImagesDeleted","SpaceReclaimed"}; 400 a bad filter, 500. No
 * image a container uses is removed. */
int hcsd_images_prune(hcsd_images_t *im, const char *filters,
                      const hcsd_img_users_t *users, char **out, char **msg);
/* GET /images/{ref}/history: the JSON array text (free()), newest first;
 * NULL when ref names no image. */
char *hcsd_images_history_json(hcsd_images_t *im, const char *ref);
/* GET /system/df's Images: the list with each one's Containers and
 * SharedSize (the bytes of its layers other images hold too); *total the
 * bytes of all layers, each counted once, and *reclaimable those of the
 * images no container uses but for what they share. */
char *hcsd_images_df_json(hcsd_images_t *im, const hcsd_img_users_t *users,
                          int64_t *total, int64_t *reclaimable);
/* GET /images/get: a docker save archive (docker-archive, both
 * manifest.json and the legacy files) of refs[0..n) written to fd. 200,
 * or 404 a ref names no image, 500. */
int hcsd_images_save(hcsd_images_t *im, const char *const *refs, size_t n,
                     int fd, char **msg);

#endif
