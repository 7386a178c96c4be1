/* SPDX-License-Identifier: MIT */
/* clientd's side of the membership protocol against a fake gateway on
 * loopback (no root, nothing leaves the machine): requests carry POD_IP and
 * the client's MAC; a reply counts once; the MAC is random unless given. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
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

int main(void)
{
	test_reply_counts_once();
	test_info();
	return check_result();
}
