/* SPDX-License-Identifier: MIT */
/* ImportLayer: a transport folder's layer.tar into a new layer. The tar
 * is outside input: it is read with libarchive (any tar, compressed or
 * not), its entries made by layerentry.c inside a stage that is removed
 * whole when any entry is refused, so that a hostile or broken tar leaves
 * no layer behind; its digest is checked against layer.json's. */
#include "hcs/layer/layerimport.h"
#include "hcs/api/schema.h"

#include "hcs-async.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the archive ---- */

static const char *aerr(struct archive *a) {
  const char *s = a != NULL ? archive_error_string(a) : NULL;
  return s != NULL ? s : "unreadable";
}

static la_ssize_t tar_read(struct archive *a, void *data, const void **buf) {
  hcs__imp_t *im = data;
  ssize_t n;
  do {
    n = read(im->tar, im->buf, sizeof(im->buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read: %s", strerror(errno));
    return -1;
  }
  if (im->hash) {
    hcs__sha256_update(&im->sha, im->buf, (size_t)n);
  }
  im->c->progress.p.bytes += (uint64_t)n;
  *buf = im->buf;
  return n;
}

static hcs_result_t read_entries(hcs__imp_t *im) {
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header(im->a, &e)) != ARCHIVE_EOF) {
    im->name = NULL;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return hcs__lfail(im->c, HCS_ERROR_INVALID_DATA, EINVAL,
                        "layer.tar: after %llu entries: %s",
                        (unsigned long long)im->entries, aerr(im->a));
    }
    im->name = archive_entry_pathname(e);
    if (im->name == NULL) {
      im->name = archive_entry_pathname_utf8(e);
    }
    if (++im->entries > im->c->max_entries) {
      return hcs__imp_refuse(im, EFBIG, "passes the limit of %llu entries",
                             (unsigned long long)im->c->max_entries);
    }
    hcs_result_t res = hcs__imp_entry(im, e);
    if (res != HCS_OK) {
      return res;
    }
    int err = hcs__progress_add(&im->c->progress, 0, 1, false);
    if (err != 0) {
      return hcs__imp_sys_fail(im, -err, "progress");
    }
  }
  return hcs__imp_dir_times(im);
}

/* Extracts the tar of fd tar into directory root; with digest, it gets
 * the hex SHA-256 of the whole file (without, when nothing promises one,
 * the bytes are not hashed: a caller such as docker load has checked
 * them already). */
static hcs_result_t extract(hcs__lctx_t *c, int tar, int root, char *digest) {
  hcs__imp_t *im = as_calloc(1, sizeof(*im));
  if (im == NULL) {
    return hcs__lsys(c, ENOMEM, "importing");
  }
  im->c = c;
  im->tar = tar;
  im->root = root;
  im->cached_fd = -1;
  im->hash = digest != NULL;
  if (im->hash) {
    hcs__sha256_init(&im->sha);
  }
  struct stat st;
  if (fstat(tar, &st) == 0) {
    c->progress.p.total_bytes = (uint64_t)st.st_size;
  }
  hcs_result_t r = HCS_OK;
  int err = hcs__progress_add(&c->progress, 0, 0, true);
  im->a = err == 0 ? archive_read_new() : NULL;
  if (err != 0 || im->a == NULL) {
    r = hcs__lsys(c, err != 0 ? -err : ENOMEM, "reading layer.tar");
  } else if (archive_read_support_filter_all(im->a) < ARCHIVE_WARN ||
             archive_read_support_format_tar(im->a) != ARCHIVE_OK ||
             archive_read_open2(im->a, im, NULL, tar_read, NULL, NULL) !=
                 ARCHIVE_OK) {
    r = hcs__lfail(c, HCS_ERROR_INVALID_DATA, EINVAL,
                   "layer.tar: not a tar: %s", aerr(im->a));
  } else {
    r = read_entries(im);
  }
  /* The digest covers the bytes after the end-of-archive blocks too. */
  const void *rest;
  while (r == HCS_OK && im->hash && tar_read(im->a, im, &rest) > 0) {
  }
  if (im->hash) {
    hcs__sha256_hex(&im->sha, digest);
  }
  if (im->a != NULL) {
    archive_read_free(im->a);
  }
  hcs__imp_uncache(im);
  for (size_t i = 0; i < im->ntimes; i++) {
    as_free(im->times[i].path);
  }
  as_free(im->times);
  as_free(im);
  return r;
}

/* ---- the call ---- */

/* The digest folder/layer.json promises ("" when there is no layer.json
 * or it names none). */
