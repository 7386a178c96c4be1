/* SPDX-License-Identifier: MIT */
#include "gatewayd/membership.h"

#include <arpa/inet.h>
#include <poll.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sockaddr.h"
#include "common/wire.h"
#include "gatewayd/leaseclock.h"
#include "gatewayd/loop.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/quota.h"

#define REPLAY_WINDOW_S 30
#define REPLAY_CAPACITY 65536
#define SAVE_RETRY_MS	1000
#define RCVBUF_BYTES	(4 << 20)
#define MAX_PER_RECEIVE 256 /* datagrams per wakeup, so timers get a turn */
#define RX_BATCH	8   /* datagrams per recvmmsg() */
#define MAX_TICK_MS	60000
#define ID_LEN		(PG_CLIENT_ID_MAX + 1)
/* Answers to requests that did not authenticate (another version, a bad
 * tag, a stale time, a foreign POD_IP): few, so that the port amplifies
 * nothing worth having, and enough to tell a misconfigured client why. */
#define UNAUTH_ANSWERS_PER_S 20
#define UNAUTH_ANSWERS_BURST 20

/* Where a datagram came from, of the underlay's family: the socket
 * address to answer and, for comparisons with leases, its address. */
struct peer {
	union pg_sockaddr sa;
	socklen_t len;
	struct pg_prefix ip;
	uint16_t port;
};

/* Counts one event into the stats, when there are any. */
#define COUNT(m, field)                                                                            \
	do {                                                                                       \
		if ((m)->p.stats)                                                                  \
			(m)->p.stats->field++;                                                     \
	} while (0)

