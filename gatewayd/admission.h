/* SPDX-License-Identifier: MIT */
#ifndef PODGW_ADMISSION_H
#define PODGW_ADMISSION_H

/* Kernel-enforced admission: what a lease makes the kernel accept. A lease
 * puts the client's pod IP (IPv4 or IPv6: the sets come in both families)
 * into the set of peers whose VXLAN datagrams are
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
/* The same for pod IPs of an IPv6 underlay. */
#define PG_SET_PEERS6	   "peers6"
#define PG_SET_PEER_MACS6  "peer_macs6"
#define PG_SET_CLIENTS	   "clients"
#define PG_SET_ARP_SENDERS "arp_senders" /* overlay IP . MAC, as read from ARP inside VXLAN */

/* Where a VXLAN datagram's inner frame lies in its UDP datagram: after
 * the UDP and VXLAN headers; then its source MAC, its EtherType, and an
 * ARP packet's sender MAC and IPv4 address (Ethernet/IPv4 ARP: the only
 * kind the kernel reads on an Ethernet link). Offsets from the UDP header. */
#define PG_VXLAN_INNER		 (8 + 8)
#define PG_VXLAN_INNER_ETH_SRC	 (PG_VXLAN_INNER + 6)
#define PG_VXLAN_INNER_ETHERTYPE (PG_VXLAN_INNER + 12)
#define PG_VXLAN_INNER_ARP_SHA	 (PG_VXLAN_INNER + 14 + 8)
#define PG_VXLAN_INNER_ARP_SPA	 (PG_VXLAN_INNER_ARP_SHA + 6)
/* Where the outer header has the datagram's source: network offsets. */
#define PG_IP_SADDR_OFFSET  12
#define PG_IP6_SADDR_OFFSET 8

struct pg_overlay6;

struct pg_admission {
	struct pg_rtnl *rt;
	struct pg_nft *nft;
	const char *table;
	int vxlan_ifindex;
	/* NULL or off: IPv4 only; else a lease's IPv6 entries come and go
	 * with its IPv4 ones (gatewayd/overlay6.h). */
	const struct pg_overlay6 *v6;
};

/* Idempotent: granting an admitted lease again succeeds. */
int pg_admission_grant(const struct pg_admission *a, const struct pg_lease *l);
/* The VXLAN datagrams the kernel admitted for this lease (its pod IP and
 * MAC) since its element was made: 0 or a negative errno (-ENOENT: no
 * element). A dump of the set: for the rare contested JOIN only. */
int pg_admission_peer_packets(const struct pg_admission *a, const struct pg_lease *l,
			      uint64_t *packets);
/* keep_peer: another live lease still comes from the same pod IP. */
int pg_admission_revoke(const struct pg_admission *a, const struct pg_lease *l, bool keep_peer);
/* The sets and their elements for every live lease, into a table
 * description, so that replacing the table keeps admitted clients; their
 * traffic counts start where carry (may be NULL) last read them. */
int pg_admission_add_sets(struct pg_nft_table *t, const struct pg_pool *pool,
			  const struct pg_traffic *carry);

#endif
