/* SPDX-License-Identifier: MIT */
/* The DNS forwarder end to end on loopback, in a network namespace of its
 * own (unshare: nothing leaves it): an overlay client on 127.0.0.2 asks the
 * forwarder on 127.0.0.1, which asks an upstream on ::1 (IPv6) or on
 * 127.0.0.53 (IPv4), or for a cluster name the cluster DNS (DNS_LOCAL_SERVER,
 * bound to the underlay, here lo) of either family; the AAAA answer must
 * reach the client byte for byte but for the ID. Exit 77 where no namespace
 * can be made. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/config.h"
#include "common/dnsmsg.h"
#include "common/sockaddr.h"
#include "gatewayd/dns.h"
#include "gatewayd/loop.h"

#define TYPE_AAAA 28
#define TURNS_MAX 200 /* forwarder turns per step, each polled for at most 50 ms */

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

static int own_namespace(void)
{
	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -1;
	return lo_up();
}

static int udp_bound(const char *addr, uint16_t port)
{
	struct pg_prefix p;
	union pg_sockaddr sa;
	socklen_t len;
	int fd;

	if (pg_addr_parse(addr, &p) < 0)
		return -1;
	len = pg_sockaddr_from(&sa, &p, port);
	fd = socket(p.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, &sa.sa, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Turns the forwarder until fd has a datagram (or TURNS_MAX turns). */
static bool turn_until_readable(const struct pg_source *src, int fd)
{
	for (int i = 0; i < TURNS_MAX; i++) {
		struct pollfd pfd[PG_DNS_NFDS + 1];

		src->poll_fds(src->ctx, pfd);
		pfd[PG_DNS_NFDS] = (struct pollfd){.fd = fd, .events = POLLIN};
		if (poll(pfd, PG_DNS_NFDS + 1, 50) < 0)
			return false;
		src->handle(src->ctx, pfd);
		if (pfd[PG_DNS_NFDS].revents & POLLIN)
			return true;
	}
	return false;
}

/* The answer an upstream gives: the question, one AAAA record (a pointer
 * to the question's name) and an EDNS OPT record, for the forwarder to
 * leave alone. */
static size_t make_answer(uint8_t *out, const uint8_t *query, size_t qlen)
{
	static const uint8_t rr[] = {0xc0, 12, 0,    TYPE_AAAA, 0,    1,    0, 0,   0x0e, 0x10,
				     0,	   16, 0x20, 0x01,	0x0d, 0xb8, 0, 0,   0,	  0,
				     0,	   0,  0,    0,		0,    0,    0, 0x80};
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};

	memcpy(out, query, qlen);
	out[2] = 0x81; /* QR, RD */
	out[3] = 0x80; /* RA */
	out[7] = 1;    /* ANCOUNT */
	out[11] = 1;   /* ARCOUNT */
	memcpy(out + qlen, rr, sizeof(rr));
	memcpy(out + qlen + sizeof(rr), opt, sizeof(opt));
	return qlen + sizeof(rr) + sizeof(opt);
}

/* server answers: as the upstream, or (local) as the cluster DNS for
 * cluster.local, the upstream then being another address nobody answers. */
static void relay_through(const char *server, bool local)
{
	struct pg_config cfg = {0};
	struct pg_dns *d = NULL;
	struct pg_source src;
	struct pg_dns_question q;
	union pg_sockaddr to, from;
	struct pg_prefix self;
	uint8_t query[512], seen[512], answer[512], got[512];
	int lo = (int)if_nametoindex("lo");
	int fd = udp_bound(server, PG_DNS_PORT), client = udp_bound("127.0.0.2", 0);
	socklen_t fl = sizeof(from);
	long qlen = pg_dns_build_query(query, sizeof(query), 0x1234,
				       local ? "web.crawlers.svc.cluster.local" : "crawl.example",
				       TYPE_AAAA);
	struct pg_prefix want;
	ssize_t n = -1;
	size_t alen;

	CHECK(fd >= 0 && client >= 0 && qlen > 0);
	cfg.dns_forwarder = true;
	cfg.dns_client_pending = 64;
	pg_prefix_parse("127.0.0.0/8", &cfg.overlay, false);
	pg_addr_parse(server, &want);
	pg_addr_parse(local ? "127.0.0.99" : server, &cfg.dns_upstream.items[cfg.dns_upstream.n++]);
	if (local) {
		cfg.dns_local_server = want;
		snprintf(cfg.dns_local.items[cfg.dns_local.n++], sizeof(cfg.dns_local.items[0]),
			 "cluster.local");
		snprintf(cfg.underlay_if, sizeof(cfg.underlay_if), "lo");
	}
	pg_addr_parse("127.0.0.1", &self);
	CHECK(pg_dns_open(&cfg, pg_prefix_v4(&self), &lo, NULL, &d) == 0);
	if (!d || fd < 0 || client < 0 || qlen <= 0)
		goto out;
	pg_dns_source(d, &src);

	CHECK(sendto(client, query, (size_t)qlen, 0, &to.sa,
		     pg_sockaddr_from(&to, &self, PG_DNS_FORWARDER_PORT)) == qlen);
	CHECK(turn_until_readable(&src, fd));
	n = recvfrom(fd, seen, sizeof(seen), MSG_DONTWAIT, &from.sa, &fl);
	/* The same question under another ID, from a socket of the server's family. */
	CHECK(n == qlen && memcmp(seen + 2, query + 2, (size_t)qlen - 2) == 0);
	CHECK(from.sa.sa_family == want.family);
	CHECK(pg_dns_parse(seen, (size_t)(n > 0 ? n : 0), &q) == 0 && q.qtype == TYPE_AAAA);
	if (n != qlen)
		goto out;
	alen = make_answer(answer, seen, (size_t)n);
	CHECK(sendto(fd, answer, alen, 0, &from.sa, fl) == (ssize_t)alen);
	CHECK(turn_until_readable(&src, client));
	n = recv(client, got, sizeof(got), MSG_DONTWAIT);
	/* Byte for byte, but for the client's own ID. */
	CHECK(n == (ssize_t)alen && got[0] == 0x12 && got[1] == 0x34);
	CHECK(n == (ssize_t)alen && memcmp(got + 2, answer + 2, alen - 2) == 0);
out:
	pg_dns_close(d);
	if (fd >= 0)
		close(fd);
	if (client >= 0)
		close(client);
}

int main(void)
{
	if (own_namespace() < 0) {
		fprintf(stderr, "SKIP: no network namespace of our own: %s\n", strerror(errno));
		return 77;
	}
	relay_through("::1", false);
	relay_through("127.0.0.53", false);
	relay_through("::1", true);
	relay_through("127.0.0.53", true);
	return check_result();
}
