/* SPDX-License-Identifier: MIT */
#include "gatewayd/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/dnsmsg.h"
#include "common/log.h"
#include "common/resolvconf.h"
#include "gatewayd/loop.h"

#define MAX_PER_RECEIVE 64 /* datagrams per wakeup and socket, so others get a turn */

enum route { CLIENTS, LOCAL, UPSTREAM }; /* the sockets, in poll order */

struct pending {
	bool used;
	enum route route;
	uint16_t id; /* ours, as the server sees it */
	uint16_t client_id;
	struct sockaddr_in client;
	unsigned server; /* index into the route's servers */
	uint64_t expires;
	char name[PG_DNS_NAME_MAX + 1];
	uint16_t qtype, qclass;
};

struct server {
	struct in_addr addr;
	unsigned timeouts; /* in a row: the next query prefers the server with fewest */
};

struct pg_dns {
	const struct pg_config *cfg;
	const int *vxlan_ifindex;
	struct in_addr self;
	int fd[3];
	struct server local;
	struct server upstream[PG_MAX_PREFIXES];
	unsigned n_upstream;
	struct pending pending[PG_DNS_PENDING_MAX];
	struct pg_ratelimit rl_drop, rl_send;
	uint8_t buf[PG_DNS_MSG_MAX];
};

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void list_servers(const struct pg_prefix_list *l, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < l->n && n < size; i++)
		n += (size_t)snprintf(
		    out + n, size - n, "%s%s", i ? ", " : "",
		    pg_prefix_fmt(&l->items[i], (char[PG_PREFIX_STRLEN]){0}, false));
}

void pg_dns_complete_config(struct pg_config *cfg)
{
	struct pg_resolv_conf rc = {0};

	if (!cfg->dns_forwarder || (cfg->dns_upstream.n && cfg->dns_local_server.family))
		return;
	/* Unreadable is as good as empty here: pg_dns_describe says so. */
	pg_resolv_conf_read(cfg->resolv_conf, &rc);
	for (unsigned i = 0; cfg->dns_upstream.n == 0 && i < rc.n_servers; i++)
		pg_prefix_from_v4(&cfg->dns_upstream.items[i], rc.servers[i], 32);
	if (cfg->dns_upstream.n == 0)
		cfg->dns_upstream.n = rc.n_servers;
	if (!cfg->dns_local_server.family && rc.n_servers)
		pg_prefix_from_v4(&cfg->dns_local_server, rc.servers[0], 32);
}

void pg_dns_describe(const struct pg_config *cfg)
{
	char up[256], local[INET_ADDRSTRLEN] = "the upstreams";

	if (!cfg->dns_forwarder)
		return;
	if (!cfg->dns_upstream.n && !cfg->dns_local_server.family) {
		pg_warn("DNS_UPSTREAM_SERVERS and DNS_LOCAL_SERVER are empty and %s names no IPv4 "
			"nameserver: DNS queries are dropped",
			cfg->resolv_conf);
		return;
	}
	list_servers(&cfg->dns_upstream, up, sizeof(up));
	if (cfg->dns_local_server.family)
		ip_str(pg_prefix_v4(&cfg->dns_local_server), local);
	pg_info("DNS: upstream %s; local domains to %s", *up ? up : "none", local);
}

static int open_socket(const struct pg_config *cfg, enum route route, struct in_addr self)
{
	static const int on = 1;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(PG_DNS_FORWARDER_PORT), .sin_addr = self};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (route == CLIENTS) {
		/* FREEBIND: the address may be missing while the link is
		 * repaired; PKTINFO: where each query came in. */
		if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on)) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			r = -errno;
	} else if (route == LOCAL) {
		/* The cluster DNS is on the pod network, whatever the VPN's
		 * routes say. */
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->underlay_if,
			       (socklen_t)strlen(cfg->underlay_if)) < 0)
			r = -errno;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int pg_dns_open(const struct pg_config *cfg, struct in_addr addr, const int *vxlan_ifindex,
		struct pg_dns **out)
{
	struct pg_dns *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->cfg = cfg;
	d->self = addr;
	d->vxlan_ifindex = vxlan_ifindex;
	d->rl_drop = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	d->rl_send = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	d->local.addr = pg_prefix_v4(&cfg->dns_local_server);
	for (unsigned i = 0; i < cfg->dns_upstream.n; i++)
		d->upstream[d->n_upstream++].addr = pg_prefix_v4(&cfg->dns_upstream.items[i]);
	d->fd[0] = d->fd[1] = d->fd[2] = -1;
	for (int i = CLIENTS; i <= UPSTREAM; i++) {
		d->fd[i] = open_socket(cfg, (enum route)i, addr);
		if (d->fd[i] < 0) {
			int r = d->fd[i];

			pg_dns_close(d);
			return r;
		}
	}
	*out = d;
	return 0;
}

