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
/* Every value of query parameter name ("names=a&names=b"), decoded, into
 * out[0..max) (each free()): their count. */
size_t hcsd_query_all(const hcsd_req_t *r, const char *name, char **out,
                      size_t max);

/* Answers r with the file fd (taken: closed at the end) as a 200 chunked
 * body of content_type (static), read on the pool as the client takes it;
 * takes the caller's reference on r. */
void hcsd_reply_file(hcsd_t *d, hcsd_req_t *r, int fd,
                     const char *content_type);

/* GET /system/df, POST /networks/prune, POST /build/prune */
void hcsd_h_system_df(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_networks_prune(hcsd_t *d, hcsd_req_t *r);
void hcsd_h_build_prune(hcsd_t *d, hcsd_req_t *r);

#endif
