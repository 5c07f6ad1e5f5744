/* SPDX-License-Identifier: MIT */
/* hcs layer: the layer calls, one verb each. import, export and copy
 * draw a progress bar on stderr when it is a terminal, and stop cleanly
 * (nothing left behind) on SIGINT. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct layer_args_s {
  hcs_driver_info_t info;
  const char *pos[2]; /* the positional arguments, in order */
  cli_strv_t parents; /* --parent, nearest first */
  uint64_t max_bytes, max_entries;
  const char *verb;
  bool bar;   /* stderr is a terminal */
  bool drawn; /* a bar line is on the screen, without its newline */
} layer_args_t;

typedef struct layer_verb_s {
  const char *name;
  const char *args;
  const char *what;
  int min, max; /* positional arguments */
  int parents;  /* takes --parent */
  hcs_result_t (*call)(layer_args_t *a, hcs_error_t **err);
} layer_verb_t;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static int progress_cb(const hcs_layer_progress_t *p, void *data) {
  layer_args_t *a = data;
  if (a->bar) {
    int pct = p->total_bytes > 0 ? (int)(p->bytes * 100 / p->total_bytes)
              : p->done          ? 100
                                 : 0;
    pct = pct > 100 ? 100 : pct;
    char bar[31];
    for (int i = 0; i < 30; i++) {
      bar[i] = i < pct * 30 / 100 ? '#' : '.';
    }
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%%  %.1f/%.1f MiB  %" PRIu64 " entries",
            a->verb, bar, pct, (double)p->bytes / 1048576.0,
            (double)p->total_bytes / 1048576.0, p->entries);
    a->drawn = !p->done;
    if (p->done) {
      fputc('\n', stderr);
    }
    fflush(stderr);
  }
  return interrupted;
}

/* Runs a long call with the bar and SIGINT as a cancel. */
static hcs_result_t
with_progress(layer_args_t *a, hcs_error_t **err,
              hcs_result_t (*fn)(layer_args_t *a, const hcs_layer_options_t *o,
                                 hcs_error_t **err)) {
  hcs_layer_options_t o = {.max_bytes = a->max_bytes,
                           .max_entries = a->max_entries,
                           .progress = progress_cb,
                           .data = a};
  struct sigaction sa, old;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old);
  a->bar = isatty(2) == 1;
  hcs_result_t r = fn(a, &o, err);
  sigaction(SIGINT, &old, NULL);
  if (a->drawn) {
    fputc('\n', stderr);
  }
  return r;
}

static hcs_result_t export_fn(layer_args_t *a, const hcs_layer_options_t *o,
                              hcs_error_t **err);
static hcs_result_t import_fn(layer_args_t *a, const hcs_layer_options_t *o,
                              hcs_error_t **err);
static hcs_result_t copy_fn(layer_args_t *a, const hcs_layer_options_t *o,
                            hcs_error_t **err);

static const char *const *parents_of(const layer_args_t *a) {
  return a->parents.n > 0 ? a->parents.v : NULL;
}

