/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LOOKUP_H
#define PODGW_LOOKUP_H

/* clientd's own lookup of the gateway's name when the pod's DNS goes
 * through the tunnel (CLIENT_DNS_THROUGH_TUNNEL). The C library's
 * resolver would be sent to the gateway too, and the gateway must be
 * found again exactly when the tunnel is down: so this looks in the hosts
 * file, then asks resolv.conf's nameservers (the cluster DNS, IPv4 or
 * IPv6) directly, with the search list and ndots as the C library applies
 * them, in UDP datagrams carrying a mark that the guard lets out of the
 * pod network. */

#include <stdint.h>

#include "common/addr.h"

/* Every address of the name (a gateway's replicas) of one family, at most
 * max, each once, as full-length prefixes: their number. family AF_INET
 * asks for A records and IPv4 hosts lines, AF_INET6 for AAAA and IPv6
 * lines, AF_UNSPEC for IPv4 when the name has any, else IPv6 (the hosts
 * file first, then DNS). -ENOENT when no server knows the name (or has
 * no address of the family), -ETIMEDOUT when none answered, -ESRCH when
 * resolv.conf names no nameserver, or another negative errno. Bounded: at
 * most a few seconds per family. mark 0: no mark (tests). */
/* The hosts file alone, as pg_lookup_gateway reads it first: -ENOENT when
 * it has no line of the family for the name. */
int pg_lookup_hosts(const char *name, int family, const char *hosts, struct pg_prefix *out,
		    unsigned max);
/* resolv.conf's first IPv6 nameserver: 0 and *out, -ENOENT when it names
 * none, or a negative errno reading it. With CLIENT_DNS_THROUGH_TUNNEL the
 * pod's queries to such a server are not redirected (the gateway's DNS
 * forwarder answers on its IPv4 overlay address only) and so are dropped. */
int pg_lookup_ipv6_nameserver(const char *resolv_conf, struct pg_prefix *out);
int pg_lookup_gateway(const char *name, int family, const char *hosts, const char *resolv_conf,
		      uint32_t mark, struct pg_prefix *out, unsigned max);

#endif
