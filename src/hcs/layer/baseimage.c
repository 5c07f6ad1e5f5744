/* SPDX-License-Identifier: MIT */
/* The built-in base image: a layer made at build time (src/mkimage) from
 * Debian's static busybox, so that every example, test and the bench run
 * offline. hcs.h (hcs_default_image_home) says what it holds. */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* 1 when the ELF file at fd asks for a program interpreter (it is
 * dynamically linked and would need a libc in the image), 0 when not,
 * -EINVAL when it is no 64-bit ELF. */
static int needs_interpreter(int fd) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
      memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return -EINVAL;
  }
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
        (ssize_t)sizeof(ph)) {
      return -EINVAL;
    }
    if (ph.p_type == PT_INTERP) {
      return 1;
    }
  }
  return 0;
}

/* Runs busybox with one argument (or none) and collects its stdout, up to
 * cap - 1 bytes. 0 or -errno. */
static int run_busybox(const char *busybox, const char *arg, char *out,
                       size_t cap) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    return -errno;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  char *argv[] = {(char *)"busybox", (char *)arg, NULL};
  pid_t pid;
  int err = posix_spawn(&pid, busybox, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  size_t len = 0;
  ssize_t n;
  while (err == 0 && len < cap - 1 &&
         (n = read(p[0], out + len, cap - 1 - len)) != 0) {
    if (n < 0 && errno != EINTR) {
      err = errno;
    }
    len += n > 0 ? (size_t)n : 0;
  }
  out[len] = '\0';
  close(p[0]);
  int status;
  while (err == 0 && waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      err = errno;
    }
  }
  return -err;
}

static int write_text(int dir, const char *name, const char *text) {
  int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  int err = fd < 0 || write(fd, text, len) != (ssize_t)len ? -errno : 0;
  if (fd >= 0) {
    close(fd);
  }
  return err == 0 && fchmodat(dir, name, 0644, 0) != 0 ? -errno : err;
}

static int copy_binary(int from, int dir, const char *name) {
  struct stat st;
  int to = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  int err = to < 0 || fstat(from, &st) != 0 ? -errno : 0;
  off_t off = 0;
  while (err == 0 && off < st.st_size) {
    ssize_t n =
        copy_file_range(from, &off, to, NULL, (size_t)(st.st_size - off), 0);
    err = n <= 0 ? (n < 0 ? -errno : -EIO) : 0;
  }
  if (to >= 0) {
    err = err == 0 && fchmod(to, 0755) != 0 ? -errno : err;
    close(to);
  }
  return err;
}

