/* SPDX-License-Identifier: MIT */
/* docker system df (GET /system/df) and the prunes of docker system prune
 * but those of the image and volume stores: the containers (POST
 * /containers/prune), the networks (POST /networks/prune) and the build
 * cache (POST /build/prune: hcsd builds nothing, so it has none, as
 * dockerd answers with an empty builder). */
#ifndef HCSD_MODEL_SYSDF_H
#define HCSD_MODEL_SYSDF_H

#include "hcsd/model/model.h"

/* status and body (the JSON text, or the message of a failure), lent for
 * the call. */
typedef void (*hcsd_sys_cb)(int status, const char *body, void *data);

/* types: the parts asked for ("container", "image", "volume",
 * "build-cache"), NULL for all; the others are left out. HCSD_PENDING,
 * then done with {"LayersSize","Images","Containers","Volumes",
 * "BuildCache"}; or -1 with e (400 an unknown type, 500). */
int hcsd_system_df(hcsd_t *d, const char *const *types, size_t ntypes,
                   hcsd_sys_cb done, void *data, hcsd_err_t *e);
/* Removes the networks no running container is attached to, but for the
 * predefined ones, by filters (until, label, label!): HCSD_PENDING, then
 * done with {"NetworksDeleted":[names]}; or -1 with e (400 a bad filter,
 * 500). */
int hcsd_networks_prune(hcsd_t *d, const char *filters, hcsd_sys_cb done,
                        void *data, hcsd_err_t *e);
/* Removes the containers that are neither running nor busy, by filters
 * (until, label, label!), as dockerd does before it answers: HCSD_PENDING,
 * then done with {"ContainersDeleted":[ids],"SpaceReclaimed":<bytes of
 * their writable layers>}; or -1 with e (400 a bad filter, 500). */
int hcsd_containers_prune(hcsd_t *d, const char *filters, hcsd_sys_cb done,
                          void *data, hcsd_err_t *e);

#endif
