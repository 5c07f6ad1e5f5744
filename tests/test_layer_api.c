/* SPDX-License-Identifier: MIT */
/* The layer calls as API surface: each validates its arguments (the field
 * named in the cause, HCS_WSAEINVAL) before the store sees them; valid
 * arguments reach the store, here an empty one in a scratch directory.
 * Every call is driven through one dispatcher, so that each rule is
 * checked on every call it applies to. The store's behaviour is
 * test_layer_store.c's and test_layer_tar.c's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <hcs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[64]; /* the test's directory: the store lives here */
static char home[128];   /* scratch/layers */

static void setup(void) {
  strcpy(scratch, "/tmp/hcs-layerapi-XXXXXX");
  cr_assert_not_null(mkdtemp(scratch));
  snprintf(home, sizeof(home), "%s/layers", scratch);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void teardown(void) {
  if (scratch[0] != '\0') {
    nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  }
}

TestSuite(layer_api, .init = setup, .fini = teardown);

typedef enum {
  ACTIVATE,
  DEACTIVATE,
  COPY,
  CREATE,
  CREATE_SANDBOX,
  DESTROY,
  EXPORT,
  IMPORT,
  MOUNT_PATH,
  BASE_IMAGES,
  EXISTS,
  PREPARE,
  UNPREPARE,
  N_CALLS
} call_t;

static const char *const op_names[N_CALLS] = {
    "hcs::ActivateLayer",      "hcs::DeactivateLayer",
    "hcs::CopyLayer",          "hcs::CreateLayer",
    "hcs::CreateSandboxLayer", "hcs::DestroyLayer",
    "hcs::ExportLayer",        "hcs::ImportLayer",
    "hcs::GetLayerMountPath",  "hcs::GetSharedBaseImages",
    "hcs::LayerExists",        "hcs::PrepareLayer",
    "hcs::UnprepareLayer"};

/* Which arguments each call takes. */
static bool takes_id(call_t c) { return c != BASE_IMAGES; }
static bool takes_parents(call_t c) {
  return c == COPY || c == CREATE_SANDBOX || c == EXPORT || c == IMPORT ||
         c == PREPARE;
}
static bool takes_folder(call_t c) { return c == EXPORT || c == IMPORT; }
static bool takes_out(call_t c) {
  return c == MOUNT_PATH || c == BASE_IMAGES || c == EXISTS;
}

static const char *const good_parents[] = {
    "/nonexistent/hcs/layers/base", "/nonexistent/hcs/layers/base2", NULL};

typedef struct args_s {
  hcs_driver_info_t info;
  bool null_info;
  const char *id;
  const char *other; /* dst_id, parent, parent_id */
  const char *folder;
  const char *const *parents;
  bool null_out;
} args_t;

static args_t good(void) {
  args_t a = {.info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home},
              .id = "layer1",
              .other = "layer0",
              .folder = "/nonexistent/hcs/export/layer1",
              .parents = good_parents};
  return a;
}

/* Calls c with a; checks that out-parameters were left empty on a
 * failure (and frees what a success gave). */
