/* SPDX-License-Identifier: MIT */
#include "gatewayd/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/dnsmsg.h"
#include "common/log.h"
#include "common/resolvconf.h"
#include "common/sockaddr.h"
#include "gatewayd/loop.h"
#include "gatewayd/stats.h"
#include "gatewayd/tally.h"

_Static_assert(PG_DNS_PENDING_MAX <= PG_TALLY_KEYS, "every client fits the tally");

#define MAX_PER_RECEIVE 64 /* datagrams per wakeup and socket, so others get a turn */

enum route { LOCAL, UPSTREAM };

/* A socket towards the servers, on a port the kernel picked at random when
 * it was opened (RFC 6056): each query gets one of its own while fewer than
 * PG_DNS_SOCKETS_MAX are open, and it is closed with its last query, so
 * that a spoofed answer must guess the port as well as the ID. */
struct upsock {
	int fd; /* -1: free */
	enum route route;
	int family;	/* its servers' */
	unsigned users; /* outstanding queries sent from it */
	bool keep;	/* opened at start, shared when no fresh one can be had */
};

struct pending {
	bool used;
	enum route route;
	unsigned sock; /* index into socks */
	uint16_t id;   /* ours, as the server sees it */
	uint16_t client_id;
	struct sockaddr_in client;
	unsigned server; /* index into the route's servers */
	uint64_t expires;
	char name[PG_DNS_NAME_MAX + 1];
	uint16_t qtype, qclass;
};

struct server {
	struct pg_prefix addr; /* IPv4 or IPv6 */
	unsigned timeouts;     /* in a row: the next query prefers the server with fewest */
};

struct pg_dns {
	const struct pg_config *cfg;
	const int *vxlan_ifindex;
	struct pg_stats *stats;
	struct in_addr self;
	int fd_clients, epfd;
	struct server local;
	struct server upstream[PG_MAX_PREFIXES];
	unsigned n_upstream;
	struct upsock socks[PG_DNS_SOCKETS_MAX];
	unsigned n_socks; /* open */
	struct pending pending[PG_DNS_PENDING_MAX];
	uint16_t free_slots[PG_DNS_PENDING_MAX]; /* a stack of unused pending[] */
	unsigned n_free;
	uint64_t ids_used[65536 / 64]; /* our IDs of outstanding queries */
	struct pg_tally tally;	       /* outstanding queries per client */
	struct pg_ratelimit rl_drop, rl_send;
	uint8_t buf[PG_DNS_MSG_MAX];
};

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void count_drop(struct pg_dns *d, enum pg_dns_drop why)
{
	if (d->stats)
		d->stats->dns_dropped[why]++;
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
	for (unsigned i = 0; cfg->dns_upstream.n == 0 && i < rc.n_nameservers; i++)
		cfg->dns_upstream.items[i] = rc.nameservers[i];
	if (cfg->dns_upstream.n == 0)
		cfg->dns_upstream.n = rc.n_nameservers;
	if (!cfg->dns_local_server.family && rc.n_nameservers)
		cfg->dns_local_server = rc.nameservers[0];
}

void pg_dns_describe(const struct pg_config *cfg)
{
	char up[256], local[PG_PREFIX_STRLEN] = "the upstreams";

	if (!cfg->dns_forwarder)
		return;
	if (!cfg->dns_upstream.n && !cfg->dns_local_server.family) {
		pg_warn("DNS_UPSTREAM_SERVERS and DNS_LOCAL_SERVER are empty and %s names no "
			"nameserver: DNS queries are dropped",
			cfg->resolv_conf);
		return;
	}
	list_servers(&cfg->dns_upstream, up, sizeof(up));
	if (cfg->dns_local_server.family)
		pg_prefix_fmt(&cfg->dns_local_server, local, false);
	pg_info("DNS: upstream %s; local domains to %s", *up ? up : "none", local);
}

/* The clients' socket: FREEBIND, since the overlay address may be
 * missing while the link is repaired; PKTINFO: where each query came in. */
static int open_clients(struct in_addr self)
{
	static const int on = 1;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(PG_DNS_FORWARDER_PORT), .sin_addr = self};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* A socket towards the servers of route of one family. Unbound: the kernel
 * gives it a random ephemeral port at the first send. */
