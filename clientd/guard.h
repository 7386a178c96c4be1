/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GUARD_H
#define PODGW_GUARD_H

/* The crawler pod's leak guard: an nftables table that lets out of the
 * underlay interface only what may leave the pod without the tunnel. It
 * holds whether or not routes, the vxlan link or clientd itself exist, so
 * clientd installs it before it touches routing and leaves it when it
 * exits. A changed gateway pod IP is a new table committed over the old one
 * (pg_nft_table_commit replaces it atomically). */

#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "netlink/nft.h"

struct pg_replicas;

#define PG_GUARD_TABLE "podgw_guard"
/* The mark clientd puts on its own lookups of the gateway's name: they
 * must reach the cluster DNS when the tunnel is down, which is when the
 * gateway has to be found again. Only CAP_NET_ADMIN can set a mark. */
#define PG_GUARD_DNS_MARK 0x50474457u /* "PGDW" */

struct pg_guard_params {
	const char *underlay_if;		    /* eth0 */
	const char *vxlan_if;			    /* vxlan0: never filtered */
	const struct pg_prefix_list *cluster_cidrs; /* NOT_ROUTED_TO_GATEWAY_CIDRS; NULL: none */
	const struct pg_prefix_list *dns;	    /* K8S_DNS_IPS; NULL: none */
	struct pg_prefix gateway_pod_ip;	    /* family 0: not known yet */
	/* A gateway with several replicas: all their pod IPs (of
	 * gateway_pod_ip's family, the underlay's) are allowed as
	 * gateway_pod_ip alone is otherwise, through a set, so a move to a
	 * sibling needs no new table. NULL: gateway_pod_ip only. */
	const struct pg_replicas *replicas;
	uint16_t vxlan_port;
	uint16_t control_port;
	/* CLIENT_DNS_THROUGH_TUNNEL: the gateway's overlay address, where DNS
	 * goes instead of the pod network; family 0: off. */
	struct pg_prefix dns_to;
};

/* Table inet PG_GUARD_TABLE, chains output and forward (filter, priority
 * 0, policy accept). A packet whose output interface is underlay_if is
 * accepted only towards the cluster CIDRs, the DNS addresses, IPv6
 * link-scope ICMPv6 (neighbour discovery, as ARP is for IPv4) and, when
 * gateway_pod_ip is known, UDP to the gateway's pod IP on vxlan_port and
 * control_port (and, when it is IPv6, ICMPv6 to it: neighbour discovery);
 * anything else out of it is counted and dropped, IPv6 included. Other interfaces (lo, the vxlan
 * link) are not filtered. An input chain drops VXLAN (UDP vxlan_port) arriving on underlay_if from
 * anyone but gateway_pod_ip (from anyone while it is not known). With dns_to, a nat output chain
 * sends UDP and TCP port 53, whatever the server, to dns_to (resolv.conf stays as it is) with the
 * source address of vxlan_if (masqueraded), and a postrouting chain drops port 53 leaving through
 * underlay_if unless it carries PG_GUARD_DNS_MARK; DNS to lo and marked DNS are not redirected.
 * Returns NULL with errno set (EINVAL for bad parameters). */
struct pg_nft_table *pg_guard_table(const struct pg_guard_params *p);

#endif
