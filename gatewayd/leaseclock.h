/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LEASECLOCK_H
#define PODGW_LEASECLOCK_H

/* The clock leases live on: CLOCK_BOOTTIME (it counts suspend, and no
 * settimeofday or NTP step moves it), shifted once so that its values read
 * as wall-clock times of the process's start. A wall clock set forward
 * cannot end leases early, one set back cannot keep them alive. */

#include <stdint.h>

uint64_t pg_lease_clock_ms(void);
/* Whole seconds of the same clock. */
uint64_t pg_lease_clock_s(void);

#endif
