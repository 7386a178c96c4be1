/* SPDX-License-Identifier: MIT */
#include "clientd/liveness.h"

/* Only the gateway can make the tunnel's counter move: the guard's input
 * chain (clientd/guard.c, add_input) accepts VXLAN datagrams on the
 * underlay only from the gateway's replicas' pod IPs (a replica this pod
 * left keeps its lease until it ends and may still forward late replies
 * to it for that long) and drops every other one in the
 * input hook, which runs before the UDP socket hands them to the vxlan
 * driver; the driver counts what it decapsulates, nothing else. The link
 * has no IPv6 and static neighbour entries on both ends, so the gateway
 * sends no chatter of its own either: a moving counter is its kernel
 * forwarding to us, answering us, or both. */

void pg_liveness_start(struct pg_liveness *lv, bool rx_ok, uint64_t rx)
{
	*lv = (struct pg_liveness){.rx = rx, .have_rx = rx_ok};
}

void pg_liveness_answered(struct pg_liveness *lv)
{
	lv->replies++;
}

struct pg_live_tick pg_liveness_tick(struct pg_liveness *lv, bool rx_ok, uint64_t rx)
{
	struct pg_live_tick t = {0};
	/* A counter that went back belongs to a new link: a new baseline. */
	uint64_t received = rx_ok && lv->have_rx && rx > lv->rx ? rx - lv->rx : 0;

	t.alive = lv->replies > 0 || received > 0;
	/* After an interval of traffic, silence is a miss at once, as an
	 * unanswered echo is: a busy tunnel detects a loss as fast as an idle
	 * one. A tunnel that merely falls quiet costs one miss, which moves
	 * nobody; the echo sent now ends it. */
	t.miss = !t.alive && (lv->echo_out || (lv->busy && rx_ok));
	t.echo_lost = t.miss && lv->echo_out;
	t.send_echo = received <= lv->replies || ++lv->quiet >= PG_LIVENESS_ECHO_EVERY;
	if (t.send_echo)
		lv->quiet = 0;
	lv->busy = received > lv->replies;
	lv->rx = rx;
	lv->have_rx = rx_ok;
	lv->echo_out = t.send_echo;
	lv->replies = 0;
	return t;
}

uint64_t pg_renew_interval_ms(uint32_t lease_time, uint32_t keepalive_ms)
{
	uint64_t third = (uint64_t)lease_time * 1000 / 3;

	return third > keepalive_ms ? third : keepalive_ms;
}
