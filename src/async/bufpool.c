/* SPDX-License-Identifier: MIT */
/* Buffer pool: six size classes over the allocation seam, 1 KiB to
 * AS_BUF_MAX. A freed buffer goes on its class's free list and the next
 * get of that class reuses it while it is still warm in the cache. Each
 * list keeps at most CACHE_BYTES_PER_CLASS (one buffer of the largest
 * class, four of the 256 KiB one), so what an idle loop keeps is bounded
 * whatever its streams did: the large classes serve the reads of bulky
 * streams (pump.c), one or two in flight at a time per loop, and a
 * consumer that held many of them gives the surplus back to the seam.
 *
 * Each buffer's data starts on a page (64 bytes for the classes below a
 * page), with a small header just before it naming its class and the
 * allocation. The alignment is for speed, measured: the kernel's copy into
 * a pipe reader's buffer ran 2-3x slower on an AMD EPYC when the buffer
 * began 16 bytes into a page (where a plain header would put it) than at
 * the page itself (BENCHMARKS.md, bulk). */
#include "async/internal.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

enum {
  CLASSES = 6,
  CACHE_BYTES_PER_CLASS = 1024 * 1024,
  PAGE_ALIGN = 4096,
  LINE_ALIGN = 64,
};

static const size_t class_size[CLASSES] = {1024,  4096,   16384,
                                           65536, 262144, AS_BUF_MAX};
_Static_assert(AS_BUF_READ == 65536, "AS_BUF_READ is a class");

typedef struct buf_hdr_s {
  void *raw; /* what the seam allocated */
  uint32_t cls;
  uint32_t magic;
} buf_hdr_t;

#define BUF_MAGIC 0x68637362u

/* A free buffer's first bytes link it into its class's list. */
typedef struct free_buf_s {
  struct free_buf_s *next;
} free_buf_t;

struct as_bufpool_s {
  free_buf_t *free_list[CLASSES];
  size_t free_count[CLASSES];
  as_bufpool_stats_t st;
};

static size_t align_of(int c) {
  return class_size[c] >= PAGE_ALIGN ? PAGE_ALIGN : LINE_ALIGN;
}

static buf_hdr_t *hdr_of(const void *buf) {
  return (buf_hdr_t *)(uintptr_t)buf - 1;
}

int as_bufpool_new(as_bufpool_t **out) {
  as_bufpool_t *pool = as_calloc(1, sizeof(*pool));
  if (pool == NULL) {
    return -ENOMEM;
  }
  *out = pool;
  return 0;
}

static void buf_release(void *buf) { as_free(hdr_of(buf)->raw); }

void as_bufpool_free(as_bufpool_t *pool) {
  if (pool == NULL) {
    return;
  }
  assert(pool->st.in_use == 0);
  for (int c = 0; c < CLASSES; c++) {
    free_buf_t *f = pool->free_list[c];
    while (f != NULL) {
      free_buf_t *next = f->next;
      buf_release(f);
      f = next;
    }
  }
  as_free(pool);
}

static int class_of(size_t size) {
  for (int c = 0; c < CLASSES; c++) {
    if (size <= class_size[c]) {
      return c;
    }
  }
  return -1;
}

static void *buf_alloc(int c) {
  size_t align = align_of(c);
  char *raw = as_malloc(sizeof(buf_hdr_t) + align + class_size[c]);
  if (raw == NULL) {
    return NULL;
  }
  uintptr_t data = ((uintptr_t)raw + sizeof(buf_hdr_t) + align - 1) &
                   ~(uintptr_t)(align - 1);
  buf_hdr_t *h = hdr_of((void *)data);
  h->raw = raw;
  h->cls = (uint32_t)c;
  return (void *)data;
}

void *as_bufpool_get(as_bufpool_t *pool, size_t size) {
  int c = class_of(size);
  if (c < 0) {
    return NULL;
  }
  void *buf = pool->free_list[c];
  if (buf != NULL) {
    pool->free_list[c] = pool->free_list[c]->next;
    pool->free_count[c]--;
    pool->st.cached -= class_size[c];
    pool->st.reuses++;
  } else if ((buf = buf_alloc(c)) == NULL) {
    return NULL;
  }
  hdr_of(buf)->magic = BUF_MAGIC;
  pool->st.allocs++;
  pool->st.in_use += class_size[c];
  if (pool->st.in_use > pool->st.high_water) {
    pool->st.high_water = pool->st.in_use;
  }
  return buf;
}

size_t as_bufpool_cap(const void *buf) {
  const buf_hdr_t *h = hdr_of(buf);
  assert(h->magic == BUF_MAGIC && h->cls < CLASSES);
  return class_size[h->cls];
}

void as_bufpool_put(as_bufpool_t *pool, void *buf) {
  if (buf == NULL) {
    return;
  }
  buf_hdr_t *h = hdr_of(buf);
  assert(h->magic == BUF_MAGIC && h->cls < CLASSES);
  int c = (int)h->cls;
  h->magic = 0; /* a second put of the same buffer trips the assert */
  pool->st.in_use -= class_size[c];
  if (pool->free_count[c] * class_size[c] >= CACHE_BYTES_PER_CLASS) {
    buf_release(buf);
    return;
  }
  free_buf_t *f = buf;
  f->next = pool->free_list[c];
  pool->free_list[c] = f;
  pool->free_count[c]++;
  pool->st.cached += class_size[c];
}

void as_bufpool_stats(const as_bufpool_t *pool, as_bufpool_stats_t *st) {
  *st = pool->st;
}

ssize_t as__read_pooled(as_bufpool_t *pool, int fd, char **buf) {
  return as__read_pooled_n(pool, fd, AS_BUF_READ, buf);
}

ssize_t as__read_pooled_n(as_bufpool_t *pool, int fd, size_t size, char **buf) {
  char *b = as_bufpool_get(pool, size);
  if (b == NULL) {
    return -ENOMEM;
  }
  ssize_t n;
  do {
    n = read(fd, b, size);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *buf = b;
    return n;
  }
  int err = n < 0 ? errno : 0;
  as_bufpool_put(pool, b);
  return -err;
}
