/* SPDX-License-Identifier: MIT */
/* The layer store (issue 6): what layer.c, layerstore.c, layermeta.c,
 * layertree.c, layerimport.c, layerexport.c and baseimage.c share, and the
 * two calls container.c makes. hcs.h ("Layers") describes the folders. */
#ifndef HCS_HCS_LAYERSTORE_H
#define HCS_HCS_LAYERSTORE_H

#include "hcs/api/error.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- for container.c: only stat() and string copies, so that both may
 * run in a forked child between fork and exec ---- */

/* The directory that stacks for layer_path: <layer_path>/diff when it is a
 * layer folder (it holds layer.json), else layer_path itself. Returns 1
 * when that directory is a full copy of its chain (a flavour-0 layer: the
 * layers below it must not be stacked under it), 0 when it is a diff (or
 * a plain directory), -ENAMETOOLONG when it does not fit in n bytes. */
int hcs__layer_lowerdir(const char *layer_path, char *out, size_t n);
/* The upper and work directories of a sandbox folder: <folder>/upper and
 * <folder>/work, 0. For a flavour-0 sandbox (a layer folder holding the
 * file "full") returns 1 with upper = <folder>/diff, the root to bind
 * read-write instead of an overlay, and work = "". -ENAMETOOLONG when a
 * path does not fit in n bytes. */
int hcs__layer_sandbox_dirs(const char *layer_folder, char *upper, char *work,
                            size_t n);

/* ---- progress ---- */

typedef struct hcs__progress_s {
  hcs_layer_progress_t p;
  int (*cb)(const hcs_layer_progress_t *p, void *data);
  void *data;
  uint64_t last_ms; /* CLOCK_MONOTONIC of the last report */
} hcs__progress_t;

/* Adds to the counts and reports when 50 ms have passed since the last
 * report (or always, with force). -ECANCELED when the callback says stop;
 * pr may be NULL. */
int hcs__progress_add(hcs__progress_t *pr, uint64_t bytes, uint64_t entries,
                      bool force);

/* ---- one call on a store ---- */

typedef struct hcs__lctx_s {
  const char *op;           /* "hcs::ImportLayer" */
  char object[160];         /* "id=ID" */
  hcs_error_t **err;        /* the caller's */
  const char *home;         /* info->home_dir */
  int flavour;              /* info->flavour */
  int homefd;               /* the home, O_RDONLY|O_DIRECTORY; -1: closed */
  uint64_t max_bytes;       /* import limits */
  uint64_t max_entries;     /* import limits */
  hcs__progress_t progress; /* callback NULL: no reports */
} hcs__lctx_t;

