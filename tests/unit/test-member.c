/* SPDX-License-Identifier: MIT */
/* clientd's side of the membership protocol against a fake gateway on
 * loopback (no root, nothing leaves the machine): requests carry POD_IP (or
 * POD_IP6 over IPv6) and the client's MAC; a reply counts once; the MAC is
 * random unless given; a GRANT's IPv6 fills the grant. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "clientd/member.h"
#include "common/config.h"
#include "common/wire.h"

struct gateway {
	int fd;
	struct sockaddr_in addr;
};

static int gateway_open(struct gateway *g)
{
	socklen_t len = sizeof(g->addr);

	g->addr =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	g->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (g->fd < 0 || bind(g->fd, (struct sockaddr *)&g->addr, sizeof(g->addr)) < 0 ||
	    getsockname(g->fd, (struct sockaddr *)&g->addr, &len) < 0)
		return -errno;
	return 0;
}

/* Receives one request into req; its sender into from. */
static int gateway_receive(struct gateway *g, struct pg_msg *req, struct sockaddr_in *from)
{
	uint8_t buf[PG_WIRE_MAX];
	socklen_t len = sizeof(*from);
	struct pollfd p = {.fd = g->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, 2000) != 1)
		return -ETIMEDOUT;
	n = recvfrom(g->fd, buf, sizeof(buf), 0, (struct sockaddr *)from, &len);
	if (n < 0)
		return -errno;
	return pg_msg_decode(buf, (size_t)n, NULL, req);
}

static void gateway_send(struct gateway *g, const struct pg_msg *ans, const struct sockaddr_in *to)
{
	uint8_t buf[PG_WIRE_MAX];
	int n = pg_msg_encode(ans, NULL, buf, sizeof(buf));

	CHECK(n > 0);
	if (n > 0)
		CHECK(sendto(g->fd, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof(*to)) ==
		      n);
}

/* replica: "" for a gateway from before REPLICA and LEASES. */
static void gateway_grant(struct gateway *g, const struct pg_msg *req, const struct sockaddr_in *to,
			  const char *replica)
{
	struct pg_msg ans;

	pg_msg_init_reply(&ans, PG_MSG_GRANT, req);
	inet_pton(AF_INET, "172.16.0.21", &ans.addr);
	ans.prefix_len = 24;
	ans.has_addr = true;
	inet_pton(AF_INET, "172.16.0.1", &ans.gateway_addr);
	memcpy(ans.gateway_mac, "\x02\x00\x00\x00\x00\x01", 6);
	ans.has_gateway = true;
	ans.mtu = 1450;
	ans.lease_time = 30;
	if (replica[0]) {
		snprintf(ans.replica, sizeof(ans.replica), "%s", replica);
		ans.leases = 3;
		ans.has_leases = true;
	}
	gateway_send(g, &ans, to);
}

/* Waits for what the client's socket has. */
static int receive_within(struct pg_member *m, struct pg_answer *a)
{
	struct pollfd p = {.fd = pg_member_fd(m), .events = POLLIN};
	bool unverified = false;

	poll(&p, 1, 500);
	return pg_member_receive(m, a, &unverified);
}

