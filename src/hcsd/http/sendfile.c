/* SPDX-License-Identifier: MIT */
/* hcsd_reply_file (h_system.h): a file as the chunked body of a reply,
 * read on the pool a block at a time; the next block is read once the
 * client has taken all but a little of the last (hcsd_chunked_on_drain),
 * so that a reply of any size holds one block in memory. */
#include "hcsd/http/h_system.h"
#include "hcsd/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_BLOCK (1u << 20)

typedef struct fsend_s {
  hcsd_t *d;
  hcsd_req_t *r;
  const char *content_type; /* static */
  int fd;
  off_t off;
  ssize_t got; /* the last read's bytes, or -errno */
  bool began;  /* the reply's head is sent */
  bool busy;   /* a read is under way, or its end is being handled */
  bool gone;   /* the client went: r is let go */
  char *buf;
} fsend_t;

static void fsend_free(fsend_t *f) {
  close(f->fd);
  free(f->buf);
  free(f);
}

static void fsend_gone(hcsd_req_t *r, void *data) {
  fsend_t *f = data;
  f->gone = true;
  hcsd_req_unref(r);
  if (!f->busy) {
    fsend_free(f);
  }
}

static void read_work(void *data) {
  fsend_t *f = data;
  ssize_t n;
  do {
    n = pread(f->fd, f->buf, FILE_BLOCK, f->off);
  } while (n < 0 && errno == EINTR);
  f->got = n < 0 ? -errno : n;
}

static void drained(hcsd_req_t *r, void *data);

static void read_done(void *data) {
  fsend_t *f = data;
  if (f->gone) {
    fsend_free(f);
    return;
  }
  hcsd_req_t *r = f->r;
  if (f->got > 0 && !f->began) {
    f->began = true;
    hcsd_chunked_begin(r, 200, f->content_type, f->buf, (size_t)f->got);
  } else if (f->got > 0 && hcsd_chunked_write(r, f->buf, (size_t)f->got) != 0) {
    fsend_free(f); /* dropped: the gone callback let r go */
    return;
  }
  f->busy = false;
  if (f->got > 0) {
    f->off += f->got;
    hcsd_chunked_on_drain(r, drained, f);
    return;
  }
  if (f->got < 0) {
    /* Cut short: the client sees a body that ends early. */
    hcsd_log("%s: reading its reply: %s", r->path, strerror((int)-f->got));
  }
  if (!f->began) {
    hcsd_chunked_begin(r, 200, f->content_type, NULL, 0);
  }
  hcsd_chunked_end(r);
  hcsd_req_unref(r);
  fsend_free(f);
}

static void drained(hcsd_req_t *r, void *data) {
  fsend_t *f = data;
  (void)r;
  f->busy = true;
  if (hcsd_work(f->d, read_work, read_done, f) != 0) {
    f->got = -ENOMEM;
    read_done(f);
  }
}

void hcsd_reply_file(hcsd_t *d, hcsd_req_t *r, int fd,
                     const char *content_type) {
  fsend_t *f = calloc(1, sizeof(*f));
  if (f == NULL || (f->buf = malloc(FILE_BLOCK)) == NULL) {
    free(f);
    close(fd);
    hcsd_reply_error(r, 500, "out of memory");
    hcsd_req_unref(r);
    return;
  }
  *f = (fsend_t){
      .d = d, .r = r, .content_type = content_type, .fd = fd, .buf = f->buf};
  if (hcsd_req_on_gone(r, fsend_gone, f) != 0) {
    hcsd_req_unref(r);
    fsend_free(f);
    return;
  }
  drained(r, f);
}
