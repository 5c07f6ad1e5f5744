/* SPDX-License-Identifier: MIT */
/* The result codes as HCS and hcsshim gave them (docs/hcs-api.md,
 * Constants), hcsshim's predicates over them (IsNotExist,
 * IsAlreadyStopped, IsTimeout, IsPending, IsNotSupported,
 * IsAlreadyClosed, with the codes hcsshim's errors.go tested for), and the
 * errno nearest to each code. */
#include <criterion/criterion.h>
#include <errno.h>
#include <hcs.h>

Test(codes, values_are_those_hcs_answered) {
  cr_assert_eq(HCS_WAIT_TIMEOUT, 258);
  cr_assert_eq(HCS_E_SYSTEM_NOT_FOUND, 0xC037010Eu);
  cr_assert_eq(HCS_E_SYSTEM_ALREADY_EXISTS, 0xC037010Fu);
  cr_assert_eq(HCS_E_SYSTEM_ALREADY_STOPPED, 0xC0370110u);
  cr_assert_eq(HCS_E_INVALID_STATE, 0xC0370105u);
  cr_assert_eq(HCS_E_UNEXPECTED_EXIT, 0xC0370106u);
  cr_assert_eq(HCS_E_INVALID_JSON, 0xC037010Du);
  cr_assert_eq(HCS_E_OPERATION_PENDING, 0xC0370103u);
  cr_assert_eq(HCS_E_UNKNOWN_MESSAGE, 0xC037010Bu);
  cr_assert_eq(HCS_ERROR_NOT_FOUND, 1168);
  cr_assert_eq(HCS_ERROR_BAD_PATHNAME, 161);
  cr_assert_eq(HCS_ERROR_PATH_NOT_FOUND, 3);
  cr_assert_eq(HCS_ERROR_NOT_SUPPORTED, 50);
  cr_assert_eq(HCS_ERROR_PROC_NOT_FOUND, 127);
  cr_assert_eq(HCS_ERROR_INVALID_DATA, 13);
  cr_assert_eq(HCS_ERROR_INVALID_HANDLE, 6);
  cr_assert_eq(HCS_ERROR_SHUTDOWN_IN_PROGRESS, 1115);
  cr_assert_eq(HCS_ERROR_GEN_FAILURE, 31);
  cr_assert_eq(HCS_WSAEINVAL, 10022);
  /* The old name is the same code, never ERROR_TIMEOUT's 1460. */
  cr_assert_eq(HCS_ERROR_TIMEOUT, HCS_WAIT_TIMEOUT);
  /* hcs_result_t holds the HRESULTs whole. */
  hcs_result_t r = HCS_E_SYSTEM_ALREADY_STOPPED;
  cr_assert_eq(r >> 16, 0xC037u);
}

/* Every code hcs.h names, for the predicates' whole truth table. */
static const hcs_result_t all_codes[] = {
    HCS_OK,
    HCS_ERROR_PATH_NOT_FOUND,
    HCS_ERROR_INVALID_HANDLE,
    HCS_ERROR_INVALID_DATA,
    HCS_ERROR_OUTOFMEMORY,
    HCS_ERROR_GEN_FAILURE,
    HCS_ERROR_NOT_SUPPORTED,
    HCS_ERROR_CALL_NOT_IMPLEMENTED,
    HCS_ERROR_PROC_NOT_FOUND,
    HCS_ERROR_BAD_PATHNAME,
    HCS_ERROR_BUSY,
    HCS_ERROR_ALREADY_EXISTS,
    HCS_WAIT_TIMEOUT,
    HCS_ERROR_NO_MORE_ITEMS,
    HCS_ERROR_SHUTDOWN_IN_PROGRESS,
    HCS_ERROR_NOT_FOUND,
    HCS_ERROR_CANCELLED,
    HCS_WSAEINVAL,
    HCS_E_OPERATION_PENDING,
    HCS_E_INVALID_STATE,
    HCS_E_UNEXPECTED_EXIT,
    HCS_E_UNKNOWN_MESSAGE,
    HCS_E_INVALID_JSON,
    HCS_E_SYSTEM_NOT_FOUND,
    HCS_E_SYSTEM_ALREADY_EXISTS,
    HCS_E_SYSTEM_ALREADY_STOPPED,
};
#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

static bool in(hcs_result_t c, const hcs_result_t *set, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (set[i] == c) {
      return true;
    }
  }
  return false;
}

typedef struct pred_s {
  const char *name;
  bool (*fn)(hcs_result_t);
  hcs_result_t yes[4]; /* the codes it is true for; the rest: 0 */
} pred_t;

