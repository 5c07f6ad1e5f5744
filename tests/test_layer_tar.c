/* SPDX-License-Identifier: MIT */
/* ImportLayer and ExportLayer: the OCI layer tar, both flavours. A round
 * trip through three layers keeps every byte (whiteouts, opaque
 * directories, owners, modes, attributes, times, links, devices); every
 * hostile tar fails cleanly, naming its entry, with nothing written
 * outside the layer and no layer left behind. Tars are written here with
 * libarchive. Needs root. */
#include "test_layer_util.h"

#include <hcs-async.h>
#include <pthread.h>
#include <time.h>

TestSuite(layer_tar, .init = tl_setup, .fini = tl_teardown, .timeout = 120);

#define E(...) ((tl_ent_t){__VA_ARGS__})
#define END ((tl_ent_t){0})

static void write_tar(const char *folder, const tl_ent_t *v) {
  tl_tar_t t;
  tl_tar_open(&t, folder);
  for (; v->name != NULL; v++) {
    tl_tar_add(&t, v);
  }
  tl_tar_close(&t);
}

/* Three layers: a base with every kind of entry, one that deletes, makes
 * a directory opaque and changes files, one that deletes and adds over
 * both. */
static const tl_ent_t layer1[] = {
    E(.name = "etc", .type = AE_IFDIR, .perm = 0755),
    E(.name = "etc/passwd", .data = "root:x:0:0::/:/bin/sh\n"),
    E(.name = "etc/shadow", .perm = 0640, .gid = 42, .data = "root:*:1::\n"),
    E(.name = "bin/tool", .perm = 04755, .data = "#!tool\n"),
    E(.name = "bin/tool2", .link = "bin/tool"),
    E(.name = "bin/sh", .type = AE_IFLNK, .target = "tool"),
    E(.name = "abs", .type = AE_IFLNK, .target = "/etc/passwd"),
    E(.name = "run/fifo", .type = AE_IFIFO, .perm = 0600),
    E(.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .major = 1,
      .minor = 3),
    E(.name = "./data/x", .uid = 1000, .gid = 1000, .data = "x\n",
      .xattr_name = "user.k", .xattr_value = "v"),
    E(.name = "keep/a", .data = "a\n"),
    E(.name = "opq/old1", .data = "1\n"),
    E(.name = "opq/old2", .data = "2\n"),
    E(.name = "gone", .data = "gone\n"),
    E(.name = "gonedir/x", .data = "x\n"),
    E(.name = "empty", .type = AE_IFDIR, .perm = 0700, .uid = 7),
    END};
static const tl_ent_t layer2[] = {
    E(.name = ".wh.gone"),
    E(.name = ".wh.gonedir"),
    E(.name = "opq", .type = AE_IFDIR, .perm = 0750),
    E(.name = "opq/.wh..wh..opq"),
    E(.name = "opq/new", .data = "new\n"),
    E(.name = "etc/passwd", .data = "root:x:0:0::/root:/bin/sh\n"),
    E(.name = "keep/b", .data = "b\n"),
    END};
static const tl_ent_t layer3[] = {
    E(.name = "bin/.wh.sh"),
    E(.name = ".wh.abs"),
    E(.name = "new3", .data = "three\n"),
    E(.name = "opq/sub/f", .data = "f\n"),
    E(.name = "gone", .data = "back\n"),
    E(.name = ".wh..wh.plnk/ignored", .data = "aufs\n"),
    END};

static const tl_ent_t *const layers[] = {layer1, layer2, layer3};

/* Imports the three tars as l1, l2, l3 in home. */
static void import_chain(hcs_driver_info_t *info, const char *tars[3]) {
  char p1[512], p2[512];
  snprintf(p1, sizeof(p1), "%s/l1", info->home_dir);
  snprintf(p2, sizeof(p2), "%s/l2", info->home_dir);
  const char *const parents2[] = {p1, NULL};
  const char *const parents3[] = {p2, p1, NULL};
  TL_OK(hcs_ImportLayer, info, "l1", tars[0], NULL);
  TL_OK(hcs_ImportLayer, info, "l2", tars[1], parents2);
  TL_OK(hcs_ImportLayer, info, "l3", tars[2], parents3);
}

