/* SPDX-License-Identifier: MIT */
/* Seccomp filters for the processes of compute systems, compiled to raw
 * classic BPF by libseccomp ahead of time, so that a spawn child installs
 * one with a single syscall between clone and execve (async-signal-safe:
 * the child never calls libseccomp):
 *
 *   struct sock_fprog prog = {.len = bpf->len, .filter = bpf->insns};
 *   prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);   (or CAP_SYS_ADMIN)
 *   syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
 *
 * The filters leave no_new_privs to the caller (libseccomp's CTL_NNP is
 * off) and are made for the seccomp flags 0. */
#ifndef HCS_HCS_SECCOMP_H
#define HCS_HCS_SECCOMP_H

#include <linux/capability.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hcs__bpf_s {
  struct sock_filter *insns; /* len instructions, from as_malloc */
  unsigned short len;
} hcs__bpf_t;

/* Frees insns (NULL is fine) and zeroes *bpf. Never for the default
 * filter, which is shared. */
void hcs__bpf_free(hcs__bpf_t *bpf);

/* The capability bits (1 << CAP_*) of Docker's default set, which is also
 * what a compute system's processes keep: the set against which a
 * profile's includes/excludes "caps" are weighed by default. */
#define HCS__SECCOMP_DOCKER_CAPS                                               \
  ((UINT64_C(1) << CAP_CHOWN) | (UINT64_C(1) << CAP_DAC_OVERRIDE) |            \
   (UINT64_C(1) << CAP_FOWNER) | (UINT64_C(1) << CAP_FSETID) |                 \
   (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_SETGID) |                   \
   (UINT64_C(1) << CAP_SETUID) | (UINT64_C(1) << CAP_SETPCAP) |                \
   (UINT64_C(1) << CAP_NET_BIND_SERVICE) | (UINT64_C(1) << CAP_NET_RAW) |      \
   (UINT64_C(1) << CAP_SYS_CHROOT) | (UINT64_C(1) << CAP_MKNOD) |              \
   (UINT64_C(1) << CAP_AUDIT_WRITE) | (UINT64_C(1) << CAP_SETFCAP))

/* The number of a capability named as in its CAP_* macro ("CAP_CHOWN"),
 * or -1. */
int hcs__cap_number(const char *name);
/* The highest capability number hcs knows. */
#define HCS__CAP_LAST CAP_CHECKPOINT_RESTORE

/* The default filter, equivalent to Docker's default profile for a
 * process with Docker's default capabilities (seccomp.c says where it
 * differs and why). Compiled on the first call in the process (one
 * pthread_once, the module's only global) and shared read-only from then
 * on: *out stays valid until the process exits; never free it. Any
 * thread. 0, or -ENOMEM / -errno from libseccomp, the same on every call
 * once the first has failed. */
int hcs__seccomp_default(const hcs__bpf_t **out);
/* The default filter for processes that hold caps (1 << CAP_*): Docker's
 * default profile with the rules it keeps for capabilities outside the
 * default set (mount, unshare, setns, ... for CAP_SYS_ADMIN). Compiled
 * on each call; *out freed with hcs__bpf_free. 0 or -errno. */
int hcs__seccomp_default_caps(uint64_t caps, hcs__bpf_t *out);

/* Compiles a profile in Docker's seccomp JSON format (the format of
 * `docker run --security-opt seccomp=FILE`): defaultAction,
 * defaultErrnoRet, architectures or archMap, syscalls[] of {names or name,
 * action, errnoRet, args[{index, value, valueTwo, op}], comment,
 * includes/excludes{caps, arches, minKernel}}. Rules are chosen as Docker
 * chooses them: arches against this machine's native architecture, caps
 * against the bits of caps (1 << CAP_*; HCS__SECCOMP_DOCKER_CAPS for a
 * system's processes), minKernel against uname. Syscall names that neither
 * libseccomp nor this module knows are skipped, as Docker skips them.
 * Non-empty "flags", "listenerPath", "listenerMetadata" and
 * SCMP_ACT_NOTIFY are refused (hcs installs with flags 0 and runs no
 * notify agent), as is any field that is not in the format; names are
 * matched exactly (Go's decoder, Docker's, ignores case). Numbers above
 * 2^63 - 1 are refused (jansson's integers). A syscall through an ABI the
 * profile does not list gets the default action, or EPERM when that lets
 * syscalls through. Under a refusing default, native syscalls numbered
 * above every one the profile names answer ENOSYS, as under runc.
 * On success *out holds a filter the caller frees with hcs__bpf_free().
 * -EINVAL with a sentence naming the field in why (always terminated when
 * why_len > 0) for a bad profile, -E2BIG past BPF_MAXINSNS instructions,
 * -ENOMEM, or -errno from libseccomp. Any thread. */
int hcs__seccomp_from_json(const char *json, uint64_t caps, hcs__bpf_t *out,
                           char *why, size_t why_len);
/* How many profiles hcs__seccomp_from_json has compiled (not answered
 * from its cache of the last two) in this process. */
unsigned long hcs__seccomp_compiles(void);

/* Every hcs-runc create is a process of its own, so
 * hcs__seccomp_from_json also keeps what it compiles in a persistent
 * cache (seccomp_cache.c): one file per filter in a root-only directory,
 * keyed by the SHA-256 of the profile's text, the capability set, the
 * native ABI, libseccomp's and the kernel's versions and this build,
 * checked (length and digest of the instructions) on every read, at most
 * HCS__SECCOMP_CACHE_MAX entries and HCS__SECCOMP_CACHE_BYTES bytes, the
 * least recently used going first. Any failure there means a compile. */
#define HCS__SECCOMP_CACHE_DIR "/run/hcs/seccomp-cache"
#define HCS__SECCOMP_CACHE_MAX 64
#define HCS__SECCOMP_CACHE_BYTES (8 * 1024 * 1024)
/* The cache's directory from now on, in this process (copied); NULL
 * turns the cache off. 0 or -ENOMEM. */
int hcs__seccomp_cache_set(const char *dir);
/* Drops the in-process copies of the last two profiles, as a new process
 * starts without them (for tests). */
void hcs__seccomp_forget(void);

#endif
