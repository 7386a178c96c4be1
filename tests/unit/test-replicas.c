/* SPDX-License-Identifier: MIT */
/* Replica order: rendezvous hashing spreads identities evenly, and a
 * change in the set moves only the identities it must, for IPv4 and IPv6
 * pod IPs. Lookup of every address of a name of a family in a hosts file. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "clientd/lookup.h"
#include "clientd/replicas.h"

#define IDENTITIES 1000

static struct pg_replicas set_of(unsigned n, unsigned first_host)
{
	struct pg_replicas s = {.n = n};

	for (unsigned i = 0; i < n; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.244.0.%u", first_host + i);
		CHECK(pg_addr_parse(ip, &s.r[i].ip) == 0);
	}
	return s;
}

static void name_of(unsigned i, char *out, size_t size)
{
	snprintf(out, size, "crawler-%u", i);
}

/* The first in the order for identity i. */
static unsigned host_of(const struct pg_replicas *set, unsigned i)
{
	struct pg_replicas s = *set;
	char name[32];

	name_of(i, name, sizeof(name));
	pg_replicas_rendezvous(&s, "crawlers", name);
	return s.r[0].ip.bytes[3];
}

static void test_order_independent(void)
{
	struct pg_replicas a = set_of(3, 2), b = a;

	/* The resolver's order does not matter. */
	b.r[0] = a.r[2];
	b.r[2] = a.r[0];
	for (unsigned i = 0; i < 50; i++)
		CHECK(host_of(&a, i) == host_of(&b, i));
	CHECK(pg_replicas_same_ips(&a, &b));
	b.r[0].ip.bytes[3] = 99;
	CHECK(!pg_replicas_same_ips(&a, &b));
	CHECK(pg_replicas_find(&a, &a.r[1].ip) == 1);
	CHECK(pg_replicas_find(&a, &b.r[0].ip) == -1);
	/* Namespaces count: the same name elsewhere is another identity. */
	CHECK(pg_replica_weight("a", "bc", &a.r[0].ip) != pg_replica_weight("ab", "c", &a.r[0].ip));
}

static void test_spread(void)
{
	struct pg_replicas three = set_of(3, 2);
	unsigned count[256] = {0}, max = 0, min = IDENTITIES;

	for (unsigned i = 0; i < IDENTITIES; i++)
		count[host_of(&three, i)]++;
	for (unsigned h = 2; h < 5; h++) {
		max = count[h] > max ? count[h] : max;
		min = count[h] < min ? count[h] : min;
	}
	printf("FIGURE spread %u identities over 3 replicas: max %u min %u\n", IDENTITIES, max,
	       min);
	/* Binomial(1000, 1/3): sd ~15; 280..390 is more than 3.5 sd. */
	CHECK(min >= 280 && max <= 390);
}

static void test_remove_moves_only_its_own(void)
{
	struct pg_replicas three = set_of(3, 2), two = set_of(2, 2);
	unsigned moved = 0, wrong = 0;

	for (unsigned i = 0; i < IDENTITIES; i++) {
		unsigned before = host_of(&three, i), after = host_of(&two, i);

		if (before != after) {
			moved++;
			wrong += before != 4; /* only 10.244.0.4's left */
		}
	}
	printf("FIGURE remove 1 of 3: %u of %u moved\n", moved, IDENTITIES);
	CHECK(wrong == 0);
	CHECK(moved > 250 && moved < 420);
}

static void test_add_moves_a_share(void)
{
	struct pg_replicas three = set_of(3, 2), four = set_of(4, 2);
	unsigned moved = 0, wrong = 0;

	for (unsigned i = 0; i < IDENTITIES; i++) {
		unsigned before = host_of(&three, i), after = host_of(&four, i);

		if (before != after) {
			moved++;
			wrong += after != 5; /* only to the new one */
		}
	}
	printf("FIGURE add a 4th: %u of %u moved (~1/4)\n", moved, IDENTITIES);
	CHECK(wrong == 0);
	CHECK(moved > 180 && moved < 320);
}

static void test_by_load(void)
{
	struct pg_replicas s = set_of(4, 2);

	s.r[0].has_leases = true, s.r[0].leases = 9;
	s.r[1].has_leases = false; /* an old gateway: unknown */
	s.r[2].has_leases = true, s.r[2].leases = 3;
	s.r[3].has_leases = true, s.r[3].leases = 9;
	pg_replicas_by_load(&s);
	CHECK(s.r[0].ip.bytes[3] == 4);
	CHECK(s.r[1].ip.bytes[3] == 2); /* ties keep their order */
	CHECK(s.r[2].ip.bytes[3] == 5);
	CHECK(s.r[3].ip.bytes[3] == 3); /* unknown last */
}

static char *write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	CHECK(f != NULL);
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static bool is(const struct pg_prefix *p, const char *text)
{
	struct pg_prefix want;

	return pg_addr_parse(text, &want) == 0 && p->family == want.family && p->len == want.len &&
	       memcmp(p->bytes, want.bytes, pg_prefix_bytes(p)) == 0;
}