static hcs_result_t expected_digest(hcs__lctx_t *c, int folder, char out[72]) {
  out[0] = '\0';
  json_error_t je;
  int fd = openat(folder, "layer.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? HCS_OK : hcs__lsys(c, errno, "layer.json");
  }
  json_t *o = hcs__json_load_fd(fd, &je);
  close(fd);
  json_t *d = json_object_get(o, "Digest");
  const char *s = json_string_value(d);
  hcs_result_t r = HCS_OK;
  if (o == NULL || !json_is_object(o)) {
    r = hcs__lfail(c, HCS_ERROR_INVALID_DATA, EINVAL,
                   "layer.json: not a JSON object");
  } else if (d != NULL &&
             (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71 ||
              strspn(s + 7, "0123456789abcdef") != 64)) {
    r = hcs__lfail(c, HCS_ERROR_INVALID_DATA, EINVAL,
                   "layer.json: Digest must be \"sha256:\" and 64 hex digits");
  } else if (s != NULL) {
    memcpy(out, s + 7, 65);
  }
  json_decref(o);
  return r;
}

/* Fills the stage: the tar into diff (flavour 1), or into tar/ and then
 * applied over a copy of the chain in diff (flavour 0). */
static hcs_result_t fill(hcs__lctx_t *c, hcs__stage_t *s, int tar,
                         const char *want, char *const *chain) {
  bool full = c->flavour == HCS_FLAVOUR_DIFF;
  int into, diff = -1;
  int err = hcs__stage_mkdir(s, full ? "tar" : "diff", 0755, &into);
  if (err != 0) {
    return hcs__lsys(c, -err, "making %s/%s", c->home, s->name);
  }
  char digest[65];
  hcs_result_t r = extract(c, tar, into, want[0] != '\0' ? digest : NULL);
  if (r == HCS_OK && want[0] != '\0' && strcmp(want, digest) != 0) {
    r = hcs__lfail(c, HCS_ERROR_INVALID_DATA, EINVAL,
                   "layer.tar: its digest is sha256:%s, layer.json says "
                   "sha256:%s",
                   digest, want);
  }
  if (r == HCS_OK && full) {
    err = hcs__stage_mkdir(s, "diff", 0755, &diff);
    r = err != 0 ? hcs__lsys(c, -err, "making %s/%s/diff", c->home, s->name)
                 : hcs__chain_materialise(c, chain, diff);
  }
  if (r == HCS_OK && full) {
    hcs__tree_t t = {.flags = HCS__TREE_APPLY | HCS__TREE_MOVE};
    err = hcs__tree_copy(&t, into, diff);
    err = err == 0 ? hcs__tree_remove(&t, s->fd, "tar") : err;
    int f = err == 0
                ? openat(s->fd, "full", O_WRONLY | O_CREAT | O_CLOEXEC, 0600)
                : -1;
    err = err == 0 && f < 0 ? -errno : err;
    r = err != 0
            ? hcs__lsys(c, -err, "applying layer.tar: %s %s", t.what, t.where)
            : HCS_OK;
    if (f >= 0) {
      close(f);
    }
    hcs__tree_free(&t);
  }
  close(into);
  if (diff >= 0) {
    close(diff);
  }
  return r;
}

hcs_result_t hcs__lstore_import(hcs__lctx_t *c, const char *id,
                                const char *folder,
                                const char *const *parents) {
  hcs_result_t r = hcs__parents_exist(c, parents);
  if (r != HCS_OK) {
    return r;
  }
  bool exists = false;
  r = hcs__lstore_exists(c, id, &exists);
  if (r == HCS_OK && exists) {
    return hcs__lfail(c, HCS_ERROR_ALREADY_EXISTS, EEXIST,
                      "layer %s: %s/%s already exists", id, c->home, id);
  }
  int dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int tar = dir < 0
                ? -1
                : openat(dir, "layer.tar", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (tar < 0) {
    int e = errno;
    if (dir >= 0) {
      close(dir);
    }
    return hcs__lsys(c, e, "%s/layer.tar", folder);
  }
  char want[72];
  r = expected_digest(c, dir, want);
  close(dir);
  hcs__layer_meta_t m;
  hcs__meta_init(&m, id, "", false, c->flavour);
  if (parents != NULL && parents[0] != NULL) {
    hcs__parent_id(parents[0], m.parent);
  }
  char **chain = NULL;
  if (r == HCS_OK) {
    r = hcs__chain_of(c, &m, parents, &chain);
  }
  hcs__stage_t s = {.fd = -1};
  if (r == HCS_OK) {
    r = hcs__stage_new(c, id, &s);
  }
  if (r == HCS_OK) {
    r = fill(c, &s, tar, want, chain);
    r = r == HCS_OK ? hcs__stage_commit(c, &s, &m)
                    : (hcs__stage_abort(c, &s), r);
  }
  hcs__strv_free(chain);
  close(tar);
  return r;
}
