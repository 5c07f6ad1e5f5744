/* SPDX-License-Identifier: MIT */
/* HCS error objects: the operation, the object, the cause, the errno and
 * the result code, rendered as the HcsError text or as JSON. */
#include "hcs/api/error.h"

#include "hcs-async.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hcs_error_s {
  hcs_result_t code;
  int errnum;
  char *op;
  char *object;
  char *cause;
  char *message;
};

/* An error object that could not be allocated: callers still get a code,
 * and a static object whose fields say so (never freed). */
static hcs_error_t oom_error = {
    .code = HCS_ERROR_OUTOFMEMORY,
    .errnum = ENOMEM,
    .op = "hcs",
    .object = "",
    .cause = "out of memory",
    .message = "hcs failed: out of memory (0xe)",
};

static void error_free_fields(hcs_error_t *e) {
  as_free(e->op);
  as_free(e->object);
  as_free(e->cause);
  as_free(e->message);
}

static char *vformat(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0) {
    return NULL;
  }
  char *s = as_malloc((size_t)n + 1);
  if (s != NULL) {
    vsnprintf(s, (size_t)n + 1, fmt, ap);
  }
  return s;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p) {
  if (p[0] < 0x80) {
    return 1;
  }
  size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
  if (n == 0 || p[0] > 0xf4) {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) {
      return 0;
    }
  }
  if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
      (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f)) {
    return 0;
  }
  return n;
}

/* Makes s valid UTF-8 in place, each stray byte becoming '?': causes quote
 * callers' bytes (and a %.64s may cut a character in two), and the error
 * must still render as JSON. */
static void utf8_scrub(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (p != NULL && *p != '\0') {
    size_t n = utf8_len(p);
    if (n == 0) {
      *p++ = '?';
    } else {
      p += n;
    }
  }
}

/* hcsshim handed HNS's own errors on as "HNS failed with error : <Error>"
 * (the Error of HNS's answer envelope), and code ported from it looks for
 * that text; the code and the object follow the cause, as in HcsError. */
static int hns_op(const char *op) { return strncmp(op, "hcs::HNS", 8) == 0; }

hcs_result_t hcs__fail(hcs_error_t **err, hcs_result_t code, const char *op,
                       const char *object, int errnum, const char *fmt, ...) {
  if (err == NULL) {
    return code;
  }
  as_alloc_init();
  hcs_error_t *e = as_calloc(1, sizeof(*e));
  if (e == NULL) {
    *err = &oom_error;
    return code;
  }
  e->code = code;
  e->errnum = errnum;
  va_list ap;
  va_start(ap, fmt);
  e->cause = vformat(fmt, ap);
  va_end(ap);
  e->op = as_strdup(op);
  e->object = as_strdup(object != NULL ? object : "");
  utf8_scrub(e->cause);
  utf8_scrub(e->object);
  if (e->cause != NULL && e->op != NULL && e->object != NULL) {
    const char *sp = e->object[0] != '\0' ? " " : "";
    e->message = hns_op(e->op)
                     ? format("HNS failed with error : %s (0x%x)%s%s", e->cause,
                              (unsigned)code, sp, e->object)
                     : format("%s failed: %s (0x%x)%s%s", e->op, e->cause,
                              (unsigned)code, sp, e->object);
  }
  if (e->message == NULL) {
    error_free_fields(e);
    as_free(e);
    *err = &oom_error;
    return code;
  }
  *err = e;
  return code;
}

hcs_result_t hcs__ok(hcs_error_t **err) {
  if (err != NULL) {
    *err = NULL;
  }
  return HCS_OK;
}

hcs_result_t hcs_error_code(const hcs_error_t *e) { return e->code; }

const char *hcs_error_op(const hcs_error_t *e) { return e->op; }

const char *hcs_error_object(const hcs_error_t *e) { return e->object; }

const char *hcs_error_cause(const hcs_error_t *e) { return e->cause; }

int hcs_error_errno(const hcs_error_t *e) { return e->errnum; }

const char *hcs_error_message(const hcs_error_t *e) { return e->message; }

