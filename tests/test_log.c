/* SPDX-License-Identifier: MIT */
/* The library's log (hcs_set_log_cb): an embedder's callback gets the
 * messages of a real call that logs (hcs_open skipping a record that is
 * not one), at the level it asked for; without a callback nothing reaches
 * stderr; a callback set to NULL, or replaced, is not called again. */
#include "test_hcs_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

typedef struct seen_s {
  int n;
  hcs_log_level_t level;
  char msg[1024];
} seen_t;

static void collect(hcs_log_level_t level, const char *msg, void *data) {
  seen_t *s = data;
  s->n++;
  s->level = level;
  snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

/* A state directory holding junk.json, which is no record: hcs_open
 * skips it, with a warning. */
static void make_state(char *dir) {
  strcpy(dir, "/tmp/hcs-test-log-XXXXXX");
  cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/junk.json", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, "{not json", 9), 9);
  close(fd);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : errno;
}

static void remove_state(const char *dir) {
  cr_assert_eq(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0, "rm %s", dir);
}

/* Opens a service on dir (the engine on its thread) and closes it. */
static void open_close(const char *dir) {
  hcs_options_t o = {.state_dir = dir};
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_open(&h, &o, &err);
  cr_assert_eq(r, HCS_OK, "hcs_open: %s", hcs_error_message(err));
  hcs_close(h);
}

Test(log, callback_gets_the_library_messages) {
  char dir[64];
  make_state(dir);
  seen_t seen = {0};
  hcs_set_log_cb(collect, HCS_LOG_WARN, &seen);
  open_close(dir);
  hcs_set_log_cb(NULL, HCS_LOG_ERROR, NULL);
  cr_assert_eq(seen.n, 1, "%d messages, the last: %s", seen.n, seen.msg);
  cr_assert_eq(seen.level, HCS_LOG_WARN);
  cr_assert_not_null(strstr(seen.msg, "junk.json"), "%s", seen.msg);
  cr_assert_not_null(strstr(seen.msg, "skipping"), "%s", seen.msg);
  cr_assert_null(strchr(seen.msg, '\n'), "%s", seen.msg);

  /* A warning is above a callback that takes errors only. */
  seen_t errors_only = {0};
  hcs_set_log_cb(collect, HCS_LOG_ERROR, &errors_only);
  open_close(dir);
  hcs_set_log_cb(NULL, HCS_LOG_ERROR, NULL);
  cr_assert_eq(errors_only.n, 0, "got: %s", errors_only.msg);
  remove_state(dir);
}

Test(log, silent_without_a_callback) {
  char dir[64];
  make_state(dir);
  char out[] = "/tmp/hcs-test-log-stderr-XXXXXX";
  int fd = mkstemp(out);
  cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
  int saved = dup(2);
  cr_assert_geq(saved, 0);
  cr_assert_eq(dup2(fd, 2), 2);
  open_close(dir);
  cr_assert_eq(dup2(saved, 2), 2);
  close(saved);
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  close(fd);
  unlink(out);
  cr_assert_eq(st.st_size, 0, "the library wrote %lld bytes to stderr",
               (long long)st.st_size);
  remove_state(dir);
}

Test(log, unset_and_replaced_callbacks_are_not_called) {
  char dir[64];
  make_state(dir);
  seen_t first = {0}, second = {0};
  hcs_set_log_cb(collect, HCS_LOG_DEBUG, &first);
  hcs_set_log_cb(collect, HCS_LOG_DEBUG, &second);
  open_close(dir);
  cr_assert_eq(first.n, 0, "the replaced callback got: %s", first.msg);
  cr_assert_geq(second.n, 1);

  seen_t after = {0};
  hcs_set_log_cb(collect, HCS_LOG_DEBUG, &after);
  hcs_set_log_cb(NULL, HCS_LOG_DEBUG, &after);
  open_close(dir);
  cr_assert_eq(after.n, 0, "the unset callback got: %s", after.msg);
  remove_state(dir);
}
