/* SPDX-License-Identifier: MIT */
/* The change monitor against the real kernel, in an anonymous network
 * namespace that vanishes with the process: what our own sockets change is
 * not reported, what iproute2 and nft change behind our back is, within a
 * second, with the right bits. Also pg_neigh_get, which repair passes use
 * to look at an entry without rewriting it. */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/netfilter.h>

#include "netlink/monitor.h"
#include "netlink/nft.h"
#include "netlink/rtnl.h"
#include "tests/unit/check.h"

/* Foreign changes must show within this; the daemons promise a second. */
#define REPORT_MS 1000
/* How long we listen for events that must not come. */
#define QUIET_MS 300
/* Route notifications that overflow the 8 MiB receive buffer (16 MiB as
 * the kernel counts it; some 700 bytes each): about twice too many. */
#define OVERRUN_ROUTES 40000

static struct pg_prefix pfx(const char *ip, uint8_t len)
{
	struct pg_prefix p = {.family = strchr(ip, ':') ? AF_INET6 : AF_INET, .len = len};

	if (inet_pton(p.family, ip, p.bytes) != 1)
		p.family = -1;
	return p;
}

static void sh(const char *cmd)
{
	int r = system(cmd);

	if (r != 0) {
		fprintf(stderr, "'%s' failed (%d)\n", cmd, r);
		check_failures++;
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bits reported within ms, returning early once all of want came. */
static unsigned collect(struct pg_monitor *m, long ms, unsigned want)
{
	long deadline = now_ms() + ms, left;
	unsigned bits = 0;

	while ((left = deadline - now_ms()) > 0 && (!want || (bits & want) != want)) {
		struct pollfd p = {.fd = pg_monitor_fd(m), .events = POLLIN};
		unsigned c = 0;
		int r = poll(&p, 1, (int)left);

		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "poll: %s\n", strerror(errno));
			check_failures++;
			break;
		}
		if (r <= 0)
			continue;
		r = pg_monitor_read(m, &c);
		if (r < 0) {
			fprintf(stderr, "pg_monitor_read: %s\n", strerror(-r));
			check_failures++;
			break;
		}
		bits |= c;
	}
	return bits;
}

/* Nothing at all may be reported for what we did ourselves. */
#define EXPECT_QUIET(what)                                                                         \
	do {                                                                                       \
		unsigned got_ = collect(m, QUIET_MS, 0);                                           \
		if (got_) {                                                                        \
			fprintf(stderr, "%s:%d: %s: reported 0x%x, want nothing\n", __FILE__,      \
				__LINE__, what, got_);                                             \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

/* A foreign change: want must come within REPORT_MS. */
#define EXPECT_REPORT(cmd, want)                                                                   \
	do {                                                                                       \
		long t0_ = now_ms();                                                               \
		unsigned got_;                                                                     \
		sh(cmd);                                                                           \
		got_ = collect(m, REPORT_MS, want);                                                \
		if ((got_ & (want)) != (want)) {                                                   \
			fprintf(stderr, "%s:%d: '%s': reported 0x%x, want 0x%x\n", __FILE__,       \
				__LINE__, cmd, got_, (unsigned)(want));                            \
			check_failures++;                                                          \
		} else {                                                                           \
			fprintf(stderr, "'%s': 0x%x after %ld ms\n", cmd, got_, now_ms() - t0_);   \
		}                                                                                  \
		collect(m, QUIET_MS, 0); /* the rest of its events */                              \
	} while (0)

static struct pg_nft_table *small_table(void)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "podgw");
	struct pg_nft_rule *r;

	if (!t)
		return NULL;
	pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false);
	pg_nft_table_add_set(t, "peers", PG_KEY_IPV4, -1, false);
	r = pg_nft_rule_new(t, "input");
	if (r) {
		pg_nft_match_saddr_in_set(r, NFPROTO_IPV4, "peers", false);
		pg_nft_accept(r);
	}
	return t;
}

static void test_neigh_get(struct pg_rtnl *rt, int vx)
{
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 7};
	struct pg_prefix ip = pfx("10.99.0.7", 32), absent = pfx("10.99.0.77", 32);
	uint8_t got[6];
	uint16_t state = 0;
	int r;

	r = pg_neigh_get(rt, vx, &ip, got, &state);
	if (r != 0 || memcmp(got, mac, 6) != 0 || state != NUD_PERMANENT) {
		fprintf(stderr, "pg_neigh_get = %d '%s', state 0x%x\n", r, pg_rtnl_errmsg(rt),
			state);
		check_failures++;
	}
	CHECK(pg_neigh_get(rt, vx, &ip, NULL, NULL) == 0);
	CHECK(pg_neigh_get(rt, vx, &absent, got, &state) == -ENOENT);
	CHECK(pg_neigh_get(rt, 0, &ip, got, &state) == -EINVAL);
	ip.family = AF_PACKET;
	CHECK(pg_neigh_get(rt, vx, &ip, got, &state) == -EAFNOSUPPORT);
}

/* More events than the receive buffer holds, unread: the kernel drops some,
 * and the next read says to check everything. */
static void test_overrun(struct pg_monitor *m)
{
	FILE *ip;
	unsigned got = 0;
	int r, status;

	signal(SIGPIPE, SIG_IGN); /* ip gives up on an error: reported below */
	ip = popen("ip -batch -", "w");
	if (!ip) {
		fprintf(stderr, "popen: %s\n", strerror(errno));
		check_failures++;
		return;
	}
	for (int i = 0; i < OVERRUN_ROUTES; i++)
		fprintf(ip, "route add 10.%d.%d.%d dev ul0\n", 100 + (i >> 16), (i >> 8) & 0xff,
			i & 0xff);
	status = pclose(ip);
	if (status != 0) {
		fprintf(stderr, "ip -batch: %d\n", status);
		check_failures++;
	}
	r = pg_monitor_read(m, &got);
	if (r != 0 || got != PG_CHANGED_ALL) {
		fprintf(stderr, "after an overrun: %d, 0x%x, want 0, 0x%x\n", r, got,
			PG_CHANGED_ALL);
		check_failures++;
	}
	/* Drained in slices, and quiet again afterwards. */
	for (int i = 0; i < OVERRUN_ROUTES && pg_monitor_read(m, &got) == 0 && got; i++)
		;
	CHECK(got == 0);
}

