/* SPDX-License-Identifier: MIT */
/* h_system.c: docker diff and docker export (a container's changes and
 * root), docker system df and the prunes docker system prune calls that
 * the other handlers do not serve (networks, the build cache). */
#ifndef HCSD_HTTP_H_SYSTEM_H
#define HCSD_HTTP_H_SYSTEM_H

#include "hcsd/http/http.h"

/* GET /containers/{id}/changes and /containers/{id}/export */
void hcsd_h_ctr_changes(hcsd_t *d, hcsd_req_t *r, const char *ref);
void hcsd_h_ctr_export(hcsd_t *d, hcsd_req_t *r, const char *ref);

#endif
