/* SPDX-License-Identifier: MIT */
/* docker diff and docker export: a container's changes from its image
 * (GET /containers/{id}/changes) and its root as one tar (GET
 * /containers/{id}/export), read from its sandbox's upper directory and
 * its image's layers as overlayfs stacks them, without mounting them, so
 * that a running container is read the same as a stopped one.
 *
 * Every file is reached from a directory fd of its layer by names that
 * follow no symlink (O_NOFOLLOW, openat2 RESOLVE_NO_SYMLINKS), so a link
 * a container made cannot lead hcsd out of the layers. */
#ifndef HCSD_MODEL_CTR_DIFF_H
#define HCSD_MODEL_CTR_DIFF_H

#include "hcsd/model/model.h"

/* status 200 with body[0..len) (the changes' JSON array, or "null") or
 * fd (export: the tar, an unlinked file, the receiver's to close; -1
 * otherwise), or a failure's status (500) and its message; lent for the
 * call. */
typedef void (*hcsd_ctr_bytes_cb)(hcsd_t *d, int status, const char *body,
                                  size_t len, int fd, void *data);

/* HCSD_PENDING, then done; or -1 with e: 404 no such container, 500. */
int hcsd_ctr_changes(hcsd_t *d, const char *ref, hcsd_ctr_bytes_cb done,
                     void *data, hcsd_err_t *e);
int hcsd_ctr_export(hcsd_t *d, const char *ref, hcsd_ctr_bytes_cb done,
                    void *data, hcsd_err_t *e);

#endif