struct pg_membership {
	struct pg_membership_params p;
	int fd;
	struct pg_replay *replay;
	struct pg_quota *joins; /* JOIN_RATE_PER_POD_IP */
	struct pg_bucket unauth;
	bool dirty;
	bool renewed; /* expiries moved since the last save */
	uint64_t save_due_ms;
	uint64_t saved_ms;
	struct pg_ratelimit rl_bad;
	struct pg_ratelimit rl_auth;
	struct pg_ratelimit rl_kernel;
	/* One receive call for a batch: a lone keepalive costs one call, not
	 * a second one that finds the socket empty. */
	struct mmsghdr rx[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	union pg_sockaddr rx_from[RX_BATCH];
	/* One more byte each: longer datagrams are refused. Not zeroed: a
	 * page is touched only once a burst reaches it. */
	uint8_t (*buf)[PG_WIRE_MAX + 1];
};

static uint64_t now_ms(void)
{
	return pg_lease_clock_ms();
}

static const char *peer_str(const struct peer *from, char buf[PG_SOCKADDR_STRLEN])
{
	return pg_sockaddr_fmt(&from->ip, from->port, buf);
}

/* Whether a request's POD_IP or POD_IP6 (it has exactly one) is the
 * address it came from. */
static bool pod_ip_is_source(const struct pg_msg *req, const struct peer *from)
{
	if (from->ip.family == AF_INET6)
		return req->has_pod_ip6 && memcmp(req->pod_ip6.s6_addr, from->ip.bytes, 16) == 0;
	return req->has_pod_ip && memcmp(&req->pod_ip.s_addr, from->ip.bytes, 4) == 0;
}

/* The control port on every address of the underlay's family (one
 * family: a gateway serves one underlay). */
static int open_socket(const struct pg_membership_params *params)
{
	int family = params->family == AF_INET6 ? AF_INET6 : AF_INET, one = 1;
	struct pg_prefix any = {.family = family};
	union pg_sockaddr sa;
	socklen_t len = pg_sockaddr_from(&sa, &any, params->cfg->control_port);
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &sa.sa, len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int pg_membership_open(const struct pg_membership_params *params, struct pg_membership **out)
{
	struct pg_membership *m = calloc(1, sizeof(*m));
	int rcvbuf = RCVBUF_BYTES, r;

	if (!m)
		return -ENOMEM;
	m->buf = malloc(RX_BATCH * sizeof(*m->buf));
	if (!m->buf) {
		free(m);
		return -ENOMEM;
	}
	m->p = *params;
	m->rl_bad = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	m->rl_auth = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	m->rl_kernel = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	for (int i = 0; i < RX_BATCH; i++) {
		m->rx_iov[i] = (struct iovec){.iov_base = m->buf[i], .iov_len = sizeof(m->buf[i])};
		m->rx[i].msg_hdr.msg_iov = &m->rx_iov[i];
		m->rx[i].msg_hdr.msg_iovlen = 1;
		m->rx[i].msg_hdr.msg_name = &m->rx_from[i];
	}
	m->fd = open_socket(params);
	if (m->fd < 0) {
		r = m->fd;
		goto fail;
	}
	/* Room for a burst: a thousand pods starting at once would overrun
	 * the default buffer and wait for their resends. */
	if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (params->key) {
		m->replay = pg_replay_new(REPLAY_WINDOW_S, REPLAY_CAPACITY);
		if (!m->replay) {
			r = -ENOMEM;
			goto fail;
		}
	}
	m->joins = pg_quota_new(params->cfg->join_rate, 2 * params->cfg->join_rate);
	if (!m->joins) {
		r = -ENOMEM;
		goto fail;
	}
	m->saved_ms = now_ms();
	*out = m;
	return 0;

fail:
	if (m->fd >= 0)
		close(m->fd);
	pg_replay_free(m->replay);
	free(m->buf);
	free(m);
	return r;
}

void pg_membership_close(struct pg_membership *m)
{
	if (!m)
		return;
	close(m->fd);
	pg_replay_free(m->replay);
	pg_quota_free(m->joins);
	free(m->buf);
	free(m);
}

int pg_membership_fd(const struct pg_membership *m)
{
	return m->fd;
}

static void send_answer(struct pg_membership *m, const struct peer *to, const struct pg_msg *req,
			struct pg_msg *ans)
{
	uint8_t out[PG_WIRE_MAX];
	int n;

	ans->has_request_nonce = true;
	memcpy(ans->request_nonce, req->nonce, sizeof(ans->request_nonce));
	n = pg_msg_encode(ans, m->p.key, out, sizeof(out));
	if (n < 0) {
		pg_err("encoding a %s answer: %s", pg_msg_type_str(ans->type), strerror(-n));
		return;
	}
	/* A full socket buffer loses this answer; the client retries. */
	sendto(m->fd, out, (size_t)n, 0, &to->sa.sa, to->len);
}

static void answer_error(struct pg_membership *m, const struct peer *to, const struct pg_msg *req,
			 enum pg_wire_error code, const char *text)
{
	struct pg_msg ans;

	pg_msg_init(&ans, PG_MSG_ERROR);
	ans.error = (uint16_t)code;
	snprintf(ans.error_text, sizeof(ans.error_text), "%s", text);
	send_answer(m, to, req, &ans);
}

/* The answer to a request that did not authenticate: at a bounded rate
 * for all sources together, and never longer than the request (without
 * its text if need be, else not at all), so that a spoofed source gets
 * back no more than was sent in its name. Tagged only when the request
 * was: a sender without the key reads it all the same. */
static void answer_unauthenticated(struct pg_membership *m, const struct peer *to,
				   const struct pg_msg *req, size_t req_len, bool tagged,
				   enum pg_wire_error code, const char *text)
{
	/* header, REQUEST_NONCE and ERROR: the least an ERROR is */
	size_t least = PG_WIRE_HEADER_LEN + 4 + PG_WIRE_NONCE_LEN + 4 + 2 +
		       (tagged && m->p.key ? PG_WIRE_TAG_LEN : 0);
	uint8_t out[PG_WIRE_MAX];
	struct pg_msg ans;
	int n;

	/* Too short for any answer: dropped before it costs a token or a tag. */
	if (req_len < least) {
		COUNT(m, answers_suppressed);
		return;
	}
	if (!pg_bucket_take(&m->unauth, UNAUTH_ANSWERS_PER_S, UNAUTH_ANSWERS_BURST, now_ms())) {
		COUNT(m, answers_suppressed);
		return;
	}
	pg_msg_init_reply(&ans, PG_MSG_ERROR, req);
	/* Another version is told so in version 1: every version reads its
	 * bytes 0-31, and a version 1 client all of it. */
	if (code == PG_ERR_UNSUPPORTED_VERSION || req->version == PG_WIRE_VERSION_V1)
		ans.version = PG_WIRE_VERSION_V1;
	ans.error = (uint16_t)code;
	snprintf(ans.error_text, sizeof(ans.error_text), "%s", text);
	n = pg_msg_encode(&ans, tagged ? m->p.key : NULL, out, sizeof(out));
	if (n > 0 && (size_t)n > req_len) {
		ans.error_text[0] = '\0';
		n = pg_msg_encode(&ans, tagged ? m->p.key : NULL, out, sizeof(out));
	}
	if (n < 0 || (size_t)n > req_len) {
		COUNT(m, answers_suppressed);
		return;
	}
	sendto(m->fd, out, (size_t)n, 0, &to->sa.sa, to->len);
}

/* Which replica answers, and its load: clients pick and pin replicas by
 * them (REPLICA_SELECTION); clients before them skip both fields. */
static void name_replica(const struct pg_membership *m, struct pg_msg *ans)
{
	snprintf(ans->replica, sizeof(ans->replica), "%s", m->p.cfg->replica_name);
	ans->leases = (uint32_t)pg_pool_count(m->p.pool);
	ans->has_leases = true;
}

static void answer_grant(struct pg_membership *m, const struct peer *to, const struct pg_msg *req,
			 const struct pg_lease *l)
{
	struct pg_msg ans;

	pg_msg_init(&ans, PG_MSG_GRANT);
	name_replica(m, &ans);
	ans.has_addr = true;
	ans.addr = l->addr;
	ans.prefix_len = m->p.cfg->overlay.len;
	ans.has_gateway = true;
	ans.gateway_addr = m->p.gateway_addr;
	memcpy(ans.gateway_mac, m->p.gateway_mac, sizeof(ans.gateway_mac));
	ans.mtu = m->p.mtu;
	ans.lease_time = m->p.cfg->lease_time;
	pg_overlay6_grant(m->p.v6, l, &ans);
	send_answer(m, to, req, &ans);
}

/* Leases are saved after each batch of datagrams: a gatewayd killed right
 * after a grant still knows the lease when it comes back, and a burst of
 * joins costs one write. */
static void mark_dirty(struct pg_membership *m)
{
	if (!m->dirty) {
		m->dirty = true;
		m->save_due_ms = now_ms();
	}
}

/* The pod IP stays a peer while another live lease comes from it: every
 * caller has taken l out of the pool already (or replaced it there with the
 * lease it moved to). */
static void revoke_lease(struct pg_membership *m, const struct pg_lease *l)
{
	bool keep_peer = pg_pool_count_pod_ip(m->p.pool, l->pod_ip) > 0;
	int r = pg_admission_revoke(m->p.admission, l, keep_peer);

	if (r < 0)
		pg_log_limited(&m->rl_kernel, PG_LOG_ERR, "revoking the lease of %s: %s: %s", l->id,
			       strerror(-r), pg_rtnl_errmsg(m->p.admission->rt));
}

static bool lease_moved(const struct pg_lease *a, const struct pg_lease *b)
{
	return a->addr.s_addr != b->addr.s_addr || !pg_addr_equal(&a->pod_ip, &b->pod_ip) ||
	       memcmp(a->mac, b->mac, sizeof(a->mac)) != 0;
}

/* The same facts as fields too, for log queries: event, client, address. */
static void log_lease(const char *what, const struct pg_lease *l, enum pg_log_level level)
{
	char addr[INET_ADDRSTRLEN], pod[PG_PREFIX_STRLEN], mac[18];
	const char *const fields[] = {"event",	what, "client", l->id, "address", addr,
				      "pod_ip", pod,  "mac",	mac,   NULL};

	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	pg_prefix_fmt(&l->pod_ip, pod, false);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2],
		 l->mac[3], l->mac[4], l->mac[5]);
	pg_log_fields(level, fields, "%s %s: %s (pod IP %s, MAC %s)", what, l->id, addr, pod, mac);
}

