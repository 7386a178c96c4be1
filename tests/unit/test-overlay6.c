/* SPDX-License-Identifier: MIT */
/* The IPv6 overlay's addresses: the derived prefix, each lease's address,
 * the gateway's, and what a GRANT carries. No kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "gatewayd/overlay6.h"

static const char *fmt(const struct pg_prefix *p)
{
	static char buf[PG_PREFIX_STRLEN];

	return pg_prefix_fmt(p, buf, true);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return a;
}

/* fd, BLAKE2b-256's first 40 bits (`b2sum -l 256` of the name without a
 * newline), the VNI's low 16 bits: what docs/membership.md says. */
static void test_derive(void)
{
	struct pg_prefix p, q;

	CHECK(pg_overlay6_derive("foo", 42, &p) == 0);
	CHECK_STR(fmt(&p), "fdb8:fe9f:7f62:2a::/64");
	CHECK(pg_overlay6_derive("gw-a", 42, &p) == 0);
	CHECK_STR(fmt(&p), "fdb5:a16b:d9f1:2a::/64");
	/* the VNI's low 16 bits; another gateway, another prefix */
	CHECK(pg_overlay6_derive("foo", 0x12345, &q) == 0);
	CHECK_STR(fmt(&q), "fdb8:fe9f:7f62:2345::/64");
	CHECK(pg_overlay6_derive("", 42, &p) == -EINVAL);
	CHECK(pg_overlay6_derive(NULL, 42, &p) == -EINVAL);
}

static void test_hosts(void)
{
	struct pg_prefix net6 = {AF_INET6, 64, {0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 42}};
	struct pg_prefix net4 = {AF_INET, 24, {172, 16, 0}}, net16 = {AF_INET, 16, {10, 99}};
	struct pg_prefix a;

	pg_overlay6_host(&net6, &net4, ip("172.16.0.23"), &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::17/128");
	pg_overlay6_host(&net6, &net4, ip("172.16.0.254"), &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::fe/128");
	pg_overlay6_host(&net6, &net16, ip("10.99.1.2"), &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::102/128");
	pg_overlay6_host(&net6, &net16, ip("10.99.255.254"), &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::fffe/128");
	pg_overlay6_gateway(&net6, &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::1/128");
	/* the gateway's IPv4 address maps onto the gateway's IPv6 one */
	pg_overlay6_host(&net6, &net4, ip("172.16.0.1"), &a);
	CHECK_STR(fmt(&a), "fd12:3456:789a:2a::1/128");
}

static void test_config(void)
{
	struct pg_config cfg = {.vxlan_id = 42};

	snprintf(cfg.events_gateway, sizeof(cfg.events_gateway), "foo");
	CHECK(!pg_overlay6_configured(&cfg));
	pg_overlay6_complete_config(&cfg);
	CHECK(pg_overlay6_configured(&cfg));
	CHECK_STR(fmt(&cfg.overlay6.prefix), "fdb8:fe9f:7f62:2a::/64");
	/* a prefix set is kept; off stays off */
	cfg.overlay6.prefix.bytes[1] = 0x01;
	pg_overlay6_complete_config(&cfg);
	CHECK_STR(fmt(&cfg.overlay6.prefix), "fd01:fe9f:7f62:2a::/64");
	cfg = (struct pg_config){.vxlan_id = 42, .overlay6 = {.off = true}};
	pg_overlay6_complete_config(&cfg);
	CHECK(!pg_overlay6_configured(&cfg) && cfg.overlay6.prefix.family == 0);
}

/* Without a running overlay (off, or not set up), grants carry nothing. */
static void test_grant_off(void)
{
	struct pg_overlay6 o = {.net = {AF_INET6, 64, {0xfd, 0x12}}};
	struct pg_lease l = {.addr = ip("172.16.0.23")};
	struct pg_msg m = {0};

	pg_overlay6_grant(NULL, &l, &m);
	CHECK(!m.has_addr6);
	pg_overlay6_grant(&o, &l, &m);
	CHECK(!m.has_addr6 && !pg_overlay6_egress(&o));
	CHECK(pg_overlay6_admit(&o, NULL, &l, true) == 0);
	CHECK(pg_overlay6_admitted(&o, NULL, &l));
}

int main(void)
{
	test_derive();
	test_hosts();
	test_config();
	test_grant_off();
	return check_result();
}
