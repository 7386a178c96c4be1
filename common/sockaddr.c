/* SPDX-License-Identifier: MIT */
#include "common/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

socklen_t pg_sockaddr_from(union pg_sockaddr *out, const struct pg_prefix *ip, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	if (ip->family == AF_INET) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		memcpy(&out->in.sin_addr, ip->bytes, 4);
		return sizeof(out->in);
	}
	if (ip->family == AF_INET6) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		memcpy(&out->in6.sin6_addr, ip->bytes, 16);
		return sizeof(out->in6);
	}
	return 0;
}

int pg_sockaddr_to(const union pg_sockaddr *sa, socklen_t len, struct pg_prefix *ip, uint16_t *port)
{
	memset(ip, 0, sizeof(*ip));
	if (len >= sizeof(sa->in) && sa->sa.sa_family == AF_INET) {
		pg_prefix_from_v4(ip, sa->in.sin_addr, 32);
		if (port)
			*port = ntohs(sa->in.sin_port);
		return 0;
	}
	if (len >= sizeof(sa->in6) && sa->sa.sa_family == AF_INET6) {
		ip->family = AF_INET6;
		ip->len = 128;
		memcpy(ip->bytes, &sa->in6.sin6_addr, 16);
		if (port)
			*port = ntohs(sa->in6.sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

const char *pg_sockaddr_fmt(const struct pg_prefix *ip, uint16_t port, char buf[PG_SOCKADDR_STRLEN])
{
	char a[PG_PREFIX_STRLEN];

	pg_prefix_fmt(ip, a, false);
	snprintf(buf, PG_SOCKADDR_STRLEN, ip->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

bool pg_addr_equal(const struct pg_prefix *a, const struct pg_prefix *b)
{
	return a->family == b->family && (a->family == AF_INET || a->family == AF_INET6) &&
	       memcmp(a->bytes, b->bytes, pg_prefix_bytes(a)) == 0;
}
