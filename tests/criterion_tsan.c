/* SPDX-License-Identifier: MIT */
/* Linked into the test programs of a ThreadSanitizer build only
 * (tests/CMakeLists.txt): lets Criterion start under TSan.
 *
 * Criterion's arenas (BoxFort, src/arena.c) are mapped at a random 16 MiB
 * slot between 0x200000000000 and 0x600000000000, drawn with rand_r(), the
 * slot refused if its first page is mapped, ten draws at most. TSan
 * reserves almost all of that range for its shadow and metadata (only
 * 0x550000000000-0x568000000000 is left to programs), so a draw fits one
 * time in forty and Criterion aborts with "Could not initialize
 * inheritable arena: Resource temporarily unavailable" or crashes
 * (Criterion issue #274). This rand_r, found before libc's by Criterion's
 * calls, answers Criterion with a draw whose slot is unmapped; every other
 * caller gets libc's rand_r unchanged. Nothing here touches the code under
 * test: TSan still sees all of it. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* BoxFort's constants for 64-bit Linux (mmap_base, mmap_off,
 * mmap_off_mask). Should they change, the draws stay random and only the
 * help is lost. */
#define BXF_MMAP_BASE ((uintptr_t)0x200000000000)
#define BXF_MMAP_SHIFT 24
#define BXF_MMAP_MASK 0x3fffff

static int slot_unmapped(int draw) {
  uintptr_t base =
      BXF_MMAP_BASE + ((uintptr_t)(draw & BXF_MMAP_MASK) << BXF_MMAP_SHIFT);
  unsigned char vec;
  /* mincore fails with ENOMEM on a page that is not mapped. */
  return mincore((void *)base, (size_t)sysconf(_SC_PAGESIZE), &vec) == -1 &&
         errno == ENOMEM;
}

static int from_criterion(const void *caller) {
  Dl_info info;
  return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
         strstr(info.dli_fname, "libcriterion") != NULL;
}

int rand_r(unsigned int *seed) {
  int (*libc_rand_r)(unsigned int *) =
      (int (*)(unsigned int *))dlsym(RTLD_NEXT, "rand_r");
  int draw = libc_rand_r(seed);
  if (!from_criterion(__builtin_return_address(0))) {
    return draw;
  }
  int saved = errno;
  /* About one draw in forty fits; a thousand make a miss unheard of. */
  for (int i = 0; i < 1000 && !slot_unmapped(draw); i++) {
    draw = libc_rand_r(seed);
  }
  errno = saved;
  return draw;
}
