/* SPDX-License-Identifier: MIT */
#include "clientd/member.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/sockaddr.h"

#define MAX_OUTSTANDING 64 /* recent requests whose answers still count */

struct sent {
	uint8_t nonce[PG_WIRE_NONCE_LEN];
	uint8_t type; /* 0: slot unused */
};

struct pg_member {
	const struct pg_config *cfg;
	const struct pg_key *key;
	int fd;
	struct pg_prefix pod_ip; /* the socket's source address: our pod IP */
	uint8_t mac[6];
	struct sent sent[MAX_OUTSTANDING];
	size_t next_slot;
};

static bool mac_usable(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return mac && !(mac[0] & 1) && memcmp(mac, zero, sizeof(zero)) != 0;
}

/* Random, not derived from the pod's public name: nobody can claim it at
 * the gateway first. */
static void random_mac(uint8_t mac[6])
{
	randombytes_buf(mac, 6);
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

/* The address the kernel picks toward the gateway: what the gateway sees
 * as our source, and what POD_IP must say. */
static int learn_pod_ip(struct pg_member *m)
{
	union pg_sockaddr me;
	socklen_t len = sizeof(me);
	int r;

	if (getsockname(m->fd, &me.sa, &len) < 0)
		return -errno;
	if ((r = pg_sockaddr_to(&me, len, &m->pod_ip, NULL)) < 0)
		errno = -r; /* the caller reads errno */
	return r;
}

int pg_member_open(const struct pg_config *cfg, const struct pg_prefix *gateway,
		   const struct pg_key *key, const uint8_t *mac, struct pg_member **out)
{
	struct pg_member *m;
	union pg_sockaddr to;
	socklen_t to_len = pg_sockaddr_from(&to, gateway, cfg->control_port);
	int r;

	if (gateway->family != AF_INET && gateway->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (sodium_init() < 0)
		return -EIO;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = cfg;
	m->key = key;
	if (mac_usable(mac))
		memcpy(m->mac, mac, sizeof(m->mac));
	else
		random_mac(m->mac);
	/* Connected, so only the gateway's pod IP can answer. */
	m->fd = socket(gateway->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || connect(m->fd, &to.sa, to_len) < 0 || learn_pod_ip(m) < 0) {
		r = -errno;
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

int pg_member_retarget(struct pg_member *m, const struct pg_prefix *gateway)
{
	union pg_sockaddr to;
	socklen_t to_len = pg_sockaddr_from(&to, gateway, m->cfg->control_port);

	/* The socket's family is the underlay's, chosen once. */
	if (gateway->family != m->pod_ip.family)
		return -EAFNOSUPPORT;
	if (connect(m->fd, &to.sa, to_len) < 0)
		return -errno;
	return learn_pod_ip(m);
}

void pg_member_pod_ip(const struct pg_member *m, struct pg_prefix *out)
{
	*out = m->pod_ip;
}

void pg_member_close(struct pg_member *m)
{
	if (!m)
		return;
	close(m->fd);
	free(m);
}

void pg_member_mac(const struct pg_member *m, uint8_t mac[6])
{
	memcpy(mac, m->mac, 6);
}

int pg_member_fd(const struct pg_member *m)
{
	return m->fd;
}

/* Every resend is a new message (a replayed nonce would be refused), so an
 * answer to any recent one counts. */
int pg_member_send(struct pg_member *m, enum pg_msg_type type, struct in_addr wish)
{
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg req;
	struct sent *slot;
	int n;

	if (pg_msg_init(&req, type) < 0)
		return -EIO;
	snprintf(req.pod_name, sizeof(req.pod_name), "%s", m->cfg->pod_name);
	snprintf(req.pod_namespace, sizeof(req.pod_namespace), "%s", m->cfg->pod_namespace);
	/* Exactly one of them, of the underlay's family. */
	if (m->pod_ip.family == AF_INET6) {
		req.has_pod_ip6 = true;
		memcpy(&req.pod_ip6, m->pod_ip.bytes, 16);
	} else {
		req.has_pod_ip = true;
		req.pod_ip = pg_prefix_v4(&m->pod_ip);
	}
	if (type == PG_MSG_JOIN || type == PG_MSG_RENEW) {
		req.has_mac = true;
		memcpy(req.mac, m->mac, sizeof(req.mac));
	}
	if (type == PG_MSG_JOIN && wish.s_addr != htonl(INADDR_ANY)) {
		req.has_wanted = true;
		req.wanted = wish;
	}
	n = pg_msg_encode(&req, m->key, buf, sizeof(buf));
	if (n < 0)
		return n;
	slot = &m->sent[m->next_slot++ % MAX_OUTSTANDING];
	memcpy(slot->nonce, req.nonce, PG_WIRE_NONCE_LEN);
	slot->type = (uint8_t)type;
	if (send(m->fd, buf, (size_t)n, 0) < 0)
		return -errno;
	return 0;
}

/* The request ans answers, taken out of the table: an answer counts once,
 * so a copy of it (replayed or duplicated) matches nothing. 0: none. */
static uint8_t answered(struct pg_member *m, const struct pg_msg *ans)
{
	if (!ans->has_request_nonce)
		return 0;
	for (size_t i = 0; i < MAX_OUTSTANDING; i++) {
		struct sent *s = &m->sent[i];

		if (s->type &&
		    sodium_memcmp(s->nonce, ans->request_nonce, PG_WIRE_NONCE_LEN) == 0) {
			uint8_t type = s->type;

			memset(s, 0, sizeof(*s));
			return type;
		}
	}
	return 0;
}

static void fill_grant(const struct pg_msg *ans, struct pg_grant *g)
{
	pg_prefix_from_v4(&g->addr, ans->addr, ans->prefix_len);
	pg_prefix_from_v4(&g->gateway, ans->gateway_addr, 32);
	memcpy(g->gateway_mac, ans->gateway_mac, sizeof(g->gateway_mac));
	g->mtu = ans->mtu;
	g->lease_time = ans->lease_time;
	/* ADDR6 and GATEWAY6 come together; a prefix no IPv6 network has is
	 * taken for none. */
	g->has_v6 = ans->has_addr6 && ans->prefix_len6 > 0 && ans->prefix_len6 <= 128;
	memset(&g->addr6, 0, sizeof(g->addr6));
	memset(&g->gateway6, 0, sizeof(g->gateway6));
	if (g->has_v6) {
		g->addr6.family = g->gateway6.family = AF_INET6;
		g->addr6.len = ans->prefix_len6;
		g->gateway6.len = 128;
		memcpy(g->addr6.bytes, &ans->addr6, 16);
		memcpy(g->gateway6.bytes, &ans->gateway_addr6, 16);
	}
}

static void fill_replica(const struct pg_msg *ans, struct pg_grant *g)
{
	snprintf(g->replica, sizeof(g->replica), "%s", ans->replica);
	g->leases = ans->leases;
	g->has_leases = ans->has_leases;
}

int pg_member_receive(struct pg_member *m, struct pg_answer *a, bool *unverified)
{
	uint8_t buf[PG_WIRE_MAX + 1];
	ssize_t n;

	while ((n = recv(m->fd, buf, sizeof(buf), 0)) >= 0) {
		uint8_t req;
		struct pg_msg ans;
		int r = (size_t)n > PG_WIRE_MAX ? -EBADMSG
						: pg_msg_decode(buf, (size_t)n, m->key, &ans);

		if (r == -EACCES)
			*unverified = true;
		if (r < 0 || !(req = answered(m, &ans)))
			continue;
		memset(a, 0, sizeof(*a));
		a->type = ans.type;
		a->answers = req;
		if (ans.type == PG_MSG_GRANT)
			fill_grant(&ans, &a->grant);
		if (ans.type == PG_MSG_GRANT || ans.type == PG_MSG_INFO_REPLY)
			fill_replica(&ans, &a->grant);
		if (ans.type == PG_MSG_ERROR) {
			a->error = ans.error;
			snprintf(a->why, sizeof(a->why), "%s%s%s", pg_wire_error_str(ans.error),
				 ans.error_text[0] ? ": " : "", ans.error_text);
		}
		if (ans.type == PG_MSG_GRANT || ans.type == PG_MSG_RELEASED ||
		    ans.type == PG_MSG_INFO_REPLY || ans.type == PG_MSG_ERROR)
			return 1;
	}
	/* ECONNREFUSED: nobody listens on the gateway (yet); not an error here. */
	return errno == EAGAIN || errno == ECONNREFUSED || errno == EINTR ? 0 : -errno;
}

int pg_member_request(struct pg_member *m, enum pg_msg_type type, struct in_addr wish,
		      unsigned timeout_ms, unsigned resend_ms, struct pg_grant *grant,
		      uint16_t *error, char *why, size_t why_len)
{
	uint64_t deadline = pg_monotonic_ms() + timeout_ms, next_send = 0;
	enum pg_msg_type want = type == PG_MSG_RELEASE ? PG_MSG_RELEASED
				: type == PG_MSG_INFO  ? PG_MSG_INFO_REPLY
						       : PG_MSG_GRANT;
	bool unverified = false;
	int last_err = 0;

	*error = 0;
	for (;;) {
		uint64_t now = pg_monotonic_ms();
		struct pollfd pfd = {.fd = m->fd, .events = POLLIN};
		struct pg_answer a;
		int r;

		if (now >= deadline)
			break;
		if (now >= next_send) {
			r = pg_member_send(m, type, wish);
			/* ECONNREFUSED: nobody listens yet; keep trying. */
			if (r < 0)
				last_err = r;
			next_send = now + resend_ms;
		}
		if (poll(&pfd, 1, (int)((next_send < deadline ? next_send : deadline) - now)) < 0 &&
		    errno != EINTR)
			return -errno;
		while ((r = pg_member_receive(m, &a, &unverified)) > 0) {
			if (a.answers != type)
				continue;
			if (a.type == PG_MSG_ERROR) {
				*error = a.error;
				snprintf(why, why_len, "%s", a.why);
				/* Passing: our old lease goes quiet, the quota refills. */
				if (a.error == PG_ERR_LEASE_HELD || a.error == PG_ERR_RATE)
					continue;
				return -EPROTO;
			}
			if (a.type == want) {
				*error = 0;
				if (grant && (want == PG_MSG_GRANT || want == PG_MSG_INFO_REPLY))
					*grant = a.grant;
				return 0;
			}
		}
		if (r < 0)
			last_err = r;
	}
	if (*error)
		return -EPROTO; /* why holds its text */
	if (unverified) {
		snprintf(why, why_len, "answers failed authentication (check MEMBERSHIP_KEY_FILE)");
		return -EACCES;
	}
	snprintf(why, why_len, "no answer%s%s", last_err ? ": " : "",
		 last_err ? strerror(-last_err) : "");
	return -ETIMEDOUT;
}