static enum pg_wire_error acquire_error(int r, const char **text, enum pg_reject *why)
{
	switch (r) {
	case -EADDRNOTAVAIL:
		*text = "this MAC is leased to another client";
		*why = PG_REJECT_MAC_TAKEN;
		return PG_ERR_BAD_REQUEST;
	case -ENOSPC:
		*text = "no free address in the pool";
		*why = PG_REJECT_POOL_EXHAUSTED;
		return PG_ERR_POOL_EXHAUSTED;
	case -EADDRINUSE:
		*text = "the wanted address is taken or reserved";
		*why = PG_REJECT_ADDRESS_TAKEN;
		return PG_ERR_ADDRESS_TAKEN;
	case -ERANGE:
		*text = "the wanted address is outside the pool";
		*why = PG_REJECT_OUTSIDE_POOL;
		return PG_ERR_ADDRESS_OUTSIDE_POOL;
	default:
		*text = "internal error";
		*why = PG_REJECT_INTERNAL;
		return PG_ERR_INTERNAL;
	}
}

/* RENEW: only for a lease that exists and comes from the same pod and MAC,
 * so it cannot take over one. It only moves the expiry: a reservation
 * changed by a reload applies when the client joins again, never to a live
 * lease. The expiry is saved only now and then (SAVE_REFRESH), so
 * keepalives cost no disk write each. */
