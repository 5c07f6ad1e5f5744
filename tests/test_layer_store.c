/* SPDX-License-Identifier: MIT */
/* The layer store, both flavours through the same tests: layers made,
 * found and removed; the view of a three-layer chain with deletions and
 * opaque directories; CopyLayer of a sandbox's adds, changes and deletes;
 * prepare counting; destroy refusals; the built-in base image. Real
 * overlay mounts: needs root. */
#include "test_layer_util.h"

#include "hcs/layer/layerstore.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

TestSuite(layer_store, .init = tl_setup, .fini = tl_teardown, .timeout = 120);

#define E(...) ((tl_ent_t){__VA_ARGS__})
#define END ((tl_ent_t){0})
#define BOTH(name)                                                             \
  static void name(int flavour);                                               \
  Test(layer_store, name##_filter) { name(HCS_FLAVOUR_FILTER); }               \
  Test(layer_store, name##_diff) { name(HCS_FLAVOUR_DIFF); }                   \
  static void name(int flavour)

static void write_tar(const char *folder, const tl_ent_t *v) {
  tl_tar_t t;
  tl_tar_open(&t, folder);
  for (; v->name != NULL; v++) {
    tl_tar_add(&t, v);
  }
  tl_tar_close(&t);
}

static hcs_driver_info_t store(int flavour) {
  static char home[512];
  snprintf(home, sizeof(home), "%s/home", tl_base);
  return (hcs_driver_info_t){.flavour = flavour, .home_dir = home};
}

/* 1 when path is a mount point. */
static bool is_mounted(const char *path) {
  struct stat a, b;
  char parent[1024];
  snprintf(parent, sizeof(parent), "%s/..", path);
  return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* l1 <- l2 <- l3: l2 deletes c and a/1, makes b opaque; l3 brings c back
 * and deletes d. */
static void make_chain(hcs_driver_info_t *info) {
  static const tl_ent_t l1[] = {
      E(.name = "a/1", .data = "1"),    E(.name = "a/2", .data = "2"),
      E(.name = "b/x", .data = "bx"),   E(.name = "c", .data = "c1"),
      E(.name = "d/keep", .data = "k"), E(.name = "same", .data = "s1"),
      E(.name = "e", .data = "e1"),     END};
  static const tl_ent_t l2[] = {E(.name = ".wh.c"),
                                E(.name = "a/.wh.1"),
                                E(.name = "b", .type = AE_IFDIR),
                                E(.name = "b/.wh..wh..opq"),
                                E(.name = "b/y", .data = "by"),
                                E(.name = "same", .data = "s2"),
                                END};
  static const tl_ent_t l3[] = {E(.name = "c", .data = "c3"),
                                E(.name = ".wh.d"),
                                E(.name = "a/3", .data = "3"), END};
  write_tar(tl_path("t1"), l1);
  write_tar(tl_path("t2"), l2);
  write_tar(tl_path("t3"), l3);
  const char *const p2[] = {tl_path("home/l1"), NULL};
  TL_OK(hcs_ImportLayer, info, "l1", tl_path("t1"), NULL);
  TL_OK(hcs_ImportLayer, info, "l2", tl_path("t2"), p2);
  const char *const p3[] = {tl_path("home/l2"), tl_path("home/l1"), NULL};
  TL_OK(hcs_ImportLayer, info, "l3", tl_path("t3"), p3);
}

static const char *const chain3[] = {"/l3", "/l2", "/l1", NULL};

/* The chain's folders, nearest first, in v (4 slots). */
static const char *const *chain_paths(const char *const *ids, char buf[][512],
                                      const char **v) {
  size_t i = 0;
  for (; ids[i] != NULL; i++) {
    snprintf(buf[i], 512, "%s/home%s", tl_base, ids[i]);
    v[i] = buf[i];
  }
  v[i] = NULL;
  return v;
}

static char *mount_path(hcs_driver_info_t *info, const char *id) {
  char *p = NULL;
  TL_OK(hcs_GetLayerMountPath, info, id, &p);
  return p;
}

static const char *in(const char *dir, const char *rel) {
  static char b[4][1024];
  static int k;
  char *out = b[k++ % 4];
  snprintf(out, 1024, "%s/%s", dir, rel);
  return out;
}

BOTH(chain_view_shows_deletions_and_opaque_directories) {
  hcs_driver_info_t info = store(flavour);
  make_chain(&info);
  char buf[4][512];
  const char *v[4];
  TL_OK(hcs_CreateSandboxLayer, &info, "s", "l3", chain_paths(chain3, buf, v));
  TL_OK(hcs_PrepareLayer, &info, "s", NULL);
  char *view = mount_path(&info, "s");
  cr_assert_str_eq(view, tl_path(flavour ? "home/s/merged" : "home/s/diff"));
  if (flavour == HCS_FLAVOUR_FILTER) {
    cr_assert(is_mounted(view));
  }
  cr_assert(!tl_exists(in(view, "a/1")), "deleted in l2");
  cr_assert_str_eq(tl_read(in(view, "a/2")), "2");
  cr_assert_str_eq(tl_read(in(view, "a/3")), "3");
  cr_assert(!tl_exists(in(view, "b/x")), "b is opaque in l2");
  cr_assert_str_eq(tl_read(in(view, "b/y")), "by");
  cr_assert_str_eq(tl_read(in(view, "c")), "c3", "deleted, then back");
  cr_assert(!tl_exists(in(view, "d")), "deleted in l3");
  cr_assert_str_eq(tl_read(in(view, "same")), "s2");
  cr_assert_str_eq(tl_read(in(view, "e")), "e1");
  hcs_free(view);
  TL_OK(hcs_UnprepareLayer, &info, "s");
  cr_assert(!tl_mounted_under_base());
}

/* The sandbox's changes: adds, changes, deletes, a directory replaced
 * (opaque), a symlink, a hard link, a mode and an owner. */
static void change(const char *view) {
  tl_put(in(view, "new"), "n");
  tl_put(in(view, "same"), "s4");
  cr_assert_eq(unlink(in(view, "a/2")), 0);
  cr_assert_eq(unlink(in(view, "b/y")), 0);
  cr_assert_eq(rmdir(in(view, "b")), 0);
  cr_assert_eq(unlink(in(view, "a/3")), 0);
  cr_assert_eq(rmdir(in(view, "a")), 0);
  cr_assert_eq(mkdir(in(view, "a"), 0750), 0);
  tl_put(in(view, "a/fresh"), "f");
  cr_assert_eq(symlink("same", in(view, "lnk")), 0);
  cr_assert_eq(link(in(view, "new"), in(view, "hl")), 0);
  cr_assert_eq(chmod(in(view, "e"), 0600), 0);
  cr_assert_eq(chown(in(view, "e"), 5, 6), 0);
  cr_assert_eq(setxattr(in(view, "new"), "user.note", "hi", 2, 0), 0);
}

BOTH(copy_layer_commits_a_sandboxs_changes) {
  hcs_driver_info_t info = store(flavour);
  make_chain(&info);
  char buf[4][512];
  const char *v[4];
  const char *const *parents = chain_paths(chain3, buf, v);
  TL_OK(hcs_CreateSandboxLayer, &info, "s", "l3", parents);
  TL_OK(hcs_PrepareLayer, &info, "s", parents);
  char *view = mount_path(&info, "s");
  change(view);
  TL_OK(hcs_CopyLayer, &info, "s", "l4", parents);
  /* A new sandbox over l4 and the chain sees what s saw. */
  static const char *const chain4[] = {"/l4", "/l3", "/l2", "/l1", NULL};
  char buf4[5][512];
  const char *v4[5];
  TL_OK(hcs_CreateSandboxLayer, &info, "s2", "l4",
        chain_paths(chain4, buf4, v4));
  TL_OK(hcs_PrepareLayer, &info, "s2", NULL);
  char *view2 = mount_path(&info, "s2");
  tl_assert_same_tree(view, view2);
  cr_assert_str_eq(tl_read(in(view2, "same")), "s4");
  cr_assert(!tl_exists(in(view2, "b")));
  cr_assert(!tl_exists(in(view2, "a/2")), "a was replaced");
  cr_assert_str_eq(tl_read(in(view2, "a/fresh")), "f");
  if (flavour == HCS_FLAVOUR_FILTER) {
    /* l4 holds the changes only, overlay's markers and all. */
    struct stat st;
    cr_assert_eq(lstat(tl_path("home/l4/diff/b"), &st), 0);
    cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == 0, "b's whiteout");
    char o[2] = "";
    cr_assert_eq(
        lgetxattr(tl_path("home/l4/diff/a"), "trusted.overlay.opaque", o, 2),
        1);
    cr_assert(!tl_exists(tl_path("home/l4/diff/c")));
    cr_assert_eq(lstat(tl_path("home/l4/diff/hl"), &st), 0);
    cr_assert_eq(st.st_nlink, 2, "new and hl stay one file");
  }
  hcs_free(view);
  hcs_free(view2);
  TL_OK(hcs_UnprepareLayer, &info, "s2");
  TL_OK(hcs_UnprepareLayer, &info, "s");
  TL_FAILS(HCS_ERROR_ALREADY_EXISTS, "already exists", hcs_CopyLayer, &info,
           "s", "l4", NULL);
  TL_FAILS(HCS_ERROR_NOT_FOUND, "no such layer", hcs_CopyLayer, &info, "nope",
           "l5", NULL);
  cr_assert(!tl_mounted_under_base());
}

BOTH(layers_are_made_found_and_removed) {
  hcs_driver_info_t info = store(flavour);
  bool exists = true;
  TL_OK(hcs_LayerExists, &info, "b", &exists);
  cr_assert(!exists, "no home yet: no layer");
  TL_OK(hcs_CreateLayer, &info, "b", NULL);
  tl_put(tl_path("home/b/diff/f"), "from b");
  TL_OK(hcs_CreateLayer, &info, "c", "b");
  TL_OK(hcs_LayerExists, &info, "c", &exists);
  cr_assert(exists);
  if (flavour == HCS_FLAVOUR_DIFF) {
    cr_assert_str_eq(tl_read(tl_path("home/c/diff/f")), "from b");
    cr_assert(tl_exists(tl_path("home/c/full")));
  } else {
    cr_assert(!tl_exists(tl_path("home/c/diff/f")), "a diff starts empty");
  }
  const char *json = tl_read(tl_path("home/c/layer.json"));
  cr_assert_not_null(strstr(json, "\"Parent\": \"b\""), "%s", json);
  cr_assert_not_null(strstr(json, "\"Kind\": \"ro\""), "%s", json);
  TL_FAILS(HCS_ERROR_ALREADY_EXISTS, "already exists", hcs_CreateLayer, &info,
           "c", "b");
  TL_FAILS(HCS_ERROR_NOT_FOUND, "layer nope", hcs_CreateLayer, &info, "d",
           "nope");
  char *p = mount_path(&info, "c");
  cr_assert_str_eq(p, tl_path("home/c"));
  hcs_free(p);
  TL_OK(hcs_ActivateLayer, &info, "c");
  cr_assert(tl_exists(tl_path("home/c/active")));
  TL_OK(hcs_DeactivateLayer, &info, "c");
  cr_assert(!tl_exists(tl_path("home/c/active")));
  TL_FAILS(HCS_WSAEINVAL, "read-only", hcs_PrepareLayer, &info, "c", NULL);
  TL_FAILS(HCS_ERROR_NOT_FOUND, "no such layer", hcs_ActivateLayer, &info,
           "nope");
  TL_FAILS(HCS_ERROR_NOT_FOUND, "no such layer", hcs_DestroyLayer, &info,
           "nope");
  TL_OK(hcs_DestroyLayer, &info, "c");
  TL_OK(hcs_DestroyLayer, &info, "b");
  TL_OK(hcs_LayerExists, &info, "b", &exists);
  cr_assert(!exists);
  char *names[4];
  cr_assert_eq(tl_names(tl_path("home"), names, 4), 0, "nothing left");
}

BOTH(prepare_counts_and_unprepare_unmounts_at_zero) {
  hcs_driver_info_t info = store(flavour);
  char img[512];
  snprintf(img, sizeof(img), "%s/%s", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  const char *const parents[] = {img, NULL};
  TL_OK(hcs_CreateSandboxLayer, &info, "s", HCS_DEFAULT_IMAGE, parents);
  TL_OK(hcs_PrepareLayer, &info, "s", NULL);
  TL_OK(hcs_PrepareLayer, &info, "s", NULL);
  cr_assert_str_eq(tl_read(tl_path("home/s/prepared")), "2\n");
  char *p = mount_path(&info, "s");
  cr_assert(tl_exists(in(p, "bin/busybox")), "%s", p);
  TL_OK(hcs_UnprepareLayer, &info, "s");
  if (flavour == HCS_FLAVOUR_FILTER) {
    cr_assert(is_mounted(p), "one prepare is left");
  }
  TL_OK(hcs_UnprepareLayer, &info, "s");
  cr_assert(!is_mounted(p));
  cr_assert(!tl_mounted_under_base());
  hcs_free(p);
  TL_FAILS(HCS_WSAEINVAL, "not prepared", hcs_UnprepareLayer, &info, "s");
  p = mount_path(&info, "s");
  cr_assert_str_eq(p, tl_path("home/s"));
  hcs_free(p);
  TL_OK(hcs_DestroyLayer, &info, "s");
}

BOTH(destroy_refuses_a_layer_in_use) {
  hcs_driver_info_t info = store(flavour);
  TL_OK(hcs_CreateLayer, &info, "b", NULL);
  TL_OK(hcs_CreateLayer, &info, "c", "b");
  TL_FAILS(HCS_ERROR_BUSY, "layer c stands on it", hcs_DestroyLayer, &info,
           "b");
  const char *const parents[] = {tl_path("home/c"), tl_path("home/b"), NULL};
  TL_OK(hcs_CreateSandboxLayer, &info, "s", NULL, parents);
  TL_FAILS(HCS_ERROR_BUSY, "layer s stands on it", hcs_DestroyLayer, &info,
           "c");
  TL_OK(hcs_PrepareLayer, &info, "s", NULL);
  TL_FAILS(HCS_ERROR_BUSY, "prepared (1)", hcs_DestroyLayer, &info, "s");
  cr_assert(tl_exists(tl_path("home/s/layer.json")), "refused: untouched");
  TL_OK(hcs_UnprepareLayer, &info, "s");
  TL_OK(hcs_DestroyLayer, &info, "s");
  TL_OK(hcs_DestroyLayer, &info, "c");
  TL_OK(hcs_DestroyLayer, &info, "b");
}

/* Docker's windowsfilter driver gave CreateSandboxLayer's parentId as the
 * nearest parent's folder (layerChain[0]), not as its id: the folder's
 * last component is the "Parent" recorded, so that the parent is in use. */
BOTH(a_sandbox_parent_may_be_given_as_its_folder) {
  hcs_driver_info_t info = store(flavour);
  TL_OK(hcs_CreateLayer, &info, "b", NULL);
  char folder[1024], slash[1040];
  snprintf(folder, sizeof(folder), "%s", tl_path("home/b"));
  snprintf(slash, sizeof(slash), "%s/", folder);
  const char *const parents[] = {folder, NULL};
  const char *const given[] = {folder, slash};
  for (int i = 0; i < 2; i++) {
    TL_OK(hcs_CreateSandboxLayer, &info, "s", given[i], parents);
    json_t *meta = json_loads(tl_read(tl_path("home/s/layer.json")), 0, NULL);
    cr_assert_not_null(meta);
    cr_assert_str_eq(json_string_value(json_object_get(meta, "Parent")), "b");
    json_decref(meta);
    TL_FAILS(HCS_ERROR_BUSY, "layer s stands on it", hcs_DestroyLayer, &info,
             "b");
    TL_OK(hcs_DestroyLayer, &info, "s");
  }
  /* A path that is not clean is no folder of a layer. */
  TL_FAILS(HCS_WSAEINVAL, "parent_id", hcs_CreateSandboxLayer, &info, "s",
           "/x/../b", parents);
  TL_FAILS(HCS_WSAEINVAL, "parent_id", hcs_CreateSandboxLayer, &info, "s", "/",
           parents);
  TL_OK(hcs_DestroyLayer, &info, "b");
}

BOTH(destroy_follows_no_symlink_and_crosses_no_mount) {
  hcs_driver_info_t info = store(flavour);
  cr_assert_eq(mkdir(tl_path("outside"), 0755), 0);
  tl_put(tl_path("outside/secret"), "secret");
  TL_OK(hcs_CreateLayer, &info, "l", NULL);
  cr_assert_eq(symlink(tl_path("outside"), tl_path("home/l/diff/abs")), 0);
  cr_assert_eq(symlink("../../../outside", tl_path("home/l/diff/rel")), 0);
  cr_assert_eq(symlink(tl_path("outside/secret"), tl_path("home/l/diff/f")), 0);
  TL_OK(hcs_DestroyLayer, &info, "l");
  cr_assert_str_eq(tl_read(tl_path("outside/secret")), "secret");
  /* A mount inside a layer is not emptied. */
  TL_OK(hcs_CreateLayer, &info, "m", NULL);
  cr_assert_eq(mkdir(tl_path("home/m/diff/mnt"), 0755), 0);
  cr_assert_eq(mount("tmpfs", tl_path("home/m/diff/mnt"), "tmpfs", 0, NULL), 0);
  tl_put(tl_path("home/m/diff/mnt/keep"), "keep");
  hcs_error_t *err = NULL;
  cr_assert_neq(hcs_DestroyLayer(&info, "m", &err), HCS_OK);
  cr_assert_eq(hcs_error_errno(err), EBUSY, "%s", hcs_error_message(err));
  hcs_error_free(err);
  char *names[4];
  size_t n = tl_names(tl_path("home"), names, 4);
  cr_assert_eq(n, 1);
  char keep[512];
  snprintf(keep, sizeof(keep), "%s/%s/diff/mnt/keep", tl_path("home"),
           names[0]);
  cr_assert_str_eq(tl_read(keep), "keep");
  free(names[0]);
  tl_unmount_all();
}

Test(layer_store, the_built_in_base_image_is_listed) {
  hcs_driver_info_t info = {.flavour = 1, .home_dir = hcs_default_image_home()};
  char *text = NULL;
  TL_OK(hcs_GetSharedBaseImages, &info, &text);
  json_t *o = json_loads(text, 0, NULL);
  cr_assert_not_null(o, "%s", text);
  json_t *images = json_object_get(o, "Images");
  cr_assert_eq(json_array_size(images), 1, "%s", text);
  json_t *img = json_array_get(images, 0);
  char path[512];
  snprintf(path, sizeof(path), "%s/busybox", hcs_default_image_home());
  cr_assert_str_eq(json_string_value(json_object_get(img, "Name")), "busybox");
  cr_assert_str_eq(json_string_value(json_object_get(img, "Path")), path);
  const char *version = json_string_value(json_object_get(img, "Version"));
  cr_assert(version != NULL && version[0] >= '1' && version[0] <= '9', "%s",
            text);
  cr_assert_gt(json_integer_value(json_object_get(img, "Size")), 100000);
  cr_assert_eq(strlen(json_string_value(json_object_get(img, "CreatedTime"))),
               20);
  json_decref(o);
  hcs_free(text);
  /* What it holds. */
  char p[1024], t[64] = "";
  snprintf(p, sizeof(p), "%s/diff/bin/sh", path);
  cr_assert_gt(readlink(p, t, sizeof(t) - 1), 0);
  cr_assert_str_eq(t, "busybox");
  snprintf(p, sizeof(p), "%s/diff/bin/busybox", path);
  struct stat st;
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISREG(st.st_mode) && (st.st_mode & 0111));
  snprintf(p, sizeof(p), "%s/diff/tmp", path);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 01777);
  snprintf(p, sizeof(p), "%s/diff/etc/passwd", path);
  cr_assert_not_null(strstr(tl_read(p), "nobody:"));
  for (const char *const *d = (const char *const[]){"proc", "dev", "sys", NULL};
       *d != NULL; d++) {
    snprintf(p, sizeof(p), "%s/diff/%s", path, *d);
    cr_assert_eq(lstat(p, &st), 0, "%s", p);
    cr_assert(S_ISDIR(st.st_mode));
  }
}

Test(layer_store, a_store_without_base_images_lists_none) {
  hcs_driver_info_t info = store(1);
  char *text = NULL;
  TL_OK(hcs_GetSharedBaseImages, &info, &text);
  cr_assert_str_eq(text, "{\"Images\":[]}");
  hcs_free(text);
  TL_OK(hcs_CreateLayer, &info, "x", NULL);
  TL_OK(hcs_GetSharedBaseImages, &info, &text);
  cr_assert_str_eq(text, "{\"Images\":[]}");
  hcs_free(text);
}

Test(layer_store, what_container_c_stacks) {
  hcs_driver_info_t f1 = store(1), f0 = store(0);
  TL_OK(hcs_CreateLayer, &f1, "ro", NULL);
  TL_OK(hcs_CreateLayer, &f0, "full", NULL);
  TL_OK(hcs_CreateSandboxLayer, &f1, "s1", NULL, NULL);
  TL_OK(hcs_CreateSandboxLayer, &f0, "s0", NULL, NULL);
  char out[512], work[512];
  cr_assert_eq(hcs__layer_lowerdir(tl_path("home/ro"), out, sizeof(out)), 0);
  cr_assert_str_eq(out, tl_path("home/ro/diff"));
  cr_assert_eq(hcs__layer_lowerdir(tl_path("home/full"), out, sizeof(out)), 1,
               "a full copy ends the chain");
  cr_assert_str_eq(out, tl_path("home/full/diff"));
  cr_assert_eq(hcs__layer_lowerdir(tl_path("outside"), out, sizeof(out)), 0);
  cr_assert_str_eq(out, tl_path("outside"), "a plain directory as it is");
  cr_assert_eq(hcs__layer_lowerdir(tl_path("home/ro"), out, 8), -ENAMETOOLONG);
  cr_assert_eq(hcs__layer_sandbox_dirs(tl_path("home/s1"), out, work, 512), 0);
  cr_assert_str_eq(out, tl_path("home/s1/upper"));
  cr_assert_str_eq(work, tl_path("home/s1/work"));
  cr_assert_eq(hcs__layer_sandbox_dirs(tl_path("home/s0"), out, work, 512), 1);
  cr_assert_str_eq(out, tl_path("home/s0/diff"));
  cr_assert_str_eq(work, "");
}

/* What a caller that died mid-call left in a store (a staging folder, a
 * layer half removed) goes at the next call on the store; a folder whose
 * maker still works on it stays, and so does one made a moment ago. */
Test(layer_store, a_dead_callers_leftovers_go_at_the_next_call) {
  char home[512], p[700];
  snprintf(home, sizeof(home), "%s/home", tl_base);
  cr_assert_eq(mkdir(home, 0700), 0);
  static const char *const names[] = {".tmp-l1-dead00", ".destroy-l2-1",
                                      ".tmp-l3-alive0", ".tmp-l4-young0"};
  int held = -1;
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof(p), "%s/%s", home, names[i]);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/%s/diff", home, names[i]);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/%s", home, names[i]);
    if (i < 3) { /* an hour old */
      struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
      cr_assert_eq(utimensat(AT_FDCWD, p, old, 0), 0);
    }
    if (i == 2) { /* its maker is alive and holds it */
      held = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      cr_assert_geq(held, 0);
      cr_assert_eq(flock(held, LOCK_EX), 0);
    }
  }
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  bool exists = true;
  TL_OK(hcs_LayerExists, &info, "l9", &exists);
  cr_assert(!exists);
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof(p), "%s/%s", home, names[i]);
    cr_assert_eq(tl_exists(p), i >= 2, "%s", names[i]);
  }
  close(held);
}
