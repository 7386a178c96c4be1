/* SPDX-License-Identifier: MIT */
#ifndef PODGW_ADDR_H
#define PODGW_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address with its prefix length; family is AF_INET or AF_INET6, the
 * bytes are in network order and only the first 4 are used for AF_INET. */
struct pg_prefix {
	int family;
	uint8_t len;
	uint8_t bytes[16];
};

#define PG_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

int pg_prefix_parse(const char *text, struct pg_prefix *out, bool allow_host_bits);
int pg_addr_parse(const char *text, struct pg_prefix *out);
size_t pg_prefix_bytes(const struct pg_prefix *p);
bool pg_prefix_contains(const struct pg_prefix *net, const struct pg_prefix *addr);
int pg_prefix_host(const struct pg_prefix *net, uint32_t index, struct pg_prefix *out);
const char *pg_prefix_fmt(const struct pg_prefix *p, char buf[PG_PREFIX_STRLEN], bool with_len);
struct in_addr pg_prefix_v4(const struct pg_prefix *p);
void pg_prefix_from_v4(struct pg_prefix *out, struct in_addr a, uint8_t len);
/* The vxlan MAC of an overlay address: locally administered, stable across
 * restarts and unique within a /16, so that peers' neighbour caches stay
 * right when a daemon recreates its link. */
void pg_overlay_mac(const struct pg_prefix *addr, uint8_t mac[6]);

#endif
