/* SPDX-License-Identifier: MIT */
/* An embedding program keeps its own heap and its own libuv: linking the
 * hcs libraries (built twice, against libhcs.so and libhcs.a) changes
 * neither its malloc/free nor libuv's global allocator, while hcs's own
 * objects come from mimalloc where it is installed. The program runs a uv
 * loop of its own beside the engine's, and a process through hcs. */
#include <hcs-async.h>
#include <hcs.h>

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* libuv's allocator as this program installs it, counting its calls. */
static atomic_long uv_allocs;

static void *count_malloc(size_t n) {
  atomic_fetch_add(&uv_allocs, 1);
  return malloc(n);
}

static void *count_realloc(void *p, size_t n) {
  atomic_fetch_add(&uv_allocs, 1);
  return realloc(p, n);
}

static void *count_calloc(size_t n, size_t size) {
  atomic_fetch_add(&uv_allocs, 1);
  return calloc(n, size);
}

static void count_setup(void) {
  cr_assert_eq(
      uv_replace_allocator(count_malloc, count_realloc, count_calloc, free), 0);
}

/* The file of the object that defines sym in the global scope. */
static const char *defined_in(const char *sym) {
  Dl_info info;
  void *p = dlsym(RTLD_DEFAULT, sym);
  cr_assert_not_null(p, "%s is not defined", sym);
  cr_assert_neq(dladdr(p, &info), 0);
  return info.dli_fname;
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  (void)sig;
  *(int64_t *)p->data = status;
  uv_close((uv_handle_t *)p, NULL);
}

/* A child through the program's own loop. */
static void own_loop_spawn(void) {
  uv_loop_t loop;
  cr_assert_eq(uv_loop_init(&loop), 0);
  uv_process_t proc;
  int64_t status = -1;
  proc.data = &status;
  char *args[] = {"/bin/sh", "-c", "exit 7", NULL};
  uv_process_options_t o = {
      .exit_cb = on_exit_cb, .file = args[0], .args = args};
  cr_assert_eq(uv_spawn(&loop, &proc, &o), 0);
  cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  cr_assert_eq(status, 7);
  cr_assert_eq(uv_loop_close(&loop), 0);
}

/* A child through hcs: a host system, one process with its stdout. */
static void hcs_spawn(hcs_t *h) {
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_CreateComputeSystem(
      h, "embed", "{\"SystemType\":\"Container\",\"IsDummy\":true}", &err);
  cr_assert_eq(r, HCS_OK, "create: %s", err ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_StartComputeSystem(h, "embed", &err), HCS_OK);
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  const char *args[] = {"/bin/sh", "-c", "echo embedded", NULL};
  p.args = args;
  uint32_t pid = 0;
  int out = -1;
  r = hcs_CreateProcessInComputeSystem(h, "embed", false, true, false, &p, &pid,
                                       NULL, &out, NULL, &err);
  cr_assert_eq(r, HCS_OK, "process: %s", err ? hcs_error_message(err) : "");
  char buf[64] = {0};
  size_t got = 0;
  ssize_t k;
  while ((k = read(out, buf + got, sizeof(buf) - 1 - got)) > 0) {
    got += (size_t)k;
  }
  close(out);
  cr_assert_str_eq(buf, "embedded\n");
  int32_t code = -1;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "embed", pid, 30000, &code, &err),
      HCS_OK);
  cr_assert_eq(code, 0);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "embed", 30000, NULL, &err),
               HCS_OK);
}

/* mimalloc's own test of its pointers, from the copy hcs loaded. */
typedef bool (*in_heap_fn)(const void *p);
static in_heap_fn mi_in_heap(void) {
  cr_assert(as_alloc_is_mimalloc(), "libmimalloc.so.2 was not loaded");
  void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
  cr_assert_not_null(mi);
  in_heap_fn f = (in_heap_fn)dlsym(mi, "mi_is_in_heap_region");
  cr_assert_not_null(f);
  dlclose(mi); /* still loaded: hcs holds it */
  return f;
}

Test(embed, program_heap_and_libuv_stay_its_own) {
  /* libuv, untouched by the program so far, allocates from libc: hcs did
   * not replace its allocator when it was loaded. */
  in_heap_fn in_heap = mi_in_heap();
  uv_loop_t *l = uv_loop_new();
  cr_assert_not_null(l);
  cr_assert(!in_heap(l), "libuv allocates from hcs's mimalloc");
  uv_loop_delete(l);
  count_setup();

  /* The program's malloc and free are libc's. */
  cr_assert(strstr(defined_in("malloc"), "libc.so") != NULL,
            "malloc comes from %s", defined_in("malloc"));
  cr_assert(strstr(defined_in("free"), "libc.so") != NULL, "free comes from %s",
            defined_in("free"));

  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, NULL, &err), HCS_OK);
  hcs_spawn(h);

  /* libuv still allocates through this program's allocator, with the
   * engine running beside it. */
  long before = atomic_load(&uv_allocs);
  own_loop_spawn();
  cr_assert_gt(atomic_load(&uv_allocs), before,
               "libuv's allocator was replaced");

  /* The program's allocations are served by glibc's heap. */
  struct mallinfo2 m0 = mallinfo2();
  void *blocks[64];
  for (int i = 0; i < 64; i++) {
    blocks[i] = malloc(1000);
    cr_assert_not_null(blocks[i]);
  }
  struct mallinfo2 m1 = mallinfo2();
  /* Other threads (the engine's) may free meanwhile: half is plenty. */
  cr_assert_geq(m1.uordblks, m0.uordblks + 64 * 1000 / 2,
                "glibc's heap did not serve malloc: %zu -> %zu", m0.uordblks,
                m1.uordblks);
  for (int i = 0; i < 64; i++) {
    free(blocks[i]);
  }

  /* hcs's own memory comes from mimalloc (installed by scripts/deps.sh),
   * and only through its seam. */
  void *ours = malloc(64), *theirs = as_malloc(64);
  cr_assert(!in_heap(ours), "the program's malloc went to mimalloc");
  cr_assert(in_heap(theirs), "as_malloc did not go to mimalloc");
  free(ours);
  as_free(theirs);
  hcs_close(h);
}