static void test_lookup_hosts(void)
{
	char path[] = "/tmp/podgw-test-hosts-XXXXXX";
	struct pg_prefix a[4];

	if (!write_temp(
		path,
		"127.0.0.1\tlocalhost\n10.244.0.2\tfoo pod-gateway-foo\n10.244.0.3\tbar\n"
		"10.244.0.4\tFOO # a comment\n10.244.0.2 foo\n10.244.0.5\tpod-gateway-foo foo\n"
		"fd00:10:244::2\tfoo\nfd00:10:244::6 six\nfd00:10:244::7\tsix\n"))
		return;
	CHECK(pg_lookup_gateway("foo", AF_INET, path, "/nonexistent", 0, a, 4) == 3);
	CHECK(is(&a[0], "10.244.0.2") && is(&a[1], "10.244.0.4") && is(&a[2], "10.244.0.5"));
	CHECK(pg_lookup_gateway("foo", AF_INET, path, "/nonexistent", 0, a, 2) == 2);
	CHECK(pg_lookup_gateway("bar", AF_INET, path, "/nonexistent", 0, a, 4) == 1);
	CHECK(is(&a[0], "10.244.0.3"));
	CHECK(pg_lookup_gateway("foo", AF_INET, path, "/nonexistent", 0, a, 0) < 0);
	/* IPv6 lines for an IPv6 underlay; auto prefers IPv4 when there is
	 * any, and takes IPv6 when there is only that. */
	CHECK(pg_lookup_gateway("foo", AF_INET6, path, "/nonexistent", 0, a, 4) == 1);
	CHECK(is(&a[0], "fd00:10:244::2"));
	CHECK(pg_lookup_gateway("foo", AF_UNSPEC, path, "/nonexistent", 0, a, 4) == 3);
	CHECK(is(&a[0], "10.244.0.2"));
	CHECK(pg_lookup_gateway("six", AF_UNSPEC, path, "/nonexistent", 0, a, 4) == 2);
	CHECK(is(&a[0], "fd00:10:244::6") && is(&a[1], "fd00:10:244::7"));
	CHECK(pg_lookup_gateway("six", AF_INET, path, "/nonexistent", 0, a, 4) < 0);
	CHECK(pg_lookup_gateway("bar", AF_INET6, path, "/nonexistent", 0, a, 4) < 0);
	CHECK(pg_lookup_gateway("foo", AF_UNIX, path, "/nonexistent", 0, a, 4) == -EINVAL);
	/* The hosts file alone (clientd's first step with UNDERLAY_FAMILY auto). */
	CHECK(pg_lookup_hosts("six", AF_UNSPEC, path, a, 4) == 2);
	CHECK(pg_lookup_hosts("foo", AF_UNSPEC, path, a, 4) == 3 && is(&a[0], "10.244.0.2"));
	CHECK(pg_lookup_hosts("foo", AF_INET6, path, a, 4) == 1);
	CHECK(pg_lookup_hosts("nowhere", AF_UNSPEC, path, a, 4) == -ENOENT);
	unlink(path);
}

/* Not in the hosts file: resolv.conf's nameservers, IPv6 ones included
 * (an IPv6-only cluster's DNS). Nothing listens on loopback's port 53
 * here, so the lookup ends unanswered; without nameservers, at once. */
static void test_lookup_servers(void)
{
	char hosts[] = "/tmp/podgw-test-hosts-XXXXXX", rc6[] = "/tmp/podgw-test-rc-XXXXXX",
	     rc0[] = "/tmp/podgw-test-rc-XXXXXX";
	struct pg_prefix a[4];

	if (!write_temp(hosts, "127.0.0.1 localhost\n") ||
	    !write_temp(rc6, "search svc.cluster.local\nnameserver ::1\noptions ndots:1\n") ||
	    !write_temp(rc0, "search svc.cluster.local\nnameserver not-an-address\n"))
		return;
	CHECK(pg_lookup_gateway("gw.example", AF_INET6, hosts, rc0, 0, a, 4) == -ESRCH);
	CHECK(pg_lookup_gateway("gw.example", AF_INET6, hosts, rc6, 0, a, 4) != -ESRCH);
	/* What clientd warns of with DNS through the tunnel. */
	CHECK(pg_lookup_ipv6_nameserver(rc6, &a[0]) == 0 && is(&a[0], "::1"));
	CHECK(pg_lookup_ipv6_nameserver(rc0, &a[0]) == -ENOENT);
	CHECK(pg_lookup_ipv6_nameserver(hosts, &a[0]) == -ENOENT);
	CHECK(pg_lookup_ipv6_nameserver("/nonexistent", &a[0]) == -ENOENT);
	unlink(hosts);
	unlink(rc6);
	unlink(rc0);
}

/* IPv6 pod IPs spread as IPv4 ones do, and an address of one family is
 * never found as one of the other. */
static void test_v6(void)
{
	struct pg_replicas s = {.n = 3}, t;
	unsigned first[3] = {0};

	for (unsigned i = 0; i < s.n; i++) {
		char ip[64];

		snprintf(ip, sizeof(ip), "fd00:10:244::%u", i + 2);
		CHECK(pg_addr_parse(ip, &s.r[i].ip) == 0);
	}
	for (unsigned i = 0; i < 300; i++) {
		char name[32];

		t = s;
		name_of(i, name, sizeof(name));
		pg_replicas_rendezvous(&t, "crawlers", name);
		first[t.r[0].ip.bytes[15] - 2]++;
	}
	for (unsigned i = 0; i < 3; i++)
		CHECK(first[i] > 50);
	t = set_of(1, 2);
	CHECK(pg_replicas_find(&s, &t.r[0].ip) == -1);
	t.r[0].ip = s.r[1].ip;
	t.r[0].ip.family = AF_INET; /* the same first bytes, another family */
	CHECK(pg_replicas_find(&s, &t.r[0].ip) == -1);
	CHECK(pg_replicas_find(&s, &s.r[2].ip) == 2);
}

int main(void)
{
	test_order_independent();
	test_spread();
	test_remove_moves_only_its_own();
	test_add_moves_a_share();
	test_by_load();
	test_lookup_hosts();
	test_lookup_servers();
	test_v6();
	return check_result();
}
