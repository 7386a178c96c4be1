/* SPDX-License-Identifier: MIT */
/* The per-address counts against a plain array, over random adds and
 * removes whose addresses collide in the table on purpose. */
#include <stdlib.h>

#include "check.h"
#include "gatewayd/tally.h"

#define KEYS PG_TALLY_KEYS

int main(void)
{
	static struct pg_tally t;
	static unsigned want[KEYS];
	in_addr_t top = 0;

	srand(42);
	for (unsigned round = 0; round < 200000; round++) {
		unsigned k = (unsigned)rand() % KEYS;
		/* Multiples of the table size share a home slot: long probe runs,
		 * and removals from their middle. */
		in_addr_t a = k % 3 ? k * 2 * KEYS + 1 : k + 7;

		if (rand() % 2 || !want[k]) {
			pg_tally_add(&t, a);
			want[k]++;
		} else {
			pg_tally_sub(&t, a);
			want[k]--;
		}
		if (round % 997 == 0)
			for (unsigned j = 0; j < KEYS; j++)
				CHECK(pg_tally_get(&t, j % 3 ? j * 2 * KEYS + 1 : j + 7) ==
				      want[j]);
	}
	for (unsigned j = 0; j < KEYS; j++)
		CHECK(pg_tally_get(&t, j % 3 ? j * 2 * KEYS + 1 : j + 7) == want[j]);
	unsigned best = 0;
	for (unsigned j = 0; j < KEYS; j++)
		best = want[j] > best ? want[j] : best;
	CHECK(pg_tally_max(&t, &top) == best);
	CHECK(pg_tally_get(&t, top) == best);
	/* Everything removed: every slot free again. */
	for (unsigned j = 0; j < KEYS; j++)
		while (want[j]--)
			pg_tally_sub(&t, j % 3 ? j * 2 * KEYS + 1 : j + 7);
	CHECK(pg_tally_max(&t, &top) == 0);
	pg_tally_sub(&t, 12345); /* absent: no change, no crash */
	CHECK(pg_tally_get(&t, 12345) == 0);
	return check_result();
}
