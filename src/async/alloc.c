/* SPDX-License-Identifier: MIT */
/* The allocation seam: every engine and hcs allocation goes through here,
 * to mimalloc in normal builds and to libc in sanitizer builds
 * (HCS_NO_MIMALLOC), so that the sanitizers see each allocation.
 *
 * mimalloc is loaded privately (dlopen with RTLD_LOCAL) rather than
 * linked. Its library exports malloc and free: as a DT_NEEDED entry of a
 * program that links libhcs-async.a it comes before libc in the lookup
 * order and takes over the whole program's heap, which an embedding
 * program did not ask for. Loaded locally, only the four mi_ calls below
 * reach it. libuv's global allocator is left alone for the same reason
 * (uv_replace_allocator is process-wide): libuv's few internal
 * allocations stay the embedder's. Where mimalloc is not installed, the
 * seam falls back to libc.
 *
 * The table is one of the documented globals (docs/STYLE.md): written once,
 * under pthread_once, before any allocation of the engine. */
#include "hcs-async.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef HCS_NO_MIMALLOC
#include <dlfcn.h>
#endif

typedef struct seam_s {
  void *(*malloc)(size_t size);
  void *(*calloc)(size_t n, size_t size);
  void *(*realloc)(void *p, size_t size);
  void (*free)(void *p);
} seam_t;

static seam_t seam = {malloc, calloc, realloc, free};
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void alloc_install(void) {
#ifndef HCS_NO_MIMALLOC
  /* The soname of Debian 12's libmimalloc2.0 (mimalloc 2.0). The handle
   * is never closed: memory it handed out lives as long as the process. */
  void *h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    return;
  }
  seam_t mi = {
      .malloc = (void *(*)(size_t))dlsym(h, "mi_malloc"),
      .calloc = (void *(*)(size_t, size_t))dlsym(h, "mi_calloc"),
      .realloc = (void *(*)(void *, size_t))dlsym(h, "mi_realloc"),
      .free = (void (*)(void *))dlsym(h, "mi_free"),
  };
  if (mi.malloc != NULL && mi.calloc != NULL && mi.realloc != NULL &&
      mi.free != NULL) {
    seam = mi;
  }
#endif
}

/* Before main() and before anything of a program that links the engine
 * can allocate through the seam; as_alloc_init() stays callable for a
 * library loaded without running constructors in order. */
__attribute__((constructor)) static void alloc_ctor(void) { as_alloc_init(); }

void as_alloc_init(void) { pthread_once(&alloc_once, alloc_install); }

int as_alloc_is_mimalloc(void) {
  as_alloc_init();
  return seam.free != free;
}

void *as_malloc(size_t size) { return seam.malloc(size); }

void *as_calloc(size_t n, size_t size) { return seam.calloc(n, size); }

void *as_realloc(void *p, size_t size) { return seam.realloc(p, size); }

void as_free(void *p) { seam.free(p); }

char *as_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = as_malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}