void pg_dns_close(struct pg_dns *d)
{
	if (!d)
		return;
	for (int i = 0; i < 3; i++)
		if (d->fd[i] >= 0)
			close(d->fd[i]);
	free(d);
}

static void dns_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct pg_dns *d = ctx;

	for (int i = 0; i < PG_DNS_NFDS; i++)
		pfd[i] = (struct pollfd){.fd = d ? d->fd[i] : -1, .events = POLLIN};
}

/* Queries only from admitted clients: from the overlay, in through the
 * vxlan link (whose input rules drop unleased sources), not from us. */
static bool from_client(const struct pg_dns *d, const struct sockaddr_in *src, int ifindex)
{
	struct pg_prefix p;

	pg_prefix_from_v4(&p, src->sin_addr, 32);
	return ifindex == *d->vxlan_ifindex && pg_prefix_contains(&d->cfg->overlay, &p) &&
	       src->sin_addr.s_addr != d->self.s_addr;
}

static bool is_local(const struct pg_config *cfg, const char *name)
{
	if (!cfg->dns_local_server.family)
		return false;
	for (unsigned i = 0; i < cfg->dns_local.n; i++)
		if (pg_dns_name_in_domain(name, cfg->dns_local.items[i]))
			return true;
	return false;
}

static struct server *servers(struct pg_dns *d, enum route route, unsigned *n)
{
	*n = route == LOCAL ? 1 : d->n_upstream;
	return route == LOCAL ? &d->local : d->upstream;
}

/* The server that timed out least lately; the first among equals. */
static unsigned pick_server(struct pg_dns *d, enum route route)
{
	unsigned n, best = 0;
	struct server *s = servers(d, route, &n);

	for (unsigned i = 1; i < n; i++)
		if (s[i].timeouts < s[best].timeouts)
			best = i;
	return best;
}

/* A free slot and an ID no outstanding query has; NULL when full. */
static struct pending *new_pending(struct pg_dns *d)
{
	struct pending *free_slot = NULL;
	uint16_t id;
	bool clash;

	do {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return NULL;
		clash = false;
		for (size_t i = 0; i < PG_DNS_PENDING_MAX; i++) {
			struct pending *p = &d->pending[i];

			clash |= p->used && p->id == id;
			if (!p->used && !free_slot)
				free_slot = p;
		}
	} while (clash);
	if (free_slot)
		free_slot->id = id;
	return free_slot;
}

static void forward_query(struct pg_dns *d, size_t len, const struct sockaddr_in *src)
{
	struct pg_dns_question q;
	struct pending *p;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PG_DNS_PORT)};
	enum route route;
	unsigned n;
	char ip[INET_ADDRSTRLEN];

	if (pg_dns_parse(d->buf, len, &q) < 0 || (q.flags & PG_DNS_FLAG_QR) ||
	    PG_DNS_OPCODE(q.flags) != 0) {
		pg_log_limited(&d->rl_drop, PG_LOG_WARN, "DNS: dropped a malformed query from %s",
			       ip_str(src->sin_addr, ip));
		return;
	}
	route = is_local(d->cfg, q.name) ? LOCAL : UPSTREAM;
	servers(d, route, &n);
	if (n == 0 || !(p = new_pending(d))) {
		pg_log_limited(&d->rl_drop, PG_LOG_WARN, "DNS: dropped a query from %s: %s",
			       ip_str(src->sin_addr, ip),
			       n ? "too many outstanding" : "no upstream server");
		return;
	}
	*p = (struct pending){.used = true,
			      .route = route,
			      .id = p->id,
			      .client_id = q.id,
			      .client = *src,
			      .server = pick_server(d, route),
			      .expires = pg_monotonic_ms() + PG_DNS_TIMEOUT_MS,
			      .qtype = q.qtype,
			      .qclass = q.qclass};
	memcpy(p->name, q.name, sizeof(p->name));
	to.sin_addr = servers(d, route, &n)[p->server].addr;
	pg_dns_set_id(d->buf, p->id);
	pg_debug("DNS: %s asks %s type %u: %s %s", ip_str(src->sin_addr, ip), q.name, q.qtype,
		 route == LOCAL ? "local" : "upstream",
		 ip_str(to.sin_addr, (char[INET_ADDRSTRLEN]){0}));
	if (sendto(d->fd[route], d->buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		/* EPERM: the kill switch, with the VPN down. */
		pg_log_limited(&d->rl_send, PG_LOG_WARN, "DNS: sending to %s: %s",
			       ip_str(to.sin_addr, ip), strerror(errno));
		p->used = false;
	}
}

