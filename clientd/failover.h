/* SPDX-License-Identifier: MIT */
#ifndef PODGW_FAILOVER_H
#define PODGW_FAILOVER_H

/* The sidecar's move to a sibling replica when its own stops answering
 * (or leaves the gateway's name), fail-closed throughout. */

#include <stdbool.h>
#include <stdint.h>

struct pg_client;

/* Keepalive intervals without proof of life after which a replica counts
 * as lost and the sidecar moves. With 250 ms intervals the interval the
 * loss falls in may still have carried traffic, the next one is the first
 * miss (liveness.c: silence after traffic or after an echo) and the one
 * after it the second: a move starts within 750 ms of the loss, and a JOIN
 * to a live sibling takes one round trip, so traffic flows again within
 * 1 s. One miss alone (a tunnel falling quiet) moves nobody, and after it
 * the sidecar sends a second echo half an interval later, so neither does
 * one lost datagram. */
#define PG_FAILOVER_MISSES 2

enum pg_failover_result {
	PG_FAILOVER_STAYED,    /* nothing to do, or no sibling answered */
	PG_FAILOVER_MOVED,     /* joined a sibling: routed through it */
	PG_FAILOVER_FOLLOWING, /* our replica left the set and none answered
				* yet: pointed at the first, keepalives join */
};

/* Resolves the gateway's replicas again; when ours left the set, or lost
 * (misses reached PG_FAILOVER_MISSES, not with REPLICA_SELECTION=pin),
 * joins the first other replica in this pod's order that answers, asking
 * for our address, and points the tunnel at it. since_ms (monotonic):
 * when the outage began, for the log line. */
enum pg_failover_result pg_failover(struct pg_client *c, bool lost, uint64_t since_ms);

#endif
