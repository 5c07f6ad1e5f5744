/* The image store's insides, shared by images.c (the store: records,
 * images.json, queries), imgload.c (docker load) and imgref.c (image
 * references). */
#ifndef HCSD_IMGINT_H
#define HCSD_IMGINT_H

#include "hcsd/images.h"

#include <hcs.h>

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

/* A record is a JSON object, the same in memory as in images.json:
 * {"Id":"sha256:<hex>", "Config":{the image config}, "RepoTags":[normalised
 * references], "Layers":[{"DiffID","Chain","Size"}] (base first),
 * "Size":<bytes>, "LastTagTime":"<RFC 3339>"}. The built-in image also has
 * "Builtin":true and "Folders":[its layer folder]; it is never saved. */
struct hcsd_images_s {
  pthread_mutex_t mu;      /* images and images.json */
  pthread_mutex_t load_mu; /* one load at a time (a load's layers are
                              checked, imported and cleaned up under it) */
  char *dir;
  char *layers_dir; /* <dir>/layers, the layer store */
  hcs_driver_info_t info;
  json_t *images; /* array of records, the built-in one (if any) first */
};

#define HCSD_IMG_MAX_JSON (UINT64_C(32) << 20) /* manifest, config bytes */
#define HCSD_IMG_NO_TIME "0001-01-01T00:00:00Z"

/* The reference in its normalised form ("docker.io/library/busybox:latest";
 * a missing tag is "latest"), malloc'ed, or NULL when ref is no valid
 * name[:tag] reference (digests are not supported). */
char *hcsd__img_normalise(const char *ref);
/* The short form docker shows ("busybox:latest", "me/app:1",
 * "quay.io/x/y:2"), malloc'ed; NULL on ENOMEM. */
char *hcsd__img_familiar(const char *normalised);

/* With im->mu held: adds a loaded record (taking it), or merges its tags
 * into the record with the same id; each of its tags leaves any other
 * image. */
void hcsd__img_add(hcsd_images_t *im, json_t *rec);
/* With im->mu held: writes images.json (temp file + rename). 0 or -errno. */
int hcsd__img_save(hcsd_images_t *im);
/* With im->mu held: the size of layer chain (hex) from a record that
 * holds it; false when none does. */
bool hcsd__img_layer_size(hcsd_images_t *im, const char *chain, uint64_t *size);
/* With im->mu held: whether a record holds layer chain (hex). */
bool hcsd__img_layer_used(hcsd_images_t *im, const char *chain);
/* Removes a tree without following symlinks; errors are ignored (it is
 * cleanup). */
void hcsd__img_rmtree(const char *path);
/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" for now, UTC. */
void hcsd__img_now(char out[40]);

#endif
