/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LOOKUP_H
#define PODGW_LOOKUP_H

/* clientd's own lookup of the gateway's name when the pod's DNS goes
 * through the tunnel (CLIENT_DNS_THROUGH_TUNNEL). The C library's
 * resolver would be sent to the gateway too, and the gateway must be
 * found again exactly when the tunnel is down: so this looks in the hosts
 * file, then asks resolv.conf's nameservers (the cluster DNS) directly,
 * with the search list and ndots as the C library applies them, in UDP
 * datagrams carrying a mark that the guard lets out of the pod network. */

#include <netinet/in.h>
#include <stdint.h>

/* Every address of the name (a gateway's replicas), at most max, each
 * once: their number; -ENOENT when no server knows the name, -ETIMEDOUT
 * when none answered, -ESRCH when resolv.conf names no IPv4 nameserver,
 * or another negative errno. Bounded: at most a few seconds. */
int pg_lookup_ipv4(const char *name, const char *hosts, const char *resolv_conf, uint32_t mark,
		   struct in_addr *out, unsigned max);

#endif
