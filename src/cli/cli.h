/* The subcommands of hcs. Each returns the process's exit status. */
#ifndef HCS_CLI_CLI_H
#define HCS_CLI_CLI_H

int cli_run(int argc, char **argv);
int cli_demo(int argc, char **argv);

#endif
