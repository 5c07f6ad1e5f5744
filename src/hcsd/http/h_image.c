/* SPDX-License-Identifier: MIT */
/* /images/...: list, inspect and load through the model; hcsd does not
 * pull. */
#include "hcsd/http/http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

static void json_done(const char *json, const hcsd_err_t *e, void *data) {
  hcsd_req_t *r = data;
  if (e != NULL) {
    hcsd_reply_err(r, e);
  } else {
    hcsd_reply_text_json(r, 200, json);
  }
  hcsd_req_unref(r);
}

/* docker load: the model's messages as chunks, headers with the first. */
typedef struct load_req_s {
  hcsd_req_t *r;
  bool began;
} load_req_t;

static void load_line(const char *text, void *data) {
  load_req_t *l = data;
  if (!l->began) {
    l->began = true;
    hcsd_chunked_begin(l->r, 200, "application/json", NULL, 0);
  }
  hcsd_chunked_write(l->r, text, strlen(text));
}

static void load_done(void *data) {
  load_req_t *l = data;
  if (!l->began) {
    hcsd_chunked_begin(l->r, 200, "application/json", NULL, 0);
  }
  hcsd_chunked_end(l->r);
  hcsd_req_unref(l->r);
  free(l);
}

static int load(hcsd_t *d, hcsd_req_t *r, hcsd_err_t *e) {
  if (r->body_fd < 0) {
    hcsd_err_set(e, 500, "cannot buffer the archive: %s", strerror(errno));
    return -1;
  }
  load_req_t *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  l->r = r;
  int rc = hcsd_img_load(d, r->body_fd, hcsd_query_bool(r, "quiet"), load_line,
                         load_done, l, e);
  if (rc < 0) {
    free(l);
  }
  return rc;
}

static void pull_refused(hcsd_req_t *r) {
  char *from = hcsd_query(r, "fromImage");
  hcsd_reply_error(r, 404,
                   "pull access denied for %s, repository does not exist "
                   "or may require 'docker login' (hcsd does not pull; "
                   "use docker load)",
                   from != NULL ? from : "");
  free(from);
}

void hcsd_h_images(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  size_t n = strlen(rest);
  hcsd_err_t e;
  int rc;
  hcsd_req_ref(r);
  if (r->method == HTTP_GET && strcmp(rest, "json") == 0) {
    char *filters = hcsd_query(r, "filters");
    rc = hcsd_img_list(d, filters, json_done, r, &e);
    free(filters);
  } else if (r->method == HTTP_POST && strcmp(rest, "load") == 0) {
    rc = load(d, r, &e);
  } else if (r->method == HTTP_GET && n > 5 &&
             strcmp(rest + n - 5, "/json") == 0) {
    char *ref = strndup(rest, n - 5);
    rc = ref != NULL ? hcsd_img_inspect(d, ref, json_done, r, &e)
                     : (hcsd_err_set(&e, 500, "out of memory"), -1);
    free(ref);
  } else {
    hcsd_req_unref(r);
    if (r->method == HTTP_POST && strcmp(rest, "create") == 0) {
      pull_refused(r);
    } else {
      hcsd_reply_error(r, 404, "page not found");
    }
    return;
  }
  if (rc < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
}
