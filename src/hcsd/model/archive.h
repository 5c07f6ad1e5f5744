/* SPDX-License-Identifier: MIT */
/* docker cp: a path of a container's root stat'ed, read as a tar or
 * written from one (GET/HEAD/PUT /containers/{id}/archive).
 *
 * Every path is resolved inside the container's root and never through
 * a symlink out of it (openat2 RESOLVE_IN_ROOT from a dirfd of the root,
 * then fd-relative calls that follow no symlink), so a container that
 * swaps a component for a symlink during the copy cannot make hcsd read
 * or write a file of the host (CVE-2018-15664). The root is the running
 * container's /proc/<pid>/root (its volumes and binds included), else
 * its sandbox's merged view, prepared for the copy while the container
 * is held busy. */
#ifndef HCSD_MODEL_ARCHIVE_H
#define HCSD_MODEL_ARCHIVE_H

#include "hcsd/model/model.h"

typedef enum {
  HCSD_ARC_STAT, /* the stat only */
  HCSD_ARC_GET,  /* the stat and the tar */
  HCSD_ARC_PUT,  /* extract the tar into the directory at path */
} hcsd_arc_op_t;

typedef struct hcsd_arc_opts_s {
  hcsd_arc_op_t op;
  const char *path; /* as the client gave it, relative to "/" */
  /* PUT: the tar, from fd when >= 0 (read from its offset), else buf. */
  int fd;
  const char *buf;
  size_t len;
  bool no_overwrite_dir_non_dir; /* noOverwriteDirNonDir */
  bool copy_uid_gid;             /* copyUIDGID: else owned by root */
} hcsd_arc_opts_t;

/* The end of an archive call. e NULL on success; stat is the
 * X-Docker-Container-Path-Stat value (base64 JSON, STAT and GET, also
 * with a 404 failure: NULL), tar[0..len) the archive (GET: the
 * receiver's to free()). */
typedef void (*hcsd_arc_cb)(const hcsd_err_t *e, const char *stat, char *tar,
                            size_t len, void *data);

/* HCSD_PENDING, then done (after what a busy container is doing: a
 * start, an exit's cleanup); or -1: 404 no such container, 500. The
 * failures done reports: 404 "Could not find the file P in container
 * REF" (or the container removed meanwhile), 400 a PUT to no
 * directory or a tar entry that would land outside it (named), 403 a
 * read-only destination, 413 a GET larger than hcsd keeps in memory, 500
 * the host failed (the syscall and errno named). */
int hcsd_ctr_archive(hcsd_t *d, const char *ref, const hcsd_arc_opts_t *o,
                     hcsd_arc_cb done, void *data, hcsd_err_t *e);

/* ---- archive.c and archive_put.c: the pool side ---- */

/* Path resolution inside root (a dirfd): the parent of the cleaned path
 * resolved, and the last name (or "." for root), *follow when the path
 * asked for its last component followed ("/" or "/." at the end). */
typedef struct hcsd__arc_path_s {
  char clean[4096]; /* absolute, cleaned, without a trailing "/" */
  char base[256];   /* last component: "." for the root */
  bool follow;
} hcsd__arc_path_t;
int hcsd__arc_path(const char *in, hcsd__arc_path_t *p);
/* in's components into out as "a/b/c" (no '/' at either end, no "."
 * parts), ".." taking the one before when climb: their number, or -1 for
 * a ".." without climb or a name longer than n. */
int hcsd__arc_clean(const char *in, char *out, size_t n, bool climb);
/* openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
 * an fd or -errno. */
int hcsd__arc_open_in(int root, const char *path, int flags);
/* Extracts the tar into the directory dir (an fd inside the root): 0, or
 * -1 with e. */
int hcsd__arc_extract(int dir, const hcsd_arc_opts_t *o, hcsd_err_t *e);

#endif
