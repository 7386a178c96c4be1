/* SPDX-License-Identifier: MIT */
#ifndef PODGW_RESOLVCONF_H
#define PODGW_RESOLVCONF_H

/* What podgw needs from a resolv.conf: the nameservers, the search list
 * and ndots. gatewayd takes its default upstream and cluster DNS servers
 * from it; clientd its cluster DNS for its own lookups of the gateway.
 * Other lines are ignored, as are nameservers with a scope ("fe80::1%eth0")
 * and entries beyond the limits (as the C library does beyond its own). */

#include <netinet/in.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/dnsmsg.h"

#define PG_RESOLV_SERVERS_MAX 8
#define PG_RESOLV_SEARCH_MAX  6
#define PG_RESOLV_NDOTS_MAX   15

struct pg_resolv_conf {
	unsigned n_servers;
	struct in_addr servers[PG_RESOLV_SERVERS_MAX]; /* the IPv4 ones */
	/* Every nameserver, IPv4 or IPv6, in the file's order (host prefixes). */
	unsigned n_nameservers;
	struct pg_prefix nameservers[PG_RESOLV_SERVERS_MAX];
	unsigned n_search;
	char search[PG_RESOLV_SEARCH_MAX][PG_DNS_NAME_MAX + 1]; /* lower case, no final dot */
	unsigned ndots;						/* 1 unless options say */
};

void pg_resolv_conf_parse(const char *text, size_t len, struct pg_resolv_conf *out);
/* Reads at most 64 KiB of path; 0 or a negative errno. */
int pg_resolv_conf_read(const char *path, struct pg_resolv_conf *out);

#endif