static void export_chain(hcs_driver_info_t *info, const char *out[3]) {
  char p1[512], p2[512];
  snprintf(p1, sizeof(p1), "%s/l1", info->home_dir);
  snprintf(p2, sizeof(p2), "%s/l2", info->home_dir);
  const char *const parents2[] = {p1, NULL};
  const char *const parents3[] = {p2, p1, NULL};
  TL_OK(hcs_ExportLayer, info, "l1", out[0], NULL);
  TL_OK(hcs_ExportLayer, info, "l2", out[1], parents2);
  TL_OK(hcs_ExportLayer, info, "l3", out[2], parents3);
}

static char *digest_of(const char *folder) {
  char p[512];
  snprintf(p, sizeof(p), "%s/layer.json", folder);
  const char *text = tl_read(p);
  cr_assert_not_null(text, "%s", p);
  const char *d = strstr(text, "sha256:");
  cr_assert_not_null(d, "%s: %s", p, text);
  return strndup(d, 71);
}

static void round_trip(int flavour) {
  const char *tars[3] = {tl_path("t1"), tl_path("t2"), tl_path("t3")};
  char t[3][256], e1[3][256], e2[3][256];
  for (int i = 0; i < 3; i++) {
    snprintf(t[i], sizeof(t[i]), "%s", tars[i]);
    snprintf(e1[i], sizeof(e1[i]), "%s/e1-%d", tl_base, i);
    snprintf(e2[i], sizeof(e2[i]), "%s/e2-%d", tl_base, i);
    write_tar(t[i], layers[i]);
  }
  char h1[256], h2[256];
  snprintf(h1, sizeof(h1), "%s/home1", tl_base);
  snprintf(h2, sizeof(h2), "%s/home2", tl_base);
  hcs_driver_info_t i1 = {.flavour = flavour, .home_dir = h1};
  hcs_driver_info_t i2 = {.flavour = flavour, .home_dir = h2};
  import_chain(&i1, (const char *[]){t[0], t[1], t[2]});
  export_chain(&i1, (const char *[]){e1[0], e1[1], e1[2]});
  import_chain(&i2, (const char *[]){e1[0], e1[1], e1[2]});
  export_chain(&i2, (const char *[]){e2[0], e2[1], e2[2]});
  for (int i = 0; i < 3; i++) {
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/l%d/diff", h1, i + 1);
    snprintf(b, sizeof(b), "%s/l%d/diff", h2, i + 1);
    tl_assert_same_tree(a, b);
    /* Equal layers, equal tars. */
    char *d1 = digest_of(e1[i]), *d2 = digest_of(e2[i]);
    cr_assert_str_eq(d1, d2, "layer %d: %s vs %s", i + 1, d1, d2);
    free(d1);
    free(d2);
  }
}

/* What the import made, as overlay (flavour 1) keeps it. */
static void check_filter_diffs(const char *home) {
  char p[512];
  struct stat st;
  snprintf(p, sizeof(p), "%s/l2/diff/gone", home);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
            "a whiteout is a 0/0 character device");
  snprintf(p, sizeof(p), "%s/l2/diff/opq", home);
  char v[4] = "";
  cr_assert_eq(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
  cr_assert_eq(v[0], 'y');
  snprintf(p, sizeof(p), "%s/l1/diff/bin/tool", home);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 04755);
  cr_assert_eq(st.st_nlink, 2, "bin/tool2 is its hard link");
  snprintf(p, sizeof(p), "%s/l1/diff/data/x", home);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_uid, 1000);
  cr_assert_eq(lgetxattr(p, "user.k", v, sizeof(v)), 1);
  snprintf(p, sizeof(p), "%s/l3/diff/.wh..wh.plnk", home);
  cr_assert(!tl_exists(p), "aufs metadata is skipped");
}

/* What the import made as a full copy (flavour 0): the chain's view. */
static void check_full_views(const char *home) {
  char p[512];
  snprintf(p, sizeof(p), "%s/l2/diff/gone", home);
  cr_assert(!tl_exists(p), "deleted by layer 2");
  snprintf(p, sizeof(p), "%s/l2/diff/opq/old1", home);
  cr_assert(!tl_exists(p), "hidden by the opaque directory");
  snprintf(p, sizeof(p), "%s/l3/diff/gone", home);
  cr_assert_str_eq(tl_read(p), "back\n");
  snprintf(p, sizeof(p), "%s/l3/diff/keep/a", home);
  cr_assert_str_eq(tl_read(p), "a\n");
  snprintf(p, sizeof(p), "%s/l3/diff/bin/sh", home);
  cr_assert(!tl_exists(p));
  snprintf(p, sizeof(p), "%s/l3/full", home);
  cr_assert(tl_exists(p));
}

