/* SPDX-License-Identifier: MIT */
#ifndef PODGW_MEMBERSHIP_H
#define PODGW_MEMBERSHIP_H

/* The gateway's side of the membership protocol (docs/membership.md):
 * answers JOIN, RENEW, RELEASE and INFO on the control port, keeps the pool's
 * leases, expires them, persists them, and has admission program the kernel
 * for each. A bad packet is dropped or answered; it never stops the daemon. */

#include <stdint.h>

#include "common/config.h"
#include "gatewayd/admission.h"
#include "gatewayd/events.h"
#include "gatewayd/pool.h"
#include "gatewayd/stats.h"

struct pg_membership;
struct pg_overlay6;
struct pg_source;

struct pg_membership_params {
	const struct pg_config *cfg;
	const struct pg_admission *admission;
	struct pg_pool *pool;
	const struct pg_key *key; /* NULL: unauthenticated */
	struct in_addr gateway_addr;
	uint8_t gateway_mac[6];
	uint16_t mtu;
	struct pg_events *events; /* NULL: no K_SINK */
	struct pg_stats *stats;	  /* counted into; NULL: not counted */
	struct pg_overlay6 *v6;	  /* NULL: grants carry no IPv6 */
	int family;		  /* the underlay's: AF_INET (also 0) or AF_INET6 */
};

/* Binds the control port in the underlay's family. Returns 0 or a negative
 * errno. */
int pg_membership_open(const struct pg_membership_params *params, struct pg_membership **out);
void pg_membership_close(struct pg_membership *m);
int pg_membership_fd(const struct pg_membership *m);
/* The event loop's source (gatewayd/loop.h): answers every datagram
 * waiting on the socket; its tick expires leases and saves them when due. */
void pg_membership_source(struct pg_membership *m, struct pg_source *out);
/* Saves the leases now if any began, moved or ended since the last save
 * (at shutdown): renewals alone are saved by the tick, now and then. */
int pg_membership_save(struct pg_membership *m);

#endif
