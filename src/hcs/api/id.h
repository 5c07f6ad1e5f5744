/* SPDX-License-Identifier: MIT */
/* Ids of compute systems, layers and HNS objects: one rule for all. */
#ifndef HCS_HCS_API_ID_H
#define HCS_HCS_API_ID_H

/* 1 when id is 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-' (so
 * that it is safe as a file name and a cgroup name), else 0. */
int hcs__id_valid(const char *id);

#endif
