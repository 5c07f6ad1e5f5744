/* hcs layer: the layer calls, one verb each. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer_args_s {
  hcs_driver_info_t info;
  const char *pos[2]; /* the positional arguments, in order */
  cli_strv_t parents; /* --parent, nearest first */
} layer_args_t;

typedef struct layer_verb_s {
  const char *name;
  const char *args;
  const char *what;
  int min, max; /* positional arguments */
  int parents;  /* takes --parent */
  hcs_result_t (*call)(const layer_args_t *a, hcs_error_t **err);
} layer_verb_t;

static const char *const *parents_of(const layer_args_t *a) {
  return a->parents.n > 0 ? a->parents.v : NULL;
}

static hcs_result_t do_activate(const layer_args_t *a, hcs_error_t **err) {
  return hcs_ActivateLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_deactivate(const layer_args_t *a, hcs_error_t **err) {
  return hcs_DeactivateLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_create(const layer_args_t *a, hcs_error_t **err) {
  return hcs_CreateLayer(&a->info, a->pos[0], a->pos[1], err);
}

static hcs_result_t do_create_sandbox(const layer_args_t *a,
                                      hcs_error_t **err) {
  return hcs_CreateSandboxLayer(&a->info, a->pos[0], a->pos[1], parents_of(a),
                                err);
}

static hcs_result_t do_destroy(const layer_args_t *a, hcs_error_t **err) {
  return hcs_DestroyLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_export(const layer_args_t *a, hcs_error_t **err) {
  return hcs_ExportLayer(&a->info, a->pos[0], a->pos[1], parents_of(a), err);
}

static hcs_result_t do_import(const layer_args_t *a, hcs_error_t **err) {
  return hcs_ImportLayer(&a->info, a->pos[0], a->pos[1], parents_of(a), err);
}

static hcs_result_t do_mount_path(const layer_args_t *a, hcs_error_t **err) {
  char *path = NULL;
  hcs_result_t r = hcs_GetLayerMountPath(&a->info, a->pos[0], &path, err);
  if (r == HCS_OK) {
    printf("%s\n", path);
    hcs_free(path);
  }
  return r;
}

static hcs_result_t do_exists(const layer_args_t *a, hcs_error_t **err) {
  bool exists = false;
  hcs_result_t r = hcs_LayerExists(&a->info, a->pos[0], &exists, err);
  if (r == HCS_OK) {
    printf("%s\n", exists ? "true" : "false");
  }
  return r;
}

static hcs_result_t do_prepare(const layer_args_t *a, hcs_error_t **err) {
  return hcs_PrepareLayer(&a->info, a->pos[0], parents_of(a), err);
}

static hcs_result_t do_unprepare(const layer_args_t *a, hcs_error_t **err) {
  return hcs_UnprepareLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_copy(const layer_args_t *a, hcs_error_t **err) {
  return hcs_CopyLayer(&a->info, a->pos[0], a->pos[1], parents_of(a), err);
}

static hcs_result_t do_base_images(const layer_args_t *a, hcs_error_t **err) {
  char *json = NULL;
  hcs_result_t r = hcs_GetSharedBaseImages(&a->info, &json, err);
  if (r == HCS_OK) {
    cli_print_json(json);
    hcs_free(json);
  }
  return r;
}

static const layer_verb_t verbs[] = {
    {"activate", "ID", "Makes layer ID's storage available (ActivateLayer).", 1,
     1, 0, do_activate},
    {"deactivate", "ID", "Releases layer ID's storage (DeactivateLayer).", 1, 1,
     0, do_deactivate},
    {"create", "ID [PARENT]",
     "Creates an empty read-only layer ID on PARENT, or a base without it\n"
     "(CreateLayer).",
     1, 2, 0, do_create},
    {"create-sandbox", "ID PARENT_ID [--parent PATH]...",
     "Creates read-write layer ID over the chain (CreateSandboxLayer).", 2, 2,
     1, do_create_sandbox},
    {"destroy", "ID", "Removes layer ID's files and folder (DestroyLayer).", 1,
     1, 0, do_destroy},
    {"export", "ID FOLDER [--parent PATH]...",
     "Creates FOLDER and writes layer ID into it in the transport format\n"
     "(ExportLayer).",
     2, 2, 1, do_export},
    {"import", "ID FOLDER [--parent PATH]...",
     "Creates layer ID from transport folder FOLDER (ImportLayer).", 2, 2, 1,
     do_import},
    {"mount-path", "ID",
     "Prints where layer ID's merged view (prepared) or folder is\n"
     "(GetLayerMountPath).",
     1, 1, 0, do_mount_path},
    {"exists", "ID",
     "Prints true or false: whether the store knows layer ID (LayerExists).", 1,
     1, 0, do_exists},
    {"prepare", "ID [--parent PATH]...",
     "Mounts the merged view of read-write layer ID (PrepareLayer).", 1, 1, 1,
     do_prepare},
    {"unprepare", "ID",
     "Unmounts the merged view of layer ID (UnprepareLayer).", 1, 1, 0,
     do_unprepare},
    {"copy", "SRC_ID DST_ID [--parent PATH]...",
     "Commits read-write layer SRC_ID's changes as read-only layer DST_ID\n"
     "(CopyLayer).",
     2, 2, 1, do_copy},
    {"base-images", "",
     "Prints the base images of the store as JSON (GetSharedBaseImages).", 0, 0,
     0, do_base_images},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char options_help[] =
    "  --home DIR      the layer store, an absolute path (default: "
    "$HCS_LAYER_HOME,\n"
    "                  else /var/lib/hcs/layers)\n"
    "  --flavour N     0: full copies, 1: overlayfs (default)\n";
static const char parent_help[] =
    "  --parent PATH   a parent layer's folder, nearest first, base last; "
    "repeat\n";

static void layer_usage(FILE *f) {
  fprintf(f, "usage: hcs layer VERB [--home DIR] [--flavour 0|1] ARGS...\n\n");
  for (size_t i = 0; i < NVERBS; i++) {
    fprintf(f, "  hcs layer %s %s\n", verbs[i].name, verbs[i].args);
  }
  fprintf(f,
          "\n%s%s\nhcs layer VERB --help tells more. Exit status: 0 done, "
          "1 the call failed,\n2 usage error.\n",
          options_help, parent_help);
}

static void verb_usage(FILE *f, const layer_verb_t *v) {
  fprintf(
      f, "usage: hcs layer %s [--home DIR] [--flavour 0|1] %s\n\n%s\n\n%s%s",
      v->name, v->args, v->what, options_help, v->parents ? parent_help : "");
}

static int parse_flavour(const char *prog, const char *text, int *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (text[0] == '\0' || *end != '\0' || errno != 0 || v < INT_MIN ||
      v > INT_MAX) {
    fprintf(stderr, "%s: --flavour %s: expected 0 or 1\n", prog, text);
    return -1;
  }
  *out = (int)v;
  return 0;
}

/* Returns 0, 1 after --help, or -1 after printing the mistake. */
static int verb_parse(const layer_verb_t *v, const char *prog, int argc,
                      char **argv, layer_args_t *a) {
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {"home", required_argument, 0, 'H'},
                                        {"flavour", required_argument, 0, 'F'},
                                        {"parent", required_argument, 0, 'P'},
                                        {0, 0, 0, 0}};
  int c;
  optind = 0;
  while ((c = cli_getopt(argc, argv, prog, "h", longs)) != -1) {
    if (c == 'h') {
      verb_usage(stdout, v);
      return 1;
    }
    if (c == 'H') {
      a->info.home_dir = optarg;
    } else if (c == 'F') {
      if (parse_flavour(prog, optarg, &a->info.flavour) != 0) {
        return -1;
      }
    } else if (c == 'P' && v->parents) {
      if (cli_strv_add(&a->parents, prog, optarg) != 0) {
        return -1;
      }
    } else {
      if (c != '?') {
        fprintf(stderr, "%s: unknown option %s\n", prog, argv[optind - 1]);
      }
      verb_usage(stderr, v);
      return -1;
    }
  }
  int n = argc - optind;
  if (n < v->min || n > v->max) {
    fprintf(stderr, "%s: expected %s\n", prog,
            v->max == 0 ? "no arguments" : v->args);
    verb_usage(stderr, v);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    a->pos[i] = argv[optind + i];
  }
  return 0;
}

int cli_layer(const cli_ctx_t *ctx, int argc, char **argv) {
  (void)ctx;
  if (argc < 2) {
    layer_usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    layer_usage(stdout);
    return CLI_OK;
  }
  const layer_verb_t *v = NULL;
  for (size_t i = 0; i < NVERBS; i++) {
    if (strcmp(argv[1], verbs[i].name) == 0) {
      v = &verbs[i];
    }
  }
  if (v == NULL) {
    fprintf(stderr, "hcs layer: unknown verb \"%s\"\n", argv[1]);
    layer_usage(stderr);
    return CLI_USAGE;
  }
  char prog[40];
  snprintf(prog, sizeof(prog), "hcs layer %s", v->name);
  const char *home = getenv("HCS_LAYER_HOME");
  layer_args_t a = {
      .info = {.flavour = HCS_FLAVOUR_FILTER,
               .home_dir = home != NULL && home[0] != '\0'
                               ? home
                               : "/var/lib/hcs/layers"},
  };
  int r = verb_parse(v, prog, argc - 1, argv + 1, &a);
  int code = r > 0 ? CLI_OK : CLI_USAGE;
  if (r == 0) {
    hcs_error_t *err = NULL;
    code = CLI_OK;
    if (v->call(&a, &err) != HCS_OK) {
      cli_print_error(prog, err);
      code = CLI_FAILED;
    }
  }
  cli_strv_free(&a.parents);
  return code;
}
