/* SPDX-License-Identifier: MIT */
#ifndef PODGW_NATCONF_H
#define PODGW_NATCONF_H

/* pod-gateway's nat.conf, parsed and checked, nothing applied: one line
 * "name index ports" per client pod, e.g. "transmission 10 tcp:51413,udp:51413".
 * name reserves the overlay address whose last part is index; each port
 * (comma or blank separated, tcp or udp) arriving on the gateway's egress is
 * forwarded to that address, to the same port or, written "tcp:8080->80",
 * to another one. '#' starts a comment. A name may come on several lines
 * with the same index; each outside port is forwarded once. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define PG_NATCONF_MAX_BYTES (1u << 20)

struct pg_reservation {
	const char *name;
	uint32_t index;	     /* host part of the overlay address */
	struct in_addr addr; /* the overlay address */
	unsigned line;
};

struct pg_forward {
	uint8_t proto;	     /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;	     /* arriving on the egress */
	uint16_t to_port;    /* at the client */
	struct in_addr addr; /* the client's reserved overlay address */
	const char *name;
	unsigned line;
};

/* Where and why a file was refused: "FILE:LINE: FIELD 'VALUE': WHY". line 0
 * is the file as a whole (unreadable, too large); field is "name", "index"
 * or "port" (NULL with line 0). value is printable. */
struct pg_natconf_error {
	unsigned line;
	const char *field;
	char value[64];
	const char *why;
};

struct pg_natconf;

/* overlay: the pool's network; an index must be a leasable host of it (not
 * the network, the gateway (1) or the broadcast address). All or nothing:
 * 0 and *out, or -EINVAL with *err filled (the first bad line in the file
 * when several are), or -ENOMEM. */
int pg_natconf_parse(const struct pg_prefix *overlay, const char *text, size_t len,
		     struct pg_natconf **out, struct pg_natconf_error *err);
/* The same from a file of at most PG_NATCONF_MAX_BYTES; -errno with
 * err->line 0 when it cannot be read. */
int pg_natconf_load(const struct pg_prefix *overlay, const char *path, struct pg_natconf **out,
		    struct pg_natconf_error *err);
void pg_natconf_free(struct pg_natconf *c);

/* How many reservations (sorted by name) and forwards (by protocol and
 * outside port) there are, and where (out may be NULL). c may be NULL: none. */
size_t pg_natconf_reservations(const struct pg_natconf *c, const struct pg_reservation **out);
size_t pg_natconf_forwards(const struct pg_natconf *c, const struct pg_forward **out);
const struct pg_reservation *pg_natconf_find(const struct pg_natconf *c, const char *name);
const struct pg_forward *pg_natconf_find_forward(const struct pg_natconf *c, uint8_t proto,
						 uint16_t port);
/* Same reservations and forwards (line numbers aside); NULL is empty. */
bool pg_natconf_equal(const struct pg_natconf *a, const struct pg_natconf *b);

#endif
