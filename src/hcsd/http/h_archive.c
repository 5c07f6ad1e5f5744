/* SPDX-License-Identifier: MIT */
/* /containers/{id}/archive: docker cp. HEAD stats a path, GET sends it
 * as a tar, PUT extracts a tar into a directory; the stat travels in
 * the X-Docker-Container-Path-Stat header as dockerd sends it. */
#include "hcsd/http/http.h"
#include "hcsd/model/archive.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void arc_done(const hcsd_err_t *e, const char *stat, char *tar,
                     size_t len, void *data) {
  hcsd_req_t *r = data;
  char head[8192];
  if (stat != NULL) {
    snprintf(head, sizeof(head), "X-Docker-Container-Path-Stat: %s\r\n", stat);
    r->extra_head = head;
  }
  if (e != NULL && r->head) {
    hcsd_reply(r, e->status, "application/json", NULL, 0);
  } else if (e != NULL) {
    hcsd_reply_err(r, e);
  } else if (r->method == HTTP_PUT) {
    hcsd_reply(r, 200, NULL, NULL, 0);
  } else {
    hcsd_reply(r, 200, "application/x-tar", r->head ? NULL : tar, len);
  }
  free(tar);
  hcsd_req_unref(r);
}

void hcsd_h_ctr_archive(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  char *path = hcsd_query(r, "path");
  hcsd_err_t e;
  if (path == NULL || path[0] == '\0') {
    free(path);
    hcsd_reply_error(r, 400, "path is required");
    return;
  }
  hcsd_arc_opts_t o = {
      .op = r->method == HTTP_PUT    ? HCSD_ARC_PUT
            : r->method == HTTP_HEAD ? HCSD_ARC_STAT
                                     : HCSD_ARC_GET,
      .path = path,
      .fd = r->body_fd,
      .buf = r->body,
      .len = r->body_len,
      .no_overwrite_dir_non_dir = hcsd_query_bool(r, "noOverwriteDirNonDir"),
      .copy_uid_gid = hcsd_query_bool(r, "copyUIDGID"),
  };
  hcsd_req_ref(r);
  if (hcsd_ctr_archive(d, ref, &o, arc_done, r, &e) < 0) {
    if (r->head) {
      hcsd_reply(r, e.status, "application/json", NULL, 0);
    } else {
      hcsd_reply_err(r, &e);
    }
    hcsd_req_unref(r);
  }
  free(path);
}
