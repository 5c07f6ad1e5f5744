/* The allocation seam: every engine allocation and every libuv allocation
 * goes through here. mimalloc in normal builds; libc in sanitizer builds
 * (HCS_NO_MIMALLOC), so that ASan sees each allocation. */
#include "hcs-async.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#ifndef HCS_NO_MIMALLOC
#include <mimalloc.h>
#define seam_malloc mi_malloc
#define seam_calloc mi_calloc
#define seam_realloc mi_realloc
#define seam_free mi_free
#else
#define seam_malloc malloc
#define seam_calloc calloc
#define seam_realloc realloc
#define seam_free free
#endif

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void alloc_install(void) {
  /* uv_replace_allocator must precede every other libuv call in the
   * process; it only fails on NULL arguments. */
  if (uv_replace_allocator(seam_malloc, seam_realloc, seam_calloc, seam_free) !=
      0) {
    abort(); /* impossible: all four functions are non-NULL */
  }
}

void as_alloc_init(void) { pthread_once(&alloc_once, alloc_install); }

void *as_malloc(size_t size) { return seam_malloc(size); }

void *as_calloc(size_t n, size_t size) { return seam_calloc(n, size); }

void *as_realloc(void *p, size_t size) { return seam_realloc(p, size); }

void as_free(void *p) { seam_free(p); }

char *as_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = as_malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}