static void test_reply_counts_once(void)
{
	static struct pg_config cfg;
	struct pg_prefix gw;
	struct pg_member *m = NULL;
	struct sockaddr_in from;
	struct gateway g;
	struct pg_answer a;
	struct pg_msg req;
	uint8_t mac[6];

	CHECK(gateway_open(&g) == 0);
	cfg.control_port = ntohs(g.addr.sin_port);
	snprintf(cfg.pod_name, sizeof(cfg.pod_name), "crawler-1");
	snprintf(cfg.pod_namespace, sizeof(cfg.pod_namespace), "default");
	CHECK(pg_addr_parse("127.0.0.1", &gw) == 0);
	CHECK(pg_member_open(&cfg, &gw, NULL, NULL, &m) == 0);
	if (!m)
		return;
	pg_member_mac(m, mac);
	/* random, locally administered, unicast */
	CHECK((mac[0] & 0x03) == 0x02);

	CHECK(pg_member_send(m, PG_MSG_JOIN, (struct in_addr){0}) == 0);
	CHECK(gateway_receive(&g, &req, &from) == 0);
	CHECK(req.type == PG_MSG_JOIN && req.has_mac && memcmp(req.mac, mac, 6) == 0);
	CHECK(req.has_pod_ip && req.pod_ip.s_addr == htonl(INADDR_LOOPBACK));
	CHECK_STR(req.pod_name, "crawler-1");

	/* the same GRANT twice (a duplicate, or a replay): it counts once */
	gateway_grant(&g, &req, &from, "");
	gateway_grant(&g, &req, &from, "");
	CHECK(receive_within(m, &a) == 1);
	CHECK(a.type == PG_MSG_GRANT && a.answers == PG_MSG_JOIN);
	CHECK(a.grant.replica[0] == '\0' && !a.grant.has_leases);
	CHECK(!a.grant.has_v6 && a.grant.addr6.family == 0);
	CHECK(receive_within(m, &a) == 0);

	/* a gateway that names its replica and load */
	CHECK(pg_member_send(m, PG_MSG_RENEW, (struct in_addr){0}) == 0);
	CHECK(gateway_receive(&g, &req, &from) == 0);
	CHECK(req.type == PG_MSG_RENEW);
	gateway_grant(&g, &req, &from, "foo-1");
	CHECK(receive_within(m, &a) == 1);
	CHECK(a.type == PG_MSG_GRANT && a.answers == PG_MSG_RENEW);
	CHECK_STR(a.grant.replica, "foo-1");
	CHECK(a.grant.has_leases && a.grant.leases == 3);
	pg_member_close(m);

	/* a MAC given (the pod's link from a previous run) is kept */
	m = NULL;
	CHECK(pg_member_open(&cfg, &gw, NULL, (const uint8_t *)"\x0a\x01\x02\x03\x04\x05", &m) ==
	      0);
	if (m) {
		pg_member_mac(m, mac);
		CHECK(memcmp(mac, "\x0a\x01\x02\x03\x04\x05", 6) == 0);
		pg_member_close(m);
	}
	/* a multicast one is not a client's: a random one instead */
	m = NULL;
	CHECK(pg_member_open(&cfg, &gw, NULL, (const uint8_t *)"\x01\x01\x02\x03\x04\x05", &m) ==
	      0);
	if (m) {
		pg_member_mac(m, mac);
		CHECK((mac[0] & 0x03) == 0x02);
		pg_member_close(m);
	}
	close(g.fd);
}

/* INFO carries the identity and nothing else; its answer fills replica
 * and leases, through the event-loop halves and through a request. */
static void test_info(void)
{
	static struct pg_config cfg;
	struct pg_prefix gw;
	struct pg_member *m = NULL;
	struct sockaddr_in from;
	struct gateway g;
	struct pg_answer a;
	struct pg_msg req, ans;

	CHECK(gateway_open(&g) == 0);
	cfg.control_port = ntohs(g.addr.sin_port);
	snprintf(cfg.pod_name, sizeof(cfg.pod_name), "crawler-2");
	snprintf(cfg.pod_namespace, sizeof(cfg.pod_namespace), "default");
	CHECK(pg_addr_parse("127.0.0.1", &gw) == 0);
	CHECK(pg_member_open(&cfg, &gw, NULL, NULL, &m) == 0);
	if (!m)
		return;
	CHECK(pg_member_send(m, PG_MSG_INFO, (struct in_addr){0}) == 0);
	CHECK(gateway_receive(&g, &req, &from) == 0);
	CHECK(req.type == PG_MSG_INFO && !req.has_mac && !req.has_wanted && req.has_pod_ip);
	CHECK_STR(req.pod_name, "crawler-2");
	pg_msg_init_reply(&ans, PG_MSG_INFO_REPLY, &req);
	snprintf(ans.replica, sizeof(ans.replica), "foo-2");
	ans.leases = 0;
	ans.has_leases = true;
	gateway_send(&g, &ans, &from);
	CHECK(receive_within(m, &a) == 1);
	CHECK(a.type == PG_MSG_INFO_REPLY && a.answers == PG_MSG_INFO);
	CHECK_STR(a.grant.replica, "foo-2");
	CHECK(a.grant.has_leases && a.grant.leases == 0);
	pg_member_close(m);
	close(g.fd);
}