Test(layer_tar, round_trip_keeps_every_byte_filter) {
  round_trip(HCS_FLAVOUR_FILTER);
  check_filter_diffs(tl_path("home1"));
  check_filter_diffs(tl_path("home2"));
}

Test(layer_tar, round_trip_keeps_every_byte_diff) {
  round_trip(HCS_FLAVOUR_DIFF);
  check_full_views(tl_path("home1"));
  check_full_views(tl_path("home2"));
}

/* tl_base/home, in a buffer of its own. */
static const char *home(void) {
  static char h[512];
  snprintf(h, sizeof(h), "%s/home", tl_base);
  return h;
}

Test(layer_tar, export_maps_overlay_markers_to_oci_whiteouts) {
  write_tar(tl_path("t2"), layer2);
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home()};
  TL_OK(hcs_ImportLayer, &info, "l2", tl_path("t2"), NULL);
  TL_OK(hcs_ExportLayer, &info, "l2", tl_path("out"), NULL);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  cr_assert_eq(archive_read_open_filename(a, tl_path("out/layer.tar"), 10240),
               ARCHIVE_OK);
  char names[2048] = "";
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    strcat(names, archive_entry_pathname(e));
    strcat(names, " ");
  }
  archive_read_free(a);
  cr_assert_str_eq(names, "etc/ etc/passwd .wh.gone .wh.gonedir keep/ keep/b "
                          "opq/ opq/.wh..wh..opq opq/new ");
  const char *json = tl_read(tl_path("out/layer.json"));
  cr_assert_not_null(strstr(json, "\"Id\": \"l2\""), "%s", json);
  cr_assert_not_null(strstr(json, "\"Size\": "), "%s", json);
}

/* ---- hostile tars ---- */

typedef struct hostile_s {
  tl_ent_t e[4];
  const char *entry; /* named in the error */
  const char *why;   /* in the error too */
} hostile_t;

static char outside[256]; /* tl_base/outside: must never change */

static void check_outside(void) {
  char *names[8];
  size_t n = tl_names(outside, names, 8);
  cr_assert_eq(n, 1, "something was written outside the layer");
  cr_assert_str_eq(names[0], "secret");
  free(names[0]);
  char p[512];
  snprintf(p, sizeof(p), "%s/secret", outside);
  cr_assert_str_eq(tl_read(p), "secret\n");
  struct stat st;
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600);
  cr_assert_eq(st.st_nlink, 1, "no hard link reached it");
  cr_assert(!tl_exists("/tmp/hcs-layer-evil"));
}

/* The home holds nothing but the named layers (no stage left behind). */
static void check_home(const char *home, const char *only) {
  char *names[8];
  size_t n = tl_names(home, names, 8);
  cr_assert_eq(n, only != NULL, "the home holds %zu entries", n);
  if (n > 0) {
    cr_assert_str_eq(names[0], only);
    free(names[0]);
  }
}

static void expect_hostile(int flavour, const hostile_t *h, size_t i,
                           const hcs_layer_options_t *opts) {
  char folder[256], home[256], base[512];
  snprintf(folder, sizeof(folder), "%s/t%zu-%d", tl_base, i, flavour);
  snprintf(home, sizeof(home), "%s/home%d", tl_base, flavour);
  snprintf(base, sizeof(base), "%s/base", home);
  tl_ent_t v[6] = {E(.name = "ok/first", .data = "fine\n")};
  for (size_t k = 0; k < 4 && h->e[k].name != NULL; k++) {
    v[k + 1] = h->e[k];
  }
  write_tar(folder, v);
  hcs_driver_info_t info = {.flavour = flavour, .home_dir = home};
  const char *const parents[] = {base, NULL};
  char needle[512];
  snprintf(needle, sizeof(needle), "entry \"%s\": ", h->entry);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_layer_import(&info, "bad", folder, parents, opts, &err),
               HCS_ERROR_INVALID_DATA, "case %zu: %s", i,
               err != NULL ? hcs_error_message(err) : "accepted");
  const char *cause = hcs_error_cause(err);
  cr_assert(strstr(cause, needle) != NULL && strstr(cause, h->why) != NULL,
            "case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, cause, needle,
            h->why);
  hcs_error_free(err);
  bool exists = true;
  TL_OK(hcs_LayerExists, &info, "bad", &exists);
  cr_assert(!exists, "case %zu left a layer", i);
  check_home(home, "base");
  check_outside();
}

