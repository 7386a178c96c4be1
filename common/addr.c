/* SPDX-License-Identifier: MIT */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

size_t pg_prefix_bytes(const struct pg_prefix *p)
{
	return p->family == AF_INET6 ? 16 : 4;
}

static unsigned max_len(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static bool host_bits_set(const struct pg_prefix *p)
{
	for (unsigned bit = p->len; bit < max_len(p->family); bit++)
		if (p->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	return false;
}

/* Parses "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n". A bare address is a
 * host prefix. Host bits set under the mask are refused unless asked for,
 * since a CIDR like 10.0.0.1/8 is almost always a typo. */
int pg_prefix_parse(const char *text, struct pg_prefix *out, bool allow_host_bits)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	if (inet_pton(AF_INET, buf, out->bytes) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->bytes) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;

	out->len = (uint8_t)max_len(out->family);
	if (slash) {
		char *end;
		unsigned long len;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > max_len(out->family))
			return -EINVAL;
		out->len = (uint8_t)len;
	}
	if (!allow_host_bits && host_bits_set(out))
		return -EINVAL;
	return 0;
}

int pg_addr_parse(const char *text, struct pg_prefix *out)
{
	if (strchr(text, '/'))
		return -EINVAL;
	return pg_prefix_parse(text, out, true);
}

bool pg_prefix_contains(const struct pg_prefix *net, const struct pg_prefix *addr)
{
	if (net->family != addr->family || addr->len < net->len)
		return false;
	for (unsigned bit = 0; bit < net->len; bit++) {
		uint8_t m = 0x80 >> (bit % 8);

		if ((net->bytes[bit / 8] & m) != (addr->bytes[bit / 8] & m))
			return false;
	}
	return true;
}

/* The index-th address of an IPv4 network as a host address carrying the
 * network's prefix length (index 1 is the first host). */
int pg_prefix_host(const struct pg_prefix *net, uint32_t index, struct pg_prefix *out)
{
	uint32_t base, size;
	struct in_addr a;

	if (net->family != AF_INET || net->len > 30)
		return -EINVAL;
	size = net->len == 0 ? 0 : 1u << (32 - net->len);
	if (size && index >= size)
		return -ERANGE;
	memcpy(&base, net->bytes, 4);
	a.s_addr = htonl(ntohl(base) + index);
	pg_prefix_from_v4(out, a, net->len);
	return 0;
}

const char *pg_prefix_fmt(const struct pg_prefix *p, char buf[PG_PREFIX_STRLEN], bool with_len)
{
	size_t n;

	if (p->family != AF_INET && p->family != AF_INET6) {
		snprintf(buf, PG_PREFIX_STRLEN, "none");
		return buf;
	}
	inet_ntop(p->family, p->bytes, buf, PG_PREFIX_STRLEN);
	if (with_len) {
		n = strlen(buf);
		snprintf(buf + n, PG_PREFIX_STRLEN - n, "/%u", p->len);
	}
	return buf;
}

struct in_addr pg_prefix_v4(const struct pg_prefix *p)
{
	struct in_addr a;

	memcpy(&a.s_addr, p->bytes, 4);
	return a;
}

void pg_prefix_from_v4(struct pg_prefix *out, struct in_addr a, uint8_t len)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->len = len;
	memcpy(out->bytes, &a.s_addr, 4);
}

void pg_overlay_mac(const struct pg_prefix *addr, uint8_t mac[6])
{
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 'p';
	mac[2] = 'g';
	memcpy(mac + 3, addr->bytes + 1, 3);
}
