/* SPDX-License-Identifier: MIT */
/* ImportLayer's two halves: layerimport.c reads the archive and makes the
 * layer; layerentry.c makes one entry at a time inside it. */
#ifndef HCS_HCS_LAYERIMPORT_H
#define HCS_HCS_LAYERIMPORT_H

#include "hcs/api/digest.h"
#include "hcs/layer/layerstore.h"

#include <archive.h>
#include <archive_entry.h>
#include <time.h>

/* A directory whose time is set once everything in it is made. */
typedef struct dirtime_s {
  char *path;
  struct timespec times[2];
} dirtime_t;

typedef struct hcs__imp_s {
  hcs__lctx_t *c;
  struct archive *a;
  int root;          /* the tree being filled, O_RDONLY|O_DIRECTORY */
  int tar;           /* layer.tar */
  hcs__sha256_t sha; /* of every byte of layer.tar, when hash */
  bool hash;
  uint64_t declared;     /* file bytes the entries declare */
  uint64_t entries;      /* entries seen */
  const char *name;      /* the entry's name as the tar has it */
  char path[PATH_MAX];   /* the same, cleaned */
  char cached[PATH_MAX]; /* the directory cached_fd holds */
  int cached_fd;         /* O_PATH, or -1 */
  dirtime_t *times;
  size_t ntimes, cap;
  char buf[1 << 20]; /* reads of layer.tar: few system calls per layer */
} hcs__imp_t;

/* Makes entry e in the layer, or refuses it (HCS_ERROR_INVALID_DATA
 * naming it). */
hcs_result_t hcs__imp_entry(hcs__imp_t *im, struct archive_entry *e);
/* Sets the directory times kept for the end. */
hcs_result_t hcs__imp_dir_times(hcs__imp_t *im);
/* HCS_ERROR_INVALID_DATA: "layer.tar: entry "NAME": why". */
hcs_result_t hcs__imp_refuse(hcs__imp_t *im, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A system call failed on the current entry. */
hcs_result_t hcs__imp_sys_fail(hcs__imp_t *im, int errnum, const char *what);
/* Drops the cached directory fd. */
void hcs__imp_uncache(hcs__imp_t *im);

#endif
