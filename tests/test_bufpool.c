/* SPDX-License-Identifier: MIT */
/* The buffer pool: size classes (1 KiB to AS_BUF_MAX), reuse,
 * in_use/high_water accounting and the bound on what the free lists
 * keep, the large classes included. */
#include <hcs-async.h>

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

enum { KIB = 1024, CACHE_PER_CLASS = 1024 * KIB };

static const size_t classes[] = {1 * KIB,  4 * KIB,   16 * KIB,
                                 64 * KIB, 256 * KIB, 1024 * KIB};
enum { NCLASSES = sizeof(classes) / sizeof(classes[0]) };

static as_bufpool_t *pool_new(void) {
  as_alloc_init();
  as_bufpool_t *pool = NULL;
  cr_assert_eq(as_bufpool_new(&pool), 0);
  cr_assert_not_null(pool);
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use + st.high_water + st.cached + st.allocs + st.reuses,
               0);
  return pool;
}

Test(bufpool, size_classes) {
  static const struct {
    size_t ask, cap;
  } cases[] = {
      {0, 1 * KIB},
      {1, 1 * KIB},
      {1 * KIB, 1 * KIB},
      {1 * KIB + 1, 4 * KIB},
      {4 * KIB, 4 * KIB},
      {4 * KIB + 1, 16 * KIB},
      {16 * KIB, 16 * KIB},
      {16 * KIB + 1, 64 * KIB},
      {64 * KIB, 64 * KIB},
      {64 * KIB + 1, 256 * KIB},
      {256 * KIB, 256 * KIB},
      {256 * KIB + 1, 1024 * KIB},
      {AS_BUF_MAX, 1024 * KIB},
  };
  as_bufpool_t *pool = pool_new();
  size_t in_use = 0;
  void *bufs[sizeof(cases) / sizeof(cases[0])];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *b = as_bufpool_get(pool, cases[i].ask);
    cr_assert_not_null(b, "get(%zu)", cases[i].ask);
    cr_assert_eq(as_bufpool_cap(b), cases[i].cap, "get(%zu): cap %zu",
                 cases[i].ask, as_bufpool_cap(b));
    /* The whole capacity is usable (ASan checks the bounds). */
    memset(b, 0xa5, as_bufpool_cap(b));
    bufs[i] = b;
    in_use += cases[i].cap;
    as_bufpool_stats_t st;
    as_bufpool_stats(pool, &st);
    cr_assert_eq(st.in_use, in_use);
  }
  /* Past the largest class there is no buffer, and nothing is counted. */
  cr_assert_null(as_bufpool_get(pool, AS_BUF_MAX + 1));
  cr_assert_null(as_bufpool_get(pool, (size_t)-1));
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, in_use);
  cr_assert_eq(st.allocs, sizeof(cases) / sizeof(cases[0]));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    as_bufpool_put(pool, bufs[i]);
  }
  as_bufpool_put(pool, NULL); /* accepted, no effect */
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 0);
  /* Two of 1 MiB came back, and that list keeps one. */
  cr_assert_eq(st.cached, in_use - AS_BUF_MAX);
  as_bufpool_free(pool);
}

Test(bufpool, reuse_within_a_class) {
  as_bufpool_t *pool = pool_new();
  for (int c = 0; c < NCLASSES; c++) {
    void *a = as_bufpool_get(pool, classes[c]);
    cr_assert_not_null(a);
    as_bufpool_put(pool, a);
    as_bufpool_stats_t st;
    as_bufpool_stats(pool, &st);
    uint64_t reuses = st.reuses;
    /* Any size of the same class takes the cached buffer back. */
    void *b = as_bufpool_get(pool, c == 0 ? 1 : classes[c - 1] + 1);
    cr_assert_eq(b, a, "class %zu: the cached buffer was not reused",
                 classes[c]);
    as_bufpool_stats(pool, &st);
    cr_assert_eq(st.reuses, reuses + 1);
    as_bufpool_put(pool, b);
  }
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.reuses, NCLASSES);
  cr_assert_eq(st.allocs, 2 * NCLASSES);
  cr_assert_eq(st.cached, 1 * KIB + 4 * KIB + 16 * KIB + 64 * KIB + 256 * KIB +
                              1024 * KIB);
  as_bufpool_free(pool);
}

Test(bufpool, classes_do_not_mix) {
  as_bufpool_t *pool = pool_new();
  void *small = as_bufpool_get(pool, 1 * KIB);
  as_bufpool_put(pool, small);
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.cached, 1 * KIB);
  /* A 64 KiB request cannot be served from the cached 1 KiB buffer. */
  void *big = as_bufpool_get(pool, 64 * KIB);
  cr_assert_neq(big, small);
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.reuses, 0);
  cr_assert_eq(st.cached, 1 * KIB);
  as_bufpool_put(pool, big);
  as_bufpool_free(pool);
}

