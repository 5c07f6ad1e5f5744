/* SPDX-License-Identifier: MIT */
/* Device numbers in a layer tar are taken whole: a major or minor beyond
 * Linux's (12 and 20 bits) is refused naming the entry, never narrowed
 * onto another device (major 2^32+1 became 1, so 2^32+1:3 was made as
 * /dev/null's 1:3). pax headers carry any number (SCHILY.devmajor), so the
 * tars are written here with libarchive. */
#include "test_layer_util.h"

#include <stdint.h>

/* folder/layer.tar with one character device "dev/node" of ma:mi. */
static void write_dev_tar(const char *folder, uint64_t ma, uint64_t mi) {
  (void)mkdir(folder, 0755);
  char path[1024];
  snprintf(path, sizeof(path), "%s/layer.tar", folder);
  struct archive *a = archive_write_new();
  struct archive_entry *e = archive_entry_new();
  cr_assert_eq(archive_write_set_format_pax(a), ARCHIVE_OK);
  cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
  archive_entry_set_pathname(e, "dev");
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
  archive_entry_clear(e);
  archive_entry_set_pathname(e, "dev/node");
  archive_entry_set_filetype(e, AE_IFCHR);
  archive_entry_set_perm(e, 0666);
  archive_entry_set_rdevmajor(e, (dev_t)ma);
  archive_entry_set_rdevminor(e, (dev_t)mi);
  cr_assert_geq(archive_write_header(a, e), ARCHIVE_WARN, "%s",
                archive_error_string(a));
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  archive_entry_free(e);

  /* The tar must say what was meant, or the test proves nothing. */
  a = archive_read_new();
  cr_assert_eq(archive_read_support_format_tar(a), ARCHIVE_OK);
  cr_assert_eq(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
  struct archive_entry *r;
  int found = 0;
  while (archive_read_next_header(a, &r) == ARCHIVE_OK) {
    if (strcmp(archive_entry_pathname(r), "dev/node") == 0) {
      cr_assert_eq((uint64_t)archive_entry_rdevmajor(r), ma);
      cr_assert_eq((uint64_t)archive_entry_rdevminor(r), mi);
      found = 1;
    }
  }
  cr_assert(found);
  archive_read_free(a);
}

static void import_dev(const char *name, uint64_t ma, uint64_t mi, int ok) {
  char folder[256], home[256];
  snprintf(folder, sizeof(folder), "%s/%s", tl_base, name);
  snprintf(home, sizeof(home), "%s/home", tl_base);
  write_dev_tar(folder, ma, mi);
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home};
  if (ok) {
    TL_OK(hcs_ImportLayer, &info, name, folder, NULL);
    char node[512];
    snprintf(node, sizeof(node), "%s/%s/diff/dev/node", home, name);
    struct stat st;
    cr_assert_eq(lstat(node, &st), 0, "%s: %s", node, strerror(errno));
    cr_assert(S_ISCHR(st.st_mode));
    cr_assert_eq((uint64_t)major(st.st_rdev), ma);
    cr_assert_eq((uint64_t)minor(st.st_rdev), mi);
    return;
  }
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_ImportLayer(&info, name, folder, NULL, &err);
  cr_assert_eq(r, HCS_ERROR_INVALID_DATA, "%llu:%llu: got %u (%s)",
               (unsigned long long)ma, (unsigned long long)mi, (unsigned)r,
               err != NULL ? hcs_error_message(err) : "accepted");
  const char *cause = hcs_error_cause(err);
  cr_assert(strstr(cause, "entry \"dev/node\"") != NULL &&
                strstr(cause, "out of range") != NULL,
            "%llu:%llu: \"%s\" does not name the entry and why",
            (unsigned long long)ma, (unsigned long long)mi, cause);
  hcs_error_free(err);
  bool exists = true;
  TL_OK(hcs_LayerExists, &info, name, &exists);
  cr_assert(!exists, "%s: a refused layer was left", name);
}

Test(layer_devnum, numbers_beyond_linux_are_refused, .init = tl_setup,
     .fini = tl_teardown) {
  const uint64_t big = (uint64_t)1 << 32;
  /* Narrowed to 32 bits these were /dev/null, which layers may hold. */
  import_dev("major-wraps", big + 1, 3, 0);
  import_dev("minor-wraps", 1, big + 3, 0);
  /* Past the kernel's 12-bit major and 20-bit minor. */
  import_dev("major-13-bits", (1u << 12) | 1, 3, 0);
  import_dev("minor-21-bits", 1, (1u << 20) | 3, 0);
  import_dev("huge", UINT64_MAX, UINT64_MAX, 0);
  /* The real /dev/null is still fine. */
  import_dev("null", 1, 3, 1);
}
