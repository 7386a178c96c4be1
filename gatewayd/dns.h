/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GATEWAY_DNS_H
#define PODGW_GATEWAY_DNS_H

/* The gateway's DNS forwarder, for clients whose DNS goes through the
 * tunnel (CLIENT_DNS_THROUGH_TUNNEL): UDP on the overlay address, port 53,
 * from overlay sources arriving on the vxlan link (which admission already
 * limits to leased clients). A query for a name under DNS_LOCAL_CIDRS goes
 * to DNS_LOCAL_SERVER (the cluster DNS) out of the underlay, any other to
 * DNS_UPSTREAM_SERVERS by the routes, that is through the egress and its
 * kill switch; servers are IPv4 or IPv6, each asked over its own family.
 * Only the header and the question are read (AAAA is no different from A
 * here: both are relayed as they come); the query gets a
 * fresh random ID and leaves from a socket of its own on a random port (up
 * to PG_DNS_SOCKETS_MAX sockets; beyond, queries share the least used), and
 * the answer, matched on socket, server address and port, ID and question,
 * goes back unchanged but for the client's ID. At most PG_DNS_PENDING_MAX
 * queries are outstanding, each for PG_DNS_TIMEOUT_MS, and at most
 * DNS_CLIENT_MAX_PENDING of one client; with the table full, the client
 * with the most outstanding gives up its oldest to one with fewer, so no
 * client starves the others. The client's own retry goes to the server
 * that timed out least. TCP is not served here: egress.c sends it to the first
 * upstream with a DNAT rule. A bad datagram is dropped with a rate-limited
 * line; it never stops the daemon. */

struct pg_source;
struct pg_stats;

#include "common/config.h"

#define PG_DNS_PENDING_MAX 1024
#define PG_DNS_TIMEOUT_MS  4000
#define PG_DNS_NFDS	   2 /* the clients' socket, the epoll set of the others */
#define PG_DNS_SOCKETS_MAX 256
/* The forwarder listens here; the gateway's table redirects the overlay's
 * port 53 to it, so gatewayd needs no CAP_NET_BIND_SERVICE. */
#define PG_DNS_FORWARDER_PORT 10053

struct pg_dns;

/* Fills the servers the settings left empty from DNS_RESOLV_CONF (all its
 * nameservers as upstreams, the first as the local server), silently:
 * before setup, whose failure must be the only line. */
void pg_dns_complete_config(struct pg_config *cfg);
/* Says which servers are used, or warns that there are none. */
void pg_dns_describe(const struct pg_config *cfg);
/* Binds addr (the overlay address) port PG_DNS_FORWARDER_PORT; sockets
 * towards the servers come and go with the queries. Drops and forwarded
 * queries are counted in stats (may be NULL). vxlan_ifindex points at the gateway's current vxlan
 * ifindex (it changes when the link is repaired): queries must arrive there. */
int pg_dns_open(const struct pg_config *cfg, struct in_addr addr, const int *vxlan_ifindex,
		struct pg_stats *stats, struct pg_dns **out);
void pg_dns_close(struct pg_dns *d);
/* The event loop's source (gatewayd/loop.h): PG_DNS_NFDS descriptors read
 * when ready; its tick ends the queries that timed out. */
void pg_dns_source(struct pg_dns *d, struct pg_source *out);

#endif
