/* SPDX-License-Identifier: MIT */
/* docker load's staging: the archive's files, streamed into a folder
 * of the store one by one (an archive may be larger than memory, and
 * manifest.json may come last), found again by the names the archive
 * gives them, through its hard links and symlinks. */
#include "hcsd/model/imgint.h"

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

static int add_entry(hcsd__img_stage_t *S, char *name, char *blob,
                     char *alias) {
  if (S->n == S->cap) {
    size_t cap = S->cap != 0 ? 2 * S->cap : 32;
    hcsd__img_entry_t *e = realloc(S->entries, cap * sizeof(*e));
    if (e == NULL) {
      free(name);
      free(blob);
      free(alias);
      return fail(S, "out of memory");
    }
    S->entries = e;
    S->cap = cap;
  }
  S->entries[S->n++] = (hcsd__img_entry_t){name, blob, alias};
  return 0;
}

/* The staged file the archive's name stands for, or NULL. */
const char *hcsd__img_stage_find(hcsd__img_stage_t *S, const char *name) {
  char *want = clean_path("", name);
  for (int hop = 0; want != NULL && hop < MAX_ALIAS_HOPS; hop++) {
    const hcsd__img_entry_t *e = NULL;
    for (size_t i = S->n; e == NULL && i-- > 0;) {
      e = strcmp(S->entries[i].name, want) == 0 ? &S->entries[i] : NULL;
    }
    free(want);
    if (e == NULL || e->blob != NULL) {
      return e != NULL ? e->blob : NULL;
    }
    want = strdup(e->alias);
  }
  free(want);
  return NULL;
}

static ssize_t in_read(struct archive *a, void *data, const void **buf) {
  hcsd__img_stage_t *S = data;
  *buf = S->in;
  while (true) {
    ssize_t n = read(S->fd, S->in, sizeof(S->in));
    if (n >= 0 || errno != EINTR) {
      if (n < 0) {
        archive_set_error(a, errno, "reading the archive: %s", strerror(errno));
      }
      return n;
    }
  }
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return w < 0 ? -errno : -EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int stage_file(hcsd__img_stage_t *S, struct archive *a, char *name) {
  char *blob = NULL;
  if (asprintf(&blob, "%s/f%zu", S->dir, S->n) < 0) {
    free(name);
    return fail(S, "out of memory");
  }
  int fd = open(blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int err = fd < 0 ? -errno : 0;
  la_ssize_t n;
  while (err == 0 && (n = archive_read_data(a, S->buf, sizeof(S->buf))) != 0) {
    err = n < 0 ? -EIO : write_all(fd, S->buf, (size_t)n);
  }
  if (fd >= 0) {
    close(fd);
  }
  if (err != 0) {
    int r = err == -EIO ? fail(S, "invalid archive: %s: %s", name,
                               archive_error_string(a))
                        : fail(S, "writing %s: %s", blob, strerror(-err));
    free(name);
    free(blob);
    return r;
  }
  return add_entry(S, name, blob, NULL);
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
    return stage_file(S, a, name);
  }
  if (alias != NULL) {
    return add_entry(S, name, NULL, alias);
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

int hcsd__img_stage_read(hcsd__img_stage_t *S, int fd) {
  S->fd = fd;
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
