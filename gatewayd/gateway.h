/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GATEWAY_H
#define PODGW_GATEWAY_H

#include "common/config.h"
#include "gatewayd/pool.h"
#include "gatewayd/traffic.h"
#include "netlink/nft.h"

#define PG_GATEWAY_TABLE       "podgw"
#define PG_GATEWAY_GUARD_TABLE "podgw_guard"

struct pg_gateway;

/* Creates the vxlan link, the overlay address, forwarding and the nftables
 * table. Returns an enum pg_exit; on failure everything it created is gone
 * and one line said why. */
int pg_gateway_setup(const struct pg_config *cfg, struct pg_gateway **out);
/* Serves the membership protocol until SIGTERM or SIGINT arrives on sigfd;
 * SIGHUP or a change of NAT_CONF_FILE reloads nat.conf. Returns an enum
 * pg_exit. */
int pg_gateway_run(struct pg_gateway *gw, int sigfd);
/* Removes what setup created and frees gw. */
void pg_gateway_teardown(struct pg_gateway *gw);

/* The gateway's whole table: rules from the configuration, set elements
 * for the pool's live leases and the port forwards of its nat.conf (pool
 * may be NULL: empty sets, no forwards). */
struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg, const struct pg_pool *pool);
/* The same, with each client's traffic counts starting where carry (may be
 * NULL) last read them: a replaced table carries them on. */
struct pg_nft_table *pg_gateway_ruleset_counted(const struct pg_config *cfg,
						const struct pg_pool *pool,
						const struct pg_traffic *carry);
/* Drops overlay-sourced packets that reach the egress un-NATed. */
struct pg_nft_table *pg_gateway_guard(const struct pg_config *cfg);

#endif