static void handle_renew(struct pg_membership *m, const struct peer *from, const struct pg_msg *req,
			 const char *id)
{
	const struct pg_lease *held = pg_pool_find(m->p.pool, id);
	struct pg_lease renewed;

	uint64_t now = now_ms();

	if (!held || !pg_addr_equal(&held->pod_ip, &from->ip) ||
	    memcmp(held->mac, req->mac, sizeof(held->mac)) != 0 ||
	    pg_pool_renew(m->p.pool, id, now / 1000 + m->p.cfg->lease_time, &renewed) < 0) {
		COUNT(m, rejections[PG_REJECT_NO_LEASE]);
		answer_error(m, from, req, PG_ERR_NO_LEASE, "no lease for this client: join again");
		return;
	}
	pg_pool_touch(m->p.pool, id, now);
	m->renewed = true;
	COUNT(m, renewals);
	answer_grant(m, from, req, &renewed);
}

static void refuse_join(struct pg_membership *m, const struct peer *from, const struct pg_msg *req,
			const char *id, enum pg_reject why, enum pg_wire_error code,
			const char *text)
{
	char peer[PG_SOCKADDR_STRLEN];

	COUNT(m, rejections[why]);
	pg_log_limited(&m->rl_auth, PG_LOG_WARN, "refused the JOIN of %s from %s: %s", id,
		       peer_str(from, peer), text);
	answer_error(m, from, req, code, text);
}

/* What may stop a JOIN before the pool is asked: a lease of this identity
 * that lives at another pod IP and was renewed lately (a pod that crashed
 * and came back with a new IP waits for its old lease to go quiet; two pods
 * of one name never run at once), and a pod IP holding its share. */
/* A live lease belongs to the pod IP that uses it: renewed within
 * LEASE_QUIET_MS, or its tunnel carried datagrams since the last look
 * (clientd renews only every LEASE_TIME / 3 while its tunnel, or an echo
 * through it every keepalive interval, shows it alive). A lease whose
 * counts stand still for LEASE_QUIET_MS after a look is free to move. */
