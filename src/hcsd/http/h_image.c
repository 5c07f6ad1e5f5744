/* SPDX-License-Identifier: MIT */
/* /images/...: list, inspect, load, tag, rm, prune, history and save
 * through the model; hcsd does not pull. */
#include "hcsd/http/h_system.h"
#include "hcsd/http/http.h"
#include "hcsd/model/imgjob.h"

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
  if (r->live == NULL) {
    hcsd_err_set(e, 500, "the archive is not streamed to its reader");
    return -1;
  }
  load_req_t *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  l->r = r;
  int rc =
      hcsd_img_load(d, hcsd_body_reader(r->live), hcsd_query_bool(r, "quiet"),
                    load_line, load_done, l, e);
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

/* ---- tag, rm, prune, history, save (imgjob.h) ---- */

static void op_done(hcsd_t *d, int status, const char *body, size_t len, int fd,
                    void *data) {
  hcsd_req_t *r = data;
  (void)len;
  if (fd >= 0) {
    hcsd_reply_file(d, r, fd, "application/x-tar");
    return; /* it lets r go */
  }
  if (status == 201) {
    hcsd_reply_empty(r, 201);
  } else if (status == 200) {
    hcsd_reply_text_json(r, 200, body);
  } else {
    hcsd_reply_error(r, status, "%s", body);
  }
  hcsd_req_unref(r);
}

static int op(hcsd_t *d, hcsd_req_t *r, hcsd_imgop_t what,
              const hcsd_imgop_args_t *a, hcsd_err_t *e) {
  return hcsd_imgop(d, what, a, op_done, r, e);
}

/* GET /images/get?names=A&names=B, or /images/{name}/get. */
static int save(hcsd_t *d, hcsd_req_t *r, const char *one, hcsd_err_t *e) {
  char *names[64];
  size_t n = 0;
  if (one != NULL) {
    names[n++] = (char *)one;
  } else {
    n = hcsd_query_all(r, "names", names, 64);
  }
  hcsd_imgop_args_t a = {.refs = (const char *const *)names, .nrefs = n};
  int rc = n > 0 ? op(d, r, HCSD_IMGOP_SAVE, &a, e)
                 : (hcsd_err_set(e, 400, "no image named to save"), -1);
  for (size_t i = 0; one == NULL && i < n; i++) {
    free(names[i]);
  }
  return rc;
}

/* The routes of an image named in the path ("/images/{name}/verb",
 * names may hold '/'): -2 when none matches. */
static int named(hcsd_t *d, hcsd_req_t *r, const char *rest, hcsd_err_t *e) {
  static const struct {
    const char *verb; /* "" for DELETE /images/{name} */
    int method;
  } t[] = {{"/tag", HTTP_POST},
           {"/history", HTTP_GET},
           {"/get", HTTP_GET},
           {"", HTTP_DELETE}};
  size_t n = strlen(rest);
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    size_t vl = strlen(t[i].verb);
    if (r->method != t[i].method || n <= vl ||
        strcmp(rest + n - vl, t[i].verb) != 0) {
      continue;
    }
    char *ref = strndup(rest, n - vl);
    char *repo = hcsd_query(r, "repo"), *tag = hcsd_query(r, "tag");
    hcsd_imgop_args_t a = {.ref = ref,
                           .repo = repo,
                           .tag = tag,
                           .force = hcsd_query_bool(r, "force")};
    int rc = ref == NULL ? (hcsd_err_set(e, 500, "out of memory"), -1)
             : i == 0    ? op(d, r, HCSD_IMGOP_TAG, &a, e)
             : i == 1    ? op(d, r, HCSD_IMGOP_HISTORY, &a, e)
             : i == 2    ? save(d, r, ref, e)
                         : op(d, r, HCSD_IMGOP_DELETE, &a, e);
    free(ref);
    free(repo);
    free(tag);
    return rc;
  }
  return -2;
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
  } else if (r->method == HTTP_POST && strcmp(rest, "prune") == 0) {
    char *filters = hcsd_query(r, "filters");
    hcsd_imgop_args_t a = {.filters = filters};
    rc = op(d, r, HCSD_IMGOP_PRUNE, &a, &e);
    free(filters);
  } else if (r->method == HTTP_GET && strcmp(rest, "get") == 0) {
    rc = save(d, r, NULL, &e);
  } else if (r->method == HTTP_GET && n > 5 &&
             strcmp(rest + n - 5, "/json") == 0) {
    char *ref = strndup(rest, n - 5);
    rc = ref != NULL ? hcsd_img_inspect(d, ref, json_done, r, &e)
                     : (hcsd_err_set(&e, 500, "out of memory"), -1);
    free(ref);
  } else if ((rc = named(d, r, rest, &e)) != -2) {
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
