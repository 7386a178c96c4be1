/* SPDX-License-Identifier: MIT */
#ifndef PODGW_RULESET6_H
#define PODGW_RULESET6_H

/* The IPv6 overlay's part of the gateway's table (gatewayd/overlay6.h),
 * beside the IPv4 rules and as strict: only a leased (address . MAC) pair
 * may send from the overlay, nothing to the denied destinations
 * (gatewayd/reach.h), out only through the egress (with a VPN and its kill
 * switch: the VPN, and VPN_LOCAL_CIDRS through the underlay), masqueraded
 * (SNAT_IP is IPv4's), and a guard after NAT for what escaped it. Of the
 * gateway itself clients may only ping PREFIX::1. Each adds nothing
 * without an IPv6 overlay (pg_overlay6_configured); errors stick to the
 * table. */

#include "common/config.h"
#include "gatewayd/pool.h"
#include "netlink/nft.h"

/* PG_SET_CLIENTS6 with the pool's leases (pool may be NULL), and the
 * denied destinations' set. */
void pg_ruleset6_add_sets(struct pg_nft_table *t, const struct pg_config *cfg,
			  const struct pg_pool *pool, const struct pg_prefix_list *underlay);
/* For the input chain, before its final drop of the overlay. */
void pg_ruleset6_input(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);
/* For the forward chain, before anything accepts overlay traffic. */
void pg_ruleset6_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);
/* For the nat postrouting chain. */
void pg_ruleset6_nat(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);
/* For the guard table's postrouting chain. */
void pg_ruleset6_guard(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);

#endif