static hcs_result_t call(call_t c, const args_t *a, hcs_error_t **err) {
  const hcs_driver_info_t *info = a->null_info ? NULL : &a->info;
  char *text = (char *)"sentinel";
  bool exists = true;
  hcs_result_t r = HCS_OK;
  switch (c) {
  case ACTIVATE:
    return hcs_ActivateLayer(info, a->id, err);
  case DEACTIVATE:
    return hcs_DeactivateLayer(info, a->id, err);
  case COPY:
    return hcs_CopyLayer(info, a->id, a->other, a->parents, err);
  case CREATE:
    return hcs_CreateLayer(info, a->id, a->other, err);
  case CREATE_SANDBOX:
    return hcs_CreateSandboxLayer(info, a->id, a->other, a->parents, err);
  case DESTROY:
    return hcs_DestroyLayer(info, a->id, err);
  case EXPORT:
    return hcs_ExportLayer(info, a->id, a->folder, a->parents, err);
  case IMPORT:
    return hcs_ImportLayer(info, a->id, a->folder, a->parents, err);
  case MOUNT_PATH:
    r = hcs_GetLayerMountPath(info, a->id, a->null_out ? NULL : &text, err);
    break;
  case BASE_IMAGES:
    r = hcs_GetSharedBaseImages(info, a->null_out ? NULL : &text, err);
    break;
  case EXISTS:
    r = hcs_LayerExists(info, a->id, a->null_out ? NULL : &exists, err);
    break;
  case PREPARE:
    return hcs_PrepareLayer(info, a->id, a->parents, err);
  case UNPREPARE:
    return hcs_UnprepareLayer(info, a->id, err);
  case N_CALLS:
    break;
  }
  if (r == HCS_OK && !a->null_out) {
    cr_assert(c != EXISTS || !exists, "an empty store knows no layer");
    cr_assert(c == EXISTS || text != NULL);
    if (c != EXISTS) {
      hcs_free(text);
    }
  } else if (!a->null_out && c == EXISTS) {
    cr_assert(!exists, "%s left *exists true", op_names[c]);
  } else if (!a->null_out) {
    cr_assert_null(text, "%s left its out-parameter set", op_names[c]);
  }
  return r;
}

/* c with a must be refused with HCS_WSAEINVAL naming needle. */
static void expect_refused(call_t c, const args_t *a, const char *needle) {
  hcs_error_t *err = NULL;
  hcs_result_t r = call(c, a, &err);
  cr_assert_eq(r, HCS_WSAEINVAL, "%s: got %u, want WSAEINVAL (for %s)",
               op_names[c], (unsigned)r, needle);
  cr_assert_not_null(err);
  cr_assert_eq(hcs_error_code(err), HCS_WSAEINVAL);
  cr_assert_eq(hcs_error_errno(err), EINVAL);
  cr_assert_str_eq(hcs_error_op(err), op_names[c]);
  cr_assert_not_null(strstr(hcs_error_cause(err), needle),
                     "%s: cause \"%s\" lacks \"%s\"", op_names[c],
                     hcs_error_cause(err), needle);
  hcs_error_free(err);
  /* The same without an error object: the code alone. */
  cr_assert_eq(call(c, a, NULL), HCS_WSAEINVAL);
}

/* Valid arguments reach the store: an empty store has no layer, no
 * parent and no transport folder (HCS_ERROR_NOT_FOUND), lists no base
 * image and knows no layer (HCS_OK). */
static void expect_answered(call_t c, const args_t *a) {
  hcs_error_t *err = NULL;
  hcs_result_t r = call(c, a, &err);
  hcs_result_t want =
      c == BASE_IMAGES || c == EXISTS ? HCS_OK : HCS_ERROR_NOT_FOUND;
  cr_assert_eq(r, want, "%s: got %u: %s", op_names[c], (unsigned)r,
               err != NULL ? hcs_error_message(err) : "");
  if (want == HCS_OK) {
    cr_assert_null(err);
    return;
  }
  cr_assert_not_null(err);
  cr_assert_eq(hcs_error_code(err), HCS_ERROR_NOT_FOUND);
  cr_assert_eq(hcs_error_errno(err), ENOENT);
  cr_assert_str_eq(hcs_error_op(err), op_names[c]);
  char object[160];
  snprintf(object, sizeof(object), "id=%s", a->id);
  cr_assert_str_eq(hcs_error_object(err), takes_id(c) ? object : "");
  cr_assert_not_null(strstr(hcs_error_message(err), op_names[c]));
  hcs_error_free(err);
  cr_assert_eq(call(c, a, NULL), want);
}

Test(layer_api, valid_calls_reach_the_store) {
  for (call_t c = 0; c < N_CALLS; c++) {
    args_t a = good();
    expect_answered(c, &a);
    a.info.flavour = HCS_FLAVOUR_DIFF;
    expect_answered(c, &a);
  }
}