/* An IPv6 underlay: the socket is IPv6, requests carry POD_IP6 and not
 * POD_IP; a GRANT's ADDR6 and GATEWAY6 fill the grant's IPv6, and a GRANT
 * without them leaves it empty. */
static void test_v6(void)
{
	static struct pg_config cfg;
	struct sockaddr_in6 ga = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT},
			    from;
	socklen_t len = sizeof(ga);
	uint8_t buf[PG_WIRE_MAX];
	struct pg_prefix gw, me, v4;
	struct pg_member *m = NULL;
	struct pollfd p;
	struct pg_answer a;
	struct pg_msg req, ans;
	char text[PG_PREFIX_STRLEN];
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	/* Loopback has IPv6 wherever these tests run: a membership left
	 * untested must not pass. */
	bool bound = fd >= 0 && bind(fd, (struct sockaddr *)&ga, sizeof(ga)) == 0;

	if (!bound) {
		fprintf(stderr, "binding [::1]: %s\n", strerror(errno));
		CHECK(bound);
		if (fd >= 0)
			close(fd);
		return;
	}
	CHECK(getsockname(fd, (struct sockaddr *)&ga, &len) == 0);
	cfg.control_port = ntohs(ga.sin6_port);
	snprintf(cfg.pod_name, sizeof(cfg.pod_name), "crawler-6");
	snprintf(cfg.pod_namespace, sizeof(cfg.pod_namespace), "default");
	CHECK(pg_addr_parse("::1", &gw) == 0);
	CHECK(pg_member_open(&cfg, &gw, NULL, NULL, &m) == 0);
	if (!m) {
		close(fd);
		return;
	}
	pg_member_pod_ip(m, &me);
	CHECK_STR(pg_prefix_fmt(&me, text, true), "::1/128");
	for (int round = 0; round < 2; round++) {
		CHECK(pg_member_send(m, PG_MSG_JOIN, (struct in_addr){0}) == 0);
		p = (struct pollfd){.fd = fd, .events = POLLIN};
		CHECK(poll(&p, 1, 2000) == 1);
		len = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, NULL, &req) == 0);
		CHECK(req.has_pod_ip6 && !req.has_pod_ip);
		CHECK(memcmp(&req.pod_ip6, &in6addr_loopback, 16) == 0);
		pg_msg_init_reply(&ans, PG_MSG_GRANT, &req);
		inet_pton(AF_INET, "172.16.0.23", &ans.addr);
		ans.prefix_len = 24;
		ans.has_addr = true;
		inet_pton(AF_INET, "172.16.0.1", &ans.gateway_addr);
		memcpy(ans.gateway_mac, "\x02\x00\x00\x00\x00\x01", 6);
		ans.has_gateway = true;
		ans.mtu = 1430;
		ans.lease_time = 30;
		if (round == 0) {
			ans.has_addr6 = true;
			inet_pton(AF_INET6, "fd12:3456:789a:2a::17", &ans.addr6);
			ans.prefix_len6 = 64;
			inet_pton(AF_INET6, "fd12:3456:789a:2a::1", &ans.gateway_addr6);
		}
		n = pg_msg_encode(&ans, NULL, buf, sizeof(buf));
		CHECK(n > 0 && sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len) == n);
		CHECK(receive_within(m, &a) == 1);
		CHECK(a.type == PG_MSG_GRANT);
		CHECK(a.grant.has_v6 == (round == 0));
		if (round == 0) {
			CHECK_STR(pg_prefix_fmt(&a.grant.addr6, text, true),
				  "fd12:3456:789a:2a::17/64");
			CHECK_STR(pg_prefix_fmt(&a.grant.gateway6, text, true),
				  "fd12:3456:789a:2a::1/128");
		} else {
			CHECK(a.grant.addr6.family == 0 && a.grant.gateway6.family == 0);
		}
		CHECK_STR(pg_prefix_fmt(&a.grant.addr, text, true), "172.16.0.23/24");
	}
	/* The underlay's family stays the socket's. */
	CHECK(pg_addr_parse("127.0.0.1", &v4) == 0);
	CHECK(pg_member_retarget(m, &v4) == -EAFNOSUPPORT);
	pg_member_close(m);
	close(fd);
}

int main(void)
{
	test_reply_counts_once();
	test_info();
	test_v6();
	return check_result();
}
