/* SPDX-License-Identifier: MIT */
/* The persistent cache of compiled profiles (see seccomp.h): one file per
 * filter, named by the hex SHA-256 of everything that decides its BPF,
 * under a directory only root may read (HCS__SECCOMP_CACHE_DIR).
 *
 * Threat model: the directory is root's, mode 0700, and is checked to be
 * so (owner, mode, no symlink) before each use; a process that can write
 * there can already do anything to the containers. What the cache guards
 * against is damage, not an attacker: a torn, truncated or otherwise
 * altered entry (its length and the SHA-256 of its instructions are kept
 * in its header and checked on every read) is ignored and compiled again.
 * Entries are written to an O_EXCL temporary file and renamed into place,
 * without fsync: an entry lost in a crash is one compile, and a torn one is
 * detected. Any failure here means "compile", never an error. */
#include "hcs/api/digest.h"
#include "hcs/system/seccomp.h"
#include "hcs/system/seccomp_build.h"

#include "hcs-async.h"
#include "hcs-version.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Bumped when the file layout or the key's contents change. */
#define CACHE_FORMAT 1
#define CACHE_MAGIC "HCSBPF1\n"

typedef struct entry_head_s {
  char magic[8];
  uint32_t len; /* instructions after the header */
  uint32_t format;
  char key[64]; /* the file's name, hex SHA-256 of the key */
  char sum[64]; /* hex SHA-256 of the len instructions */
} entry_head_t;

static pthread_mutex_t dir_mu = PTHREAD_MUTEX_INITIALIZER;
static char *cache_dir; /* set by hcs__seccomp_cache_set; NULL: default */
static int cache_off;
static unsigned long tmp_seq;

int hcs__seccomp_cache_set(const char *dir) {
  char *copy = dir != NULL ? as_strdup(dir) : NULL;
  if (dir != NULL && copy == NULL) {
    return -ENOMEM;
  }
  pthread_mutex_lock(&dir_mu);
  as_free(cache_dir);
  cache_dir = copy;
  cache_off = dir == NULL;
  pthread_mutex_unlock(&dir_mu);
  return 0;
}

