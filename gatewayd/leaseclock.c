/* SPDX-License-Identifier: MIT */
#include "gatewayd/leaseclock.h"

#include <time.h>

static uint64_t ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t pg_lease_clock_ms(void)
{
	/* Taken once: from then on only boottime advances it. */
	static uint64_t offset;
	static int have_offset;
	uint64_t boot = ms_of(CLOCK_BOOTTIME);

	if (!have_offset) {
		uint64_t wall = ms_of(CLOCK_REALTIME);

		offset = wall > boot ? wall - boot : 0;
		have_offset = 1;
	}
	return boot + offset;
}

uint64_t pg_lease_clock_s(void)
{
	return pg_lease_clock_ms() / 1000;
}