Test(bufpool, in_use_and_high_water) {
  /* The classes up to AS_BUF_READ: their lists keep all N / 2. */
  enum { N = 40, NSMALL = 4 };
  as_bufpool_t *pool = pool_new();
  void *b[N];
  size_t expect = 0;
  for (int i = 0; i < N; i++) {
    size_t cls = classes[i % NSMALL];
    b[i] = as_bufpool_get(pool, cls);
    cr_assert_not_null(b[i]);
    expect += cls;
  }
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, expect);
  cr_assert_eq(st.high_water, expect);
  size_t peak = expect;
  /* Give half back: in_use drops, the high water mark stays. */
  for (int i = 0; i < N; i += 2) {
    as_bufpool_put(pool, b[i]);
    expect -= classes[i % NSMALL];
  }
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, expect);
  cr_assert_eq(st.high_water, peak);
  /* Taking them again (from the free lists) does not pass the peak. */
  for (int i = 0; i < N; i += 2) {
    b[i] = as_bufpool_get(pool, classes[i % NSMALL]);
    expect += classes[i % NSMALL];
  }
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, peak);
  cr_assert_eq(st.high_water, peak);
  cr_assert_eq(st.reuses, N / 2);
  cr_assert_eq(st.allocs, N + N / 2);
  /* One more, and the mark follows. */
  void *extra = as_bufpool_get(pool, 1);
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.high_water, peak + 1 * KIB);
  as_bufpool_put(pool, extra);
  for (int i = 0; i < N; i++) {
    as_bufpool_put(pool, b[i]);
  }
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 0);
  cr_assert_eq(st.high_water, peak + 1 * KIB);
  as_bufpool_free(pool);
}

/* Each class keeps at most 1 MiB on its free list; the rest goes back to
 * the allocator (under ASan a buffer neither cached nor freed would show
 * as a leak). */
Test(bufpool, cache_is_bounded) {
  as_bufpool_t *pool = pool_new();
  size_t cached_total = 0;
  for (int c = 0; c < NCLASSES; c++) {
    size_t keep = CACHE_PER_CLASS / classes[c];
    size_t n = keep * 2 + 3;
    void **b = calloc(n, sizeof(*b));
    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++) {
      b[i] = as_bufpool_get(pool, classes[c]);
      cr_assert_not_null(b[i]);
    }
    for (size_t i = 0; i < n; i++) {
      as_bufpool_put(pool, b[i]);
      as_bufpool_stats_t st;
      as_bufpool_stats(pool, &st);
      size_t this_class = st.cached - cached_total;
      cr_assert_leq(this_class, CACHE_PER_CLASS, "class %zu caches %zu bytes",
                    classes[c], this_class);
    }
    as_bufpool_stats_t st;
    as_bufpool_stats(pool, &st);
    cr_assert_eq(st.cached - cached_total, keep * classes[c],
                 "class %zu: %zu cached, want %zu", classes[c],
                 st.cached - cached_total, keep * classes[c]);
    cached_total = st.cached;
    /* The cached ones are all reused before anything new is allocated. */
    uint64_t reuses = st.reuses;
    for (size_t i = 0; i < keep; i++) {
      b[i] = as_bufpool_get(pool, classes[c]);
    }
    as_bufpool_stats(pool, &st);
    cr_assert_eq(st.reuses - reuses, keep);
    cr_assert_eq(st.cached, cached_total - keep * classes[c]);
    for (size_t i = 0; i < keep; i++) {
      as_bufpool_put(pool, b[i]);
    }
    free(b);
  }
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 0);
  cr_assert_eq(st.cached, NCLASSES * (size_t)CACHE_PER_CLASS);
  as_bufpool_free(pool);
}

/* A loop's pool is what the sessions use: fresh, it holds nothing. */
Test(bufpool, loop_pool) {
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  as_bufpool_t *pool = as_loop_pool(loop);
  cr_assert_not_null(pool);
  void *b = as_bufpool_get(pool, 100);
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 1 * KIB);
  as_bufpool_put(pool, b);
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 0);
  as_loop_free(loop);
}

/* The header's constants name classes: AS_BUF_READ (a default read) and
 * AS_BUF_MAX (the largest) give exactly that capacity; the classes of a
 * page and more start on a page, the kernel's fast case for a copy into
 * them (bufpool.c). */
Test(bufpool, read_and_max_are_classes) {
  cr_assert_eq(AS_BUF_READ, 64 * KIB);
  cr_assert_eq(AS_BUF_MAX, 1024 * KIB);
  as_bufpool_t *pool = pool_new();
  for (int c = 0; c < NCLASSES; c++) {
    char *b = as_bufpool_get(pool, classes[c]);
    cr_assert_not_null(b);
    cr_assert_eq(as_bufpool_cap(b), classes[c]);
    if (classes[c] >= 4 * KIB) {
      cr_assert_eq((uintptr_t)b % (4 * KIB), 0, "class %zu not on a page",
                   classes[c]);
    }
    as_bufpool_put(pool, b);
  }
  as_bufpool_free(pool);
}

/* Large buffers held by a consumer (eight 1 MiB ones) come back to a
 * cache that keeps one: what an idle loop keeps does not grow with what
 * a burst took. */
Test(bufpool, large_burst_leaves_one_cached) {
  enum { N = 8 };
  as_bufpool_t *pool = pool_new();
  void *b[N];
  for (int i = 0; i < N; i++) {
    b[i] = as_bufpool_get(pool, AS_BUF_MAX);
    cr_assert_not_null(b[i]);
  }
  as_bufpool_stats_t st;
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, (size_t)N * AS_BUF_MAX);
  for (int i = 0; i < N; i++) {
    as_bufpool_put(pool, b[i]);
  }
  as_bufpool_stats(pool, &st);
  cr_assert_eq(st.in_use, 0);
  cr_assert_eq(st.cached, (size_t)AS_BUF_MAX);
  as_bufpool_free(pool);
}