/* The directory's path into buf, or -ENOENT when the cache is off. */
static int dir_path(char *buf, size_t n) {
  pthread_mutex_lock(&dir_mu);
  int off = cache_off;
  int len = snprintf(buf, n, "%s",
                     cache_dir != NULL ? cache_dir : HCS__SECCOMP_CACHE_DIR);
  pthread_mutex_unlock(&dir_mu);
  return off ? -ENOENT : len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* Opens the cache directory, making it (and its parent) 0700 when
 * missing, and refuses it unless it is a directory of ours that no one
 * else may read or write. An fd or -errno. */
static int open_dir(void) {
  char path[PATH_MAX];
  int r = dir_path(path, sizeof(path));
  if (r != 0) {
    return r;
  }
  if (mkdir(path, 0700) != 0 && errno == ENOENT) {
    char *slash = strrchr(path, '/');
    if (slash != NULL && slash != path) {
      *slash = '\0';
      (void)mkdir(path, 0700);
      *slash = '/';
    }
    (void)mkdir(path, 0700);
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
      (st.st_mode & 077) != 0) {
    close(fd);
    return -EPERM;
  }
  return fd;
}

/* Which build of the compiler of profiles runs: the file this code was
 * loaded from (libhcs.so, or the program libhcs.a was linked into), by
 * device, inode, size and modification time, so that a rebuilt or
 * upgraded libhcs never answers with an old build's filter. A stamp of
 * the compile's date and time would do the same but makes the build
 * unreproducible (and -Wdate-time, in Debian's flags, refuses it). */
static int code_identity(char *out, size_t n) {
  Dl_info info;
  const char *path = "/proc/self/exe";
  if (dladdr((void *)code_identity, &info) != 0 && info.dli_fname != NULL &&
      info.dli_fname[0] == '/') {
    path = info.dli_fname;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    return -errno;
  }
  snprintf(out, n, "%ju:%ju %jd %jd.%09ld", (uintmax_t)st.st_dev,
           (uintmax_t)st.st_ino, (intmax_t)st.st_size,
           (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return 0;
}

/* The key: the profile's text (hcs-runc and hcsd hand it over as they
 * canonicalise it), the capability set its rules are weighed against,
 * the native ABI, libseccomp's version, the kernel's release (minKernel
 * conditions) and this build of the compiler of profiles. */
static int key_hex(const char *json, uint64_t caps, char out[65]) {
  const struct scmp_version *v = seccomp_version();
  struct utsname u;
  char code[128];
  if (v == NULL || uname(&u) != 0 || code_identity(code, sizeof(code)) != 0) {
    return -EIO;
  }
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "hcs seccomp cache %d\nhcs %s %s\narch %#x\n"
                   "libseccomp %u.%u.%u\nkernel %s\ncaps %#llx\n",
                   CACHE_FORMAT, HCS_VERSION_STRING, code,
                   (unsigned)seccomp_arch_native(), v->major, v->minor,
                   v->micro, u.release, (unsigned long long)caps);
  hcs__sha256_t c;
  hcs__sha256_init(&c);
  hcs__sha256_update(&c, head, (size_t)n);
  hcs__sha256_update(&c, json, strlen(json));
  hcs__sha256_hex(&c, out);
  return 0;
}

static void sum_hex(const struct sock_filter *insns, size_t len, char out[65]) {
  hcs__sha256_t c;
  hcs__sha256_init(&c);
  hcs__sha256_update(&c, insns, len * sizeof(*insns));
  hcs__sha256_hex(&c, out);
}

/* Reads and checks the entry at fd: ours, 0600, a whole header for key,
 * len instructions whose digest is the header's. */
static int read_entry(int fd, const char *key, hcs__bpf_t *out) {
  struct stat st;
  entry_head_t h;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 077) != 0 || (size_t)st.st_size < sizeof(h) ||
      hcs__seccomp_read_at(fd, &h, sizeof(h), 0) != 0) {
    return -EIO;
  }
  if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.format != CACHE_FORMAT ||
      memcmp(h.key, key, 64) != 0 || h.len == 0 || h.len > BPF_MAXINSNS ||
      (size_t)st.st_size != sizeof(h) + h.len * sizeof(struct sock_filter)) {
    return -EIO;
  }
  struct sock_filter *insns = as_malloc(h.len * sizeof(*insns));
  char sum[65];
  if (insns == NULL) {
    return -ENOMEM;
  }
  int bad =
      hcs__seccomp_read_at(fd, insns, h.len * sizeof(*insns), sizeof(h)) != 0;
  if (!bad) {
    sum_hex(insns, h.len, sum);
    bad = memcmp(sum, h.sum, 64) != 0;
  }
  if (bad) {
    as_free(insns);
    return -EIO;
  }
  out->insns = insns;
  out->len = (unsigned short)h.len;
  return 0;
}

int hcs__seccomp_cache_get(const char *json, uint64_t caps, hcs__bpf_t *out) {
  char key[65], name[80];
  int dfd = open_dir();
  if (dfd < 0) {
    return dfd;
  }
  int r = key_hex(json, caps, key);
  snprintf(name, sizeof(name), "%s.bpf", key);
  int fd = r != 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (r == 0) {
    r = fd < 0 ? -errno : read_entry(fd, key, out);
  }
  if (r == 0) {
    (void)futimens(fd, NULL); /* the oldest entries go first: recently used */
  } else if (r == -EIO) {
    (void)unlinkat(dfd, name, 0); /* damaged: compiled and written again */
  }
  if (fd >= 0) {
    close(fd);
  }
  close(dfd);
  return r;
}

static int write_full(int fd, const void *src, size_t size) {
  size_t put = 0;
  while (put < size) {
    ssize_t n = write(fd, (const char *)src + put, size - put);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n < 0 ? -errno : -EIO;
    }
    put += (size_t)n;
  }
  return 0;
}