char *hcs_error_json(const hcs_error_t *e) {
  json_t *o =
      json_pack("{s:s, s:I, s:s, s:s, s:i, s:s}", "Operation", e->op, "Code",
                (json_int_t)e->code, "Object", e->object, "Cause", e->cause,
                "Errno", e->errnum, "Message", e->message);
  if (o == NULL) {
    return NULL;
  }
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text == NULL) {
    return NULL;
  }
  /* jansson allocates with its own allocator; hand out seam memory so that
   * hcs_free() frees everything hcs returns. */
  char *copy = as_strdup(text);
  free(text);
  return copy;
}

void hcs_error_free(hcs_error_t *e) {
  if (e == NULL || e == &oom_error) {
    return;
  }
  error_free_fields(e);
  as_free(e);
}

void hcs_free(void *p) { as_free(p); }

bool hcs_is_not_exist(hcs_result_t code) {
  return code == HCS_E_SYSTEM_NOT_FOUND || code == HCS_ERROR_NOT_FOUND ||
         code == HCS_ERROR_PROC_NOT_FOUND;
}

bool hcs_is_already_stopped(hcs_result_t code) {
  return code == HCS_E_SYSTEM_ALREADY_STOPPED || code == HCS_ERROR_NOT_FOUND ||
         code == HCS_ERROR_PROC_NOT_FOUND;
}

bool hcs_is_timeout(hcs_result_t code) {
  /* 0x80070102 is HRESULT_FROM_WIN32(WAIT_TIMEOUT). */
  return code == HCS_WAIT_TIMEOUT || code == 0x80070102u;
}

bool hcs_is_pending(hcs_result_t code) {
  return code == HCS_E_OPERATION_PENDING;
}

bool hcs_is_not_supported(hcs_result_t code) {
  return code == HCS_E_INVALID_JSON || code == HCS_ERROR_INVALID_DATA ||
         code == HCS_ERROR_NOT_SUPPORTED || code == HCS_E_UNKNOWN_MESSAGE;
}

bool hcs_is_already_closed(hcs_result_t code) {
  return code == HCS_ERROR_INVALID_HANDLE;
}

int hcs_result_errno(hcs_result_t code) {
  static const struct {
    hcs_result_t code;
    int errnum;
  } map[] = {
      {HCS_OK, 0},
      {HCS_ERROR_PATH_NOT_FOUND, ENOENT},
      {HCS_ERROR_INVALID_HANDLE, EBADF},
      {HCS_ERROR_INVALID_DATA, EINVAL},
      {HCS_ERROR_OUTOFMEMORY, ENOMEM},
      {HCS_ERROR_GEN_FAILURE, EIO},
      {HCS_ERROR_NOT_SUPPORTED, ENOTSUP},
      {HCS_ERROR_CALL_NOT_IMPLEMENTED, ENOSYS},
      {HCS_ERROR_PROC_NOT_FOUND, ENOENT},
      {HCS_ERROR_BAD_PATHNAME, ENOENT},
      {HCS_ERROR_BUSY, EBUSY},
      {HCS_ERROR_ALREADY_EXISTS, EEXIST},
      {HCS_WAIT_TIMEOUT, ETIMEDOUT},
      {0x80070102u, ETIMEDOUT},
      {HCS_ERROR_NO_MORE_ITEMS, ENOSPC},
      {HCS_ERROR_SHUTDOWN_IN_PROGRESS, EINPROGRESS},
      {HCS_ERROR_NOT_FOUND, ENOENT},
      {HCS_ERROR_CANCELLED, ECANCELED},
      {HCS_WSAEINVAL, EINVAL},
      {HCS_E_OPERATION_PENDING, EINPROGRESS},
      {HCS_E_INVALID_STATE, EINVAL},
      {HCS_E_UNEXPECTED_EXIT, ESRCH},
      {HCS_E_UNKNOWN_MESSAGE, ENOSYS},
      {HCS_E_INVALID_JSON, EINVAL},
      {HCS_E_SYSTEM_NOT_FOUND, ENOENT},
      {HCS_E_SYSTEM_ALREADY_EXISTS, EEXIST},
      {HCS_E_SYSTEM_ALREADY_STOPPED, ESRCH},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (map[i].code == code) {
      return map[i].errnum;
    }
  }
  return EIO;
}
