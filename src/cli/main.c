/* hcs: the command-line front end. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: hcs [--state-dir DIR] COMMAND [ARGS...]\n"
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

int main(int argc, char **argv) {
  cli_ctx_t ctx = {.state_dir = getenv("HCS_STATE_DIR")};
  if (ctx.state_dir == NULL || ctx.state_dir[0] == '\0') {
    ctx.state_dir = "/run/hcs";
  }
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    if (strncmp(argv[i], "--state-dir=", 12) == 0) {
      ctx.state_dir = argv[i] + 12;
    } else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
      ctx.state_dir = argv[++i];
    } else if (strcmp(argv[i], "--state-dir") == 0) {
      fprintf(stderr, "hcs: option --state-dir needs a value\n");
      return CLI_USAGE;
    } else {
      fprintf(stderr, "hcs: unknown option %s\n", argv[i]);
      usage(stderr);
      return CLI_USAGE;
    }
    if (ctx.state_dir[0] == '\0') {
      fprintf(stderr, "hcs: --state-dir: empty directory name\n");
      return CLI_USAGE;
    }
  }
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
