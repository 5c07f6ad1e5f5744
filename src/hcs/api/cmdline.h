/* SPDX-License-Identifier: MIT */
/* The command-line splitter (Windows rules). */
#ifndef HCS_HCS_CMDLINE_H
#define HCS_HCS_CMDLINE_H

/* Splits line into a NULL-terminated argv that the caller frees with
 * hcs__argv_free(). 0 or -ENOMEM. An empty or blank line gives argc 0. */
int hcs__cmdline_split(const char *line, char ***out);
void hcs__argv_free(char **argv);

#endif