static bool lease_in_use(struct pg_membership *m, const struct pg_lease *held, const char *id,
			 uint64_t now)
{
	uint64_t packets;
	int r;

	if (now - held->renewed_ms < m->p.cfg->lease_quiet_ms)
		return true;
	/* A count that cannot be read keeps the lease where it is: the pod
	 * that asks waits longer, nobody loses a live lease. Without its
	 * element nothing of it can arrive at all. */
	r = pg_admission_peer_packets(m->p.admission, held, &packets);
	if (r < 0)
		return r != -ENOENT;
	return pg_pool_saw_traffic(m->p.pool, id, packets, now);
}

static bool join_allowed(struct pg_membership *m, const struct peer *from, const struct pg_msg *req,
			 const char *id, uint64_t now)
{
	const struct pg_lease *held = pg_pool_find(m->p.pool, id);
	uint32_t cap = m->p.cfg->leases_per_pod_ip;
	char text[PG_ERROR_TEXT_MAX + 1];

	if (held && !pg_addr_equal(&held->pod_ip, &from->ip) && lease_in_use(m, held, id, now)) {
		char ip[PG_PREFIX_STRLEN];

		pg_prefix_fmt(&held->pod_ip, ip, false);
		snprintf(text, sizeof(text), "the lease is live at pod IP %s", ip);
		refuse_join(m, from, req, id, PG_REJECT_LEASE_HELD, PG_ERR_LEASE_HELD, text);
		return false;
	}
	if (cap && (!held || !pg_addr_equal(&held->pod_ip, &from->ip)) &&
	    pg_pool_count_pod_ip(m->p.pool, from->ip) >= cap) {
		snprintf(text, sizeof(text), "this pod IP holds %u leases (LEASES_PER_POD_IP)",
			 cap);
		refuse_join(m, from, req, id, PG_REJECT_POD_IP_LEASES, PG_ERR_POOL_EXHAUSTED, text);
		return false;
	}
	return true;
}

/* JOIN: grants, moves or re-grants the lease. Even an unchanged lease is
 * granted to the kernel again: it repairs state a client may be missing
 * after it restarted. */
static void handle_join(struct pg_membership *m, const struct peer *from, const struct pg_msg *req,
			const char *id)
{
	struct in_addr wish = {.s_addr = htonl(INADDR_ANY)};
	struct pg_lease granted, previous;
	bool had_previous = false, changed;
	uint64_t now = now_ms();
	const char *text;
	int r;

	if (!join_allowed(m, from, req, id, now))
		return;
	if (req->has_wanted)
		wish = req->wanted;
	r = pg_pool_acquire(m->p.pool, id, id, wish, req->mac, from->ip,
			    now / 1000 + m->p.cfg->lease_time, &granted, &previous, &had_previous);
	if (r < 0) {
		enum pg_reject why;
		enum pg_wire_error code = acquire_error(r, &text, &why);

		COUNT(m, rejections[why]);
		pg_log_limited(&m->rl_auth, PG_LOG_INFO, "refused %s: %s", id, text);
		answer_error(m, from, req, code, text);
		return;
	}
	pg_pool_touch(m->p.pool, id, now);
	if (had_previous && lease_moved(&previous, &granted))
		revoke_lease(m, &previous);
	r = pg_admission_grant(m->p.admission, &granted);
	if (r < 0) {
		pg_log_limited(&m->rl_kernel, PG_LOG_ERR, "admitting %s: %s: %s", id, strerror(-r),
			       pg_rtnl_errmsg(m->p.admission->rt));
		pg_pool_release(m->p.pool, id, &granted);
		revoke_lease(m, &granted);
		if (had_previous)
			pg_events_ended(m->p.events, &previous, "refused");
		mark_dirty(m);
		COUNT(m, rejections[PG_REJECT_INTERNAL]);
		answer_error(m, from, req, PG_ERR_INTERNAL, "the gateway could not admit you");
		return;
	}
	COUNT(m, joins);
	if (!had_previous)
		COUNT(m, leases_granted);
	changed = !had_previous || lease_moved(&previous, &granted);
	log_lease(changed ? "granted" : "rejoined", &granted, PG_LOG_INFO);
	pg_events_joined(m->p.events, had_previous ? &previous : NULL, &granted);
	/* A JOIN that changes nothing is a renewal: no write of its own. */
	if (changed)
		mark_dirty(m);
	else
		m->renewed = true;
	answer_grant(m, from, req, &granted);
}

