/* SPDX-License-Identifier: MIT */
#include "clientd/probe.h"
#include "common/daemon.h"

#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct pg_probe {
	int fd;
	bool dgram; /* an unprivileged ICMP socket: no IP header, the kernel owns the id */
	uint16_t id;
	uint16_t seq;
};

uint16_t pg_inet_checksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

int pg_probe_open(struct pg_probe **out)
{
	struct pg_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	/* An unprivileged ICMP socket first: it needs no CAP_NET_RAW, only the
	 * process's group in net.ipv4.ping_group_range (a safe sysctl that
	 * container runtimes often open to all). A raw socket otherwise. */
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	p->dgram = p->fd >= 0;
	if (p->fd < 0)
		p->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	if (p->fd < 0) {
		int r = -errno;

		free(p);
		return r;
	}
	p->id = (uint16_t)getpid();
	*out = p;
	return 0;
}

void pg_probe_close(struct pg_probe *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}

int pg_probe_send(struct pg_probe *p, struct in_addr dst)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
	struct icmphdr h = {.type = ICMP_ECHO};

	h.un.echo.id = htons(p->id);
	h.un.echo.sequence = htons(++p->seq);
	h.checksum = pg_inet_checksum(&h, sizeof(h));
	if (sendto(p->fd, &h, sizeof(h), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

/* Raw ICMP sockets see every ICMP packet of the namespace: only an echo
 * reply from dst carrying our id counts. An unprivileged ICMP socket gets
 * only the replies to its own id (which the kernel sets), without the IP
 * header: the sender's address comes from recvfrom. */
static bool is_our_reply(const struct pg_probe *p, const uint8_t *buf, size_t len,
			 struct in_addr from, struct in_addr dst)
{
	struct iphdr ip;
	struct icmphdr h;
	size_t ihl;

	if (p->dgram) {
		if (len < sizeof(h) || from.s_addr != dst.s_addr)
			return false;
		memcpy(&h, buf, sizeof(h));
		return h.type == ICMP_ECHOREPLY;
	}
	if (len < sizeof(ip))
		return false;
	memcpy(&ip, buf, sizeof(ip));
	ihl = (size_t)ip.ihl * 4;
	if (ihl < sizeof(ip) || len < ihl + sizeof(h) || ip.saddr != dst.s_addr)
		return false;
	memcpy(&h, buf + ihl, sizeof(h));
	return h.type == ICMP_ECHOREPLY && ntohs(h.un.echo.id) == p->id;
}

int pg_probe_fd(const struct pg_probe *p)
{
	return p->fd;
}

unsigned pg_probe_drain(struct pg_probe *p, struct in_addr dst)
{
	unsigned replies = 0;

	/* Bounded: a flood of ICMP must not hold the loop. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from = {0};
		socklen_t from_len = sizeof(from);
		uint8_t buf[256];
		ssize_t n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &from_len);

		/* An ICMP error (unreachable) is read, and so cleared, like data. */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n > 0 && is_our_reply(p, buf, (size_t)n, from.sin_addr, dst))
			replies++;
	}
	return replies;
}

int pg_probe_echo(struct pg_probe *p, struct in_addr dst, unsigned timeout_ms, unsigned interval_ms)
{
	uint64_t deadline = pg_monotonic_ms() + timeout_ms, next_send = 0;
	int last_err = 0;

	for (;;) {
		uint64_t now = pg_monotonic_ms();
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		uint8_t buf[256];
		ssize_t n;
		int wait;

		if (now >= deadline)
			return last_err ? last_err : -ETIMEDOUT;
		if (now >= next_send) {
			int r = pg_probe_send(p, dst);

			/* Unreachable while ARP resolves is normal: retry. */
			if (r < 0)
				last_err = r;
			next_send = now + interval_ms;
		}
		wait = (int)((next_send < deadline ? next_send : deadline) - now);
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return -errno;
		for (;;) {
			struct sockaddr_in from = {0};
			socklen_t from_len = sizeof(from);

			n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
				     &from_len);
			if (n <= 0)
				break;
			if (is_our_reply(p, buf, (size_t)n, from.sin_addr, dst))
				return 0;
		}
	}
}