static hcs_result_t do_activate(layer_args_t *a, hcs_error_t **err) {
  return hcs_ActivateLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_deactivate(layer_args_t *a, hcs_error_t **err) {
  return hcs_DeactivateLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_create(layer_args_t *a, hcs_error_t **err) {
  return hcs_CreateLayer(&a->info, a->pos[0], a->pos[1], err);
}

static hcs_result_t do_create_sandbox(layer_args_t *a, hcs_error_t **err) {
  return hcs_CreateSandboxLayer(&a->info, a->pos[0], a->pos[1], parents_of(a),
                                err);
}

static hcs_result_t do_destroy(layer_args_t *a, hcs_error_t **err) {
  return hcs_DestroyLayer(&a->info, a->pos[0], err);
}

static hcs_result_t export_fn(layer_args_t *a, const hcs_layer_options_t *o,
                              hcs_error_t **err) {
  return hcs_layer_export(&a->info, a->pos[0], a->pos[1], parents_of(a), o,
                          err);
}

static hcs_result_t import_fn(layer_args_t *a, const hcs_layer_options_t *o,
                              hcs_error_t **err) {
  return hcs_layer_import(&a->info, a->pos[0], a->pos[1], parents_of(a), o,
                          err);
}

static hcs_result_t copy_fn(layer_args_t *a, const hcs_layer_options_t *o,
                            hcs_error_t **err) {
  return hcs_layer_copy(&a->info, a->pos[0], a->pos[1], parents_of(a), o, err);
}

static hcs_result_t do_export(layer_args_t *a, hcs_error_t **err) {
  return with_progress(a, err, export_fn);
}

static hcs_result_t do_import(layer_args_t *a, hcs_error_t **err) {
  return with_progress(a, err, import_fn);
}

static hcs_result_t do_mount_path(layer_args_t *a, hcs_error_t **err) {
  char *path = NULL;
  hcs_result_t r = hcs_GetLayerMountPath(&a->info, a->pos[0], &path, err);
  if (r == HCS_OK) {
    printf("%s\n", path);
    hcs_free(path);
  }
  return r;
}

static hcs_result_t do_exists(layer_args_t *a, hcs_error_t **err) {
  bool exists = false;
  hcs_result_t r = hcs_LayerExists(&a->info, a->pos[0], &exists, err);
  if (r == HCS_OK) {
    printf("%s\n", exists ? "true" : "false");
  }
  return r;
}

static hcs_result_t do_prepare(layer_args_t *a, hcs_error_t **err) {
  return hcs_PrepareLayer(&a->info, a->pos[0], parents_of(a), err);
}

static hcs_result_t do_unprepare(layer_args_t *a, hcs_error_t **err) {
  return hcs_UnprepareLayer(&a->info, a->pos[0], err);
}

static hcs_result_t do_copy(layer_args_t *a, hcs_error_t **err) {
  return with_progress(a, err, copy_fn);
}

static hcs_result_t do_base_images(layer_args_t *a, hcs_error_t **err) {
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
    {"import", "ID FOLDER [--parent PATH]... [--max-bytes N] [--max-entries N]",
     "Creates layer ID from transport folder FOLDER (ImportLayer). The tar's\n"
     "files may hold --max-bytes bytes (default 64 GiB) and --max-entries\n"
     "entries (default 4000000).",
     2, 2, 2, do_import},
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
static const char limits_help[] =
    "  --max-bytes N   import: refuse a tar whose files hold more bytes\n"
    "  --max-entries N import: refuse a tar with more entries\n";

static void layer_usage(FILE *f) {
  fprintf(f, "usage: hcs layer VERB [--home DIR] [--flavour 0|1] ARGS...\n\n");
  for (size_t i = 0; i < NVERBS; i++) {
    fprintf(f, "  hcs layer %s %s\n", verbs[i].name, verbs[i].args);
  }
  fprintf(f,
          "\n%s%s%s\nhcs layer VERB --help tells more. import, export and "
          "copy show a\nprogress bar on a terminal; ^C stops them, leaving "
          "nothing behind. Exit\nstatus: 0 done, 1 the call failed, 2 usage "
          "error.\n",
          options_help, parent_help, limits_help);
}

static void verb_usage(FILE *f, const layer_verb_t *v) {
  fprintf(f,
          "usage: hcs layer %s [--home DIR] [--flavour 0|1] %s\n\n%s\n\n%s%s%s",
          v->name, v->args, v->what, options_help,
          v->parents ? parent_help : "", v->parents > 1 ? limits_help : "");
}

static int parse_count(const char *prog, const char *opt, const char *text,
                       uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v == 0) {
    fprintf(stderr, "%s: %s %s: expected a positive number\n", prog, opt, text);
    return -1;
  }
  *out = v;
  return 0;
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
  static const struct option longs[] = {
      {"help", no_argument, 0, 'h'},
      {"home", required_argument, 0, 'H'},
      {"flavour", required_argument, 0, 'F'},
      {"parent", required_argument, 0, 'P'},
      {"max-bytes", required_argument, 0, 'B'},
      {"max-entries", required_argument, 0, 'N'},
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
    } else if ((c == 'B' || c == 'N') && v->parents > 1) {
      if (parse_count(prog, argv[optind - 1], optarg,
                      c == 'B' ? &a->max_bytes : &a->max_entries) != 0) {
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
      .verb = v->name,
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