static void handle_release(struct pg_membership *m, const struct peer *from,
			   const struct pg_msg *req, const char *id)
{
	const struct pg_lease *held = pg_pool_find(m->p.pool, id);
	struct pg_lease ended;
	struct pg_msg ans;

	if (held && !pg_addr_equal(&held->pod_ip, &from->ip)) {
		COUNT(m, rejections[PG_REJECT_NO_LEASE]);
		answer_error(m, from, req, PG_ERR_NO_LEASE, "the lease belongs to another pod IP");
		return;
	}
	/* Releasing twice is fine: the answer is the same. */
	if (held && pg_pool_release(m->p.pool, id, &ended) == 0) {
		revoke_lease(m, &ended);
		COUNT(m, releases);
		log_lease("released", &ended, PG_LOG_INFO);
		pg_events_ended(m->p.events, &ended, "released");
		mark_dirty(m);
	}
	pg_msg_init(&ans, PG_MSG_RELEASED);
	send_answer(m, from, req, &ans);
}

/* INFO: which replica this is and how many leases it holds, for a client
 * choosing among replicas. It reads the pool and nothing else: no lease,
 * no kernel state, no write. */
static void handle_info(struct pg_membership *m, const struct peer *from, const struct pg_msg *req)
{
	struct pg_msg ans;

	pg_msg_init(&ans, PG_MSG_INFO_REPLY);
	name_replica(m, &ans);
	COUNT(m, info_requests);
	send_answer(m, from, req, &ans);
}

static bool is_request(uint8_t type)
{
	return type == PG_MSG_JOIN || type == PG_MSG_RENEW || type == PG_MSG_RELEASE ||
	       type == PG_MSG_INFO;
}