/* The sets of hcsshim's errors.go (internal/hcs, v0.7). */
static const pred_t preds[] = {
    {"hcs_is_not_exist",
     hcs_is_not_exist,
     {HCS_E_SYSTEM_NOT_FOUND, HCS_ERROR_NOT_FOUND, HCS_ERROR_PROC_NOT_FOUND}},
    {"hcs_is_already_stopped",
     hcs_is_already_stopped,
     {HCS_E_SYSTEM_ALREADY_STOPPED, HCS_ERROR_NOT_FOUND,
      HCS_ERROR_PROC_NOT_FOUND}},
    {"hcs_is_timeout", hcs_is_timeout, {HCS_WAIT_TIMEOUT}},
    {"hcs_is_pending", hcs_is_pending, {HCS_E_OPERATION_PENDING}},
    {"hcs_is_not_supported",
     hcs_is_not_supported,
     {HCS_E_INVALID_JSON, HCS_ERROR_INVALID_DATA, HCS_ERROR_NOT_SUPPORTED,
      HCS_E_UNKNOWN_MESSAGE}},
    {"hcs_is_already_closed",
     hcs_is_already_closed,
     {HCS_ERROR_INVALID_HANDLE}},
};

Test(codes, predicates_are_hcsshims) {
  for (size_t p = 0; p < sizeof(preds) / sizeof(preds[0]); p++) {
    size_t n = 0;
    while (n < 4 && preds[p].yes[n] != 0) {
      n++;
    }
    for (size_t i = 0; i < N_CODES; i++) {
      bool want = in(all_codes[i], preds[p].yes, n);
      cr_assert_eq(preds[p].fn(all_codes[i]), want, "%s(0x%x) is not %s",
                   preds[p].name, (unsigned)all_codes[i],
                   want ? "true" : "false");
    }
  }
  /* WAIT_TIMEOUT as an HRESULT, as a Windows caller may carry it. */
  cr_assert(hcs_is_timeout(0x80070102u));
  /* ERROR_TIMEOUT (1460) was never what HCS answered for a wait. */
  cr_assert_not(hcs_is_timeout(1460));
}

Test(codes, each_maps_to_the_nearest_errno) {
  static const struct {
    hcs_result_t code;
    int errnum;
  } want[] = {
      {HCS_OK, 0},
      {HCS_E_SYSTEM_NOT_FOUND, ENOENT},
      {HCS_ERROR_NOT_FOUND, ENOENT},
      {HCS_ERROR_PATH_NOT_FOUND, ENOENT},
      {HCS_ERROR_BAD_PATHNAME, ENOENT},
      {HCS_E_SYSTEM_ALREADY_EXISTS, EEXIST},
      {HCS_ERROR_ALREADY_EXISTS, EEXIST},
      {HCS_E_SYSTEM_ALREADY_STOPPED, ESRCH},
      {HCS_E_UNEXPECTED_EXIT, ESRCH},
      {HCS_WAIT_TIMEOUT, ETIMEDOUT},
      {0x80070102u, ETIMEDOUT},
      {HCS_E_INVALID_STATE, EINVAL},
      {HCS_E_INVALID_JSON, EINVAL},
      {HCS_WSAEINVAL, EINVAL},
      {HCS_ERROR_SHUTDOWN_IN_PROGRESS, EINPROGRESS},
      {HCS_E_OPERATION_PENDING, EINPROGRESS},
      {HCS_ERROR_NOT_SUPPORTED, ENOTSUP},
      {HCS_ERROR_CALL_NOT_IMPLEMENTED, ENOSYS},
      {HCS_ERROR_BUSY, EBUSY},
      {HCS_ERROR_NO_MORE_ITEMS, ENOSPC},
      {HCS_ERROR_CANCELLED, ECANCELED},
      {HCS_ERROR_OUTOFMEMORY, ENOMEM},
      {HCS_ERROR_INVALID_HANDLE, EBADF},
      {HCS_ERROR_GEN_FAILURE, EIO},
      {0x12345678u, EIO},
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    cr_assert_eq(hcs_result_errno(want[i].code), want[i].errnum,
                 "0x%x: errno %d, want %d", (unsigned)want[i].code,
                 hcs_result_errno(want[i].code), want[i].errnum);
  }
  /* Every named code maps to something, and only HCS_OK to 0. */
  for (size_t i = 0; i < N_CODES; i++) {
    cr_assert_eq(hcs_result_errno(all_codes[i]) == 0, all_codes[i] == HCS_OK,
                 "0x%x", (unsigned)all_codes[i]);
  }
}
