/* Buffer pool: four size classes over the allocation seam. A freed buffer
 * goes on its class's free list (bounded, so an idle loop gives memory
 * back) and the next get of that class reuses it while it is still warm
 * in the cache. Each buffer carries a 16-byte header naming its class. */
#include "async/as.h"

#include <assert.h>
#include <errno.h>

enum { CLASSES = 4, CACHE_BYTES_PER_CLASS = 1024 * 1024 };

static const size_t class_size[CLASSES] = {1024, 4096, 16384, AS_BUF_MAX};

typedef struct buf_hdr_s {
  union {
    struct buf_hdr_s *next; /* on a free list */
    uint64_t cls;           /* handed out */
  } u;
  uint64_t magic;
} buf_hdr_t;

#define BUF_MAGIC 0x68637362756671ULL

struct as_bufpool_s {
  buf_hdr_t *free_list[CLASSES];
  size_t free_count[CLASSES];
  as_bufpool_stats_t st;
};

int as_bufpool_new(as_bufpool_t **out) {
  as_bufpool_t *pool = as_calloc(1, sizeof(*pool));
  if (pool == NULL) {
    return -ENOMEM;
  }
  *out = pool;
  return 0;
}

void as_bufpool_free(as_bufpool_t *pool) {
  if (pool == NULL) {
    return;
  }
  assert(pool->st.in_use == 0);
  for (int c = 0; c < CLASSES; c++) {
    buf_hdr_t *h = pool->free_list[c];
    while (h != NULL) {
      buf_hdr_t *next = h->u.next;
      as_free(h);
      h = next;
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

void *as_bufpool_get(as_bufpool_t *pool, size_t size) {
  int c = class_of(size);
  if (c < 0) {
    return NULL;
  }
  buf_hdr_t *h = pool->free_list[c];
  if (h != NULL) {
    pool->free_list[c] = h->u.next;
    pool->free_count[c]--;
    pool->st.cached -= class_size[c];
    pool->st.reuses++;
  } else {
    h = as_malloc(sizeof(*h) + class_size[c]);
    if (h == NULL) {
      return NULL;
    }
  }
  h->u.cls = (uint64_t)c;
  h->magic = BUF_MAGIC;
  pool->st.allocs++;
  pool->st.in_use += class_size[c];
  if (pool->st.in_use > pool->st.high_water) {
    pool->st.high_water = pool->st.in_use;
  }
  return h + 1;
}

size_t as_bufpool_cap(const void *buf) {
  const buf_hdr_t *h = (const buf_hdr_t *)buf - 1;
  assert(h->magic == BUF_MAGIC && h->u.cls < CLASSES);
  return class_size[h->u.cls];
}

void as_bufpool_put(as_bufpool_t *pool, void *buf) {
  if (buf == NULL) {
    return;
  }
  buf_hdr_t *h = (buf_hdr_t *)buf - 1;
  assert(h->magic == BUF_MAGIC && h->u.cls < CLASSES);
  int c = (int)h->u.cls;
  h->magic = 0; /* a second put of the same buffer trips the assert */
  pool->st.in_use -= class_size[c];
  if (pool->free_count[c] * class_size[c] >= CACHE_BYTES_PER_CLASS) {
    as_free(h);
    return;
  }
  h->u.next = pool->free_list[c];
  pool->free_list[c] = h;
  pool->free_count[c]++;
  pool->st.cached += class_size[c];
}

void as_bufpool_stats(const as_bufpool_t *pool, as_bufpool_stats_t *st) {
  *st = pool->st;
}
