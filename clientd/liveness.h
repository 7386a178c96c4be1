/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LIVENESS_H
#define PODGW_LIVENESS_H

/* Is the gateway alive? Decided once per keepalive interval from what the
 * tunnel received, not from the gateway's control port: a tunnel carrying
 * the gateway's traffic needs no keepalive at all, and a quiet one gets an
 * ICMP echo to the gateway's overlay address, which the gateway's kernel
 * answers through the tunnel (its reply is traffic like any other). Only
 * the lease is renewed over the control port, every LEASE_TIME / 3. No
 * kernel and no clock in here: the sidecar feeds it counters and times. */

#include <stdbool.h>
#include <stdint.h>

struct pg_liveness {
	uint64_t rx;	  /* the tunnel's receive counter at the last tick */
	bool have_rx;	  /* rx could be read then */
	bool echo_out;	  /* the last tick sent an echo */
	bool busy;	  /* the last interval carried more than echo replies */
	unsigned replies; /* echo replies since the last tick */
	unsigned quiet;	  /* ticks since the last echo */
};

/* An echo at least every this many ticks, busy or not: a crawler whose
 * tunnel only receives sends nothing else between renewals, and gatewayd
 * counts what its clients send to tell a live lease from a dead one
 * (LEASE_QUIET_MS, 2 s by default; 1 s here at 250 ms ticks). */
#define PG_LIVENESS_ECHO_EVERY 4

struct pg_live_tick {
	bool alive;	/* the gateway proved alive during the interval */
	bool miss;	/* nothing came, after an echo or after traffic */
	bool echo_lost; /* a miss with an echo unanswered, not a pause in traffic */
	/* Nothing but echo replies came: ask the gateway's kernel again, so
	 * that an idle tunnel is checked every interval, as before. */
	bool send_echo;
};

void pg_liveness_start(struct pg_liveness *lv, bool rx_ok, uint64_t rx);
/* An echo reply from the gateway's overlay address. */
void pg_liveness_answered(struct pg_liveness *lv);
/* One keepalive interval has passed; rx_ok false when the counter could
 * not be read (the link is being repaired): that interval proves nothing. */
struct pg_live_tick pg_liveness_tick(struct pg_liveness *lv, bool rx_ok, uint64_t rx);

/* Milliseconds between lease renewals for a grant of lease_time seconds:
 * a third of it, never more often than the keepalive interval. */
uint64_t pg_renew_interval_ms(uint32_t lease_time, uint32_t keepalive_ms);

#endif
