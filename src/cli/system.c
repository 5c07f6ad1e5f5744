/* SPDX-License-Identifier: MIT */
/* hcs system: the compute-system calls. Systems outlive the command:
 * they are recorded in the service's state directory. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sys_args_s {
  const char *prog;
  const char *id;
  const char *file;
  uint32_t timeout;
  const char *context;
} sys_args_t;

typedef struct sys_verb_s {
  const char *name;
  const char *args; /* the usage after the verb */
  const char *what;
  int npos;     /* positional arguments: ID, and FILE for create */
  int stopping; /* takes --timeout and --context */
  hcs_result_t (*call)(hcs_t *hcs, const sys_args_t *a, hcs_error_t **err);
} sys_verb_t;

static hcs_result_t do_create(hcs_t *hcs, const sys_args_t *a,
                              hcs_error_t **err) {
  char *config = cli_read_text(a->prog, a->file);
  if (config == NULL) {
    *err = NULL;
    return HCS_ERROR_GEN_FAILURE;
  }
  hcs_result_t r = hcs_CreateComputeSystem(hcs, a->id, config, err);
  free(config);
  return r;
}

static hcs_result_t do_modify(hcs_t *hcs, const sys_args_t *a,
                              hcs_error_t **err) {
  char *request = cli_read_text(a->prog, a->file);
  if (request == NULL) {
    *err = NULL;
    return HCS_ERROR_GEN_FAILURE;
  }
  hcs_result_t r = hcs_ModifyComputeSystem(hcs, a->id, request, err);
  free(request);
  return r;
}

static hcs_result_t do_start(hcs_t *hcs, const sys_args_t *a,
                             hcs_error_t **err) {
  return hcs_StartComputeSystem(hcs, a->id, err);
}

static hcs_result_t do_shutdown(hcs_t *hcs, const sys_args_t *a,
                                hcs_error_t **err) {
  return hcs_ShutdownComputeSystem(hcs, a->id, a->timeout, a->context, err);
}

static hcs_result_t do_terminate(hcs_t *hcs, const sys_args_t *a,
                                 hcs_error_t **err) {
  return hcs_TerminateComputeSystem(hcs, a->id, a->timeout, a->context, err);
}

static hcs_result_t do_pause(hcs_t *hcs, const sys_args_t *a,
                             hcs_error_t **err) {
  return hcs_PauseComputeSystem(hcs, a->id, err);
}

static hcs_result_t do_resume(hcs_t *hcs, const sys_args_t *a,
                              hcs_error_t **err) {
  return hcs_ResumeComputeSystem(hcs, a->id, err);
}

static hcs_result_t do_delete(hcs_t *hcs, const sys_args_t *a,
                              hcs_error_t **err) {
  return hcs_DeleteComputeSystem(hcs, a->id, err);
}

static hcs_result_t print_json(hcs_result_t r, char *json) {
  if (r == HCS_OK) {
    cli_print_json(json);
    hcs_free(json);
  }
  return r;
}

static hcs_result_t do_list(hcs_t *hcs, const sys_args_t *a,
                            hcs_error_t **err) {
  (void)a;
  char *json = NULL;
  hcs_result_t r = hcs_ListComputeSystems(hcs, &json, err);
  return print_json(r, json);
}

static hcs_result_t do_inspect(hcs_t *hcs, const sys_args_t *a,
                               hcs_error_t **err) {
  char *json = NULL;
  hcs_result_t r = hcs_InspectComputeSystem(hcs, a->id, &json, err);
  return print_json(r, json);
}

