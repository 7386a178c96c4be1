/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/addr.h"
#include "common/sockaddr.h"
#include "gatewayd/natconf.h"
#include "gatewayd/pool.h"

static const uint8_t mac_a[6] = {0x02, 0x70, 0x67, 0, 0, 1};
static const uint8_t mac_b[6] = {0x02, 0x70, 0x67, 0, 0, 2};
static const struct in_addr no_wish = {.s_addr = 0};

static struct in_addr ip(const char *text)
{
	struct in_addr a = {0};

	CHECK(inet_pton(AF_INET, text, &a) == 1);
	return a;
}

/* A pod IP of either family. */
static struct pg_prefix pod(const char *text)
{
	struct pg_prefix p = {0};

	CHECK(pg_addr_parse(text, &p) == 0);
	return p;
}

static bool same_ip(struct pg_prefix a, struct pg_prefix b)
{
	return pg_addr_equal(&a, &b);
}

/* Pod IP number j: even ones IPv4 10.244.0.0 + j/2, odd ones IPv6 whose
 * first four bytes are that same IPv4 address's (0af4::), so that a pool
 * mixing them up would show. */
static struct pg_prefix pod_n(uint32_t j)
{
	struct in_addr a = {.s_addr = htonl(0x0af40000u + j / 2)};
	struct pg_prefix p;

	pg_prefix_from_v4(&p, a, 32);
	if (j % 2) {
		p.family = AF_INET6;
		p.len = 128;
		p.bytes[15] = 1;
	}
	return p;
}

