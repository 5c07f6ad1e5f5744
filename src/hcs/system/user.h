/* SPDX-License-Identifier: MIT */
/* Users and groups of a process (user.c). */
#ifndef HCS_HCS_SYSTEM_USER_H
#define HCS_HCS_SYSTEM_USER_H

#include <sys/types.h>

/* User: "uid[:gid]" or "name[:group]" to ids; -EINVAL, -ENOENT. */
int hcs__parse_user(const char *user, uid_t *uid, gid_t *gid);
/* The same, with names looked up in root's /etc/passwd and /etc/group. */
int hcs__parse_user_in(const char *root, const char *user, uid_t *uid,
                       gid_t *gid);

#endif