static void hostile(int flavour) {
  snprintf(outside, sizeof(outside), "%s/outside", tl_base);
  cr_assert_eq(mkdir(outside, 0755), 0);
  char secret[512];
  snprintf(secret, sizeof(secret), "%s/secret", outside);
  tl_put(secret, "secret\n");
  cr_assert_eq(chmod(secret, 0600), 0);
  char home[256];
  snprintf(home, sizeof(home), "%s/home%d", tl_base, flavour);
  hcs_driver_info_t info = {.flavour = flavour, .home_dir = home};
  TL_OK(hcs_CreateLayer, &info, "base", NULL);
  char up[512], abs_out[512];
  snprintf(up, sizeof(up), "../../../../../../../..%s/secret", outside);
  snprintf(abs_out, sizeof(abs_out), "%s", outside);
  const hostile_t cases[] = {
      {{E(.name = "../evil", .data = "x")}, "../evil", "\"..\" component"},
      {{E(.name = "a/../../evil", .data = "x")},
       "a/../../evil",
       "\"..\" component"},
      {{E(.name = "/tmp/hcs-layer-evil", .data = "x")},
       "/tmp/hcs-layer-evil",
       "absolute name"},
      {{E(.name = "a/./b", .data = "x")}, "a/./b", "\".\" component"},
      {{E(.name = "x", .link = up)}, "x", "outside the layer"},
      {{E(.name = "x", .link = "/etc/passwd")}, "x", "outside the layer"},
      {{E(.name = "x", .link = "nothere")}, "x", "no earlier entry"},
      {{E(.name = "d", .type = AE_IFDIR), E(.name = "x", .link = "d")},
       "x",
       "hard link to directory"},
      {{E(.name = "l", .type = AE_IFLNK, .target = "..")},
       "l",
       "above the layer's root"},
      {{E(.name = "d/l", .type = AE_IFLNK, .target = "x/../../../outside")},
       "d/l",
       "above the layer's root"},
      {{E(.name = "a", .type = AE_IFLNK, .target = abs_out),
        E(.name = "a/evil", .data = "x")},
       "a/evil",
       "goes through a symlink"},
      {{E(.name = "b", .type = AE_IFDIR),
        E(.name = "a", .type = AE_IFLNK, .target = "b"),
        E(.name = "a/evil", .data = "x")},
       "a/evil",
       "goes through a symlink"},
      {{E(.name = "f", .data = "x"), E(.name = "f/evil", .data = "x")},
       "f/evil",
       "not a directory"},
      {{E(.name = ".wh.")}, ".wh.", "bare \".wh.\""},
      {{E(.name = "d/.wh..")}, "d/.wh..", "whites out \".\""},
      {{E(.name = ".wh...")}, ".wh...", "whites out \"..\""},
      {{E(.name = ".wh.x/y", .data = "x")}, ".wh.x/y", "whiteout name"},
      {{E(.name = "dev/sda", .type = AE_IFBLK, .major = 8)},
       "dev/sda",
       "block device"},
      {{E(.name = "dev/mem", .type = AE_IFCHR, .major = 1, .minor = 1)},
       "dev/mem",
       "character device 1:1"},
      {{E(.name = "dev/wo", .type = AE_IFCHR)},
       "dev/wo",
       "character device 0:0"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    expect_hostile(flavour, &cases[i], i, NULL);
  }
  /* The limits: file bytes and entries. */
  hcs_layer_options_t small = {.max_bytes = 100, .max_entries = 4};
  const hostile_t big = {{E(.name = "big", .data = "0123456789", .size = 200)},
                         "big",
                         "limit of 100 bytes"};
  expect_hostile(flavour, &big, 100, &small);
  const hostile_t many = {
      {E(.name = "e1"), E(.name = "e2"), E(.name = "e3"), E(.name = "e4")},
      "e4",
      "limit of 4 entries"};
  expect_hostile(flavour, &many, 101, &small);
}

Test(layer_tar, hostile_tars_fail_cleanly_filter) { hostile(1); }

Test(layer_tar, hostile_tars_fail_cleanly_diff) { hostile(0); }

Test(layer_tar, what_images_do_is_accepted) {
  const tl_ent_t v[] = {
      E(.name = "./bin/busybox", .perm = 0755, .data = "bb"),
      E(.name = "bin/sh", .type = AE_IFLNK, .target = "busybox"),
      E(.name = "etc/mtab", .type = AE_IFLNK, .target = "/proc/mounts"),
      E(.name = "usr/lib/x", .type = AE_IFLNK, .target = "../../bin/busybox"),
      E(.name = "dev/null", .type = AE_IFCHR, .major = 1, .minor = 3),
      E(.name = "dev/console", .type = AE_IFCHR, .major = 5, .minor = 1),
      E(.name = "run/p", .type = AE_IFIFO),
      E(.name = "twice", .data = "one"),
      E(.name = "twice", .data = "two"),
      E(.name = "dirfile", .type = AE_IFDIR),
      E(.name = "dirfile", .data = "a file now"),
      E(.name = ".wh.w"),
      E(.name = "w/inner", .data = "in"),
      END};
  write_tar(tl_path("t"), v);
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home()};
  TL_OK(hcs_ImportLayer, &info, "ok", tl_path("t"), NULL);
  cr_assert_str_eq(tl_read(tl_path("home/ok/diff/twice")), "two");
  cr_assert_str_eq(tl_read(tl_path("home/ok/diff/dirfile")), "a file now");
  char target[64] = "";
  cr_assert_gt(readlink(tl_path("home/ok/diff/etc/mtab"), target, 63), 0);
  cr_assert_str_eq(target, "/proc/mounts");
  /* Deleted below, made again here: a directory that hides the lower one. */
  char o[2] = "";
  cr_assert_eq(lgetxattr(tl_path("home/ok/diff/w"), "trusted.overlay.opaque", o,
                         sizeof(o)),
               1);
  cr_assert_str_eq(tl_read(tl_path("home/ok/diff/w/inner")), "in");
}

