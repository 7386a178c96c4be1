/* SPDX-License-Identifier: MIT */
#ifndef PODGW_TRAFFIC_H
#define PODGW_TRAFFIC_H

/* Per-client traffic, counted by the kernel: two counted sets of the
 * gateway's table hold every leased overlay address, client_tx (matched by
 * the source of what the client sends through the gateway) and client_rx
 * (the destination of what comes back). One hash lookup per packet and
 * direction, whatever the number of clients. This keeps the last reading of
 * both, so that a replaced table starts its elements at those counts. */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/nft.h"

#define PG_SET_CLIENT_TX "client_tx"
#define PG_SET_CLIENT_RX "client_rx"

struct pg_traffic_count {
	struct in_addr addr; /* overlay address */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

struct pg_traffic;

int pg_traffic_new(struct pg_traffic **out);
void pg_traffic_free(struct pg_traffic *tr);
/* Reads both sets of table from the kernel; on success the reading replaces
 * the last one, on failure (e.g. -ENOENT: someone deleted the table) the
 * last one stays. 0 or a negative errno. */
int pg_traffic_read(struct pg_traffic *tr, struct pg_nft *nft, const char *table);
/* The last reading's counts for addr, or NULL. */
const struct pg_traffic_count *pg_traffic_find(const struct pg_traffic *tr, struct in_addr addr);
/* Adds one address's reading (for tests and for building a reading). */
int pg_traffic_put(struct pg_traffic *tr, const struct pg_traffic_count *c);

#endif
