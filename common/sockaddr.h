/* SPDX-License-Identifier: MIT */
#ifndef PODGW_SOCKADDR_H
#define PODGW_SOCKADDR_H

/* Socket addresses of either family, to and from struct pg_prefix: what a
 * socket of the underlay's family (IPv4 or IPv6) sends to and receives
 * from. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"

union pg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/* "a.b.c.d:port" or "[x::y]:port" */
#define PG_SOCKADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* ip's address and port (host order) as a socket address: its length, or
 * 0 for a family other than AF_INET or AF_INET6. */
socklen_t pg_sockaddr_from(union pg_sockaddr *out, const struct pg_prefix *ip, uint16_t port);
/* The address (a host prefix) and port (host order; port may be NULL) of a
 * socket address of len bytes: 0, or -EAFNOSUPPORT for another family or a
 * length short of it. An IPv4-mapped IPv6 address stays IPv6: our sockets
 * are of one family each. */
int pg_sockaddr_to(const union pg_sockaddr *sa, socklen_t len, struct pg_prefix *ip,
		   uint16_t *port);
const char *pg_sockaddr_fmt(const struct pg_prefix *ip, uint16_t port,
			    char buf[PG_SOCKADDR_STRLEN]);
/* The same family and address; prefix lengths are not compared. */
bool pg_addr_equal(const struct pg_prefix *a, const struct pg_prefix *b);

#endif
