/* What engine_pub.c takes from the HCS layer: the engine loop of a
 * service (api/call.h). The subsystems include their own headers. */
#ifndef HCS_HCS_INTERNAL_H
#define HCS_HCS_INTERNAL_H

#include "hcs/api/call.h"

#endif
