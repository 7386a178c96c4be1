/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GATEWAY_H
#define PODGW_GATEWAY_H

#include "common/config.h"
#include "netlink/nft.h"

#define PG_GATEWAY_TABLE "podgw"

struct pg_gateway;

/* Creates the vxlan link, the overlay address, forwarding and the nftables
 * table. Returns an enum pg_exit; on failure everything it created is gone
 * and one line said why. */
int pg_gateway_setup(const struct pg_config *cfg, struct pg_gateway **out);
/* Removes what setup created and frees gw. */
void pg_gateway_teardown(struct pg_gateway *gw);

/* The gateway's whole table, built from the configuration alone. */
struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg);

#endif
