/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CLIENT_STATE_H
#define PODGW_CLIENT_STATE_H

/* What the sidecar publishes in STATE_FILE for `clientd check --verbose`:
 * KEY=VALUE lines, replaced atomically, written when something changes and
 * at most once a second for keepalives (never per packet). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"

struct pg_client_state {
	bool healthy; /* the gateway answers keepalives */
	struct pg_prefix gateway_pod_ip, gateway_addr, addr;
	struct pg_prefix addr6, gateway_addr6; /* family 0: IPv6 not routed */
	char replica[64];		       /* the replica's name from its grant; "" unknown */
	uint64_t last_keepalive;	       /* seconds since the epoch: last answered one */
	uint64_t rtt_us;		       /* its round trip */
	uint64_t repairs;		       /* repair passes that put something back */
	uint64_t losses;		       /* times the gateway was lost */
	uint64_t since;			       /* when the sidecar started */
	bool dirty;
	uint64_t written_ms; /* monotonic */
};

/* Writes s to path when dirty and due (force: now); 0 or a negative errno. */
int pg_client_state_flush(const char *path, struct pg_client_state *s, uint64_t now_ms, bool force);
/* Prints path's state for a person, one "key: value" line each, with
 * times relative to now; -errno when it cannot be read. */
int pg_client_state_print(FILE *out, const char *path, const char *gateway, uint64_t now);

#endif
