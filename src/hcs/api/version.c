/* SPDX-License-Identifier: MIT */
/* hcs_version(): the version the library was built as. */
#include <hcs.h>

const char *hcs_version(void) { return HCS_VERSION_STRING; }

unsigned hcs_version_hex(void) { return HCS_VERSION_HEX; }