Test(layer_api, accepted_edge_values) {
  char twice[160], dotted[160];
  snprintf(twice, sizeof(twice), "%s//b/", scratch);
  snprintf(dotted, sizeof(dotted), "%s/.b/..c/...", scratch);
  const char *const homes[] = {twice, dotted, NULL};
  char long_id[129];
  memset(long_id, 'x', 128);
  long_id[128] = '\0';
  static const char *const ids[] = {
      "a", "A_b.c-9", "a..b", "0b6f1c4e-3d2a-4b5c-8d7e-1f2a3b4c5d6e", NULL};
  for (call_t c = 0; c < N_CALLS; c++) {
    for (size_t i = 0; homes[i] != NULL; i++) {
      args_t a = good();
      a.info.home_dir = homes[i];
      expect_answered(c, &a);
    }
    for (size_t i = 0; ids[i] != NULL && takes_id(c); i++) {
      args_t a = good();
      a.id = ids[i];
      expect_answered(c, &a);
    }
    args_t a = good();
    a.id = long_id;
    expect_answered(c, &a);
  }
}

Test(layer_api, info_is_checked_by_every_call) {
  for (call_t c = 0; c < N_CALLS; c++) {
    args_t a = good();
    a.null_info = true;
    expect_refused(c, &a, "info: is NULL");
    a = good();
    a.info.flavour = 2;
    expect_refused(c, &a, "info->flavour: must be 0");
    a.info.flavour = -1;
    expect_refused(c, &a, "info->flavour");
  }
}

Test(layer_api, home_dir_must_be_a_clean_absolute_path) {
  static const struct {
    const char *home, *needle;
  } cases[] = {
      {NULL, "info->home_dir: must be an absolute path, not NULL"},
      {"", "info->home_dir: must be an absolute path"},
      {"var/lib/hcs", "info->home_dir: must be an absolute path"},
      {"./layers", "info->home_dir: must be an absolute path"},
      {"/var/../etc", "info->home_dir: must not have \".\" or \"..\""},
      {"/var/./lib", "info->home_dir: must not have"},
      {"/var/lib/..", "info->home_dir: must not have"},
      {"/.", "info->home_dir: must not have"},
      {"/..//x", "info->home_dir: must not have"},
      {"/a,upperdir=/x", "info->home_dir: must not hold ','"},
      {"/a:/b", "info->home_dir: must not hold"},
      {"/a\\b", "info->home_dir: must not hold"},
      {"/a\nb", "info->home_dir: must not hold"},
  };
  for (call_t c = 0; c < N_CALLS; c++) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      args_t a = good();
      a.info.home_dir = cases[i].home;
      expect_refused(c, &a, cases[i].needle);
    }
  }
}

Test(layer_api, ids_are_checked) {
  char long_id[130];
  memset(long_id, 'x', 129);
  long_id[129] = '\0';
  const char *bad_ids[] = {
      NULL,   "",     ".hidden", "-opt",
      "a/b",  "../x", "a b",     "{0b6f1c4e-3d2a-4b5c-8d7e-1f2a3b4c5d6e}",
      long_id};
  for (call_t c = 0; c < N_CALLS; c++) {
    if (!takes_id(c)) {
      continue;
    }
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
      args_t a = good();
      a.id = bad_ids[i];
      expect_refused(c, &a, c == COPY ? "src_id: must be 1-128" : "id: must");
      /* No object names an id that is not one. */
      hcs_error_t *err = NULL;
      call(c, &a, &err);
      cr_assert_str_eq(hcs_error_object(err), "");
      hcs_error_free(err);
    }
  }
}

Test(layer_api, the_object_names_a_valid_id_even_when_another_argument_is_bad) {
  args_t a = good();
  a.info.home_dir = "rel";
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_ActivateLayer(&a.info, "layer1", &err), HCS_WSAEINVAL);
  cr_assert_str_eq(hcs_error_object(err), "id=layer1");
  hcs_error_free(err);
}

