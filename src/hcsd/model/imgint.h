/* SPDX-License-Identifier: MIT */
/* The image store's insides, shared by images.c (records, images.json),
 * imgquery.c (lookups, list and inspect), imgload.c and imgstage.c (docker
 * load) and imgref.c (image references). */
#ifndef HCSD_IMGINT_H
#define HCSD_IMGINT_H

#include "hcsd/model/images.h"

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
  json_t *images;       /* array of records, the built-in one (if any) first */
  bool builtin_removed; /* docker rmi took the built-in image away */
  /* The layers a container still stands on after its image went (rmi
   * -f), or that went while a load ran: [{"Chain","Size","Below":[the
   * chains under it, base first]}], kept in images.json until an rmi or
   * prune finds no container on them and no load running. */
  json_t *kept;
};

#define HCSD_IMG_MAX_JSON (UINT64_C(32) << 20) /* manifest, config bytes */
#define HCSD_IMG_NO_TIME "0001-01-01T00:00:00Z"

/* docker load's staging folder (imgstage.c): the archive's regular files,
 * each in a file of dir, and its links. */
#define HCSD_IMG_BUF 65536
typedef struct hcsd__img_entry_s {
  char *name;  /* cleaned: relative, no "." or ".." components */
  char *blob;  /* the staged file, or NULL for a link */
  char *alias; /* the name a link stands for */
  /* Of a staged file: the sha256 of its bytes, taken as they were
   * staged, their count, and whether they may be compressed (they begin
   * as a gzip, bzip2, xz or zstd stream does). */
  char digest[65];
  uint64_t size;
  bool packed;
} hcsd__img_entry_t;

typedef struct hcsd__img_stage_s {
  const char *dir; /* the caller's, made and removed by it */
  hcsd__img_entry_t *entries;
  size_t n, cap;
  const hcsd_img_src_t *src;
  char *err; /* why staging failed (free()) */
} hcsd__img_stage_t;

/* Reads the tar (gzip, bzip2, xz or zstd compressed or not) from src
 * into S->dir until its end. 0, or -1 with S->err. */
int hcsd__img_stage_read(hcsd__img_stage_t *S, const hcsd_img_src_t *src);
/* The staged file the archive's name stands for, or NULL. */
const char *hcsd__img_stage_find(hcsd__img_stage_t *S, const char *name);
/* The same as its entry (blob set), or NULL. */
const hcsd__img_entry_t *hcsd__img_stage_entry(hcsd__img_stage_t *S,
                                               const char *name);
void hcsd__img_stage_free(hcsd__img_stage_t *S);
/* A libarchive reader with the filters moby sniffs (and no others). */
struct archive *hcsd__img_reader_new(void);

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
/* With im->mu held: whether a record holds layer chain (hex), or it is
 * kept for a container. */
bool hcsd__img_layer_used(hcsd_images_t *im, const char *chain);
/* Records: a field's string (NULL when it is none), the record holding a
 * normalised tag or an id ("sha256:<hex>"), NULL when none does; with
 * im->mu held. */
const char *hcsd__img_rec_str(const json_t *rec, const char *key);
json_t *hcsd__img_find_by_tag(hcsd_images_t *im, const char *tag);
json_t *hcsd__img_find_by_id(hcsd_images_t *im, const char *id);
/* a + "/" + b, malloc'ed; NULL on ENOMEM. */
char *hcsd__img_path_join(const char *a, const char *b);
/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" for now, UTC. */
void hcsd__img_now(char out[40]);

/* With im->mu held: the record ref names in docker's order of lookups (a
 * full id, a reference, a unique id prefix), NULL when none; *name (when
 * name is not NULL) the normalised reference that matched (free()), or
 * NULL. */
json_t *hcsd__img_resolve(hcsd_images_t *im, const char *ref, char **name);
/* A record's RepoTags as docker shows them (a new array). */
json_t *hcsd__img_familiar_tags(const json_t *rec);
/* *msg: "No such image: REF" as dockerd words it (a name with its tag);
 * 404. */
int hcsd__img_no_such(char **msg, const char *ref);
/* moby's timetypes.GetTimestamp for an until= filter: seconds since the
 * epoch ("1700000000", "1700000000.5"), an RFC 3339 time or date, or a Go
 * duration before now ("10m", "1h30m"). false when v is none. */
bool hcsd__img_until(const char *v, int64_t now, int64_t *out);
/* A prune's label= and label!= filters of f (hcsd__filters_parse's) pass
 * labels (an object, or NULL). */
bool hcsd__img_labels_pass(const json_t *f, const json_t *labels);
/* Seconds since the epoch of an RFC 3339 time ("2025-01-01T00:00:00Z",
 * fractions and offsets allowed); 0 when s is none. */
int64_t hcsd__img_time(const char *s);

/* manifest.json of a docker-save archive: its array of images, or NULL
 * with why set (no file or socket involved: the fuzz target's entry). */
json_t *hcsd__img_manifest_parse(const char *bytes, size_t len, char *why,
                                 size_t cap);

#endif
