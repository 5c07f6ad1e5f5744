/* SPDX-License-Identifier: MIT */
/* docker load's staging: the archive's files, streamed into a folder
 * of the store one by one (an archive may be larger than memory, and
 * manifest.json may come last), found again by the names the archive
 * gives them, through its hard links and symlinks. */
#include "hcsd/model/imgint.h"
#include "hcsd/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ALIAS_HOPS 16

__attribute__((format(printf, 2, 3))) static int fail(hcsd__img_stage_t *S,
                                                      const char *fmt, ...) {
  if (S->err == NULL) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&S->err, fmt, ap) < 0) {
      S->err = NULL;
    }
    va_end(ap);
  }
  return -1;
}

/* name resolved against dir (both relative to the archive's root): empty
 * and "." components dropped, ".." taking one back. NULL when it climbs
 * above the root (or on ENOMEM). */
static char *clean_path(const char *dir, const char *name) {
  size_t cap = strlen(dir) + strlen(name) + 2;
  char *out = malloc(cap);
  size_t len = 0;
  const char *parts[2] = {name[0] == '/' ? "" : dir, name};
  for (int k = 0; out != NULL && k < 2; k++) {
    for (const char *p = parts[k]; *p != '\0';) {
      size_t n = strcspn(p, "/");
      if (n == 2 && strncmp(p, "..", 2) == 0) {
        if (len == 0) {
          free(out);
          return NULL;
        }
        while (len > 0 && out[len - 1] != '/') {
          len--;
        }
        len -= len > 0 ? 1 : 0;
      } else if (n > 0 && !(n == 1 && p[0] == '.')) {
        if (len > 0) {
          out[len++] = '/';
        }
        memcpy(out + len, p, n);
        len += n;
      }
      p += n + (p[n] == '/' ? 1 : 0);
    }
  }
  if (out != NULL) {
    out[len] = '\0';
  }
  return out;
}

static int add_entry(hcsd__img_stage_t *S, hcsd__img_entry_t e) {
  if (S->n == S->cap) {
    size_t cap = S->cap != 0 ? 2 * S->cap : 32;
    hcsd__img_entry_t *v = realloc(S->entries, cap * sizeof(*v));
    if (v == NULL) {
      free(e.name);
      free(e.blob);
      free(e.alias);
      return fail(S, "out of memory");
    }
    S->entries = v;
    S->cap = cap;
  }
  S->entries[S->n++] = e;
  return 0;
}

const hcsd__img_entry_t *hcsd__img_stage_entry(hcsd__img_stage_t *S,
                                               const char *name) {
  char *want = clean_path("", name);
  for (int hop = 0; want != NULL && hop < MAX_ALIAS_HOPS; hop++) {
    const hcsd__img_entry_t *e = NULL;
    for (size_t i = S->n; e == NULL && i-- > 0;) {
      e = strcmp(S->entries[i].name, want) == 0 ? &S->entries[i] : NULL;
    }
    free(want);
    if (e == NULL || e->blob != NULL) {
      return e;
    }
    want = strdup(e->alias);
  }
  free(want);
  return NULL;
}

/* The staged file the archive's name stands for, or NULL. */
const char *hcsd__img_stage_find(hcsd__img_stage_t *S, const char *name) {
  const hcsd__img_entry_t *e = hcsd__img_stage_entry(S, name);
  return e != NULL ? e->blob : NULL;
}

static la_ssize_t in_read(struct archive *a, void *data, const void **buf) {
  hcsd__img_stage_t *S = data;
  ssize_t n = S->src->read(S->src->data, buf);
  if (n < 0) {
    archive_set_error(a, (int)-n, "reading the archive: %s",
                      n == -EPIPE ? "the body ended early" : strerror((int)-n));
  }
  return n;
}

/* Whether bytes beginning with p[0..n) may be a stream one of
 * hcsd__img_reader_new's filters unpacks: a loose test of the magic
 * numbers libarchive's bidders check, so that whatever they would take
 * is counted here too. */
static bool looks_packed(const unsigned char *p, size_t n) {
  static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
  static const unsigned char zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
  return (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) ||
         (n >= 3 && memcmp(p, "BZh", 3) == 0) ||
         (n >= sizeof(xz) && memcmp(p, xz, sizeof(xz)) == 0) ||
         (n >= sizeof(zstd) && memcmp(p, zstd, sizeof(zstd)) == 0) ||
         /* zstd's skippable frames, 0x184D2A50-5F little-endian */
         (n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d &&
          p[3] == 0x18);
}

/* One staged file being written: its bytes go to fd and the digest. */
typedef struct put_s {
  int fd;
  hcsd_sha256_t *sha;
  uint64_t at;
  unsigned char head[6];
  size_t head_len;
} put_t;

