/* SPDX-License-Identifier: MIT */
#ifndef PODGW_TALLY_H
#define PODGW_TALLY_H

/* A count per IPv4 address, for at most PG_TALLY_KEYS addresses with a
 * count above 0 at once: what the DNS forwarder keeps per client so that a
 * client's quota and the heaviest client are known without a pass over
 * its table of queries. Open addressing, at most half full; a count of 0
 * frees its slot. */

#include <netinet/in.h>

#define PG_TALLY_KEYS 1024

struct pg_tally {
	struct {
		in_addr_t addr;
		unsigned count; /* 0: free */
	} slot[2 * PG_TALLY_KEYS];
};

unsigned pg_tally_get(const struct pg_tally *t, in_addr_t addr);
/* The caller keeps the number of addresses within PG_TALLY_KEYS. */
void pg_tally_add(struct pg_tally *t, in_addr_t addr);
void pg_tally_sub(struct pg_tally *t, in_addr_t addr);
/* The highest count and (when above 0) its address. */
unsigned pg_tally_max(const struct pg_tally *t, in_addr_t *addr);

#endif
