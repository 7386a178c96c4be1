/* SPDX-License-Identifier: MIT */
#ifndef PODGW_ADMISSION_H
#define PODGW_ADMISSION_H

/* Kernel-enforced admission: what a lease makes the kernel accept. A lease
 * puts the client's pod IP into the set of peers whose VXLAN datagrams are
 * accepted, its (pod IP . MAC) pair into the set binding the inner frames'
 * source to the datagram's, its (overlay IP . MAC) pair into the set whose traffic may be
 * forwarded, a static FDB entry (MAC -> pod IP) and a permanent neighbour
 * (overlay IP -> MAC) on the vxlan link. Nothing is learned from packets. */

#include <stdbool.h>

#include "gatewayd/pool.h"
#include "gatewayd/traffic.h"
#include "netlink/nft.h"
#include "netlink/rtnl.h"

#define PG_SET_PEERS	 "peers"
#define PG_SET_PEER_MACS "peer_macs" /* pod IP . MAC: what each peer may send as */
#define PG_SET_CLIENTS	 "clients"

struct pg_admission {
	struct pg_rtnl *rt;
	struct pg_nft *nft;
	const char *table;
	int vxlan_ifindex;
};

/* Idempotent: granting an admitted lease again succeeds. */
int pg_admission_grant(const struct pg_admission *a, const struct pg_lease *l);
/* keep_peer: another live lease still comes from the same pod IP. */
int pg_admission_revoke(const struct pg_admission *a, const struct pg_lease *l, bool keep_peer);
/* The sets and their elements for every live lease, into a table
 * description, so that replacing the table keeps admitted clients; their
 * traffic counts start where carry (may be NULL) last read them. */
int pg_admission_add_sets(struct pg_nft_table *t, const struct pg_pool *pool,
			  const struct pg_traffic *carry);

#endif
