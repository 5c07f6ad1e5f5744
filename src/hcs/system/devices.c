/* SPDX-License-Identifier: MIT */
/* Device access of compute systems behind devices.h: the kernel's two
 * mechanisms for one list. */
#include "hcs/system/devices.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { ANY = -1 };

typedef struct rule_s {
  char type; /* 'c' or 'b' */
  int major, minor;
  const char *access; /* of "rwm" */
} rule_t;

/* Docker's default list less /dev/console (5:1): hcs gives a system no
 * console device of its own, so the one reached would be the host's. Any
 * node may be made (mknod), few opened. */
static const rule_t allowed[] = {
    {'c', ANY, ANY, "m"},   {'b', ANY, ANY, "m"}, {'c', 1, 3, "rwm"}, /* null */
    {'c', 1, 5, "rwm"},                                               /* zero */
    {'c', 1, 7, "rwm"},                                               /* full */
    {'c', 1, 8, "rwm"},     /* random */
    {'c', 1, 9, "rwm"},     /* urandom */
    {'c', 5, 0, "rwm"},     /* tty */
    {'c', 5, 2, "rwm"},     /* ptmx */
    {'c', 136, ANY, "rwm"}, /* pts */
    {'c', 10, 200, "rwm"},  /* net/tun */
};
enum { N_ALLOWED = sizeof(allowed) / sizeof(allowed[0]) };

static void num(char *buf, size_t n, int v) {
  if (v == ANY) {
    snprintf(buf, n, "*");
  } else {
    snprintf(buf, n, "%d", v);
  }
}

int hcs__devices_v1_rule(size_t i, char *buf, size_t n) {
  if (i >= N_ALLOWED) {
    return 0;
  }
  char maj[16], min[16];
  num(maj, sizeof(maj), allowed[i].major);
  num(min, sizeof(min), allowed[i].minor);
  snprintf(buf, n, "%c %s:%s %s", allowed[i].type, maj, min, allowed[i].access);
  return 1;
}

/* ---- v2: a program over struct bpf_cgroup_dev_ctx {access_type, major,
 * minor}, access_type = access << 16 | type. It answers 1 (allow) for the
 * first rule that matches and 0 after the last. ---- */

#define INSN(c, d, s, o, i)                                                    \
  ((struct bpf_insn){                                                          \
      .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

enum { R0, R1, R2, R3, R4, R5 };
enum { MAX_INSNS = 8 + N_ALLOWED * 8 };

static uint32_t access_bits(const char *a) {
  uint32_t v = 0;
  for (; *a != '\0'; a++) {
    v |= *a == 'm'   ? BPF_DEVCG_ACC_MKNOD
         : *a == 'r' ? BPF_DEVCG_ACC_READ
                     : BPF_DEVCG_ACC_WRITE;
  }
  return v;
}

static size_t build(struct bpf_insn *p) {
  size_t n = 0;
  /* r2 = access, r3 = type, r4 = major, r5 = minor */
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, R2, R1, 0, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, R3, 0, 0, 0xffff);
  p[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, R2, 0, 0, 16);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, R4, R1, 4, 0);
  p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, R5, R1, 8, 0);
  for (size_t i = 0; i < N_ALLOWED; i++) {
    const rule_t *r = &allowed[i];
    /* Each test jumps to the next rule: its length is known once the
     * rule's block is laid out, so the offsets are patched after. */
    size_t jumps[4], nj = 0;
    jumps[nj++] = n;
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, R3, 0, 0,
                  r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
    if (r->major != ANY) {
      jumps[nj++] = n;
      p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, r->major);
    }
    if (r->minor != ANY) {
      jumps[nj++] = n;
      p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, r->minor);
    }
    /* Every access asked for must be in the rule's. */
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, R0, R2, 0, 0);
    p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0,
                  (int32_t)~access_bits(r->access));
    jumps[nj++] = n;
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0);
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1);
    p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (size_t j = 0; j < nj; j++) {
      p[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
    }
  }
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return n;
}

int hcs__devices_v2_attach(int dirfd) {
  /* A group kept over a restart of the service (a system found running
   * again) has its program already: one is enough. */
  union bpf_attr q;
  memset(&q, 0, sizeof(q));
  q.query.target_fd = (uint32_t)dirfd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  if (syscall(SYS_bpf, BPF_PROG_QUERY, &q, sizeof(q)) == 0 &&
      q.query.prog_cnt > 0) {
    return 0;
  }
  struct bpf_insn insns[MAX_INSNS];
  size_t n = build(insns);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)n;
  a.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
  if (prog < 0) {
    return -errno;
  }
  /* bpf(2) makes every fd close-on-exec. */
  memset(&a, 0, sizeof(a));
  a.target_fd = (uint32_t)dirfd;
  a.attach_bpf_fd = (uint32_t)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  int err = syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) != 0 ? -errno : 0;
  close(prog);
  return err;
}