static int open_upstream(const struct pg_config *cfg, enum route route, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* The cluster DNS is on the pod network, whatever the VPN's routes
	 * say. (Without CAP_NET_RAW this needs Linux 5.7 or later.) */
	if (route == LOCAL && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->underlay_if,
					 (socklen_t)strlen(cfg->underlay_if)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static void close_socket(struct pg_dns *d, unsigned i)
{
	close(d->socks[i].fd); /* which also takes it out of the epoll set */
	d->socks[i] = (struct upsock){.fd = -1};
	d->n_socks--;
}

/* Puts fd in a free slot and the epoll set: its index, or a negative errno
 * (fd is then closed). */
static int add_socket(struct pg_dns *d, int fd, enum route route, int family)
{
	for (unsigned i = 0; i < PG_DNS_SOCKETS_MAX; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		int r;

		if (d->socks[i].fd >= 0)
			continue;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		d->socks[i] = (struct upsock){.fd = fd, .route = route, .family = family};
		d->n_socks++;
		return (int)i;
	}
	close(fd);
	return -ENOSPC;
}

/* A socket for one more query on route to a server of family: a fresh
 * one while the budget allows, else the open one of the route and family
 * with the fewest queries; -1 when there is none. */
static int take_socket(struct pg_dns *d, enum route route, int family)
{
	int best = -1;

	if (d->n_socks < PG_DNS_SOCKETS_MAX) {
		int fd = open_upstream(d->cfg, route, family);

		if (fd >= 0 && (best = add_socket(d, fd, route, family)) >= 0)
			return best;
		pg_log_limited(&d->rl_send, PG_LOG_WARN, "DNS: a new socket: %s",
			       strerror(fd < 0 ? -fd : -best));
		best = -1;
	}
	for (unsigned i = 0; i < PG_DNS_SOCKETS_MAX; i++)
		if (d->socks[i].fd >= 0 && d->socks[i].route == route &&
		    d->socks[i].family == family &&
		    (best < 0 || d->socks[i].users < d->socks[best].users))
			best = (int)i;
	return best;
}

static bool id_used(const struct pg_dns *d, uint16_t id)
{
	return d->ids_used[id / 64] >> (id % 64) & 1;
}

static void id_mark(struct pg_dns *d, uint16_t id, bool used)
{
	if (used)
		d->ids_used[id / 64] |= UINT64_C(1) << (id % 64);
	else
		d->ids_used[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

/* The slot back to the free stack, its ID and its client's count with it. */
static void free_pending(struct pg_dns *d, struct pending *p)
{
	p->used = false;
	id_mark(d, p->id, false);
	pg_tally_sub(&d->tally, p->client.sin_addr.s_addr);
	d->free_slots[d->n_free++] = (uint16_t)(p - d->pending);
}

static void end_pending(struct pg_dns *d, struct pending *p)
{
	struct upsock *u = &d->socks[p->sock];

	free_pending(d, p);
	if (u->users > 0 && --u->users == 0 && !u->keep)
		close_socket(d, p->sock);
}

int pg_dns_open(const struct pg_config *cfg, struct in_addr addr, const int *vxlan_ifindex,
		struct pg_stats *stats, struct pg_dns **out)
{
	struct pg_dns *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->fd_clients = -1;
	d->cfg = cfg;
	d->stats = stats;
	d->self = addr;
	d->vxlan_ifindex = vxlan_ifindex;
	d->rl_drop = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	d->rl_send = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	d->local.addr = cfg->dns_local_server;
	for (unsigned i = 0; i < cfg->dns_upstream.n; i++)
		d->upstream[d->n_upstream++].addr = cfg->dns_upstream.items[i];
	for (unsigned i = 0; i < PG_DNS_SOCKETS_MAX; i++)
		d->socks[i].fd = -1;
	/* Popped from the end: slot 0 first. */
	for (unsigned i = 0; i < PG_DNS_PENDING_MAX; i++)
		d->free_slots[d->n_free++] = (uint16_t)(PG_DNS_PENDING_MAX - 1 - i);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	r = d->epfd < 0 ? -errno : (d->fd_clients = open_clients(addr));
	/* Binding a socket to a device takes CAP_NET_RAW before Linux 5.7:
	 * one for the cluster DNS now, while gatewayd still has it. */
	if (r >= 0 && cfg->dns_local_server.family) {
		int family = cfg->dns_local_server.family;

		r = open_upstream(cfg, LOCAL, family);
		if (r >= 0 && (r = add_socket(d, r, LOCAL, family)) >= 0)
			d->socks[r].keep = true;
	}
	if (r < 0) {
		pg_dns_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void pg_dns_close(struct pg_dns *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < PG_DNS_SOCKETS_MAX; i++)
		if (d->socks[i].fd >= 0)
			close(d->socks[i].fd);
	if (d->fd_clients >= 0)
		close(d->fd_clients);
	if (d->epfd >= 0)
		close(d->epfd);
	free(d);
}

static void dns_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct pg_dns *d = ctx;

	pfd[0] = (struct pollfd){.fd = d ? d->fd_clients : -1, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = d ? d->epfd : -1, .events = POLLIN};
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

/* A free slot for client, with a random ID no outstanding query has; NULL
 * when the table is full or no random ID could be had. */
static struct pending *new_pending(struct pg_dns *d, struct in_addr client)
{
	struct pending *p;
	uint16_t id;

	if (!d->n_free)
		return NULL;
	do {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return NULL;
	} while (id_used(d, id));
	p = &d->pending[d->free_slots[--d->n_free]];
	*p = (struct pending){.used = true, .id = id, .client.sin_addr = client};
	id_mark(d, id, true);
	pg_tally_add(&d->tally, client.s_addr);
	return p;
}

/* With the table full: the oldest query of the client with the most
 * outstanding, if that client has more than mine + 1 (then it gives one
 * up, so that shares even out and no client starves the others). */
static struct pending *victim(struct pg_dns *d, unsigned mine)
{
	struct pending *oldest = NULL;
	in_addr_t heavy = 0;

	if (pg_tally_max(&d->tally, &heavy) <= mine + 1)
		return NULL;
	for (size_t i = 0; i < PG_DNS_PENDING_MAX; i++) {
		struct pending *p = &d->pending[i];

		if (p->used && p->client.sin_addr.s_addr == heavy &&
		    (!oldest || p->expires < oldest->expires))
			oldest = p;
	}
	return oldest;
}

static void drop_query(struct pg_dns *d, const struct sockaddr_in *src, enum pg_dns_drop why,
		       const char *what)
{
	count_drop(d, why);
	pg_log_limited(&d->rl_drop, PG_LOG_WARN, "DNS: dropped a query from %s: %s",
		       ip_str(src->sin_addr, (char[INET_ADDRSTRLEN]){0}), what);
}

/* A slot for a query of src: within its quota, and taken from the heaviest
 * client when the table is full. */
static struct pending *admit(struct pg_dns *d, const struct sockaddr_in *src)
{
	unsigned count = pg_tally_get(&d->tally, src->sin_addr.s_addr);
	struct pending *p, *v;

	if (count >= d->cfg->dns_client_pending) {
		drop_query(d, src, PG_DNS_DROP_CLIENT_QUOTA, "DNS_CLIENT_MAX_PENDING reached");
		return NULL;
	}
	if ((p = new_pending(d, src->sin_addr)) || d->n_free)
		return p;
	if (!(v = victim(d, count))) {
		drop_query(d, src, PG_DNS_DROP_TABLE_FULL, "too many outstanding");
		return NULL;
	}
	drop_query(d, &v->client, PG_DNS_DROP_EVICTED, "gave way to a client with fewer");
	end_pending(d, v);
	return new_pending(d, src->sin_addr);
}

static void forward_query(struct pg_dns *d, size_t len, const struct sockaddr_in *src)
{
	struct pg_dns_question q;
	struct pending *p;
	const struct server *server;
	union pg_sockaddr to;
	socklen_t to_len;
	enum route route;
	unsigned n, pick;
	int sock;
	char ip[INET_ADDRSTRLEN], srv[PG_PREFIX_STRLEN];

	if (pg_dns_parse(d->buf, len, &q) < 0 || (q.flags & PG_DNS_FLAG_QR) ||
	    PG_DNS_OPCODE(q.flags) != 0) {
		drop_query(d, src, PG_DNS_DROP_MALFORMED, "malformed");
		return;
	}
	route = is_local(d->cfg, q.name) ? LOCAL : UPSTREAM;
	servers(d, route, &n);
	if (n == 0) {
		drop_query(d, src, PG_DNS_DROP_NO_SERVER, "no upstream server");
		return;
	}
	if (!(p = admit(d, src)))
		return;
	pick = pick_server(d, route);
	server = &servers(d, route, &n)[pick];
	if ((sock = take_socket(d, route, server->addr.family)) < 0) {
		free_pending(d, p);
		drop_query(d, src, PG_DNS_DROP_SEND, "no socket");
		return;
	}
	*p = (struct pending){.used = true,
			      .route = route,
			      .sock = (unsigned)sock,
			      .id = p->id,
			      .client_id = q.id,
			      .client = *src,
			      .server = pick,
			      .expires = pg_monotonic_ms() + PG_DNS_TIMEOUT_MS,
			      .qtype = q.qtype,
			      .qclass = q.qclass};
	memcpy(p->name, q.name, sizeof(p->name));
	d->socks[sock].users++;
	to_len = pg_sockaddr_from(&to, &server->addr, PG_DNS_PORT);
	pg_prefix_fmt(&server->addr, srv, false);
	pg_dns_set_id(d->buf, p->id);
	pg_debug("DNS: %s asks %s type %u: %s %s", ip_str(src->sin_addr, ip), q.name, q.qtype,
		 route == LOCAL ? "local" : "upstream", srv);
	if (sendto(d->socks[sock].fd, d->buf, len, 0, &to.sa, to_len) < 0) {
		/* EPERM: the kill switch, with the VPN down; ENETUNREACH: an
		 * IPv6 server without an IPv6 route. */
		pg_log_limited(&d->rl_send, PG_LOG_WARN, "DNS: sending to %s: %s", srv,
			       strerror(errno));
		count_drop(d, PG_DNS_DROP_SEND);
		end_pending(d, p);
		return;
	}
	if (d->stats)
		d->stats->dns_forwarded++;
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
		ssize_t n = recvmsg(d->fd_clients, &mh, MSG_TRUNC);

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
			drop_query(d, &src, PG_DNS_DROP_NOT_CLIENT, "not an overlay client");
			continue;
		}
		forward_query(d, (size_t)n, &src);
	}
}

/* The outstanding query that this answer, read from socket sock, answers:
 * the same socket (so the same random port), server address and port, ID
 * and question; NULL if none. A forged answer must guess all of them. */
static struct pending *find_pending(struct pg_dns *d, unsigned sock,
				    const struct pg_dns_question *q, const struct pg_prefix *from,
				    uint16_t port)
{
	for (size_t i = 0; i < PG_DNS_PENDING_MAX; i++) {
		struct pending *p = &d->pending[i];
		unsigned n;

		if (p->used && p->sock == sock && p->id == q->id && port == PG_DNS_PORT &&
		    pg_addr_equal(from, &servers(d, p->route, &n)[p->server].addr) &&
		    p->qtype == q->qtype && p->qclass == q->qclass && strcmp(p->name, q->name) == 0)
			return p;
	}
	return NULL;
}

static void receive_answers(struct pg_dns *d, unsigned sock)
{
	/* The socket closes with its last query: read no further then. */
	for (int i = 0; i < MAX_PER_RECEIVE && d->socks[sock].fd >= 0; i++) {
		union pg_sockaddr sa;
		socklen_t fl = sizeof(sa);
		struct pg_prefix from;
		uint16_t port = 0;
		struct pg_dns_question q;
		struct pending *p;
		unsigned n;
		ssize_t len =
		    recvfrom(d->socks[sock].fd, d->buf, sizeof(d->buf), MSG_TRUNC, &sa.sa, &fl);

		if (len < 0)
			return;
		/* An answer's family is its socket's: the server is compared
		 * in that family alone. */
		if (pg_sockaddr_to(&sa, fl, &from, &port) < 0 || (size_t)len > sizeof(d->buf) ||
		    pg_dns_parse(d->buf, (size_t)len, &q) < 0 || !(q.flags & PG_DNS_FLAG_QR) ||
		    !(p = find_pending(d, sock, &q, &from, port))) {
			count_drop(d, PG_DNS_DROP_UNEXPECTED);
			pg_log_limited(&d->rl_drop, PG_LOG_WARN,
				       "DNS: dropped an unexpected answer from %s",
				       pg_prefix_fmt(&from, (char[PG_PREFIX_STRLEN]){0}, false));
			continue;
		}
		servers(d, p->route, &n)[p->server].timeouts = 0;
		pg_dns_set_id(d->buf, p->client_id);
		if (sendto(d->fd_clients, d->buf, (size_t)len, 0, (struct sockaddr *)&p->client,
			   sizeof(p->client)) < 0)
			pg_log_limited(&d->rl_send, PG_LOG_WARN, "DNS: answering %s: %s",
				       ip_str(p->client.sin_addr, (char[INET_ADDRSTRLEN]){0}),
				       strerror(errno));
		end_pending(d, p);
	}
}

static int dns_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_dns *d = ctx;
	struct epoll_event ev[MAX_PER_RECEIVE];
	int n;

	if (!d)
		return 0;
	if (pfd[0].revents & POLLIN)
		receive_queries(d);
	if (!(pfd[1].revents & POLLIN))
		return 0;
	n = epoll_wait(d->epfd, ev, MAX_PER_RECEIVE, 0);
	for (int i = 0; i < n; i++)
		if (ev[i].data.u32 < PG_DNS_SOCKETS_MAX)
			receive_answers(d, ev[i].data.u32);
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
			count_drop(d, PG_DNS_DROP_TIMEOUT);
			end_pending(d, p);
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