static void receive_queries(struct pg_dns *d)
{
	for (int i = 0; i < MAX_PER_RECEIVE; i++) {
		struct sockaddr_in src;
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		} ctl;
		struct iovec iov = {.iov_base = d->buf, .iov_len = sizeof(d->buf)};
		struct msghdr mh = {.msg_name = &src,
				    .msg_namelen = sizeof(src),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm;
		int ifindex = 0;
		ssize_t n = recvmsg(d->fd[CLIENTS], &mh, MSG_TRUNC);

		if (n < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				ifindex = pi.ipi_ifindex;
			}
		if (mh.msg_namelen != sizeof(src) || (size_t)n > sizeof(d->buf) ||
		    !from_client(d, &src, ifindex)) {
			pg_log_limited(&d->rl_drop, PG_LOG_WARN,
				       "DNS: dropped a query from %s (not an overlay client)",
				       ip_str(src.sin_addr, (char[INET_ADDRSTRLEN]){0}));
			continue;
		}
		forward_query(d, (size_t)n, &src);
	}
}

/* The outstanding query q answers, asked of from on route; NULL if none. */
static struct pending *find_pending(struct pg_dns *d, enum route route,
				    const struct pg_dns_question *q, const struct sockaddr_in *from)
{
	for (size_t i = 0; i < PG_DNS_PENDING_MAX; i++) {
		struct pending *p = &d->pending[i];
		unsigned n;

		if (!p->used || p->route != route || p->id != q->id)
			continue;
		/* The server asked, and the question asked: a forged answer
		 * must guess the ID and know both. */
		if (from->sin_port != htons(PG_DNS_PORT) ||
		    from->sin_addr.s_addr != servers(d, route, &n)[p->server].addr.s_addr ||
		    p->qtype != q->qtype || p->qclass != q->qclass || strcmp(p->name, q->name) != 0)
			return NULL;
		return p;
	}
	return NULL;
}

static void receive_answers(struct pg_dns *d, enum route route)
{
	for (int i = 0; i < MAX_PER_RECEIVE; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct pg_dns_question q;
		struct pending *p;
		unsigned n;
		ssize_t len = recvfrom(d->fd[route], d->buf, sizeof(d->buf), MSG_TRUNC,
				       (struct sockaddr *)&from, &fl);

		if (len < 0)
			return;
		if (fl != sizeof(from) || (size_t)len > sizeof(d->buf) ||
		    pg_dns_parse(d->buf, (size_t)len, &q) < 0 || !(q.flags & PG_DNS_FLAG_QR) ||
		    !(p = find_pending(d, route, &q, &from))) {
			pg_log_limited(&d->rl_drop, PG_LOG_WARN,
				       "DNS: dropped an unexpected answer from %s",
				       ip_str(from.sin_addr, (char[INET_ADDRSTRLEN]){0}));
			continue;
		}
		servers(d, route, &n)[p->server].timeouts = 0;
		pg_dns_set_id(d->buf, p->client_id);
		if (sendto(d->fd[CLIENTS], d->buf, (size_t)len, 0, (struct sockaddr *)&p->client,
			   sizeof(p->client)) < 0)
			pg_log_limited(&d->rl_send, PG_LOG_WARN, "DNS: answering %s: %s",
				       ip_str(p->client.sin_addr, (char[INET_ADDRSTRLEN]){0}),
				       strerror(errno));
		p->used = false;
	}
}

static int dns_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_dns *d = ctx;

	if (!d)
		return 0;
	if (pfd[CLIENTS].revents & POLLIN)
		receive_queries(d);
	for (int r = LOCAL; r <= UPSTREAM; r++)
		if (pfd[r].revents & POLLIN)
			receive_answers(d, (enum route)r);
	return 0;
}

static int dns_tick(void *ctx)
{
	struct pg_dns *d = ctx;
	uint64_t now = pg_monotonic_ms(), next = UINT64_MAX;

	for (size_t i = 0; d && i < PG_DNS_PENDING_MAX; i++) {
		struct pending *p = &d->pending[i];
		unsigned n;

		if (!p->used)
			continue;
		if (p->expires <= now) {
			servers(d, p->route, &n)[p->server].timeouts++;
			p->used = false;
		} else if (p->expires < next) {
			next = p->expires;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

void pg_dns_source(struct pg_dns *d, struct pg_source *out)
{
	*out = (struct pg_source){.name = "dns",
				  .ctx = d,
				  .nfds = PG_DNS_NFDS,
				  .tick = dns_tick,
				  .poll_fds = dns_poll_fds,
				  .handle = dns_handle};
}