hcs_result_t hcs__lfail(hcs__lctx_t *c, hcs_result_t code, int errnum,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failed system call: HCS_ERROR_NOT_FOUND for ENOENT, HCS_ERROR_CANCELLED
 * for ECANCELED, HCS_ERROR_OUTOFMEMORY, else HCS_ERROR_GEN_FAILURE; the
 * cause reads "<what>: <strerror>". */
hcs_result_t hcs__lsys(hcs__lctx_t *c, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Opens the home into c->homefd; with create, makes it (and missing
 * parents) first. Without create a missing home is -ENOENT. 0 or -errno. */
int hcs__home_open(hcs__lctx_t *c, bool create);
/* flock on the home: LOCK_EX or LOCK_SH; and its release. */
int hcs__home_lock(hcs__lctx_t *c, int how);
/* Locks the folder open at fd (flock) for as long as the fd is open: a
 * staging or removal folder whose lock is free is a dead caller's, which
 * hcs__home_open removes. 0 or -errno. */
int hcs__dir_hold(int fd);
void hcs__home_unlock(hcs__lctx_t *c);
void hcs__home_close(hcs__lctx_t *c);

/* ---- layer.json ---- */

typedef struct hcs__layer_meta_s {
  char id[129];
  char parent[129]; /* "" for none */
  bool sandbox;     /* Kind "sandbox", else "ro" */
  int flavour;
  char created[32]; /* RFC 3339, UTC */
  bool base;
  char name[128];
  char version[64];
  char **parents; /* a sandbox's parent_layer_paths, NULL-terminated */
} hcs__layer_meta_t;

/* Reads dirfd/layer.json. 0, -ENOENT, -EINVAL (not a layer.json), -ENOMEM,
 * or -errno. */
int hcs__meta_read(int dirfd, hcs__layer_meta_t *m);
/* Writes dirfd/layer.json through a temporary file and rename. */
int hcs__meta_write(int dirfd, const hcs__layer_meta_t *m);
void hcs__meta_free(hcs__layer_meta_t *m);
/* Fills m for a new layer: id, parent, kind, flavour, Created now. */
void hcs__meta_init(hcs__layer_meta_t *m, const char *id, const char *parent,
                    bool sandbox, int flavour);

/* A NULL-terminated string list in seam memory. */
char **hcs__strv_dup(const char *const *v);
void hcs__strv_free(char **v);

/* Opens the folder of layer id (O_RDONLY|O_DIRECTORY, no symlink) and
 * reads its meta. HCS_OK, or an error named for the call (an unknown
 * layer: HCS_ERROR_NOT_FOUND). */
hcs_result_t hcs__layer_open(hcs__lctx_t *c, const char *id, int *fd,
                             hcs__layer_meta_t *m);

/* The parent chain of m, nearest first: given when not NULL, else m's
 * recorded Parents, else the folders of m's Parent ids in the store as
 * far as they are there. *out is NULL-terminated (hcs__strv_free). */
hcs_result_t hcs__chain_of(hcs__lctx_t *c, const hcs__layer_meta_t *m,
                           const char *const *given, char ***out);
/* Fills directory dst with the view of chain (nearest first): the nearest
 * full copy in it (or the base) copied, then the diffs above it applied
 * in order, their whiteouts and opaque directories taken as deletions. */
hcs_result_t hcs__chain_materialise(hcs__lctx_t *c, char *const *chain,
                                    int dst);
/* HCS_ERROR_NOT_FOUND naming the first of parents that is not a
 * directory, else HCS_OK. */
hcs_result_t hcs__parents_exist(hcs__lctx_t *c, const char *const *parents);
/* The id a parent folder gives a child: its layer.json Id, else "". */
void hcs__parent_id(const char *path, char out[129]);

/* A folder being made: home/.tmp-<id>-XXXXXX, renamed to home/<id> by
 * commit; abort removes it. */
typedef struct hcs__stage_s {
  char name[192]; /* relative to the home */
  int fd;         /* the folder, O_RDONLY|O_DIRECTORY */
} hcs__stage_t;

hcs_result_t hcs__stage_new(hcs__lctx_t *c, const char *id, hcs__stage_t *s);
/* Writes m as the stage's layer.json and renames the stage to m->id under
 * the home's exclusive lock (HCS_ERROR_ALREADY_EXISTS when taken). The
 * stage is closed either way; on failure it is removed. */
hcs_result_t hcs__stage_commit(hcs__lctx_t *c, hcs__stage_t *s,
                               const hcs__layer_meta_t *m);
void hcs__stage_abort(hcs__lctx_t *c, hcs__stage_t *s);
/* Makes dir name in the stage (mode) and opens it. -errno. */
int hcs__stage_mkdir(hcs__stage_t *s, const char *name, mode_t mode, int *fd);

/* ---- trees (layertree.c): every walk opens relative to a directory fd
 * and follows no symlink; each level holds at most three fds ---- */

/* (dev, ino) -> a path, for hard links. */
typedef struct hcs__inomap_s {
  struct hcs__ino_s *v;
  size_t n, cap;
} hcs__inomap_t;

/* The path recorded for (dev, ino), or NULL. */
const char *hcs__inomap_get(const hcs__inomap_t *m, dev_t dev, ino_t ino);
int hcs__inomap_put(hcs__inomap_t *m, dev_t dev, ino_t ino, const char *path);
void hcs__inomap_free(hcs__inomap_t *m);

enum {
  /* whiteouts (0/0 character devices) and opaque directories of the
   * source are deletions in the destination, not copied */
  HCS__TREE_APPLY = 1u << 0,
  /* rename entries out of the source instead of copying (same fs) */
  HCS__TREE_MOVE = 1u << 1,
};

typedef struct hcs__tree_s {
  unsigned flags;
  hcs__progress_t *progress; /* or NULL */
  const char *what;          /* the call that failed */
  char where[PATH_MAX];      /* the path it failed on, relative */
  hcs__inomap_t links;       /* copied files with more than one link */
  int dst_root;              /* the destination's top, for linkat */
} hcs__tree_t;

/* Copies (or applies, or moves) the contents of directory src into
 * directory dst: types, modes, owners, user/security/overlay extended
 * attributes, times, symlinks, hard links, devices and FIFOs. 0 or -errno
 * (t->what and t->where say where). */
int hcs__tree_copy(hcs__tree_t *t, int src, int dst);
/* Removes name under dirfd, whatever it is, not crossing mounts. ENOENT
 * is not an error. */
int hcs__tree_remove(hcs__tree_t *t, int dirfd, const char *name);
/* Removes everything in directory dir. */
int hcs__tree_empty(hcs__tree_t *t, int dir);
/* Adds the regular-file bytes (a file with hard links once; t->links
 * keeps the inodes seen) and the entries under dir. */
int hcs__tree_measure(hcs__tree_t *t, int dir, uint64_t *bytes,
                      uint64_t *entries);
void hcs__tree_free(hcs__tree_t *t);

/* The sorted names in directory dir ("." and ".." left out), NULL-
 * terminated in one allocation (as_free). -errno. */
int hcs__dir_names(int dir, char ***out, size_t *n);

bool hcs__is_whiteout(const struct stat *st);
/* 1 when fd (any kind, O_PATH too) is the root of a mount: statx says so,
 * or its device differs from parent's. */
int hcs__is_mount_root(int fd, int parent);
/* 1 when the directory fd has trusted.overlay.opaque "y", else 0. */
int hcs__is_opaque(int fd);
int hcs__set_opaque(int fd);
/* Whether an extended attribute travels with a layer (tar, copies):
 * user.* and security.capability. */
bool hcs__xattr_travels(const char *name);

#define HCS__OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- the calls (layerstore.c, layerimport.c, layerexport.c) ---- */

hcs_result_t hcs__lstore_create(hcs__lctx_t *c, const char *id,
                                const char *parent);
hcs_result_t hcs__lstore_create_sandbox(hcs__lctx_t *c, const char *id,
                                        const char *parent_id,
                                        const char *const *parents);
hcs_result_t hcs__lstore_activate(hcs__lctx_t *c, const char *id, bool on);
hcs_result_t hcs__lstore_prepare(hcs__lctx_t *c, const char *id,
                                 const char *const *parents);
hcs_result_t hcs__lstore_unprepare(hcs__lctx_t *c, const char *id);
hcs_result_t hcs__lstore_mount_path(hcs__lctx_t *c, const char *id,
                                    char **path);
hcs_result_t hcs__lstore_exists(hcs__lctx_t *c, const char *id, bool *exists);
hcs_result_t hcs__lstore_destroy(hcs__lctx_t *c, const char *id);
hcs_result_t hcs__lstore_base_images(hcs__lctx_t *c, char **json);
hcs_result_t hcs__lstore_copy(hcs__lctx_t *c, const char *src, const char *dst);
hcs_result_t hcs__lstore_import(hcs__lctx_t *c, const char *id,
                                const char *folder, const char *const *parents);
hcs_result_t hcs__lstore_export(hcs__lctx_t *c, const char *id,
                                const char *folder, const char *const *parents);

#endif