Test(layer_tar, a_digest_that_does_not_match_is_refused) {
  write_tar(tl_path("t"), layer2);
  tl_put(tl_path("t/layer.json"),
         "{\"Digest\":\"sha256:0000000000000000000000000000000000000000000000"
         "000000000000000000\"}");
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home()};
  TL_FAILS(HCS_ERROR_INVALID_DATA, "its digest is sha256:", hcs_ImportLayer,
           &info, "l", tl_path("t"), NULL);
  check_home(tl_path("home"), NULL);
  tl_put(tl_path("t/layer.json"), "{\"Digest\":\"md5:00\"}");
  TL_FAILS(HCS_ERROR_INVALID_DATA, "Digest must be", hcs_ImportLayer, &info,
           "l", tl_path("t"), NULL);
  tl_put(tl_path("t/layer.json"), "not json");
  TL_FAILS(HCS_ERROR_INVALID_DATA, "layer.json", hcs_ImportLayer, &info, "l",
           tl_path("t"), NULL);
}

Test(layer_tar, what_is_not_a_tar_is_refused) {
  mkdir(tl_path("t"), 0755);
  tl_put(tl_path("t/layer.tar"), "this is not a tar archive at all, no......");
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home()};
  TL_FAILS(HCS_ERROR_INVALID_DATA, "layer.tar", hcs_ImportLayer, &info, "l",
           tl_path("t"), NULL);
  check_home(tl_path("home"), NULL);
  TL_FAILS(HCS_ERROR_NOT_FOUND, "layer.tar", hcs_ImportLayer, &info, "l",
           tl_path("nothere"), NULL);
  const char *const missing[] = {tl_path("nothere"), NULL};
  TL_FAILS(HCS_ERROR_NOT_FOUND, "parent_layer_paths[0]", hcs_ImportLayer, &info,
           "l", tl_path("t"), missing);
}

typedef struct seen_s {
  int calls, done;
  uint64_t last_bytes, total, entries;
  int stop_after; /* 0: never */
} seen_t;

static int on_progress(const hcs_layer_progress_t *p, void *data) {
  seen_t *s = data;
  s->calls++;
  s->done += p->done;
  cr_assert_geq(p->bytes, s->last_bytes, "bytes only grow");
  s->last_bytes = p->bytes;
  s->total = p->total_bytes;
  s->entries = p->entries;
  return s->stop_after != 0 && s->calls >= s->stop_after;
}