static const char *fmt(struct in_addr a)
{
	static char buf[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

static struct pg_pool *pool(const char *cidr, uint32_t first_dynamic)
{
	struct pg_prefix net;
	struct pg_pool *p = NULL;

	CHECK(pg_prefix_parse(cidr, &net, false) == 0);
	CHECK(pg_pool_new(&net, first_dynamic, &p) == 0);
	if (!p)
		abort();
	return p;
}

/* The host index of a within a network starting at base. */
static uint32_t idx(struct in_addr a, const char *base)
{
	return ntohl(a.s_addr) - ntohl(ip(base).s_addr);
}

/* A MAC of the id's own: a MAC is one client's. */
static void mac_of(const char *id, uint8_t mac[6])
{
	uint64_t h = 1469598103934665603u;

	for (const char *c = id; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211u;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

static int get(struct pg_pool *p, const char *id, const char *name, struct in_addr wish,
	       uint64_t expires, struct pg_lease *l)
{
	struct pg_lease prev;
	uint8_t mac[6];
	bool had;

	mac_of(id, mac);
	/* reservations are looked up by the whole identity */
	return pg_pool_acquire(p, id, name ? id : NULL, wish, mac, pod("10.244.0.5"), expires, l,
			       &prev, &had);
}

static void test_new(void)
{
	static const struct {
		const char *cidr;
		uint32_t first_dynamic;
		bool ok;
	} cases[] = {
	    {"172.16.0.0/24", 20, true},  {"172.16.0.0/24", 2, true},
	    {"172.16.0.0/24", 254, true}, {"172.16.0.0/24", 255, false},
	    {"172.16.0.0/24", 1, false},  {"172.16.0.0/24", 0, false},
	    {"172.16.0.0/29", 6, true},	  {"172.16.0.0/29", 7, false},
	    {"172.16.0.0/30", 2, false},  {"172.16.0.0/15", 20, false},
	    {"172.0.0.0/8", 20, false},	  {"fd00::/112", 20, false},
	};
	struct pg_prefix net;
	struct pg_pool *p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(pg_prefix_parse(cases[i].cidr, &net, false) == 0);
		p = NULL;
		CHECK((pg_pool_new(&net, cases[i].first_dynamic, &p) == 0) == cases[i].ok);
		CHECK((p != NULL) == cases[i].ok);
		pg_pool_free(p);
	}
	/* host bits set */
	CHECK(pg_prefix_parse("172.16.0.5/24", &net, true) == 0);
	CHECK(pg_pool_new(&net, 20, &p) == -EINVAL);

	for (unsigned len = 16; len <= 29; len++) {
		char cidr[PG_PREFIX_STRLEN];

		snprintf(cidr, sizeof(cidr), "10.1.0.0/%u", len);
		p = pool(cidr, 2);
		CHECK(pg_pool_capacity(p) == (1u << (32 - len)) - 3);
		CHECK(pg_pool_count(p) == 0);
		CHECK(pg_pool_next_expiry(p) == UINT64_MAX);
		pg_pool_free(p);
	}
}

static void test_exhaust_29(void)
{
	struct pg_pool *p = pool("172.16.0.0/29", 2);
	bool seen[8] = {false};
	struct pg_lease l;
	char id[32];

	CHECK(pg_pool_capacity(p) == 5);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "ns/c%d", i);
		CHECK(get(p, id, id + 3, no_wish, 100, &l) == 0);
		uint32_t i_ = idx(l.addr, "172.16.0.0");
		CHECK(i_ >= 2 && i_ <= 6);
		CHECK(!seen[i_ & 7]);
		seen[i_ & 7] = true;
	}
	CHECK(get(p, "ns/c5", "c5", no_wish, 100, &l) == -ENOSPC);
	CHECK(pg_pool_count(p) == 5);
	/* a free address again after a release */
	CHECK(pg_pool_release(p, "ns/c2", &l) == 0);
	CHECK(get(p, "ns/c5", "c5", no_wish, 100, &l) == 0);
	CHECK(pg_pool_release(p, "ns/nobody", NULL) == -ENOENT);
	pg_pool_free(p);
}

static void test_exhaust_24(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_lease l;
	char id[32];

	bool seen[256] = {false};

	CHECK(pg_pool_capacity(p) == 253);
	for (int i = 0; i < 235; i++) {
		uint32_t at;

		snprintf(id, sizeof(id), "ns/c%d", i);
		CHECK(get(p, id, NULL, no_wish, 100, &l) == 0);
		at = idx(l.addr, "172.16.0.0");
		/* the dynamic range, each address once */
		CHECK(at >= 20 && at <= 254 && !seen[at & 255]);
		seen[at & 255] = true;
	}
	CHECK(get(p, "ns/late", NULL, no_wish, 100, &l) == -ENOSPC);
	/* below first_dynamic: only by wish */
	CHECK(get(p, "ns/late", NULL, ip("172.16.0.5"), 100, &l) == 0);
	CHECK(l.addr.s_addr == ip("172.16.0.5").s_addr);
	CHECK(pg_pool_count(p) == 236);
	pg_pool_free(p);
}

static void test_reservations(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_lease l, prev;
	bool had;
	char id[32];

	CHECK(pg_pool_reserve(p, "media/transmission", 10) == 0);
	CHECK(pg_pool_reserve(p, "media/transmission", 10) == 0); /* same pair again */
	CHECK(pg_pool_reserve(p, "media/other", 10) == -EEXIST);
	CHECK(pg_pool_reserve(p, "media/transmission", 11) == -EEXIST);
	CHECK(pg_pool_reserve(p, "x", 0) == -EINVAL);
	CHECK(pg_pool_reserve(p, "x", 1) == -EINVAL);
	CHECK(pg_pool_reserve(p, "x", 255) == -EINVAL);
	CHECK(pg_pool_reserve(p, "x", 256) == -EINVAL);
	CHECK(pg_pool_reserve(p, "bad name", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "ns/x/y", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "NS/x", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "/x", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "ns/", 12) == -EINVAL);
	CHECK(pg_pool_reserve(p, "dyn", 25) == 0); /* inside the dynamic range */
	/* a bare name (pod-gateway's) is the reservation namespace's, "default" */
	CHECK(pg_pool_reserve(p, "plain", 30) == 0);
	CHECK(pg_pool_reserve(p, "default/plain", 30) == 0); /* the same reservation */
	CHECK(get(p, "other/plain", "plain", no_wish, 100, &l) == 0);
	CHECK(idx(l.addr, "172.16.0.0") != 30);
	CHECK(get(p, "default/plain", "plain", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.30");
	CHECK(pg_pool_release(p, "other/plain", NULL) == 0);
	CHECK(pg_pool_release(p, "default/plain", NULL) == 0);
	CHECK(pg_pool_set_reservation_namespace(p, "bad/ns") == -EINVAL);
	CHECK(pg_pool_set_reservation_namespace(p, "") == -EINVAL);
	CHECK(pg_pool_set_reservation_namespace(p, "media") == 0);
	CHECK(pg_pool_reserve(p, "plex", 31) == 0);
	CHECK(get(p, "default/plex", "plex", no_wish, 100, &l) == 0);
	CHECK(idx(l.addr, "172.16.0.0") != 31);
	CHECK(get(p, "media/plex", "plex", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.31");
	CHECK(pg_pool_release(p, "default/plex", NULL) == 0);
	CHECK(pg_pool_release(p, "media/plex", NULL) == 0);

	/* the reservation beats a wish */
	CHECK(get(p, "media/transmission", "transmission", ip("172.16.0.30"), 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.10");
	/* nobody else gets it, by wish or dynamically */
	CHECK(get(p, "media/other", "other", ip("172.16.0.10"), 100, &l) == -EADDRINUSE);
	CHECK(get(p, "media/other", "other", ip("172.16.0.25"), 100, &l) == -EADDRINUSE);
	for (int i = 0;; i++) {
		snprintf(id, sizeof(id), "ns/c%d", i);
		if (get(p, id, NULL, no_wish, 100, &l) < 0)
			break;
		CHECK(idx(l.addr, "172.16.0.0") != 25);
	}
	CHECK(pg_pool_count(p) == 1 + 232); /* 235 dynamic minus the reserved 25, 30, 31 */
	pg_pool_free(p);

	/* a reservation loaded after another id took the address */
	p = pool("172.16.0.0/24", 20);
	CHECK(get(p, "a/squatter", "squatter", ip("172.16.0.40"), 100, &l) == 0);
	CHECK(pg_pool_reserve(p, "b/owner", 40) == 0);
	CHECK(get(p, "b/owner", "owner", no_wish, 100, &l) == -EADDRINUSE);
	CHECK(pg_pool_find(p, "b/owner") == NULL);
	/* the squatter moves on renewal */
	CHECK(pg_pool_acquire(p, "a/squatter", "squatter", no_wish, mac_a, pod("10.244.0.5"), 200,
			      &l, &prev, &had) == 0);
	CHECK(had);
	CHECK_STR(fmt(prev.addr), "172.16.0.40");
	CHECK(l.addr.s_addr != ip("172.16.0.40").s_addr);
	CHECK(get(p, "b/owner", "owner", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.40");
	/* a live lease of the reserved name elsewhere moves to its address */
	CHECK(get(p, "c/late", "late", ip("172.16.0.50"), 100, &l) == 0);
	CHECK(pg_pool_reserve(p, "c/late", 7) == 0);
	CHECK(get(p, "c/late", "late", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.7");
	pg_pool_free(p);
}

static void test_wishes(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_lease l, prev;
	const struct pg_lease *found;
	bool had;

	CHECK(pg_pool_reserve(p, "owner", 12) == 0);
	CHECK(get(p, "ns/a", "a", ip("172.16.0.33"), 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.33");
	CHECK(get(p, "ns/b", "b", ip("172.16.0.5"), 100, &l) == 0); /* below first_dynamic */
	CHECK_STR(fmt(l.addr), "172.16.0.5");
	CHECK(get(p, "ns/c", "c", ip("172.16.0.33"), 100, &l) == -EADDRINUSE);
	CHECK(get(p, "ns/c", "c", ip("172.16.0.12"), 100, &l) == -EADDRINUSE);
	CHECK(get(p, "ns/c", "c", ip("172.16.1.7"), 100, &l) == -ERANGE);
	CHECK(get(p, "ns/c", "c", ip("10.0.0.7"), 100, &l) == -ERANGE);
	CHECK(get(p, "ns/c", "c", ip("172.16.0.0"), 100, &l) == -ERANGE);
	CHECK(get(p, "ns/c", "c", ip("172.16.0.1"), 100, &l) == -ERANGE);
	CHECK(get(p, "ns/c", "c", ip("172.16.0.255"), 100, &l) == -ERANGE);
	CHECK(pg_pool_count(p) == 2);
	CHECK(pg_pool_find(p, "ns/c") == NULL);

	/* a live lease: a free differing wish moves it, a taken one changes nothing */
	CHECK(pg_pool_acquire(p, "ns/a", "a", ip("172.16.0.34"), mac_b, pod("10.244.0.9"), 300, &l,
			      &prev, &had) == 0);
	CHECK(had);
	CHECK_STR(fmt(prev.addr), "172.16.0.33");
	CHECK_STR(fmt(l.addr), "172.16.0.34");
	CHECK(memcmp(l.mac, mac_b, 6) == 0);
	CHECK(get(p, "ns/c", "c", ip("172.16.0.33"), 100, &l) == 0); /* freed by the move */
	CHECK(get(p, "ns/a", "a", ip("172.16.0.5"), 400, &l) == -EADDRINUSE);
	found = pg_pool_find(p, "ns/a");
	CHECK(found && found->expires == 300);
	CHECK(found && found->addr.s_addr == ip("172.16.0.34").s_addr);
	CHECK(found && same_ip(found->pod_ip, pod("10.244.0.9")));

	/* ids */
	CHECK(get(p, "", NULL, no_wish, 1, &l) == -EINVAL);
	CHECK(get(p, "ns/with space", NULL, no_wish, 1, &l) == -EINVAL);
	CHECK(get(p, "ns/new\nline", NULL, no_wish, 1, &l) == -EINVAL);
	{
		char longid[PG_CLIENT_ID_MAX + 2];

		memset(longid, 'a', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		CHECK(get(p, longid, NULL, no_wish, 1, &l) == -EINVAL);
		longid[PG_CLIENT_ID_MAX] = '\0';
		CHECK(get(p, longid, NULL, no_wish, 1, &l) == 0);
		CHECK_STR(l.id, longid);
	}
	pg_pool_free(p);
}

static void test_same_address(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_lease l, prev, ended;
	struct in_addr first;
	bool had = true;
	char id[32];

	CHECK(pg_pool_acquire(p, "ns/a", "a", no_wish, mac_a, pod("10.244.0.5"), 100, &l, &prev,
			      &had) == 0);
	CHECK(!had);
	first = l.addr;
	/* a refresh keeps it and reports the old state */
	CHECK(pg_pool_acquire(p, "ns/a", "a", no_wish, mac_b, pod("10.244.0.6"), 200, &l, &prev,
			      &had) == 0);
	CHECK(had);
	CHECK(l.addr.s_addr == first.s_addr);
	CHECK(prev.expires == 100 && memcmp(prev.mac, mac_a, 6) == 0);
	CHECK(l.expires == 200 && memcmp(l.mac, mac_b, 6) == 0);
	CHECK(pg_pool_next_expiry(p) == 200);

	/* back after release, though others came meanwhile */
	CHECK(pg_pool_release(p, "ns/a", &ended) == 0);
	CHECK(ended.addr.s_addr == first.s_addr);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "ns/o%d", i);
		CHECK(get(p, id, NULL, no_wish, 500, &l) == 0);
		CHECK(l.addr.s_addr != first.s_addr);
	}
	CHECK(get(p, "ns/a", "a", no_wish, 300, &l) == 0);
	CHECK(l.addr.s_addr == first.s_addr);

	/* and after expiry */
	CHECK(pg_pool_expire_one(p, 299, &ended) == -ENOENT);
	CHECK(pg_pool_expire_one(p, 300, &ended) == 0);
	CHECK_STR(ended.id, "ns/a");
	CHECK(get(p, "ns/a", "a", no_wish, 600, &l) == 0);
	CHECK(l.addr.s_addr == first.s_addr);

	/* a wished address below first_dynamic is remembered too */
	CHECK(get(p, "ns/w", "w", ip("172.16.0.3"), 600, &l) == 0);
	CHECK(pg_pool_release(p, "ns/w", NULL) == 0);
	CHECK(get(p, "ns/w", "w", no_wish, 600, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.3");

	/* not when someone else has it now */
	CHECK(pg_pool_release(p, "ns/w", NULL) == 0);
	CHECK(get(p, "ns/x", "x", ip("172.16.0.3"), 600, &l) == 0);
	CHECK(get(p, "ns/w", "w", no_wish, 600, &l) == 0);
	CHECK(l.addr.s_addr != ip("172.16.0.3").s_addr);
	CHECK(idx(l.addr, "172.16.0.0") >= 20);

	/* nor when it was reserved for another name since */
	CHECK(pg_pool_release(p, "ns/a", NULL) == 0);
	CHECK(pg_pool_reserve(p, "owner", idx(first, "172.16.0.0")) == 0);
	CHECK(get(p, "ns/a", "a", no_wish, 600, &l) == 0);
	CHECK(l.addr.s_addr != first.s_addr);
	pg_pool_free(p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64: deterministic, so a failure can be replayed */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int count_lease(const struct pg_lease *l, void *arg)
{
	(void)l;
	(*(size_t *)arg)++;
	return 0;
}

static int stop_at_third(const struct pg_lease *l, void *arg)
{
	(void)l;
	return ++*(int *)arg == 3 ? 42 : 0;
}

static void test_expiry_order(void)
{
	struct pg_pool *p = pool("10.8.0.0/20", 20);
	enum { N = 3000 };
	struct pg_lease l;
	uint64_t min = UINT64_MAX, last = 0;
	size_t n = 0, expired = 0;
	int calls = 0;
	char id[32];

	for (int i = 0; i < N; i++) {
		uint64_t e = 1000 + rng() % 100000;

		snprintf(id, sizeof(id), "ns/c%d", i);
		CHECK(get(p, id, NULL, no_wish, e, &l) == 0);
		if (e < min)
			min = e;
	}
	/* refreshes reorder the heap */
	for (int i = 0; i < N; i += 7) {
		uint64_t e = 1000 + rng() % 100000;

		snprintf(id, sizeof(id), "ns/c%d", i);
		CHECK(get(p, id, NULL, no_wish, e, &l) == 0);
	}
	CHECK(pg_pool_count(p) == N);
	CHECK(pg_pool_foreach(p, count_lease, &n) == 0);
	CHECK(n == N);
	CHECK(pg_pool_foreach(p, stop_at_third, &calls) == 42);
	CHECK(calls == 3);
	CHECK(pg_pool_next_expiry(p) >= 1000);
	CHECK(pg_pool_expire_one(p, 999, &l) == -ENOENT);

	for (uint64_t now = 1000; pg_pool_count(p) && now < UINT32_MAX; now += 997) {
		while (pg_pool_expire_one(p, now, &l) == 0) {
			CHECK(l.expires <= now);
			CHECK(l.expires >= last);
			last = l.expires;
			expired++;
		}
		CHECK(pg_pool_next_expiry(p) > now);
	}
	CHECK(expired == N);
	CHECK(pg_pool_count(p) == 0);
	CHECK(pg_pool_next_expiry(p) == UINT64_MAX);
	pg_pool_free(p);
}

static void tmpdir(char *dir, size_t size)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, size, "%s/test-pool-XXXXXX", base && *base ? base : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* Both clocks at 0 and no cap: the file's times are the pool's. */
static int load_same_clock(struct pg_pool *p, const char *path, unsigned *line)
{
	return pg_pool_load(p, path, 0, 0, UINT32_MAX, line);
}

static void test_persistence(void)
{
	char dir[PATH_MAX], path[sizeof(dir) + sizeof("/leases")];
	char other[sizeof(path) + sizeof(".corrupt")];
	struct pg_pool *p = pool("172.16.0.0/24", 20), *q;
	const struct pg_lease *a, *b;
	struct pg_lease l;
	unsigned line = 99;
	struct stat st;
	char id[32];

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);

	/* missing file: nothing, no error */
	CHECK(load_same_clock(p, path, &line) == 0);
	CHECK(pg_pool_count(p) == 0);

	for (int i = 0; i < 50; i++) {
		uint8_t mac[6] = {0x02, 0x70, 0x67, 0, 1, (uint8_t)i};
		struct pg_prefix pod = pod_n((uint32_t)i); /* both families */

		snprintf(id, sizeof(id), "ns-%d/pod.%d_x", i % 3, i);
		CHECK(pg_pool_acquire(p, id, id + 5, i == 7 ? ip("172.16.0.4") : no_wish, mac, pod,
				      1700000000u + (uint64_t)i, &l, NULL, NULL) == 0);
	}
	CHECK(pg_pool_save(p, path, 0, 0) == 0);
	snprintf(other, sizeof(other), "%s.tmp", path);
	CHECK(stat(other, &st) < 0 && errno == ENOENT);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);

	q = pool("172.16.0.0/24", 20);
	CHECK(load_same_clock(q, path, &line) == 0);
	CHECK(pg_pool_count(q) == 50);
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "ns-%d/pod.%d_x", i % 3, i);
		a = pg_pool_find(p, id);
		b = pg_pool_find(q, id);
		CHECK(a && b);
		if (!a || !b)
			continue;
		CHECK(a->addr.s_addr == b->addr.s_addr);
		CHECK(pg_addr_equal(&a->pod_ip, &b->pod_ip));
		CHECK(a->pod_ip.family == (i % 2 ? AF_INET6 : AF_INET));
		CHECK(memcmp(a->mac, b->mac, 6) == 0);
		CHECK(a->expires == b->expires);
	}
	CHECK(pg_pool_next_expiry(q) == 1700000000u);
	pg_pool_free(q);

	/* a reservation made since moves its client; leases outside a smaller
	 * overlay are dropped */
	q = pool("172.16.0.0/27", 2);
	CHECK(pg_pool_reserve(q, "ns-1/pod.7_x", 9) == 0);
	CHECK(load_same_clock(q, path, &line) == 0);
	b = pg_pool_find(q, "ns-1/pod.7_x");
	CHECK(b && idx(b->addr, "172.16.0.0") == 9);
	CHECK(pg_pool_find(q, "ns-0/pod.30_x") == NULL); /* was .49 */
	pg_pool_free(q);
	pg_pool_free(p);
	unlink(path);

	static const struct {
		const char *text;
		unsigned line;
	} corrupt[] = {
	    {"", 1},
	    {"podgw-leases 2\n", 1},
	    {"podgw-leases 1", 1},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100\nbad\n", 3},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100 x\n", 2},
	    {"podgw-leases 1\nns/a  172.16.0.20 02:70:67:00:00:01 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:1 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:0g 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02-70-67-00-00-01 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.300 02:70:67:00:00:01 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 fd00:10:244::5/128 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 fd00:10:244:::5 100\n", 2},
	    {"podgw-leases 1\nns/a fd00::20 02:70:67:00:00:01 fd00:10:244::5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 -1\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 18446744073709551616\n",
	     2},
	    {"podgw-leases 1\nns/a* 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100\n", 2},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100\n"
	     "ns/b 172.16.0.20 02:70:67:00:00:02 10.244.0.6 100\n",
	     3},
	    {"podgw-leases 1\nns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 100\n"
	     "ns/a 172.16.0.21 02:70:67:00:00:02 10.244.0.6 100\n",
	     3},
	    {"podgw-leases 1\n\n", 2},
	};
	snprintf(other, sizeof(other), "%s.corrupt", path);
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		int r;

		unlink(other);
		write_file(path, corrupt[i].text);
		p = pool("172.16.0.0/24", 20);
		line = 0;
		r = load_same_clock(p, path, &line);
		if (r != -EBADMSG || line != corrupt[i].line)
			fprintf(stderr, "corrupt case %zu: %d line %u\n", i, r, line);
		CHECK(r == -EBADMSG);
		CHECK(line == corrupt[i].line);
		CHECK(pg_pool_count(p) == 0); /* nothing from a corrupt file */
		CHECK(stat(other, &st) == 0);
		CHECK(stat(path, &st) < 0 && errno == ENOENT);
		pg_pool_free(p);
	}
	unlink(other);

	/* valid by hand, including an expired lease and max expiry, and pod
	 * IPs of both families (files from before IPv6 underlays have IPv4) */
	write_file(path, "podgw-leases 1\n"
			 "ns/a 172.16.0.20 02:70:67:00:00:01 10.244.0.5 5\n"
			 "ns/b 172.16.0.3 02:70:67:00:00:02 10.244.0.6 18446744073709551615\n"
			 "ns/c 172.16.0.4 02:70:67:00:00:03 fd00:10:244::7 18446744073709551615\n");
	p = pool("172.16.0.0/24", 20);
	CHECK(load_same_clock(p, path, &line) == 0);
	CHECK(pg_pool_count(p) == 3);
	CHECK(pg_pool_count_pod_ip(p, pod("fd00:10:244::7")) == 1);
	CHECK(pg_pool_find(p, "ns/c") && pg_pool_find(p, "ns/c")->pod_ip.len == 128);
	CHECK(pg_pool_expire_one(p, 10, &l) == 0);
	CHECK_STR(l.id, "ns/a");
	CHECK(pg_pool_next_expiry(p) == UINT32_MAX); /* at most max_left from now */
	CHECK(pg_pool_find(p, "ns/b") != NULL);
	/* and written back as they were read */
	CHECK(pg_pool_save(p, path, 0, 0) == 0);
	pg_pool_free(p);
	p = pool("172.16.0.0/24", 20);
	CHECK(load_same_clock(p, path, &line) == 0);
	CHECK(pg_pool_count(p) == 2 && pg_pool_count_pod_ip(p, pod("fd00:10:244::7")) == 1);
	pg_pool_free(p);
	unlink(path);
	rmdir(dir);
}

static struct pg_natconf *nat_conf(const char *text)
{
	struct pg_prefix net;
	struct pg_natconf_error e;
	struct pg_natconf *c = NULL;

	CHECK(pg_prefix_parse("172.16.0.0/24", &net, false) == 0);
	CHECK(pg_natconf_parse(&net, text, strlen(text), &c, &e) == 0);
	return c;
}

/* nat.conf's reservations replaced as a whole (a reload); live leases stay
 * where they are until their clients join again. */
static void test_nat_conf(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_natconf *c = nat_conf("media/transmission 10 tcp:51413\nplex 11\n"), *old = NULL;
	struct pg_prefix net16;
	struct pg_natconf_error e;
	struct pg_lease l;

	CHECK(pg_pool_nat_conf(p) == NULL);
	CHECK(pg_pool_set_nat_conf(p, c, &old) == 0 && old == NULL);
	CHECK(pg_pool_nat_conf(p) == c);
	CHECK(get(p, "media/transmission", "transmission", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.10");
	CHECK(get(p, "media/other", "other", ip("172.16.0.11"), 100, &l) == -EADDRINUSE);

	/* transmission moves to 12, plex is gone, other takes 10's neighbour */
	c = nat_conf("media/transmission 12\nx/squat 10\n");
	CHECK(pg_pool_set_nat_conf(p, c, &old) == 0);
	CHECK(old != NULL && pg_natconf_find(old, "plex") != NULL);
	pg_natconf_free(old);
	CHECK(get(p, "media/other", "other", ip("172.16.0.11"), 100, &l) == 0);
	/* renewals never move a lease, not even onto a new reservation */
	CHECK(pg_pool_renew(p, "media/transmission", 300, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.10");
	CHECK(l.expires == 300);
	CHECK(pg_pool_next_expiry(p) == 100);
	CHECK(pg_pool_renew(p, "media/nobody", 300, &l) == -ENOENT);
	CHECK(pg_pool_renew(p, "bad id", 300, &l) == -ENOENT);
	/* squat's address is still leased to transmission: squat waits */
	CHECK(get(p, "x/squat", "squat", no_wish, 100, &l) == -EADDRINUSE);
	/* a join applies the new reservation, then squat gets its address */
	CHECK(get(p, "media/transmission", "transmission", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.12");
	CHECK(get(p, "x/squat", "squat", no_wish, 100, &l) == 0);
	CHECK_STR(fmt(l.addr), "172.16.0.10");

	/* all or nothing: a file for a larger overlay does not fit this pool */
	CHECK(pg_prefix_parse("172.16.0.0/16", &net16, false) == 0);
	CHECK(pg_natconf_parse(&net16, "a 13\nbig 300\n", 13, &c, &e) == 0);
	CHECK(pg_pool_set_nat_conf(p, c, &old) == -EINVAL);
	CHECK(pg_pool_nat_conf(p) != c);
	CHECK(pg_pool_reserve(p, "z", 13) == 0);	/* "a 13" was not kept */
	CHECK(pg_pool_reserve(p, "z2", 12) == -EEXIST); /* the old ones were */
	pg_natconf_free(c);

	/* none at all: every address is free for anyone again */
	CHECK(pg_pool_set_nat_conf(p, NULL, NULL) == 0);
	CHECK(pg_pool_nat_conf(p) == NULL);
	CHECK(pg_pool_count(p) == 3);
	CHECK(get(p, "y/free", "free", ip("172.16.0.13"), 100, &l) == 0);
	pg_pool_free(p);
}

static void test_whole_16(void)
{
	struct pg_pool *p = pool("10.8.0.0/16", 2);
	struct pg_lease l;
	char id[32];
	int ok = 0;

	CHECK(pg_pool_capacity(p) == 65533);
	for (int i = 0; i < 65533; i++) {
		snprintf(id, sizeof(id), "ns/c%d", i);
		ok += get(p, id, NULL, no_wish, (uint64_t)i, &l) == 0;
	}
	CHECK(ok == 65533);
	CHECK(get(p, "ns/more", NULL, no_wish, 1, &l) == -ENOSPC);
	CHECK(pg_pool_find(p, "ns/c65532") != NULL);
	CHECK(pg_pool_find(p, "ns/c0") != NULL);
	/* the first id found its preferred address empty: any other pool of
	 * this network gives it the same */
	{
		struct pg_pool *q = pool("10.8.0.0/16", 2);
		struct pg_lease lq;

		CHECK(get(q, "ns/c0", NULL, no_wish, 1, &lq) == 0);
		CHECK(lq.addr.s_addr == pg_pool_find(p, "ns/c0")->addr.s_addr);
		pg_pool_free(q);
	}
	pg_pool_free(p);
}

struct model {
	bool live;
	struct in_addr addr;
	struct pg_prefix pod_ip;
	bool own_mac; /* not c0's */
	uint64_t expires;
};

static int check_distinct(const struct pg_lease *l, void *arg)
{
	uint8_t *seen = arg;
	uint32_t i = idx(l->addr, "172.16.0.0");

	CHECK(i >= 2 && i < 63);
	if (i < 64) {
		CHECK(!seen[i]);
		seen[i] = 1;
	}
	return 0;
}

/* A MAC is one client's: another id with it is refused, nothing changes;
 * once the holder is gone it is free. The holder may change its MAC. */
static void test_mac_unique(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_prefix pod1 = pod("10.244.0.5"), pod2 = pod("fd00:10:244::6");
	struct pg_lease l;

	CHECK(pg_pool_acquire(p, "ns/victim", "victim", no_wish, mac_a, pod1, 100, &l, NULL,
			      NULL) == 0);
	CHECK(pg_pool_acquire(p, "ns/thief", "thief", no_wish, mac_a, pod2, 100, &l, NULL, NULL) ==
	      -EADDRNOTAVAIL);
	CHECK(pg_pool_count(p) == 1);
	CHECK(pg_pool_count_pod_ip(p, pod2) == 0);
	CHECK(pg_pool_acquire(p, "ns/victim", "victim", no_wish, mac_b, pod1, 100, &l, NULL,
			      NULL) == 0);
	CHECK(pg_pool_find_mac(p, mac_a) == NULL);
	CHECK(pg_pool_acquire(p, "ns/thief", "thief", no_wish, mac_b, pod2, 100, &l, NULL, NULL) ==
	      -EADDRNOTAVAIL);
	CHECK(pg_pool_acquire(p, "ns/other", "other", no_wish, mac_a, pod2, 100, &l, NULL, NULL) ==
	      0);
	CHECK(pg_pool_count_pod_ip(p, pod1) == 1 && pg_pool_count_pod_ip(p, pod2) == 1);
	/* moving pod IP moves the count */
	CHECK(pg_pool_acquire(p, "ns/victim", "victim", no_wish, mac_b, pod2, 100, &l, NULL,
			      NULL) == 0);
	CHECK(pg_pool_count_pod_ip(p, pod1) == 0 && pg_pool_count_pod_ip(p, pod2) == 2);
	CHECK(pg_pool_release(p, "ns/victim", &l) == 0);
	CHECK(pg_pool_acquire(p, "ns/thief", "thief", no_wish, mac_b, pod2, 100, &l, NULL, NULL) ==
	      0);
	pg_pool_free(p);
}

/* Lease times are on the lease clock (boottime); the file holds wall-clock
 * times. A wall clock stepped while gatewayd was away moves what is left
 * by the step, but never beyond one lease time: +120 s ends a lease with
 * less than that left, -3600 s leaves a lease its lease time, not an hour
 * more. (While gatewayd runs, no wall clock is read: see leaseclock.h.) */
static void test_clock_steps(void)
{
	enum { LEASE = 30 };
	char dir[PATH_MAX], path[sizeof(dir) + sizeof("/leases")];
	const uint64_t wall = 1700000000, boot = 5000; /* lease clock of the first process */
	struct pg_pool *p = pool("172.16.0.0/24", 20), *q;
	const struct pg_lease *a;
	uint8_t mac[6];
	unsigned line;

	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/leases", dir);
	mac_of("ns/a", mac);
	CHECK(pg_pool_acquire(p, "ns/a", "a", no_wish, mac, pod("10.244.0.5"), boot + 20, NULL,
			      NULL, NULL) == 0);
	CHECK(pg_pool_save(p, path, boot, wall) == 0);

	/* the next process: its lease clock reads anything (here 7), 5 s passed */
	q = pool("172.16.0.0/24", 20);
	CHECK(pg_pool_load(q, path, 7, wall + 5, LEASE, &line) == 0);
	a = pg_pool_find(q, "ns/a");
	CHECK(a && a->expires == 7 + 15);
	pg_pool_free(q);

	/* wall clock +120 s while away: nothing left, it expires at once */
	q = pool("172.16.0.0/24", 20);
	CHECK(pg_pool_load(q, path, 7, wall + 120, LEASE, &line) == 0);
	a = pg_pool_find(q, "ns/a");
	CHECK(a && a->expires == 7);
	CHECK(pg_pool_expire_one(q, 7, NULL) == 0);
	pg_pool_free(q);

	/* wall clock -3600 s: at most a lease time, not an hour */
	q = pool("172.16.0.0/24", 20);
	CHECK(pg_pool_load(q, path, 7, wall - 3600, LEASE, &line) == 0);
	a = pg_pool_find(q, "ns/a");
	CHECK(a && a->expires == 7 + LEASE);
	pg_pool_free(q);

	pg_pool_free(p);
	unlink(path);
	rmdir(dir);
}

/* Random acquires, wishes, releases and expiries against a plain model:
 * every lease is found, addresses stay distinct, the heap's minimum is the
 * model's. Small pool, many ids, so the tables see many deletions. */
static void test_random_model(void)
{
	enum { IDS = 90, STEPS = 40000 };
	struct pg_pool *p = pool("172.16.0.0/26", 10);
	static struct model m[IDS];
	struct pg_lease l, prev;
	uint64_t now = 0;
	char id[32];
	bool had;

	CHECK(pg_pool_reserve(p, "ns/c3", 5) == 0);
	CHECK(pg_pool_reserve(p, "ns/c4", 40) == 0);
	for (int step = 0; step < STEPS; step++) {
		int k = (int)(rng() % IDS), op = (int)(rng() % 10), r;
		uint8_t seen[64] = {0};
		uint64_t min = UINT64_MAX;
		size_t live = 0;

		snprintf(id, sizeof(id), "ns/c%d", k);
		if (op < 6) {
			struct in_addr wish = no_wish;

			if (op == 0)
				wish.s_addr =
				    htonl(ntohl(ip("172.16.0.0").s_addr) + (uint32_t)(rng() % 64));
			struct pg_prefix pod = pod_n((uint32_t)(rng() % 4));
			bool own = rng() % 20 != 0;
			uint8_t mac[6];

			/* a MAC of its own, sometimes c0's (refused while c0 holds it) */
			mac_of(own ? id : "ns/c0", mac);
			r = pg_pool_acquire(p, id, id, wish, mac, pod, now + 1 + rng() % 50, &l,
					    &prev, &had);
			CHECK(r == 0 || r == -ENOSPC || r == -EADDRINUSE || r == -ERANGE ||
			      (r == -EADDRNOTAVAIL && (!own || k == 0)));
			if (r == 0) {
				CHECK(had == m[k].live);
				if (had)
					CHECK(prev.addr.s_addr == m[k].addr.s_addr);
				if (k == 3)
					CHECK_STR(fmt(l.addr), "172.16.0.5");
				if (m[k].live && wish.s_addr == 0 && k != 3 && k != 4)
					CHECK(l.addr.s_addr == m[k].addr.s_addr);
				m[k].live = true;
				m[k].addr = l.addr;
				m[k].pod_ip = pod;
				m[k].own_mac = own || k == 0;
				m[k].expires = l.expires;
			}
		} else if (op < 8) {
			r = pg_pool_release(p, id, &l);
			CHECK(r == (m[k].live ? 0 : -ENOENT));
			m[k].live = false;
		} else {
			now += rng() % 5;
			while (pg_pool_expire_one(p, now, &l) == 0) {
				int e = atoi(l.id + 4);

				CHECK(l.expires <= now);
				CHECK(m[e].live && m[e].expires == l.expires);
				m[e].live = false;
			}
		}
		for (int i = 0; i < IDS; i++) {
			const struct pg_lease *f;

			snprintf(id, sizeof(id), "ns/c%d", i);
			f = pg_pool_find(p, id);
			CHECK((f != NULL) == m[i].live);
			if (f && m[i].live)
				CHECK(f->addr.s_addr == m[i].addr.s_addr &&
				      f->expires == m[i].expires);
			if (m[i].live) {
				live++;
				if (m[i].expires < min)
					min = m[i].expires;
			}
		}
		CHECK(pg_pool_count(p) == live);
		CHECK(pg_pool_next_expiry(p) == min);
		/* the per-pod-IP counts and the MAC index follow every change */
		for (uint32_t j = 0; j < 4; j++) {
			struct pg_prefix pod = pod_n(j);
			size_t n = 0;

			for (int i = 0; i < IDS; i++)
				n += m[i].live && pg_addr_equal(&m[i].pod_ip, &pod);
			CHECK(pg_pool_count_pod_ip(p, pod) == n);
		}
		for (int i = 7; i < IDS; i += 7) {
			const struct pg_lease *f;
			uint8_t mac[6];

			snprintf(id, sizeof(id), "ns/c%d", i);
			mac_of(id, mac);
			f = pg_pool_find_mac(p, mac);
			if (m[i].live && !m[i].own_mac)
				continue;
			CHECK((f != NULL) == m[i].live);
			if (f)
				CHECK_STR(f->id, id);
		}
		pg_pool_foreach(p, check_distinct, seen);
		if (check_failures > 20)
			break;
	}
	pg_pool_free(p);
}

/* Thousands of clients coming and going: each gets its own address back. */
static void test_many_clients(void)
{
	enum { N = 10000 };
	struct pg_pool *p = pool("10.8.0.0/16", 20);
	static struct in_addr first[N];
	struct pg_lease l;
	uint64_t now = 1000;
	size_t ended = 0;
	int same = 0;
	char id[32];

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "ns/client-%d", i);
		CHECK(get(p, id, NULL, no_wish, now + 1 + rng() % 600, &l) == 0);
		first[i] = l.addr;
	}
	CHECK(pg_pool_count(p) == N);
	for (int round = 0; round < 5; round++) {
		now += 300;
		while (pg_pool_expire_one(p, now, &l) == 0)
			ended++;
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "ns/client-%d", i);
			if (get(p, id, NULL, no_wish, now + 1 + rng() % 600, &l) == 0)
				same += l.addr.s_addr == first[i].s_addr;
		}
		for (int i = 0; i < N; i += 10) {
			snprintf(id, sizeof(id), "ns/client-%d", i);
			CHECK(pg_pool_release(p, id, NULL) == 0);
		}
	}
	CHECK(ended > 0);
	CHECK(same == 5 * N);
	now += 1000;
	while (pg_pool_expire_one(p, now, &l) == 0)
		;
	CHECK(pg_pool_count(p) == 0);
	pg_pool_free(p);
}

/* ---- replicas: several pools of one network, as a gateway's replicas ---- */

#define REPLICAS 3

/* The crawler's replica order, as clientd's rendezvous hashing gives one:
 * the highest weight first. Any fixed spread will do here. */
static void replica_order(const char *id, int order[REPLICAS])
{
	uint64_t w[REPLICAS], h = 1469598103934665603u;

	for (const char *c = id; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211u;
	for (int r = 0; r < REPLICAS; r++) {
		/* splitmix64's finalizer over the id's and the replica's hash */
		uint64_t x = h ^ (uint64_t)(r + 1) * 0x9e3779b97f4a7c15u;

		x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9u;
		x = (x ^ x >> 27) * 0x94d049bb133111ebu;
		w[r] = x ^ x >> 31;
		order[r] = r;
	}
	for (int i = 1; i < REPLICAS; i++)
		for (int j = i; j > 0 && w[order[j]] > w[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

struct move_count {
	int moved, kept;     /* hash-preferred addresses (this pool) */
	int kept_sequential; /* what lowest-free addresses would have kept */
};

/* n crawlers spread over REPLICAS pools of cidr join without a wish; then
 * replica dead goes away and each of its crawlers joins its next replica
 * asking for the address it had (WANTED_ADDR), and joins without a wish
 * when that is taken (ADDRESS_TAKEN: it follows the new address). */
static void move_after_loss(const char *cidr, int n, int dead, struct move_count *c)
{
	struct pg_pool *p[REPLICAS];
	int per[REPLICAS] = {0}, rank[1024];
	/* the same crawlers under lowest-free addresses, by index from 20 */
	static bool seq_taken[REPLICAS][1024];
	struct pg_lease l;
	char id[64];

	CHECK(n <= 1024);
	memset(seq_taken, 0, sizeof(seq_taken));
	for (int r = 0; r < REPLICAS; r++)
		p[r] = pool(cidr, 20);
	for (int i = 0; i < n; i++) {
		int order[REPLICAS];

		snprintf(id, sizeof(id), "crawlers/crawler-%d", i);
		replica_order(id, order);
		CHECK(get(p[order[0]], id, NULL, no_wish, 100, &l) == 0);
		rank[i] = per[order[0]]++;
		seq_taken[order[0]][rank[i]] = true;
	}
	for (int i = 0; i < n; i++) {
		int order[REPLICAS], to;
		struct in_addr had;
		int r;

		snprintf(id, sizeof(id), "crawlers/crawler-%d", i);
		replica_order(id, order);
		if (order[0] != dead)
			continue;
		to = order[1];
		had = pg_pool_find(p[dead], id)->addr;
		c->moved++;
		r = get(p[to], id, NULL, had, 100, &l);
		CHECK(r == 0 || r == -EADDRINUSE);
		if (r == 0)
			c->kept++;
		else
			CHECK(get(p[to], id, NULL, no_wish, 100, &l) == 0);
		/* Lowest free first, as before: every replica gave out the
		 * same low addresses. */
		if (!seq_taken[to][rank[i]]) {
			c->kept_sequential++;
			seq_taken[to][rank[i]] = true;
		} else {
			int f = 0;

			while (seq_taken[to][f])
				f++;
			seq_taken[to][f] = true;
		}
	}
	for (int r = 0; r < REPLICAS; r++)
		pg_pool_free(p[r]);
}

/* Two pools given the same identities hand out the same addresses; a
 * crawler that moves to a sibling usually keeps its address. */
static void test_replicas(void)
{
	static const struct {
		const char *cidr;
		int n;
		int min_percent; /* deterministic: fixed names, fixed hash key */
	} cases[] = {
	    {"172.16.0.0/24", 100, 70},
	    {"10.8.0.0/16", 1000, 95},
	};
	struct pg_pool *a = pool("172.16.0.0/24", 20), *b = pool("172.16.0.0/24", 20);
	int same = 0, same_reversed = 0;
	struct pg_lease la, lb;
	char id[64];

	/* the preferred address as docs/membership.md defines it */
	{
		static const unsigned char k[crypto_shorthash_KEYBYTES] = "podgw-preferred";
		const char *who = "crawlers/crawler-7d9f-x2";
		unsigned char h[crypto_shorthash_BYTES];
		uint64_t v = 0;

		crypto_shorthash(h, (const unsigned char *)who, strlen(who), k);
		for (int i = 7; i >= 0; i--)
			v = v << 8 | h[i];
		CHECK(get(a, who, NULL, no_wish, 100, &la) == 0);
		CHECK(idx(la.addr, "172.16.0.0") == 20 + v % 235);
		CHECK(pg_pool_release(a, who, NULL) == 0);
	}
	/* the same identities in the same order: the same addresses */
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "crawlers/crawler-%d", i);
		CHECK(get(a, id, NULL, no_wish, 100, &la) == 0);
		CHECK(get(b, id, NULL, no_wish, 100, &lb) == 0);
		same += la.addr.s_addr == lb.addr.s_addr;
	}
	CHECK(same == 100);
	pg_pool_free(b);
	/* in the reverse order: the same but where two preferred addresses
	 * collide and the order decides who probes onward */
	b = pool("172.16.0.0/24", 20);
	for (int i = 99; i >= 0; i--) {
		snprintf(id, sizeof(id), "crawlers/crawler-%d", i);
		CHECK(get(b, id, NULL, no_wish, 100, &lb) == 0);
		same_reversed += lb.addr.s_addr == pg_pool_find(a, id)->addr.s_addr;
	}
	printf("replicas: 100 crawlers in a /24 joined in reverse order: %d%% got the same "
	       "address\n",
	       same_reversed);
	CHECK(same_reversed >= 50);
	pg_pool_free(a);
	pg_pool_free(b);

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct move_count c = {0};

		for (int dead = 0; dead < REPLICAS; dead++)
			move_after_loss(cases[k].cidr, cases[k].n, dead, &c);
		CHECK(c.moved > 0);
		if (!c.moved)
			continue;
		printf("replicas: %d crawlers on %d replicas of %s, each replica lost in turn: "
		       "%d moves, %d kept their address (%d%%); lowest-free addresses (before) "
		       "would keep %d (%d%%)\n",
		       cases[k].n, REPLICAS, cases[k].cidr, c.moved, c.kept, 100 * c.kept / c.moved,
		       c.kept_sequential, 100 * c.kept_sequential / c.moved);
		CHECK(100 * c.kept / c.moved >= cases[k].min_percent);
	}
}

/* A lease's tunnel counts: a change since the last look renews it in the
 * takeover check's eyes; the same count does not; another pod IP starts a
 * new element, counted from 0. */
static void test_saw_traffic(void)
{
	struct pg_pool *p = pool("172.16.0.0/24", 20);
	struct pg_lease l, prev;
	uint8_t mac[6];
	bool had;

	CHECK(get(p, "ns/busy", NULL, ip("0.0.0.0"), 100, &l) == 0);
	CHECK(!pg_pool_saw_traffic(p, "ns/busy", 0, 50));
	CHECK(pg_pool_saw_traffic(p, "ns/busy", 7, 60));
	CHECK(pg_pool_find(p, "ns/busy")->renewed_ms == 60);
	CHECK(!pg_pool_saw_traffic(p, "ns/busy", 7, 70));
	CHECK(pg_pool_find(p, "ns/busy")->renewed_ms == 60);
	CHECK(!pg_pool_saw_traffic(p, "ns/none", 7, 70));
	mac_of("ns/busy", mac);
	CHECK(pg_pool_acquire(p, "ns/busy", NULL, ip("0.0.0.0"), mac, pod("10.244.0.99"), 100, &l,
			      &prev, &had) == 0);
	CHECK(pg_pool_find(p, "ns/busy")->tunnel_packets == 0);
	pg_pool_free(p);
}

int main(void)
{
	test_new();
	test_saw_traffic();
	test_exhaust_29();
	test_exhaust_24();
	test_reservations();
	test_wishes();
	test_same_address();
	test_expiry_order();
	test_persistence();
	test_mac_unique();
	test_clock_steps();
	test_nat_conf();
	test_random_model();
	test_whole_16();
	test_many_clients();
	test_replicas();
	return check_result();
}