static int put(put_t *w, const char *p, size_t n) {
  size_t take = sizeof(w->head) - w->head_len;
  take = take < n ? take : n;
  memcpy(w->head + w->head_len, p, take);
  w->head_len += take;
  hcsd_sha256_update(w->sha, p, n);
  w->at += n;
  while (n > 0) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      return k < 0 ? -errno : -EIO;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* The hole of a sparse entry up to offset end, as the zeros it reads as. */
static int put_zeros(put_t *w, uint64_t end) {
  static const char zeros[65536];
  int err = 0;
  while (err == 0 && w->at < end) {
    uint64_t n = end - w->at;
    err = put(w, zeros, n < sizeof(zeros) ? (size_t)n : sizeof(zeros));
  }
  return err;
}

/* The entry's data as libarchive holds it (no copy), into w. 0, -EIO
 * (the archive's fault) or -errno. */
static int put_data(put_t *w, struct archive *a, struct archive_entry *e) {
  const void *p;
  size_t n;
  la_int64_t off;
  int ar, err = 0;
  while (err == 0 &&
         (ar = archive_read_data_block(a, &p, &n, &off)) == ARCHIVE_OK) {
    err = off < 0 || (uint64_t)off < w->at ? -EIO : put_zeros(w, (uint64_t)off);
    err = err == 0 ? put(w, p, n) : err;
  }
  if (err == 0 && ar != ARCHIVE_EOF) {
    err = -EIO;
  }
  if (err == 0 && archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
    err = put_zeros(w, (uint64_t)archive_entry_size(e));
  }
  return err;
}

static int stage_file(hcsd__img_stage_t *S, struct archive *a,
                      struct archive_entry *ae, char *name) {
  hcsd__img_entry_t e = {.name = name};
  if (asprintf(&e.blob, "%s/f%zu", S->dir, S->n) < 0) {
    free(name);
    return fail(S, "out of memory");
  }
  put_t w = {.fd = open(e.blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
             .sha = hcsd_sha256_new()};
  int err = w.fd < 0 ? -errno : w.sha == NULL ? -ENOMEM : 0;
  err = err == 0 ? put_data(&w, a, ae) : err;
  if (w.fd >= 0) {
    close(w.fd);
  }
  if (w.sha != NULL) {
    hcsd_sha256_end(w.sha, e.digest);
  }
  if (err != 0) {
    int r = err == -EIO
                ? fail(S, "invalid archive: %s: %s", name,
                       archive_error_string(a) != NULL ? archive_error_string(a)
                                                       : "bad data offsets")
                : fail(S, "writing %s: %s", e.blob, strerror(-err));
    free(name);
    free(e.blob);
    return r;
  }
  e.size = w.at;
  e.packed = looks_packed(w.head, w.head_len);
  return add_entry(S, e);
}

/* One entry of the archive: regular files are staged, links remembered,
 * the rest (directories) skipped. */
static int stage_entry(hcsd__img_stage_t *S, struct archive *a,
                       struct archive_entry *e) {
  const char *raw = archive_entry_pathname(e);
  char *name = raw != NULL ? clean_path("", raw) : NULL;
  if (name == NULL) {
    return fail(S, "invalid archive: entry \"%s\" is outside of the archive",
                raw != NULL ? raw : "");
  }
  const char *hard = archive_entry_hardlink(e);
  const char *sym = archive_entry_symlink(e);
  char *alias = NULL;
  if (hard != NULL) {
    alias = clean_path("", hard);
  } else if (archive_entry_filetype(e) == AE_IFLNK && sym != NULL) {
    char *dir = strdup(name);
    char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
    if (dir != NULL) {
      *(slash != NULL ? slash : dir) = '\0';
      alias = clean_path(dir, sym);
    }
    free(dir);
  } else if (archive_entry_filetype(e) == AE_IFREG) {
    return stage_file(S, a, e, name);
  }
  if (alias != NULL) {
    return add_entry(S, (hcsd__img_entry_t){.name = name, .alias = alias});
  }
  free(name);
  return 0;
}

struct archive *hcsd__img_reader_new(void) {
  struct archive *a = archive_read_new();
  if (a != NULL) {
    /* The compressions moby sniffs, and no others: libarchive's other
     * filters may run external programs. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
  }
  return a;
}

int hcsd__img_stage_read(hcsd__img_stage_t *S, const hcsd_img_src_t *src) {
  S->src = src;
  struct archive *a = hcsd__img_reader_new();
  if (a == NULL || archive_read_support_format_tar(a) != ARCHIVE_OK) {
    if (a != NULL) {
      archive_read_free(a);
    }
    return fail(S, "out of memory");
  }
  int r = 0;
  if (archive_read_open(a, S, NULL, in_read, NULL) != ARCHIVE_OK) {
    r = fail(S, "invalid archive: %s", archive_error_string(a));
  }
  while (r == 0) {
    struct archive_entry *e;
    int ar = archive_read_next_header(a, &e);
    if (ar == ARCHIVE_EOF) {
      break;
    }
    if (ar < ARCHIVE_WARN) {
      r = fail(S, "invalid archive: %s", archive_error_string(a));
    } else {
      r = stage_entry(S, a, e);
    }
  }
  archive_read_free(a);
  return r;
}

void hcsd__img_stage_free(hcsd__img_stage_t *S) {
  for (size_t i = 0; i < S->n; i++) {
    free(S->entries[i].name);
    free(S->entries[i].blob);
    free(S->entries[i].alias);
  }
  free(S->entries);
  free(S->err);
  S->entries = NULL;
  S->err = NULL;
  S->n = S->cap = 0;
}
