/* SPDX-License-Identifier: MIT */
/* Between seccomp.c and seccomp_json.c: one filter under construction with
 * libseccomp, and the names of syscalls. */
#ifndef HCS_HCS_SECCOMP_BUILD_H
#define HCS_HCS_SECCOMP_BUILD_H

#include "hcs/system/seccomp.h"

#include <seccomp.h>
#include <sys/types.h>

/* Rules go into ctx, which holds the native ABI, and into other, which
 * holds the other ABIs a profile lists (NULL: none); the two are merged
 * before export. libseccomp translates a syscall number to another ABI
 * through its name, so a syscall it cannot name (a late one, see
 * hcs__seccomp_resolve) can only be given to the native ABI (it fails with
 * EFAULT in a filter of several). */
typedef struct hcs__seccomp_build_s {
  scmp_filter_ctx ctx, other;
  uint32_t defact;
  int max_nr; /* the highest native syscall number given a rule; -1 */
  char *why;  /* the sentence on failure; may be NULL */
  size_t why_len;
} hcs__seccomp_build_t;

/* The native number of name; a libseccomp pseudo number (< 0) for a
 * syscall that only other ABIs have; __NR_SCMP_ERROR when neither
 * libseccomp nor this module knows it. *late: known to this module only. */
int hcs__seccomp_resolve(const char *name, int *late);

/* Writes a sentence into b->why (when there is one) and returns err. */
int hcs__seccomp_say(hcs__seccomp_build_t *b, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A filter for the native ABI with default action defact. 0 or -errno
 * (with why said); nothing to abort on failure. */
int hcs__seccomp_build_init(hcs__seccomp_build_t *b, uint32_t defact, char *why,
                            size_t why_len);
/* Adds an ABI (a libseccomp SCMP_ARCH_* token); before any rule. */
int hcs__seccomp_build_arch(hcs__seccomp_build_t *b, uint32_t token);
/* A rule: act for syscall nr (late as hcs__seccomp_resolve said) when the n
 * comparisons hold. libseccomp's 0 or -errno. */
int hcs__seccomp_build_add(hcs__seccomp_build_t *b, uint32_t act, int nr,
                           int late, unsigned n,
                           const struct scmp_arg_cmp *cmp);
/* Exports the filter into *out (freed with hcs__bpf_free) and releases
 * libseccomp's context, on failure too. 0 or -errno with why said. */
int hcs__seccomp_build_finish(hcs__seccomp_build_t *b, hcs__bpf_t *out);
/* Reads size bytes of fd from offset at into dst; a short file is -EIO.
 * 0 or -errno. */
int hcs__seccomp_read_at(int fd, void *dst, size_t size, off_t at);
/* Releases what is left of b; safe after finish and twice. */
void hcs__seccomp_build_abort(hcs__seccomp_build_t *b);

/* The persistent cache (seccomp_cache.c). get: 0 with *out set (freed
 * with hcs__bpf_free), or -errno (-ENOENT: not there) for a compile. put
 * stores bpf, ignoring failures. */
int hcs__seccomp_cache_get(const char *json, uint64_t caps, hcs__bpf_t *out);
void hcs__seccomp_cache_put(const char *json, uint64_t caps,
                            const hcs__bpf_t *bpf);

#endif