static void handle_datagram(struct pg_membership *m, const struct peer *from, const uint8_t *buf,
			    size_t len)
{
	char peer[PG_SOCKADDR_STRLEN], id[ID_LEN];
	struct pg_msg req;
	bool tagged;
	int r;

	if (len > PG_WIRE_MAX) {
		COUNT(m, rejections[PG_REJECT_MALFORMED]);
		pg_log_limited(&m->rl_bad, PG_LOG_WARN, "dropped an oversized datagram from %s",
			       peer_str(from, peer));
		return;
	}
	r = pg_msg_decode(buf, len, m->p.key, &req);
	/* Only requests are ever answered: answering an answer could start two
	 * gateways talking to each other forever. */
	if ((r == -EPROTONOSUPPORT || r == -EACCES) && !is_request(req.type))
		r = -EBADMSG;
	/* Bytes 0-31 were read: flags are bytes 6-7 in every version. */
	tagged = len >= 8 && (buf[7] & PG_WIRE_FLAG_TAGGED);
	if (r == -EPROTONOSUPPORT) {
		COUNT(m, rejections[PG_REJECT_VERSION]);
		pg_log_limited(&m->rl_bad, PG_LOG_WARN,
			       "refused a version %u message from %s: this gateway speaks %u",
			       req.version, peer_str(from, peer), PG_WIRE_VERSION);
		answer_unauthenticated(m, from, &req, len, false, PG_ERR_UNSUPPORTED_VERSION,
				       "this gateway speaks membership protocol version 2");
		return;
	}
	if (r == -EACCES) {
		COUNT(m, rejections[PG_REJECT_AUTH]);
		pg_log_limited(&m->rl_auth, PG_LOG_WARN,
			       "refused a message from %s: bad or missing authentication",
			       peer_str(from, peer));
		answer_unauthenticated(
		    m, from, &req, len, tagged, PG_ERR_AUTH,
		    "bad or missing tag: check MEMBERSHIP_KEY_FILE on both sides");
		return;
	}
	if (r < 0) {
		COUNT(m, rejections[PG_REJECT_MALFORMED]);
		pg_log_limited(&m->rl_bad, PG_LOG_WARN, "dropped a malformed message from %s",
			       peer_str(from, peer));
		return;
	}
	/* Before the replay check: a copy raced in from elsewhere must not
	 * use up the nonce of the real request. */
	if (is_request(req.type) && !pod_ip_is_source(&req, from)) {
		COUNT(m, rejections[PG_REJECT_POD_IP]);
		pg_log_limited(&m->rl_auth, PG_LOG_WARN,
			       "refused a %s from %s: its %s is another address",
			       pg_msg_type_str(req.type), peer_str(from, peer),
			       from->ip.family == AF_INET6 ? "POD_IP6" : "POD_IP");
		answer_unauthenticated(m, from, &req, len, tagged, PG_ERR_POD_IP,
				       "POD_IP is not the address this came from");
		return;
	}
	if (m->replay && (r = pg_replay_check(m->replay, &req, (uint64_t)time(NULL))) < 0) {
		if (r == -EALREADY)
			COUNT(m, rejections[PG_REJECT_REPLAY]);
		else
			COUNT(m, rejections[PG_REJECT_STALE]);
		pg_log_limited(&m->rl_auth, PG_LOG_WARN, "refused a %s message from %s",
			       r == -EALREADY ? "replayed" : "stale (check clocks)",
			       peer_str(from, peer));
		/* A duplicate from the network is not the client's fault and must
		 * not overtake its answer: replays are dropped. A skewed clock is
		 * worth telling. */
		if (r != -EALREADY)
			answer_unauthenticated(m, from, &req, len, tagged, PG_ERR_AUTH,
					       "message too old or too new: check the clocks");
		return;
	}
	snprintf(id, sizeof(id), "%s/%s", req.pod_namespace, req.pod_name);
	switch (req.type) {
	case PG_MSG_JOIN:
	case PG_MSG_INFO:
		/* Over the quota: dropped unanswered, the client resends. INFO
		 * shares JOIN's: a pod asks each replica once per move. */
		if (!pg_quota_take_addr(m->joins, &from->ip, now_ms())) {
			COUNT(m, rejections[PG_REJECT_RATE]);
			pg_log_limited(&m->rl_auth, PG_LOG_WARN,
				       "dropped a %s from %s: over JOIN_RATE_PER_POD_IP",
				       pg_msg_type_str(req.type), peer_str(from, peer));
			break;
		}
		if (req.type == PG_MSG_JOIN)
			handle_join(m, from, &req, id);
		else
			handle_info(m, from, &req);
		break;
	case PG_MSG_RENEW:
		handle_renew(m, from, &req, id);
		break;
	case PG_MSG_RELEASE:
		handle_release(m, from, &req, id);
		break;
	default:
		COUNT(m, rejections[PG_REJECT_MALFORMED]);
		pg_log_limited(&m->rl_bad, PG_LOG_WARN, "dropped a %s message from %s",
			       pg_msg_type_str(req.type), peer_str(from, peer));
	}
}

