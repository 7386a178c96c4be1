/* SPDX-License-Identifier: MIT */
#ifndef PODGW_RULESET_H
#define PODGW_RULESET_H

/* The gateway's two nftables tables, described from the configuration and
 * the pool. A builder error sticks to the description (netlink/nft.h):
 * committing it returns that error, so a half-built table is never
 * installed. NULL only when the description itself cannot be allocated. */

#include "common/config.h"
#include "gatewayd/pool.h"
#include "gatewayd/traffic.h"
#include "netlink/nft.h"

#define PG_GATEWAY_TABLE       "podgw"
#define PG_GATEWAY_GUARD_TABLE "podgw_guard"

/* The gateway's whole table: rules from the configuration, set elements
 * for the pool's live leases and the port forwards of its nat.conf (pool
 * may be NULL: empty sets, no forwards). */
struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg, const struct pg_pool *pool);
/* The same, with each client's traffic counts starting where carry (may be
 * NULL) last read them (a replaced table carries them on), and the pod's
 * underlay networks and router (may be NULL) among the destinations
 * overlay traffic may not reach (gatewayd/reach.h). */
struct pg_nft_table *pg_gateway_ruleset_counted(const struct pg_config *cfg,
						const struct pg_pool *pool,
						const struct pg_traffic *carry,
						const struct pg_prefix_list *underlay);
/* Drops overlay-sourced packets that reach the egress un-NATed. */
struct pg_nft_table *pg_gateway_guard(const struct pg_config *cfg);

#endif