Test(layer_tar, progress_is_reported_and_can_cancel) {
  write_tar(tl_path("t"), layer1);
  hcs_driver_info_t info = {.flavour = 1, .home_dir = home()};
  seen_t s = {0};
  hcs_layer_options_t o = {.progress = on_progress, .data = &s};
  TL_OK(hcs_layer_import, &info, "l1", tl_path("t"), NULL, &o);
  cr_assert_geq(s.calls, 2, "a start and an end");
  cr_assert_eq(s.done, 1, "one last report");
  cr_assert_eq(s.last_bytes, s.total, "the whole tar was read");
  cr_assert_geq(s.entries, 15);
  seen_t x = {0};
  o.data = &x;
  TL_OK(hcs_layer_export, &info, "l1", tl_path("out"), NULL, &o);
  cr_assert_eq(x.done, 1);
  cr_assert_eq(x.last_bytes, x.total, "every file byte was written");
  seen_t stop = {.stop_after = 1};
  o.data = &stop;
  TL_FAILS(HCS_ERROR_CANCELLED, "cancelled", hcs_layer_import, &info, "l2",
           tl_path("t"), NULL, &o);
  check_home(tl_path("home"), "l1");
  stop = (seen_t){.stop_after = 1};
  TL_FAILS(HCS_ERROR_CANCELLED, "cancelled", hcs_layer_copy, &info, "l1", "l3",
           NULL, &o);
  check_home(tl_path("home"), "l1");
}

/* ---- on the engine's thread pool ---- */

typedef struct async_s {
  hcs_driver_info_t info;
  char folder[256];
  const char *id;
  bool export_it;
  int start_rc;
  bool finished;
  hcs_result_t result;
  char cause[512];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  hcs_t *h;
} async_t;

static void async_finish(async_t *a) {
  pthread_mutex_lock(&a->mu);
  a->finished = true;
  pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

static void on_done(hcs_result_t r, hcs_error_t *err, void *data) {
  async_t *a = data;
  a->result = r;
  snprintf(a->cause, sizeof(a->cause), "%s",
           err != NULL ? hcs_error_cause(err) : "");
  cr_assert_eq(r == HCS_OK, err == NULL);
  hcs_error_free(err);
  async_finish(a);
}

static void start_on_engine(as_loop_t *loop, void *data) {
  async_t *a = data;
  hcs_t *h = a->h;
  (void)loop;
  a->start_rc = a->export_it
                    ? hcs_layer_export_start(h, &a->info, a->id, a->folder,
                                             NULL, NULL, on_done, a)
                    : hcs_layer_import_start(h, &a->info, a->id, a->folder,
                                             NULL, NULL, on_done, a);
  if (a->start_rc != 0) {
    async_finish(a);
  }
}

static hcs_result_t run_async(hcs_t *h, async_t *a) {
  a->finished = false;
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  a->h = h;
  cr_assert_eq(as_loop_post(hcs_engine_loop(h), start_on_engine, a), 0);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 30;
  pthread_mutex_lock(&a->mu);
  while (!a->finished) {
    cr_assert_neq(pthread_cond_timedwait(&a->cv, &a->mu, &until), ETIMEDOUT,
                  "no answer within 30 s");
  }
  pthread_mutex_unlock(&a->mu);
  pthread_cond_destroy(&a->cv);
  pthread_mutex_destroy(&a->mu);
  cr_assert_eq(a->start_rc, 0);
  return a->result;
}

Test(layer_tar, import_and_export_run_on_the_thread_pool) {
  write_tar(tl_path("t"), layer1);
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, NULL, NULL), HCS_OK);
  async_t a = {.info = {.flavour = 1, .home_dir = home()}, .id = "la"};
  snprintf(a.folder, sizeof(a.folder), "%s", tl_path("t"));
  cr_assert_eq(run_async(h, &a), HCS_OK, "%s", a.cause);
  bool exists = false;
  TL_OK(hcs_LayerExists, &a.info, "la", &exists);
  cr_assert(exists);
  a.export_it = true;
  snprintf(a.folder, sizeof(a.folder), "%s", tl_path("out"));
  cr_assert_eq(run_async(h, &a), HCS_OK, "%s", a.cause);
  cr_assert(tl_exists(tl_path("out/layer.tar")));
  /* Faults come to the callback. */
  a.export_it = false;
  a.id = "bad/id";
  cr_assert_eq(run_async(h, &a), HCS_WSAEINVAL);
  cr_assert_not_null(strstr(a.cause, "id:"), "%s", a.cause);
  /* Not from another thread. */
  cr_assert_eq(hcs_layer_import_start(h, &a.info, "x", a.folder, NULL, NULL,
                                      on_done, &a),
               -EINVAL);
  hcs_close(h);
}
