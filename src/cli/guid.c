/* SPDX-License-Identifier: MIT */
/* hcs guid: NameToGuid, NewGUID and the GUID text form. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void guid_usage(FILE *f) {
  fprintf(f, "usage: hcs guid NAME\n"
             "       hcs guid --new SOURCE\n"
             "       hcs guid --parse TEXT\n"
             "\n"
             "  NAME           prints NameToGuid(NAME): the same GUID for the "
             "same name on\n"
             "                 every host (a version-5 GUID under hcs's "
             "namespace)\n"
             "  --new SOURCE   prints NewGUID(SOURCE): the first 16 bytes of "
             "SHA-1(SOURCE)\n"
             "  --parse TEXT   prints GUID TEXT (either case, braces allowed) "
             "in the\n"
             "                 canonical form\n");
}

int cli_guid(const cli_ctx_t *ctx, int argc, char **argv) {
  static const char prog[] = "hcs guid";
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {"new", no_argument, 0, 'n'},
                                        {"parse", no_argument, 0, 'p'},
                                        {0, 0, 0, 0}};
  (void)ctx;
  int mode = 0, c;
  optind = 0;
  /* "+": a NAME that starts with '-' is given after --. */
  while ((c = cli_getopt(argc, argv, prog, "+h", longs)) != -1) {
    if (c == 'h') {
      guid_usage(stdout);
      return CLI_OK;
    }
    if ((c != 'n' && c != 'p') || mode != 0) {
      if (mode != 0 && c != '?') {
        fprintf(stderr, "%s: --new and --parse exclude each other\n", prog);
      }
      guid_usage(stderr);
      return CLI_USAGE;
    }
    mode = c;
  }
  if (argc - optind != 1) {
    fprintf(stderr, "%s: expected one %s\n", prog,
            mode == 'n'   ? "SOURCE"
            : mode == 'p' ? "TEXT"
                          : "NAME");
    guid_usage(stderr);
    return CLI_USAGE;
  }
  const char *arg = argv[optind];
  hcs_guid_t g;
  hcs_error_t *err = NULL;
  if (mode == 'n') {
    g = hcs_NewGUID(arg);
  } else if ((mode == 'p' ? hcs_guid_parse(arg, &g, &err)
                          : hcs_NameToGuid(arg, &g, &err)) != HCS_OK) {
    cli_print_error(prog, err);
    return CLI_FAILED;
  }
  char text[HCS_GUID_STRLEN];
  hcs_guid_ToString(&g, text);
  printf("%s\n", text);
  return CLI_OK;
}
