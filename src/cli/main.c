/* SPDX-License-Identifier: MIT */
/* hcs: the command-line front end. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: hcs [--state-dir DIR] [--log-level LEVEL] COMMAND [ARGS...]\n"
          "       hcs --version\n"
          "\n"
          "commands:\n"
          "  system  create, start, shutdown, terminate, delete, list and "
          "inspect\n"
          "          compute systems\n"
          "  exec    run a process in a compute system with its stdio joined "
          "to yours\n"
          "  run     run one process on the host with its stdio joined to "
          "yours\n"
          "  layer   the layer calls (activate, create, export, prepare, "
          "...)\n"
          "  hns     network and endpoint requests (HNS)\n"
          "  guid    NameToGuid and NewGUID\n"
          "  demo    start a batch of sessions on one loop and report\n"
          "\n"
          "  --state-dir DIR  where compute systems are recorded between "
          "commands\n"
          "                   (default: $HCS_STATE_DIR, else /run/hcs)\n"
          "  --log-level LEVEL  what libhcs reports on stderr besides a "
          "call's error:\n"
          "                   error, warn (the default), info or debug\n"
          "\n"
          "Exit status: 0 when the call succeeded, 1 when it failed (the "
          "error is on\n"
          "stderr), 2 for a usage error; run and exec exit with the "
          "process's status.\n"
          "hcs COMMAND --help tells more.\n");
}

typedef struct command_s {
  const char *name;
  int (*fn)(const cli_ctx_t *ctx, int argc, char **argv);
} command_t;

static int run_cmd(const cli_ctx_t *ctx, int argc, char **argv) {
  (void)ctx;
  return cli_run(argc, argv);
}

static int demo_cmd(const cli_ctx_t *ctx, int argc, char **argv) {
  (void)ctx;
  return cli_demo(argc, argv);
}

static const command_t commands[] = {
    {"system", cli_system}, {"exec", cli_exec}, {"run", run_cmd},
    {"layer", cli_layer},   {"hns", cli_hns},   {"guid", cli_guid},
    {"demo", demo_cmd},
};

/* libhcs's messages (hcs_set_log_cb), on stderr like the calls' errors. */
static void print_log(hcs_log_level_t level, const char *msg, void *data) {
  (void)data;
  fprintf(stderr, "hcs: %s%s\n",
          level <= HCS_LOG_ERROR  ? "error: "
          : level <= HCS_LOG_WARN ? "warning: "
                                  : "",
          msg);
}

static int parse_log_level(const char *text, hcs_log_level_t *out) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  static const hcs_log_level_t levels[] = {HCS_LOG_ERROR, HCS_LOG_WARN,
                                           HCS_LOG_INFO, HCS_LOG_DEBUG};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = levels[i];
      return 0;
    }
  }
  fprintf(stderr, "hcs: --log-level %s: expected error, warn, info or debug\n",
          text);
  return -1;
}

static void version(void) {
  /* A program linked against another libhcs than the headers it was
   * built with says so. */
  if (strcmp(hcs_version(), HCS_VERSION_STRING) != 0) {
    printf("hcs %s (libhcs %s)\n", HCS_VERSION_STRING, hcs_version());
  } else {
    printf("hcs %s\n", HCS_VERSION_STRING);
  }
}

/* The options before COMMAND. Returns -1 to go on to the command, else
 * the exit status. */
static int parse_globals(int argc, char **argv, cli_ctx_t *ctx) {
  static const struct option longs[] = {
      {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'},
      {"state-dir", required_argument, 0, 'S'},
      {"log-level", required_argument, 0, 'L'},
      {0, 0, 0, 0}};
  hcs_log_level_t level = HCS_LOG_WARN;
  int c;
  optind = 0;
  /* "+": the options stop at COMMAND, whose own options follow it. */
  while ((c = cli_getopt(argc, argv, "hcs", "+h", longs)) != -1) {
    switch (c) {
    case 'h':
      usage(stdout);
      return CLI_OK;
    case 'V':
      version();
      return CLI_OK;
    case 'S':
      if (optarg[0] == '\0') {
        fprintf(stderr, "hcs: --state-dir: empty directory name\n");
        return CLI_USAGE;
      }
      ctx->state_dir = optarg;
      break;
    case 'L':
      if (parse_log_level(optarg, &level) != 0) {
        return CLI_USAGE;
      }
      break;
    default:
      usage(stderr);
      return CLI_USAGE;
    }
  }
  hcs_set_log_cb(print_log, level, NULL);
  return -1;
}

int main(int argc, char **argv) {
  cli_ctx_t ctx = {.state_dir = getenv("HCS_STATE_DIR")};
  if (ctx.state_dir == NULL || ctx.state_dir[0] == '\0') {
    ctx.state_dir = "/run/hcs";
  }
  int r = parse_globals(argc, argv, &ctx);
  if (r >= 0) {
    return r;
  }
  int i = optind;
  if (i >= argc) {
    usage(stderr);
    return CLI_USAGE;
  }
  for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
    if (strcmp(argv[i], commands[k].name) == 0) {
      return commands[k].fn(&ctx, argc - i, argv + i);
    }
  }
  fprintf(stderr, "hcs: unknown command \"%s\"\n", argv[i]);
  usage(stderr);
  return CLI_USAGE;
}
