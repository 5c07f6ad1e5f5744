/* SPDX-License-Identifier: MIT */
/* libFuzzer target: seccomp profiles in Docker's JSON format. Whatever the
 * input, the call gives a filter the kernel could take (1 to BPF_MAXINSNS
 * instructions) or a refusal with a sentence, and *out zeroed. */
#include "hcs/system/seccomp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The persistent cache is the machine's (/run/hcs/seccomp-cache): random
 * profiles must not evict real entries there. test_seccomp_cache drives
 * the cache on a directory of its own. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return hcs__seccomp_cache_set(NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Up to the first NUL: the parser takes a C string. */
  char *text = strndup((const char *)data, size);
  hcs__bpf_t bpf;
  if (text == NULL) {
    return 0;
  }
  char why[128];
  int r = hcs__seccomp_from_json(text, HCS__SECCOMP_DOCKER_CAPS, &bpf, why,
                                 sizeof(why));
  if (memchr(why, '\0', sizeof(why)) == NULL) {
    abort();
  }
  if (r == 0) {
    if (bpf.insns == NULL || bpf.len == 0 || bpf.len > BPF_MAXINSNS) {
      abort();
    }
    hcs__bpf_free(&bpf);
  } else if (r >= 0 || bpf.insns != NULL || bpf.len != 0 ||
             (r == -EINVAL && why[0] == '\0')) {
    abort();
  }
  free(text);
  return 0;
}