static const sys_verb_t verbs[] = {
    {"create", "ID FILE|-",
     "Records compute system ID (CreateComputeSystem) with the configuration "
     "JSON\nin FILE, or on stdin for -. Nothing runs yet.",
     2, 0, do_create},
    {"start", "ID", "Starts compute system ID (StartComputeSystem).", 1, 0,
     do_start},
    {"shutdown", "ID [--timeout MS] [--context TEXT]",
     "Asks every process of system ID to stop (SIGTERM) and waits up to MS\n"
     "milliseconds, or without limit (ShutdownComputeSystem). A shutdown "
     "already\nunder way counts as accepted.",
     1, 1, do_shutdown},
    {"terminate", "ID [--timeout MS] [--context TEXT]",
     "Kills every process of system ID and waits up to MS milliseconds, or\n"
     "without limit, for them to be gone (TerminateComputeSystem).",
     1, 1, do_terminate},
    {"pause", "ID",
     "Freezes every process of running system ID (PauseComputeSystem); no\n"
     "process can be started in it until it is resumed.",
     1, 0, do_pause},
    {"resume", "ID", "Thaws paused system ID (ResumeComputeSystem).", 1, 0,
     do_resume},
    {"modify", "ID FILE|-",
     "Changes the limits of running system ID (ModifyComputeSystem) as the\n"
     "request JSON in FILE, or on stdin for -, asks: {\"ResourcePath\":\n"
     "\"Limits\", \"Settings\": {\"MemoryMaximumInMB\": 64, ...}}.",
     2, 0, do_modify},
    {"delete", "ID",
     "Forgets compute system ID, which must be created or stopped\n"
     "(DeleteComputeSystem).",
     1, 0, do_delete},
    {"list", "", "Prints the compute systems as JSON (ListComputeSystems).", 0,
     0, do_list},
    {"inspect", "ID",
     "Prints compute system ID as JSON, with its configuration\n"
     "(InspectComputeSystem).",
     1, 0, do_inspect},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void system_usage(FILE *f) {
  fprintf(f, "usage: hcs [--state-dir DIR] system VERB ARGS...\n\n");
  for (size_t i = 0; i < NVERBS; i++) {
    fprintf(f, "  hcs system %s %s\n", verbs[i].name, verbs[i].args);
  }
  fprintf(f, "\nhcs system VERB --help tells more. Exit status: 0 done, 1 "
             "the call failed,\n2 usage error.\n");
}

static void verb_usage(FILE *f, const sys_verb_t *v) {
  fprintf(f, "usage: hcs [--state-dir DIR] system %s %s\n\n%s\n", v->name,
          v->args, v->what);
  if (v->stopping) {
    fprintf(f, "\n  --timeout MS    how long to wait (default: no limit)\n"
               "  --context TEXT  text recorded with the operation\n");
  }
}

/* Returns 0, 1 after --help, or -1 after printing the mistake. */
static int verb_parse(const sys_verb_t *v, int argc, char **argv,
                      sys_args_t *a) {
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {"timeout", required_argument, 0, 'T'},
                                        {"context", required_argument, 0, 'C'},
                                        {0, 0, 0, 0}};
  int c;
  optind = 0;
  while ((c = cli_getopt(argc, argv, a->prog, "h", longs)) != -1) {
    if (c == 'h') {
      verb_usage(stdout, v);
      return 1;
    }
    if (c == 'T' && v->stopping) {
      if (cli_parse_ms(a->prog, "--timeout", optarg, &a->timeout) != 0) {
        return -1;
      }
    } else if (c == 'C' && v->stopping) {
      a->context = optarg;
    } else {
      if (c != '?') {
        fprintf(stderr, "%s: unknown option %s\n", a->prog, argv[optind - 1]);
      }
      verb_usage(stderr, v);
      return -1;
    }
  }
  if (argc - optind != v->npos) {
    fprintf(stderr, "%s: expected %s\n", a->prog,
            v->npos == 0 ? "no arguments" : v->args);
    verb_usage(stderr, v);
    return -1;
  }
  a->id = v->npos > 0 ? argv[optind] : NULL;
  a->file = v->npos > 1 ? argv[optind + 1] : NULL;
  return 0;
}

int cli_system(const cli_ctx_t *ctx, int argc, char **argv) {
  if (argc < 2) {
    system_usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    system_usage(stdout);
    return CLI_OK;
  }
  const sys_verb_t *v = NULL;
  for (size_t i = 0; i < NVERBS; i++) {
    if (strcmp(argv[1], verbs[i].name) == 0) {
      v = &verbs[i];
    }
  }
  if (v == NULL) {
    fprintf(stderr, "hcs system: unknown verb \"%s\"\n", argv[1]);
    system_usage(stderr);
    return CLI_USAGE;
  }
  char prog[32];
  snprintf(prog, sizeof(prog), "hcs system %s", v->name);
  sys_args_t a = {.prog = prog, .timeout = HCS_TIMEOUT_INFINITE};
  int r = verb_parse(v, argc - 1, argv + 1, &a);
  if (r != 0) {
    return r > 0 ? CLI_OK : CLI_USAGE;
  }
  hcs_t *hcs;
  if (cli_open(ctx, prog, &hcs) != 0) {
    return CLI_FAILED;
  }
  hcs_error_t *err = NULL;
  hcs_result_t res = v->call(hcs, &a, &err);
  hcs_close(hcs);
  if (res == HCS_ERROR_SHUTDOWN_IN_PROGRESS) {
    /* The seed's callers take this as accepted: the system is stopping. */
    cli_print_error(prog, err);
    return CLI_OK;
  }
  if (res != HCS_OK) {
    if (err != NULL) {
      cli_print_error(prog, err);
    }
    return CLI_FAILED;
  }
  return CLI_OK;
}