typedef struct aged_s {
  char name[80];
  struct timespec mtime;
  off_t size;
} aged_t;

static int older(const void *a, const void *b) {
  const struct timespec *x = &((const aged_t *)a)->mtime;
  const struct timespec *y = &((const aged_t *)b)->mtime;
  return x->tv_sec != y->tv_sec     ? (x->tv_sec < y->tv_sec ? -1 : 1)
         : x->tv_nsec != y->tv_nsec ? (x->tv_nsec < y->tv_nsec ? -1 : 1)
                                    : 0;
}

static int is_entry_name(const char *s) {
  return strlen(s) == 68 && strspn(s, "0123456789abcdef") == 64 &&
         strcmp(s + 64, ".bpf") == 0;
}

/* Unlinks the least recently used entries past HCS__SECCOMP_CACHE_MAX
 * entries or HCS__SECCOMP_CACHE_BYTES bytes, and temporary files a
 * writer left more than a minute ago. */
static void evict(int dfd) {
  int d2 = dup(dfd);
  DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
  if (d == NULL) {
    if (d2 >= 0) {
      close(d2);
    }
    return;
  }
  aged_t *v = NULL;
  size_t n = 0, cap = 0;
  off_t total = 0;
  time_t now = time(NULL);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    struct stat st;
    int entry = is_entry_name(e->d_name);
    if ((!entry && strncmp(e->d_name, ".tmp-", 5) != 0) ||
        fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (!entry) {
      if (st.st_mtime < now - 60) {
        (void)unlinkat(dfd, e->d_name, 0);
      }
      continue;
    }
    if (n == cap) {
      aged_t *g = as_realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
      if (g == NULL) {
        break;
      }
      v = g;
    }
    memcpy(v[n].name, e->d_name, 69); /* is_entry_name: 68 and a NUL */
    v[n].mtime = st.st_mtim;
    v[n].size = st.st_size;
    total += st.st_size;
    n++;
  }
  closedir(d);
  if (v != NULL) {
    qsort(v, n, sizeof(*v), older);
  }
  for (size_t i = 0; i < n && (n - i > HCS__SECCOMP_CACHE_MAX ||
                               total > HCS__SECCOMP_CACHE_BYTES);
       i++) {
    (void)unlinkat(dfd, v[i].name, 0);
    total -= v[i].size;
  }
  as_free(v);
}

void hcs__seccomp_cache_put(const char *json, uint64_t caps,
                            const hcs__bpf_t *bpf) {
  entry_head_t h;
  memset(&h, 0, sizeof(h));
  char key[65], sum[65], name[80], tmp[96];
  int dfd = open_dir();
  if (dfd < 0 || bpf->len == 0 || key_hex(json, caps, key) != 0) {
    if (dfd >= 0) {
      close(dfd);
    }
    return;
  }
  sum_hex(bpf->insns, bpf->len, sum);
  memcpy(h.magic, CACHE_MAGIC, 8);
  h.len = bpf->len;
  h.format = CACHE_FORMAT;
  memcpy(h.key, key, 64);
  memcpy(h.sum, sum, 64);
  snprintf(name, sizeof(name), "%s.bpf", key);
  pthread_mutex_lock(&dir_mu);
  unsigned long seq = tmp_seq++;
  pthread_mutex_unlock(&dir_mu);
  snprintf(tmp, sizeof(tmp), ".tmp-%d-%lu", (int)getpid(), seq);
  int fd = openat(dfd, tmp,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int r = fd < 0 ? -errno : write_full(fd, &h, sizeof(h));
  if (r == 0) {
    r = write_full(fd, bpf->insns, bpf->len * sizeof(bpf->insns[0]));
  }
  if (fd >= 0 && close(fd) != 0 && r == 0) {
    r = -errno;
  }
  if (r == 0 && renameat(dfd, tmp, dfd, name) != 0) {
    r = -errno;
  }
  if (r != 0 && fd >= 0) {
    (void)unlinkat(dfd, tmp, 0);
  }
  if (r == 0) {
    evict(dfd);
  }
  close(dfd);
}