static void run(struct pg_rtnl *rt, struct pg_nft *nft, int vx)
{
	static const char *const watched[] = {"podgw"};
	const uint8_t zero[6] = {0}, mac[6] = {0x02, 0, 0, 0, 0, 7};
	struct pg_prefix addr = pfx("10.99.0.1", 24), ip = pfx("10.99.0.7", 32);
	struct pg_prefix remote = pfx("10.244.0.9", 32);
	struct pg_nft_table *t = small_table();
	struct pg_monitor *m = NULL;
	int r;

	/* FDB notifications from vxlan carry port id 0 even for our own
	 * requests, so this entry is made before the monitor starts. */
	CHECK(pg_fdb_add(rt, vx, zero, &remote) == 0);

	r = pg_monitor_open(pg_rtnl_portid(rt), pg_nft_portid(nft), NFPROTO_INET, watched, 1, &m);
	if (r < 0) {
		fprintf(stderr, "pg_monitor_open: %s\n", strerror(-r));
		check_failures++;
		pg_nft_table_free(t);
		return;
	}
	CHECK(pg_monitor_fd(m) >= 0);
	collect(m, QUIET_MS, 0); /* whatever the setup left */

	/* Our own changes. */
	CHECK(pg_addr_add(rt, vx, &addr) == 0);
	EXPECT_QUIET("pg_addr_add");
	CHECK(t && pg_nft_table_commit(nft, t) == 0);
	EXPECT_QUIET("pg_nft_table_commit");
	CHECK(pg_neigh_add(rt, vx, &ip, mac) == 0);
	EXPECT_QUIET("pg_neigh_add");
	test_neigh_get(rt, vx);
	EXPECT_QUIET("pg_neigh_get");

	/* Others' changes of no interest. */
	sh("nft add table inet other && nft add chain inet other c");
	sh("nft add table ip podgw");
	CHECK((collect(m, QUIET_MS, 0) & PG_CHANGED_NFT) == 0);
	sh("ip neigh add 10.99.0.8 lladdr 02:00:00:00:00:08 dev vxlan0 nud reachable");
	sh("ip neigh change 10.99.0.8 lladdr 02:00:00:00:00:08 dev vxlan0 nud stale");
	CHECK((collect(m, QUIET_MS, 0) & PG_CHANGED_NEIGH) == 0);

	/* Others' changes to our state. */
	EXPECT_REPORT("nft flush table inet podgw", PG_CHANGED_NFT);
	EXPECT_REPORT("nft delete table inet podgw", PG_CHANGED_NFT);
	EXPECT_REPORT("ip neigh del 10.99.0.7 dev vxlan0", PG_CHANGED_NEIGH);
	EXPECT_REPORT("bridge fdb del 00:00:00:00:00:00 dev vxlan0 dst 10.244.0.9",
		      PG_CHANGED_NEIGH);
	EXPECT_REPORT("ip addr flush dev vxlan0", PG_CHANGED_ADDR);
	EXPECT_REPORT("ip route del default", PG_CHANGED_ROUTE);
	EXPECT_REPORT("ip link del vxlan0", PG_CHANGED_LINK);

	test_overrun(m);
	pg_monitor_close(m);
	pg_nft_table_free(t);
}

int main(void)
{
	struct pg_rtnl *rt = NULL;
	struct pg_nft *nft = NULL;
	struct pg_link_info info;
	struct pg_vxlan vxc = {
	    .name = "vxlan0",
	    .vni = 42,
	    .port = 8472,
	    .local = pfx("10.244.0.5", 32),
	    .no_ipv6 = true,
	};
	int vx = 0, r;

	if (geteuid() != 0) {
		fprintf(stderr, "not root: skipped\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s: skipped\n", strerror(errno));
		return 77;
	}
	/* No IPv6 chatter (DAD, router solicitations, multicast neighbour
	 * entries), so that "nothing reported" means nothing. */
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	sh("ip link set lo up");
	sh("ip link add ul0 type veth peer name ul1");
	sh("ip addr add 10.244.0.5/24 dev ul0");
	sh("ip link set ul1 up");
	sh("ip link set ul0 up");
	sh("ip route add default via 10.244.0.1");
	if (check_failures)
		return check_result();

	r = pg_rtnl_open(&rt);
	if (r == 0)
		r = pg_nft_open(&nft);
	if (r < 0) {
		fprintf(stderr, "open: %s\n", strerror(-r));
		pg_rtnl_close(rt);
		return 1;
	}
	CHECK(pg_rtnl_portid(rt) != 0);
	CHECK(pg_nft_portid(nft) != 0);
	r = pg_link_get(rt, "ul0", &info);
	vxc.underlay_ifindex = r == 0 ? info.ifindex : 0;
	r = pg_link_vxlan_create(rt, &vxc, &vx);
	if (r == 0)
		r = pg_link_set_up(rt, vx, true);
	if (r < 0) {
		fprintf(stderr, "vxlan0: %s '%s'\n", strerror(-r), pg_rtnl_errmsg(rt));
		check_failures++;
	} else {
		run(rt, nft, vx);
	}
	pg_nft_close(nft);
	pg_rtnl_close(rt);
	return check_result();
}
