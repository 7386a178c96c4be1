/* SPDX-License-Identifier: MIT */
/* rtnl against the real kernel, in an anonymous network namespace that
 * vanishes with the process. Each change made through the API is checked
 * with iproute2's own view (ip -d link, ip route, bridge fdb, ip neigh),
 * since libnl can report a request as sent while writing it wrongly. */

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include "netlink/rtnl.h"
#include "tests/unit/check.h"

static struct pg_prefix pfx(const char *ip, uint8_t len)
{
	struct pg_prefix p = {.family = strchr(ip, ':') ? AF_INET6 : AF_INET, .len = len};

	if (inet_pton(p.family, ip, p.bytes) != 1)
		p.family = -1;
	return p;
}

static bool same_addr(const struct pg_prefix *a, const struct pg_prefix *b)
{
	size_t n = a->family == AF_INET6 ? 16 : 4;

	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/* The output of a shell command, malloc'd ("" on failure). */
__attribute__((format(printf, 1, 2))) static char *capture(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL, *line = NULL;
	size_t outlen = 0, linecap = 0;
	FILE *p = NULL, *mem;
	va_list ap;

	mem = open_memstream(&out, &outlen);
	if (!mem)
		return strdup("");
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (cmd)
		p = popen(cmd, "r");
	if (p) {
		while (getline(&line, &linecap, p) >= 0)
			fputs(line, mem);
		pclose(p);
	}
	fclose(mem);
	free(line);
	free(cmd);
	return out ? out : strdup("");
}

static void sh(const char *cmd)
{
	int r = system(cmd);

	if (r != 0) {
		fprintf(stderr, "'%s' failed (%d)\n", cmd, r);
		check_failures++;
	}
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

#define CHECK_OUT(needle, times, ...)                                                              \
	do {                                                                                       \
		char *out_ = capture(__VA_ARGS__);                                                 \
		if (count(out_, needle) != (times)) {                                              \
			fprintf(stderr, "%s:%d: want %d x '%s' in:\n%s\n", __FILE__, __LINE__,     \
				(int)(times), needle, out_);                                       \
			check_failures++;                                                          \
		}                                                                                  \
		free(out_);                                                                        \
	} while (0)

#define CHECK_ERR(call, want)                                                                      \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		if (r_ != (want)) {                                                                \
			fprintf(stderr, "%s:%d: %s = %d (%s) '%s', want %d\n", __FILE__, __LINE__, \
				#call, r_, strerror(-r_), pg_rtnl_errmsg(rt), (int)(want));        \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static void test_vxlan(struct pg_rtnl *rt, int underlay, int *vx_index)
{
	struct pg_vxlan vx = {
	    .name = "vxlan0",
	    .vni = 42,
	    .port = 8472,
	    .underlay_ifindex = underlay,
	    .local = pfx("10.244.0.5", 32),
	    .learning = false,
	    .mtu = 1450,
	    .mac = {0x02, 'p', 'g', 0, 0, 1},
	    .no_ipv6 = true,
	};
	struct pg_link_info info;
	int again = -1;

	CHECK_ERR(pg_link_vxlan_create(rt, &vx, vx_index), 0);
	CHECK(*vx_index > 0);
	CHECK_OUT("vxlan id 42 ", 1, "ip -d link show vxlan0");
	CHECK_OUT("dstport 8472 ", 1, "ip -d link show vxlan0");
	CHECK_OUT("nolearning", 1, "ip -d link show vxlan0");
	CHECK_OUT("mtu 1450 ", 1, "ip -d link show vxlan0");
	CHECK_OUT("addrgenmode none ", 1, "ip -d link show vxlan0");
	CHECK_OUT("link/ether 02:70:67:00:00:01 ", 1, "ip -d link show vxlan0");
	CHECK_OUT("local 10.244.0.5 dev ul0 ", 1, "ip -d link show vxlan0");
	CHECK_OUT("\"port\":8472", 1, "ip -d -j link show vxlan0");

	CHECK_ERR(pg_link_get(rt, "vxlan0", &info), 0);
	CHECK(info.ifindex == *vx_index);
	CHECK(info.mtu == 1450);
	CHECK(!info.up);
	CHECK_STR(info.kind, "vxlan");
	CHECK_STR(info.name, "vxlan0");
	CHECK(info.vxlan.vni == 42);
	CHECK(info.vxlan.port == 8472);
	CHECK(info.vxlan.underlay_ifindex == underlay);
	CHECK(!info.vxlan.learning);
	CHECK(same_addr(&info.vxlan.local, &vx.local));

	CHECK_ERR(pg_link_vxlan_create(rt, &vx, &again), -EEXIST);
	CHECK(again == -1);
	printf("second vxlan create: %s '%s'\n", strerror(EEXIST), pg_rtnl_errmsg(rt));

	CHECK_ERR(pg_link_set_up(rt, *vx_index, true), 0);
	CHECK_ERR(pg_link_get_index(rt, *vx_index, &info), 0);
	CHECK(info.up);
	CHECK_OUT("UP", 1, "ip -j link show vxlan0 | grep -o '\"UP\"'");
}

static void test_addr(struct pg_rtnl *rt, int vx)
{
	struct pg_prefix a = pfx("172.16.0.1", 24);

	CHECK_ERR(pg_addr_add(rt, vx, &a), 0);
	CHECK_OUT("inet 172.16.0.1/24 ", 1, "ip -4 addr show dev vxlan0");
	CHECK_ERR(pg_addr_add(rt, vx, &a), -EEXIST);
}

static void test_addr_del(struct pg_rtnl *rt, int vx)
{
	struct pg_prefix a = pfx("172.16.0.1", 24);

	CHECK_ERR(pg_addr_del(rt, vx, &(struct pg_prefix){0}), -EAFNOSUPPORT);
	CHECK_ERR(pg_addr_del(rt, vx, &a), 0);
	CHECK_OUT("172.16.0.1", 0, "ip -4 addr show dev vxlan0");
	CHECK_ERR(pg_addr_del(rt, vx, &a), -EADDRNOTAVAIL);
}

static void test_routes(struct pg_rtnl *rt, int ul, int vx)
{
	struct pg_route r = {
	    .dst = pfx("198.51.100.0", 24), .gw = pfx("10.244.0.9", 32), .oif = ul};
	struct pg_route onlink = {.dst = pfx("203.0.113.0", 24), .oif = vx};
	struct pg_route def = {
	    .dst = pfx("0.0.0.0", 0), .gw = pfx("10.244.0.1", 32), .oif = ul, .priority = 100};
	struct pg_prefix dst = pfx("198.51.100.7", 32);
	struct pg_prefix gw2 = pfx("10.244.0.10", 32);
	struct pg_route found, defs[4];
	size_t n = 0;
	bool seen = false;

	CHECK_ERR(pg_route_add(rt, &r, false), 0);
	CHECK_OUT("198.51.100.0/24 via 10.244.0.9 dev ul0 proto static", 1, "ip route show");
	CHECK_ERR(pg_route_add(rt, &r, false), -EEXIST);

	r.gw = gw2;
	CHECK_ERR(pg_route_add(rt, &r, true), 0);
	CHECK_OUT("198.51.100.0/24 via 10.244.0.10 dev ul0 proto static", 1, "ip route show");
	CHECK_OUT("198.51.100.0/24", 1, "ip route show");

	CHECK_ERR(pg_route_lookup(rt, &dst, &found), 0);
	CHECK(same_addr(&found.gw, &gw2));
	CHECK(found.oif == ul);
	CHECK(found.table == RT_TABLE_MAIN);
	CHECK(found.dst.family == AF_INET && found.dst.len == 32);

	CHECK_ERR(pg_route_add(rt, &onlink, false), 0);
	CHECK_OUT("203.0.113.0/24 dev vxlan0 proto static scope link", 1, "ip route show");

	CHECK_ERR(pg_route_add(rt, &def, false), 0);
	CHECK_OUT("default via 10.244.0.1 dev ul0 proto static metric 100", 1, "ip route show");
	CHECK_ERR(pg_route_defaults(rt, AF_INET, defs, 4, &n), 0);
	CHECK(n == 1);
	for (size_t i = 0; i < n && i < 4; i++) {
		if (same_addr(&defs[i].gw, &def.gw) && defs[i].oif == ul &&
		    defs[i].priority == 100 && defs[i].protocol == RTPROT_STATIC &&
		    defs[i].dst.len == 0 && defs[i].table == RT_TABLE_MAIN)
			seen = true;
	}
	CHECK(seen);
	/* Counting without storing. */
	CHECK_ERR(pg_route_defaults(rt, AF_INET, NULL, 0, &n), 0);
	CHECK(n == 1);
	CHECK_ERR(pg_route_defaults(rt, AF_INET6, defs, 4, &n), 0);
	CHECK(n == 0);

	/* The lookup now also follows the default route elsewhere. */
	dst = pfx("192.0.2.1", 32);
	CHECK_ERR(pg_route_lookup(rt, &dst, &found), 0);
	CHECK(same_addr(&found.gw, &def.gw) && found.oif == ul);

	CHECK_ERR(pg_route_del(rt, &def), 0);
	CHECK_OUT("default", 0, "ip route show");
	CHECK_ERR(pg_route_defaults(rt, AF_INET, defs, 4, &n), 0);
	CHECK(n == 0);
	CHECK_ERR(pg_route_lookup(rt, &dst, &found), -ENETUNREACH);
	printf("lookup without a route: %s '%s'\n", strerror(ENETUNREACH), pg_rtnl_errmsg(rt));

	CHECK_ERR(pg_route_del(rt, &r), 0);
	CHECK_ERR(pg_route_del(rt, &onlink), 0);
	CHECK_OUT("198.51.100.0", 0, "ip route show");
	CHECK_OUT("203.0.113.0", 0, "ip route show");
	CHECK_ERR(pg_route_del(rt, &r), -ESRCH);
}

/* A tunnel over IPv6: the link's local address is IPv6, so are its FDB
 * entries' remotes (the vxlan driver keeps one family per link). */
static void test_vxlan6(struct pg_rtnl *rt, int underlay)
{
	static const uint8_t zero[6], mac[6] = {0x02, 0, 0, 0, 0, 0x0b};
	struct pg_vxlan vx = {
	    .name = "vxlan6",
	    .vni = 43,
	    .port = 4790,
	    .underlay_ifindex = underlay,
	    .local = pfx("fd00:10:244::5", 128),
	    .mtu = 1430,
	    .no_ipv6 = true,
	};
	struct pg_prefix d1 = pfx("fd00:10:244::7", 128), d4 = pfx("10.244.0.7", 32);
	struct pg_link_info info;
	int ifindex = 0, r;

	CHECK_ERR(pg_link_vxlan_create(rt, &vx, &ifindex), 0);
	if (ifindex <= 0)
		return;
	CHECK_OUT("local fd00:10:244::5 dev ul0 ", 1, "ip -d link show vxlan6");
	CHECK_OUT("mtu 1430 ", 1, "ip -d link show vxlan6");
	CHECK_ERR(pg_link_get(rt, "vxlan6", &info), 0);
	CHECK(info.vxlan.local.family == AF_INET6 && same_addr(&info.vxlan.local, &vx.local));
	CHECK_ERR(pg_fdb_add(rt, ifindex, mac, &d1), 0);
	CHECK_ERR(pg_fdb_add(rt, ifindex, zero, &d1), 0);
	CHECK_OUT("02:00:00:00:00:0b dst fd00:10:244::7 ", 1, "bridge fdb show dev vxlan6");
	CHECK_OUT("00:00:00:00:00:00 dst fd00:10:244::7 ", 1, "bridge fdb show dev vxlan6");
	r = pg_fdb_add(rt, ifindex, mac, &d4);
	printf("IPv4 remote on an IPv6 vxlan link: %d (%s) '%s'\n", r, strerror(-r),
	       pg_rtnl_errmsg(rt));
	CHECK(r < 0);
	CHECK_ERR(pg_fdb_del(rt, ifindex, mac, &d1), 0);
	CHECK_ERR(pg_fdb_del(rt, ifindex, zero, &d1), 0);
	CHECK_OUT("dst fd00:10:244::7", 0, "bridge fdb show dev vxlan6");
	CHECK_ERR(pg_link_delete(rt, ifindex), 0);
}

static void test_fdb(struct pg_rtnl *rt, int vx)
{
	static const uint8_t zero[6], mac[6] = {0x02, 0, 0, 0, 0, 0x0a};
	struct pg_prefix d1 = pfx("10.244.0.2", 32), d2 = pfx("10.244.0.3", 32);

	CHECK_ERR(pg_fdb_add(rt, vx, zero, &d1), 0);
	CHECK_ERR(pg_fdb_add(rt, vx, zero, &d2), 0);
	CHECK_OUT("00:00:00:00:00:00 dst 10.244.0.2 self permanent", 1,
		  "bridge fdb show dev vxlan0");
	CHECK_OUT("00:00:00:00:00:00 dst 10.244.0.3 self permanent", 1,
		  "bridge fdb show dev vxlan0");
	CHECK_OUT("00:00:00:00:00:00 dst", 2, "bridge fdb show dev vxlan0");

	CHECK_ERR(pg_fdb_del(rt, vx, zero, &d1), 0);
	CHECK_OUT("dst 10.244.0.2 ", 0, "bridge fdb show dev vxlan0");
	CHECK_OUT("dst 10.244.0.3 ", 1, "bridge fdb show dev vxlan0");
	CHECK_ERR(pg_fdb_del(rt, vx, zero, &d2), 0);
	CHECK_OUT("00:00:00:00:00:00 dst", 0, "bridge fdb show dev vxlan0");
	CHECK_ERR(pg_fdb_del(rt, vx, zero, &d2), -ENOENT);

	/* A unicast MAC's entry is replaced, never kept pointing at the old
	 * remote (an append is a no-op for it in the vxlan driver). */
	CHECK_ERR(pg_fdb_add(rt, vx, mac, &d1), 0);
	CHECK_ERR(pg_fdb_add(rt, vx, mac, &d2), 0);
	CHECK_OUT("02:00:00:00:00:0a dst 10.244.0.3 self permanent", 1,
		  "bridge fdb show dev vxlan0");
	CHECK_OUT("02:00:00:00:00:0a dst", 1, "bridge fdb show dev vxlan0");
	CHECK_ERR(pg_fdb_add(rt, vx, mac, &d2), 0); /* again: still one */
	CHECK_OUT("02:00:00:00:00:0a dst", 1, "bridge fdb show dev vxlan0");
	CHECK_ERR(pg_fdb_del(rt, vx, mac, &d2), 0);
	CHECK_OUT("02:00:00:00:00:0a", 0, "bridge fdb show dev vxlan0");
}

static void test_neigh(struct pg_rtnl *rt, int vx)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 0x03};
	struct pg_prefix ip = pfx("172.16.0.2", 32);

	CHECK_ERR(pg_neigh_add(rt, vx, &ip, mac), 0);
	CHECK_OUT("172.16.0.2 lladdr 02:00:00:00:00:02 PERMANENT", 1, "ip neigh show dev vxlan0");
	/* Replaced, not duplicated. */
	CHECK_ERR(pg_neigh_add(rt, vx, &ip, mac2), 0);
	CHECK_OUT("172.16.0.2 lladdr 02:00:00:00:00:03 PERMANENT", 1, "ip neigh show dev vxlan0");
	CHECK_OUT("172.16.0.2 ", 1, "ip neigh show dev vxlan0");

	CHECK_ERR(pg_neigh_del(rt, vx, &ip), 0);
	CHECK_OUT("172.16.0.2 ", 0, "ip neigh show dev vxlan0");
	CHECK_ERR(pg_neigh_del(rt, vx, &ip), -ENOENT);
}

static void test_bad_requests(struct pg_rtnl *rt, int ul)
{
	struct pg_vxlan vx = {.name = "vxlan9", .vni = 9, .port = 8472, .underlay_ifindex = 9999};
	struct pg_prefix a = pfx("172.16.9.1", 24);
	struct pg_route r = {.dst = pfx("198.51.100.1", 24), .oif = ul};
	int r1, r2, r3;

	r1 = pg_link_vxlan_create(rt, &vx, NULL);
	printf("vxlan on missing underlay: %d (%s) '%s'\n", r1, strerror(-r1), pg_rtnl_errmsg(rt));
	CHECK(r1 < 0);
	CHECK_OUT("vxlan9", 0, "ip link show");

	r2 = pg_addr_add(rt, 9999, &a);
	printf("address on ifindex 9999: %d (%s) '%s'\n", r2, strerror(-r2), pg_rtnl_errmsg(rt));
	CHECK(r2 == -ENODEV);

	/* Host bits in the destination: the kernel explains in ext-ack. */
	r3 = pg_route_add(rt, &r, false);
	printf("route with host bits: %d (%s) '%s'\n", r3, strerror(-r3), pg_rtnl_errmsg(rt));
	CHECK(r3 == -EINVAL);
	CHECK(pg_rtnl_errmsg(rt)[0] != '\0');

	/* A failure leaves the socket usable and the text is cleared. */
	CHECK_ERR(pg_link_set_up(rt, ul, true), 0);
	CHECK_STR(pg_rtnl_errmsg(rt), "");
}

/* The receive counter is the kernel's own: three datagrams to loopback
 * (and the port-unreachable errors they cause) are counted on lo's receive
 * side, and iproute2 reads the same number. */
static void test_rx_counter(struct pg_rtnl *rt)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct pg_link_info before, after;
	unsigned long long seen = 0;
	char *out, *at;
	int fd;

	CHECK_ERR(pg_link_get(rt, "lo", &before), 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	for (int i = 0; fd >= 0 && i < 3; i++)
		CHECK(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
	if (fd >= 0)
		close(fd);
	CHECK_ERR(pg_link_get(rt, "lo", &after), 0);
	CHECK(after.rx_packets >= before.rx_packets + 3);
	out = capture("ip -s -j link show lo");
	at = strstr(out, "\"rx\":{\"bytes\":");
	CHECK(at && sscanf(at, "\"rx\":{\"bytes\":%*u,\"packets\":%llu", &seen) == 1);
	CHECK(seen == after.rx_packets);
	free(out);
}

int main(void)
{
	struct pg_rtnl *rt = NULL;
	struct pg_link_info info;
	int ul = 0, vx = 0, r;

	if (geteuid() != 0) {
		fprintf(stderr, "not root: skipped\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s: skipped\n", strerror(errno));
		return 77;
	}
	sh("ip link set lo up");
	sh("ip link add ul0 type veth peer name ul1");
	sh("ip addr add 10.244.0.5/24 dev ul0");
	sh("ip -6 addr add fd00:10:244::5/64 dev ul0 nodad");
	sh("ip link set ul1 up");
	sh("ip link set ul0 up");
	if (check_failures)
		return check_result();

	r = pg_rtnl_open(&rt);
	if (r < 0) {
		fprintf(stderr, "pg_rtnl_open: %s\n", strerror(-r));
		return 1;
	}
	CHECK_ERR(pg_link_get(rt, "ul0", &info), 0);
	ul = info.ifindex;
	CHECK(ul > 0 && info.up);
	CHECK_STR(info.kind, "veth");

	test_rx_counter(rt);
	test_vxlan(rt, ul, &vx);
	if (vx > 0) {
		test_addr(rt, vx);
		test_routes(rt, ul, vx);
		test_fdb(rt, vx);
		test_neigh(rt, vx);
		test_addr_del(rt, vx);
		CHECK_ERR(pg_link_set_up(rt, vx, false), 0);
		CHECK_ERR(pg_link_get_index(rt, vx, &info), 0);
		CHECK(!info.up);
	}
	test_vxlan6(rt, ul);
	test_bad_requests(rt, ul);

	if (vx > 0) {
		CHECK_ERR(pg_link_delete(rt, vx), 0);
		CHECK_ERR(pg_link_get(rt, "vxlan0", &info), -ENODEV);
		CHECK_ERR(pg_link_delete(rt, vx), -ENODEV);
		CHECK_OUT("vxlan0", 0, "ip link show");
	}
	pg_rtnl_close(rt);
	return check_result();
}
