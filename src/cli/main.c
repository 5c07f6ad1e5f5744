/* hcs: the command-line front end. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: hcs COMMAND [ARGS...]\n"
             "\n"
             "commands:\n"
             "  run   run one process on the host with its stdio joined to "
             "yours\n"
             "  demo  start a batch of sessions on one loop and report\n"
             "\n"
             "hcs COMMAND --help tells more.\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "run") == 0) {
    return cli_run(argc - 1, argv + 1);
  }
  if (strcmp(argv[1], "demo") == 0) {
    return cli_demo(argc - 1, argv + 1);
  }
  fprintf(stderr, "hcs: unknown command \"%s\"\n", argv[1]);
  usage(stderr);
  return 2;
}