Test(layer_api, the_first_bad_argument_is_the_one_named) {
  args_t a = good();
  a.info.home_dir = "rel";
  a.id = "a/b";
  a.folder = "rel";
  expect_refused(EXPORT, &a, "info->home_dir");
  a.info.home_dir = "/h";
  expect_refused(EXPORT, &a, "id:");
  a.id = "x";
  expect_refused(EXPORT, &a, "folder:");
}

Test(layer_api, copy_needs_a_distinct_valid_destination) {
  args_t a = good();
  a.other = NULL;
  expect_refused(COPY, &a, "dst_id: must be 1-128");
  a.other = "";
  expect_refused(COPY, &a, "dst_id: must be 1-128");
  a.other = "x/y";
  expect_refused(COPY, &a, "dst_id: must be 1-128");
  a.other = a.id;
  expect_refused(COPY, &a, "dst_id: must differ from src_id");
}

Test(layer_api, parents_by_id_may_be_absent_but_not_bad_or_self) {
  static const call_t calls[] = {CREATE, CREATE_SANDBOX};
  static const char *const names[] = {"parent", "parent_id"};
  for (size_t i = 0; i < 2; i++) {
    /* No parent: a base layer, or a sandbox over nothing. */
    args_t a = good();
    a.other = NULL;
    a.parents = NULL;
    hcs_error_t *err = NULL;
    cr_assert_eq(call(calls[i], &a, &err), HCS_OK, "%s",
                 err != NULL ? hcs_error_message(err) : "");
    cr_assert_eq(hcs_DestroyLayer(&a.info, a.id, NULL), HCS_OK);
    a.other = "";
    cr_assert_eq(call(calls[i], &a, NULL), HCS_OK);
    cr_assert_eq(hcs_DestroyLayer(&a.info, a.id, NULL), HCS_OK);
    a.parents = good_parents;
    char needle[64];
    a.other = "../up";
    snprintf(needle, sizeof(needle), "%s: must be 1-128", names[i]);
    expect_refused(calls[i], &a, needle);
    a.other = a.id;
    snprintf(needle, sizeof(needle), "%s: must differ from id", names[i]);
    expect_refused(calls[i], &a, needle);
  }
}

Test(layer_api, parent_layer_paths_must_be_clean_absolute_paths) {
  const char *const relative[] = {"/l/base", "l/base2", NULL};
  const char *const dotted[] = {"/l/../base", NULL};
  const char *const empty[] = {"/l/a", "/l/b", "", NULL};
  for (call_t c = 0; c < N_CALLS; c++) {
    if (!takes_parents(c)) {
      continue;
    }
    args_t a = good();
    a.parents = relative;
    expect_refused(c, &a, "parent_layer_paths[1]: must be an absolute path");
    a.parents = dotted;
    expect_refused(c, &a, "parent_layer_paths[0]: must not have");
    a.parents = empty;
    expect_refused(c, &a, "parent_layer_paths[2]: must be an absolute path");
  }
}

Test(layer_api, the_transport_folder_must_be_a_clean_absolute_path) {
  static const char *const folders[] = {NULL, "", "out", "/tmp/../etc",
                                        "/tmp/a:b"};
  for (call_t c = 0; c < N_CALLS; c++) {
    if (!takes_folder(c)) {
      continue;
    }
    for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
      args_t a = good();
      a.folder = folders[i];
      expect_refused(c, &a, "folder: must");
    }
  }
}

Test(layer_api, out_parameters_must_be_given) {
  static const char *const names[N_CALLS] = {
      [MOUNT_PATH] = "path: is NULL",
      [BASE_IMAGES] = "json: is NULL",
      [EXISTS] = "exists: is NULL",
  };
  for (call_t c = 0; c < N_CALLS; c++) {
    if (!takes_out(c)) {
      continue;
    }
    args_t a = good();
    a.null_out = true;
    expect_refused(c, &a, names[c]);
  }
}