/* Answers every datagram waiting on the socket. */
static void receive(struct pg_membership *m)
{
	for (int total = 0; total < MAX_PER_RECEIVE;) {
		int n;

		for (int i = 0; i < RX_BATCH; i++)
			m->rx[i].msg_hdr.msg_namelen = sizeof(m->rx_from[i]);
		/* MSG_TRUNC: each length is the datagram's, so an oversized one
		 * shows. The socket is non-blocking: fewer than RX_BATCH means
		 * it is empty now. */
		n = recvmmsg(m->fd, m->rx, RX_BATCH, MSG_TRUNC, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pg_log_limited(&m->rl_bad, PG_LOG_WARN, "control socket: %s",
					       strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct peer from = {.sa = m->rx_from[i],
					    .len = m->rx[i].msg_hdr.msg_namelen};

			if (pg_sockaddr_to(&from.sa, from.len, &from.ip, &from.port) < 0)
				continue;
			handle_datagram(m, &from, m->buf[i], m->rx[i].msg_len);
		}
		total += n;
		if (n < RX_BATCH)
			break;
	}
	if (m->dirty)
		pg_membership_save(m);
}

/* Renewals move expiries without a write of their own; they are saved at
 * most this often (as a fraction of the lease time), so that leases
 * restored after a crash still have most of their time. */
#define SAVE_REFRESH_DIVISOR 3

static int save(struct pg_membership *m)
{
	const char *path = m->p.cfg->leases_file;
	uint64_t now = now_ms();
	int r;

	if (!*path)
		return 0;
	r = pg_pool_save(m->p.pool, path, now / 1000, (uint64_t)time(NULL));
	if (r < 0) {
		pg_log_limited(&m->rl_kernel, PG_LOG_ERR, "LEASES_FILE: '%s': %s", path,
			       strerror(-r));
		m->dirty = true;
		m->save_due_ms = now + SAVE_RETRY_MS;
		return r;
	}
	m->dirty = false;
	m->renewed = false;
	m->saved_ms = now;
	return 0;
}

/* Only changes: renewals since the last save are at most a third of a
 * lease time old, and a stop is not slowed by a write for them. */
int pg_membership_save(struct pg_membership *m)
{
	return m->dirty ? save(m) : 0;
}

static int membership_tick(void *ctx)
{
	struct pg_membership *m = ctx;
	uint64_t now = now_ms(), next, wait = MAX_TICK_MS;
	uint64_t refresh = (uint64_t)m->p.cfg->lease_time * 1000 / SAVE_REFRESH_DIVISOR;
	struct pg_lease ended;

	while (pg_pool_expire_one(m->p.pool, now / 1000, &ended) == 0) {
		revoke_lease(m, &ended);
		COUNT(m, expiries);
		log_lease("expired", &ended, PG_LOG_INFO);
		pg_events_ended(m->p.events, &ended, "expired");
		mark_dirty(m);
	}
	if ((m->dirty && now >= m->save_due_ms) || (m->renewed && now >= m->saved_ms + refresh))
		save(m);

	next = pg_pool_next_expiry(m->p.pool);
	if (next != UINT64_MAX) {
		uint64_t due = next * 1000; /* leases end on whole seconds */

		if (due <= now)
			wait = 0;
		else if (due - now < wait)
			wait = due - now;
	}
	if (m->dirty && m->save_due_ms > now && m->save_due_ms - now < wait)
		wait = m->save_due_ms - now;
	if (m->renewed && *m->p.cfg->leases_file && m->saved_ms + refresh > now &&
	    m->saved_ms + refresh - now < wait)
		wait = m->saved_ms + refresh - now;
	return (int)wait;
}

static int membership_handle(void *ctx, const struct pollfd *pfd)
{
	if (pfd->revents & POLLIN)
		receive(ctx);
	return 0;
}

static void membership_poll_fds(void *ctx, struct pollfd *pfd)
{
	*pfd = (struct pollfd){.fd = pg_membership_fd(ctx), .events = POLLIN};
}

void pg_membership_source(struct pg_membership *m, struct pg_source *out)
{
	*out = (struct pg_source){.name = "membership",
				  .ctx = m,
				  .nfds = 1,
				  .tick = membership_tick,
				  .poll_fds = membership_poll_fds,
				  .handle = membership_handle};
}
