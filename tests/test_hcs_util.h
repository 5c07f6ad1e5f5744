/* SPDX-License-Identifier: MIT */
/* Shared by the suites of the public API and the hcs program
 * (tests/test_process.c, test_error.c, test_cli.c): leak checks, bounded
 * reads of child output, and a service with one running host system.
 * Every function is static: each suite is its own program. */
#ifndef HCS_TESTS_HCS_UTIL_H
#define HCS_TESTS_HCS_UTIL_H

#include <hcs.h>

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_UNUSED __attribute__((unused))
#define TH_HELPER(name) HCS_TEST_HELPERS_DIR "/" name

#define TH_DUMMY "{\"SystemType\":\"Container\",\"IsDummy\":true}"

/* Open fds of this process, not counting the one that lists them. */
TH_UNUSED static int th_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      n++;
    }
  }
  closedir(d);
  return n - 1;
}

/* The fd count to compare against at the end of a test. libuv opens a
 * process-wide pipe with its first loop (the signal lock) and keeps it: a
 * throwaway service first makes that pipe part of the baseline. */
TH_UNUSED static int th_fd_baseline(void) {
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, NULL, NULL), HCS_OK);
  hcs_close(h);
  return th_fd_count();
}

/* No child of ours is left, running or zombie. */
TH_UNUSED static void th_assert_no_child(void) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL);
  int err = errno;
  cr_assert(r == -1 && err == ECHILD,
            "a child is left: waitid gave %d (errno %d), pid %d", r, err,
            (int)si.si_pid);
}

/* build/hcs, next to build/tests/ where the test program lives. */
TH_UNUSED static const char *th_hcs_path(void) {
  static char path[PATH_MAX];
  if (path[0] == '\0') {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    snprintf(path, sizeof(path), "%s/hcs", dirname(dirname(self)));
    cr_assert_eq(access(path, X_OK), 0, "%s: %s", path, strerror(errno));
  }
  return path;
}

TH_UNUSED static int64_t th_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A growing byte buffer, NUL-terminated for convenience. */
typedef struct th_buf_s {
  char *p;
  size_t len, cap;
} th_buf_t;

TH_UNUSED static void th_buf_add(th_buf_t *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap != 0 ? b->cap : 4096;
    while (cap < b->len + n + 1) {
      cap *= 2;
    }
    char *p = realloc(b->p, cap);
    cr_assert_not_null(p);
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

TH_UNUSED static void th_buf_free(th_buf_t *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* Reads every fd of fds[0..n) (those >= 0) into bufs[i] until each is at
 * EOF (or EIO, a console whose other side is gone), within ms; then closes
 * them. Fails the test at the deadline. */
TH_UNUSED static void th_read_all(int *fds, th_buf_t *bufs, int n, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  for (;;) {
    struct pollfd p[8];
    int idx[8], k = 0;
    for (int i = 0; i < n; i++) {
      if (fds[i] >= 0) {
        p[k] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        idx[k++] = i;
      }
    }
    if (k == 0) {
      return;
    }
    int64_t left = deadline - th_now_ms();
    cr_assert(left > 0, "output not at EOF after %lld ms", (long long)ms);
    int r = poll(p, (nfds_t)k, (int)left);
    cr_assert(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
    for (int j = 0; j < k && r > 0; j++) {
      if (p[j].revents == 0) {
        continue;
      }
      char buf[65536];
      ssize_t got = read(p[j].fd, buf, sizeof(buf));
      if (got > 0) {
        th_buf_add(&bufs[idx[j]], buf, (size_t)got);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        cr_assert(got == 0 || errno == EIO, "read: %s", strerror(errno));
        close(fds[idx[j]]);
        fds[idx[j]] = -1;
      }
    }
  }
}

/* Reads fd into b until b holds needle, within ms. */
TH_UNUSED static void th_read_until(int fd, th_buf_t *b, const char *needle,
                                    int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  while (b->p == NULL || strstr(b->p, needle) == NULL) {
    int64_t left = deadline - th_now_ms();
    cr_assert(left > 0, "no \"%s\" after %lld ms; have \"%s\"", needle,
              (long long)ms, b->p != NULL ? b->p : "");
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    cr_assert(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
    if (r <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof(buf));
    cr_assert(got > 0 || (got < 0 && errno == EINTR),
              "EOF or error before \"%s\": %zd (%s); have \"%s\"", needle, got,
              got < 0 ? strerror(errno) : "EOF", b->p != NULL ? b->p : "");
    if (got > 0) {
      th_buf_add(b, buf, (size_t)got);
    }
  }
}

TH_UNUSED static void th_write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    cr_assert(w > 0 || (w < 0 && errno == EINTR), "write: %s", strerror(errno));
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    }
  }
}

/* Asserts that a call failed with code, that err describes it, and frees
 * err. */
#define th_expect_fail(r, err, want)                                           \
  do {                                                                         \
    hcs_result_t th_r_ = (r);                                                  \
    cr_assert_eq(th_r_, (hcs_result_t)(want), "got %u, want %u: %s",           \
                 (unsigned)th_r_, (unsigned)(want),                            \
                 (err) != NULL ? hcs_error_message(err) : "(no error)");       \
    cr_assert_not_null((err), "no error object for %u", (unsigned)(want));     \
    cr_assert_eq(hcs_error_code(err), (hcs_result_t)(want));                   \
    hcs_error_free(err);                                                       \
    (err) = NULL;                                                              \
  } while (0)

/* Asserts HCS_OK and no error object. */
#define th_expect_ok(r, err)                                                   \
  do {                                                                         \
    hcs_result_t th_r_ = (r);                                                  \
    cr_assert_eq(th_r_, HCS_OK, "got %u: %s", (unsigned)th_r_,                 \
                 (err) != NULL ? hcs_error_message(err) : "(no error)");       \
    cr_assert_null((err));                                                     \
  } while (0)

/* A service with one running host system named id. */
TH_UNUSED static hcs_t *th_open_with(const char *id) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, id, TH_DUMMY, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, id, &err), err);
  return h;
}

#endif
