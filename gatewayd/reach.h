/* SPDX-License-Identifier: MIT */
#ifndef PODGW_REACH_H
#define PODGW_REACH_H

/* Where overlay traffic may not go: the tunnel is a way to the internet,
 * not into the cluster. Forwarded overlay traffic to the cluster's ranges
 * (NOT_ROUTED_TO_GATEWAY_CIDRS, K8S_DNS_IPS), the gateway's own pod network
 * and its router (the node), link-local addresses (169.254.0.0/16: cloud
 * metadata) and loopback is dropped, unless GATEWAY_OVERLAY_ALLOW_CIDRS
 * holds the destination. Connections our own prerouting rules DNATed (port
 * forwards, DNS over TCP to the first upstream) are not judged here: they
 * go where the configuration says. The IPv6 overlay (ruleset6.h) has a
 * list of its own: loopback, link-local, IPv4-mapped, and the IPv6 entries
 * of the same sources; no allow list. */

#include "common/config.h"
#include "netlink/nft.h"

#define PG_SET_OVERLAY_DENY  "overlay_deny"
#define PG_SET_OVERLAY_ALLOW "overlay_allow"
#define PG_SET_OVERLAY_DENY6 "overlay_deny6"

/* Room for every source at its fullest (the fixed ranges, the underlay,
 * NOT_ROUTED_TO_GATEWAY_CIDRS, K8S_DNS_IPS): a deny list is never cut. */
struct pg_reach_list {
	unsigned n;
	struct pg_prefix items[4 + 3 * PG_MAX_PREFIXES];
};

/* The denied destinations: the settings' and those of the pod's underlay
 * (its networks and its router; may be NULL), without any that another
 * covers (an interval set refuses overlaps). */
void pg_reach_denied(const struct pg_config *cfg, const struct pg_prefix_list *underlay,
		     struct pg_reach_list *out);
/* Both interval sets with their elements. */
void pg_reach_add_sets(struct pg_nft_table *t, const struct pg_config *cfg,
		       const struct pg_prefix_list *underlay);
/* The drop rule, for the forward chain before anything accepts overlay
 * traffic. */
void pg_reach_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);
/* The same three for IPv6: the denied destinations, the set, the rule. */
void pg_reach_denied6(const struct pg_config *cfg, const struct pg_prefix_list *underlay,
		      struct pg_reach_list *out);
void pg_reach_add_sets6(struct pg_nft_table *t, const struct pg_config *cfg,
			const struct pg_prefix_list *underlay);
void pg_reach_forward6(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);

#endif
