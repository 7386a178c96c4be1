/* SPDX-License-Identifier: MIT */
#include "gatewayd/tally.h"

#include <stdint.h>

#define SLOTS (2 * PG_TALLY_KEYS)

static unsigned home(in_addr_t addr)
{
	return (uint32_t)(addr * UINT32_C(2654435761)) % SLOTS;
}

/* The slot of addr, or the free slot where it would go. */
static unsigned find(const struct pg_tally *t, in_addr_t addr)
{
	unsigned i = home(addr);

	while (t->slot[i].count && t->slot[i].addr != addr)
		i = (i + 1) % SLOTS;
	return i;
}

unsigned pg_tally_get(const struct pg_tally *t, in_addr_t addr)
{
	return t->slot[find(t, addr)].count;
}

void pg_tally_add(struct pg_tally *t, in_addr_t addr)
{
	unsigned i = find(t, addr);

	t->slot[i].addr = addr;
	t->slot[i].count++;
}

/* A count that reaches 0 leaves a hole; later entries of its probe run that
 * could sit there move back, or a lookup would stop at the hole short of
 * them. */
void pg_tally_sub(struct pg_tally *t, in_addr_t addr)
{
	unsigned hole = find(t, addr), i = hole;

	if (!t->slot[hole].count || --t->slot[hole].count)
		return;
	for (;;) {
		unsigned h;

		i = (i + 1) % SLOTS;
		if (!t->slot[i].count)
			return;
		h = home(t->slot[i].addr);
		/* stays when its home lies cyclically within (hole, i] */
		if (hole < i ? h > hole && h <= i : h > hole || h <= i)
			continue;
		t->slot[hole] = t->slot[i];
		t->slot[i].count = 0;
		hole = i;
	}
}

unsigned pg_tally_max(const struct pg_tally *t, in_addr_t *addr)
{
	unsigned best = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		if (t->slot[i].count > best) {
			best = t->slot[i].count;
			*addr = t->slot[i].addr;
		}
	return best;
}