/* bin/ with busybox and a relative symlink per applet it lists. */
static int fill_bin(int diff, int bb, const char *busybox, const char **what) {
  int bin;
  *what = "bin";
  if (mkdirat(diff, "bin", 0755) != 0 ||
      (bin = openat(diff, "bin", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    return -errno;
  }
  *what = "bin/busybox";
  int err = copy_binary(bb, bin, "busybox");
  char *list = as_malloc(65536);
  if (err == 0 && list == NULL) {
    err = -ENOMEM;
  }
  if (err == 0) {
    *what = "busybox --list";
    err = run_busybox(busybox, "--list", list, 65536);
  }
  for (char *s = list, *e; err == 0 && s != NULL && *s != '\0'; s = e) {
    e = strchr(s, '\n');
    if (e != NULL) {
      *e++ = '\0';
    }
    /* "busybox" itself is the binary; a name that is no plain file name
     * is not one busybox could answer to. */
    if (s[0] == '\0' || strcmp(s, "busybox") == 0 || strchr(s, '/') ||
        strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > NAME_MAX) {
      continue;
    }
    *what = s;
    err = symlinkat("busybox", bin, s) != 0 ? -errno : 0;
  }
  as_free(list);
  close(bin);
  return err;
}

static int fill_diff(int diff, int bb, const char *busybox, const char **what) {
  static const struct {
    const char *name;
    mode_t mode;
  } dirs[] = {{"etc", 0755}, {"tmp", 01777}, {"proc", 0555}, {"dev", 0755},
              {"sys", 0555}, {"root", 0700}, {"home", 0755}};
  int err = fill_bin(diff, bb, busybox, what);
  for (size_t i = 0; err == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    *what = dirs[i].name;
    if (mkdirat(diff, dirs[i].name, dirs[i].mode) != 0 ||
        fchmodat(diff, dirs[i].name, dirs[i].mode, 0) != 0) {
      err = -errno;
    }
  }
  int etc =
      err == 0 ? openat(diff, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (err == 0 && etc < 0) {
    err = -errno;
  }
  if (err == 0) {
    *what = "etc/passwd";
    err = write_text(etc, "passwd",
                     "root:x:0:0:root:/root:/bin/sh\n"
                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  }
  if (err == 0) {
    *what = "etc/group";
    err = write_text(etc, "group", "root:x:0:\nnogroup:x:65534:\n");
  }
  if (err == 0) {
    /* Empty, so that a system on this layer alone (a read-only root) has
     * the mount point its DNS settings are bound onto. */
    *what = "etc/resolv.conf";
    err = write_text(etc, "resolv.conf", "");
  }
  if (etc >= 0) {
    close(etc);
  }
  return err;
}

/* "1.35.0" from "BusyBox v1.35.0 (Debian ...) multi-call binary." */
static void version_of(const char *busybox, char *out, size_t n) {
  char text[4096];
  snprintf(out, n, "unknown");
  if (run_busybox(busybox, NULL, text, sizeof(text)) == 0) {
    char *v = strstr(text, "BusyBox v");
    if (v != NULL) {
      v += strlen("BusyBox v");
      snprintf(out, n, "%.*s", (int)strcspn(v, " \n"), v);
    }
  }
}

hcs_result_t hcs_make_base_image(const char *home, const char *id,
                                 const char *busybox, hcs_error_t **err) {
  hcs__lctx_t c = {.op = "hcs::MakeBaseImage",
                   .err = err,
                   .home = home,
                   .flavour = HCS_FLAVOUR_FILTER,
                   .homefd = -1};
  snprintf(c.object, sizeof(c.object), "id=%s", id);
  int bb = open(busybox, O_RDONLY | O_CLOEXEC);
  int dyn = bb < 0 ? -errno : needs_interpreter(bb);
  if (dyn != 0) {
    if (bb >= 0) {
      close(bb);
    }
    return dyn < 0 ? hcs__lsys(&c, -dyn, "%s (a static busybox)", busybox)
                   : hcs__lfail(&c, HCS_WSAEINVAL, EINVAL,
                                "%s is dynamically linked: the image needs a "
                                "static busybox (Debian: busybox-static)",
                                busybox);
  }
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  hcs_error_t *old = NULL;
  hcs_result_t r = hcs_DestroyLayer(&info, id, &old);
  if (r != HCS_OK && r != HCS_ERROR_NOT_FOUND) {
    close(bb);
    if (err != NULL) {
      *err = old;
    } else {
      hcs_error_free(old);
    }
    return r;
  }
  hcs_error_free(old);
  hcs__layer_meta_t m;
  hcs__meta_init(&m, id, "", false, HCS_FLAVOUR_FILTER);
  m.base = true;
  snprintf(m.name, sizeof(m.name), "busybox");
  version_of(busybox, m.version, sizeof(m.version));
  hcs__stage_t s;
  r = hcs__stage_new(&c, id, &s);
  int diff = -1;
  if (r == HCS_OK) {
    const char *what = "diff";
    int e = hcs__stage_mkdir(&s, "diff", 0755, &diff);
    e = e == 0 ? fill_diff(diff, bb, busybox, &what) : e;
    r = e != 0 ? hcs__lsys(&c, -e, "making %s/%s: %s", home, id, what) : r;
    if (diff >= 0) {
      close(diff);
    }
    r = r == HCS_OK ? hcs__stage_commit(&c, &s, &m)
                    : (hcs__stage_abort(&c, &s), r);
  }
  hcs__home_close(&c);
  close(bb);
  return r == HCS_OK ? hcs__ok(err) : r;
}
