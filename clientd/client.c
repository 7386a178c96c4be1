/* SPDX-License-Identifier: MIT */
#include "clientd/client.h"
#include "clientd/client-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clientd/member.h"
#include "clientd/probe.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/sockaddr.h"
#include "clientd/guard.h"
#include "clientd/lookup.h"
#include "netlink/monitor.h"
#include "netlink/nft.h"
#include "netlink/rtnl.h"

#define VXLAN_OVERHEAD	   50 /* outer IPv4 (20), UDP, VXLAN, inner Ethernet */
#define VXLAN_OVERHEAD6	   70 /* the same over IPv6 (40) */
#define RESOLVE_RETRY_MS   500
#define PROBE_INTERVAL_MS  200
#define RELEASE_TIMEOUT_MS 1000
#define HOSTS_FILE	   "/etc/hosts"
/* A replica that does not answer a JOIN within this is passed over for
 * the next in the pod's order (a dead pod still in the name's answers);
 * CHECK_TIMEOUT bounds them all, and the last gets what is left. */
#define JOIN_TRY_MS 1000

static int push_undo(struct pg_client *c, enum undo_kind kind, const struct pg_route *route,
		     int ifindex)
{
	struct undo *u = realloc(c->undo, (c->n_undo + 1) * sizeof(*u));

	if (!u)
		return -ENOMEM;
	c->undo = u;
	u += c->n_undo++;
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->ifindex = ifindex;
	if (route)
		u->route = *route;
	return 0;
}

static void rollback(struct pg_client *c)
{
	while (c->n_undo > 0) {
		const struct undo *u = &c->undo[--c->n_undo];
		int r = 0;

		switch (u->kind) {
		case UNDO_DEL_ROUTE:
			r = pg_route_del(c->rt, &u->route);
			break;
		case UNDO_ADD_ROUTE:
			r = pg_route_add(c->rt, &u->route, false);
			break;
		case UNDO_DEL_LINK:
			r = pg_link_delete(c->rt, u->ifindex);
			break;
		case UNDO_DEL_GUARD:
			r = pg_nft_table_delete(c->nft, NFPROTO_INET, PG_GUARD_TABLE);
			if (r == -ENOENT)
				r = 0;
			break;
		}
		/* Routes through a deleted link vanish with it. */
		if (r < 0 && r != -ESRCH && r != -ENODEV && r != -EEXIST)
			pg_warn("rollback step failed: %s", strerror(-r));
	}
}

static const char *ext(const struct pg_client *c)
{
	return pg_rtnl_errmsg(c->rt);
}

int client_fail_netlink(const struct pg_client *c, const char *what, int r)
{
	pg_err("%s: %s%s%s", what, strerror(-r), *ext(c) ? ": " : "", ext(c));
	return PG_EXIT_RUNTIME;
}

static void add_replica(struct pg_replicas *out, const struct pg_prefix *p)
{
	if (out->n < PG_REPLICAS_MAX && pg_replicas_find(out, p) < 0)
		out->r[out->n++] = (struct pg_replica){.ip = *p};
}

/* With DNS through the tunnel the C library's lookups would go to the
 * gateway as well, and would fail exactly when it must be found again. */
static int lookup_bypassing_tunnel(const struct pg_config *cfg, int family, struct pg_replicas *out)
{
	struct pg_prefix a[PG_REPLICAS_MAX];
	int r = pg_lookup_gateway(cfg->gateway, family, HOSTS_FILE, cfg->resolv_conf,
				  PG_GUARD_DNS_MARK, a, PG_REPLICAS_MAX);

	for (int i = 0; i < r; i++)
		add_replica(out, &a[i]);
	if (r > 0)
		return 0;
	return r == -ENOENT ? EAI_NONAME : r == -ETIMEDOUT ? EAI_AGAIN : EAI_FAIL;
}

/* The name's addresses of one family (AF_INET or AF_INET6). */
static int lookup_libc(const struct pg_config *cfg, int family, struct pg_replicas *out)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(cfg->gateway, NULL, &hints, &res);

	if (r != 0)
		return r;
	/* Every address: a headless Service answers with each ready pod. */
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		union pg_sockaddr sa;
		struct pg_prefix p;

		if (ai->ai_addrlen > sizeof(sa))
			continue;
		memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
		if (pg_sockaddr_to(&sa, ai->ai_addrlen, &p, NULL) == 0)
			add_replica(out, &p);
	}
	freeaddrinfo(res);
	return out->n ? 0 : EAI_NONAME;
}

/* AF_UNSPEC: IPv4 when the name has any, else IPv6: the hosts file's
 * lines first, then A and, only for a name without one, AAAA. One family
 * at a time, not AF_UNSPEC: where the nameserver is unreachable the C
 * library's A lookup fails at once, its AAAA and parallel lookups only
 * after their timeout (and the guard waits for that failure). */
static int lookup_either(const struct pg_config *cfg, int family, struct pg_replicas *out)
{
	struct pg_prefix a[PG_REPLICAS_MAX];
	int r;

	if (family != AF_UNSPEC)
		return lookup_libc(cfg, family, out);
	r = pg_lookup_hosts(cfg->gateway, AF_UNSPEC, HOSTS_FILE, a, PG_REPLICAS_MAX);
	for (int i = 0; i < r; i++)
		add_replica(out, &a[i]);
	if (r > 0)
		return 0;
	r = lookup_libc(cfg, AF_INET, out);
	if (r == EAI_NONAME || r == EAI_NODATA || r == EAI_ADDRFAMILY)
		r = lookup_libc(cfg, AF_INET6, out);
	return r;
}

int client_resolve_once(const struct pg_config *cfg, int family, struct pg_replicas *out)
{
	struct pg_prefix ip;

	out->n = 0;
	if (pg_addr_parse(cfg->gateway, &ip) == 0) {
		if (family != AF_UNSPEC && ip.family != family)
			return EAI_FAMILY;
		add_replica(out, &ip);
		return 0;
	}
	if (cfg->dns_through_tunnel)
		return lookup_bypassing_tunnel(cfg, family, out);
	return lookup_either(cfg, family, out);
}

/* The gateway is a pod IP or a name that may not resolve yet while the
 * gateway's pod starts: retry until the timeout, or (wait false) return
 * -EAGAIN after the first failed attempt, without a word. The replicas
 * are left in the order of the resolution; the first stands for them
 * until the order is known. */
static int resolve_gateway(struct pg_client *c, bool wait)
{
	const struct pg_config *cfg = c->cfg;
	uint64_t deadline = pg_monotonic_ms() + (uint64_t)cfg->resolve_timeout * 1000;
	int r;

	if (pg_addr_parse(cfg->gateway, &c->gw_pod_ip) == 0 && cfg->underlay_family &&
	    c->gw_pod_ip.family != cfg->underlay_family) {
		pg_err("GATEWAY_NAME: '%s': not an %s address, as UNDERLAY_FAMILY says",
		       cfg->gateway, cfg->underlay_family == AF_INET ? "IPv4" : "IPv6");
		return PG_EXIT_CONFIG;
	}
	for (;;) {
		r = client_resolve_once(cfg, cfg->underlay_family, &c->replicas);
		if (r == 0) {
			/* The family stays what this first answer says. */
			c->gw_pod_ip = c->replicas.r[0].ip;
			return PG_EXIT_OK;
		}
		if (!wait)
			return -EAGAIN;
		if ((r != EAI_AGAIN && r != EAI_NONAME && r != EAI_FAIL) ||
		    pg_monotonic_ms() >= deadline)
			break;
		usleep(RESOLVE_RETRY_MS * 1000);
	}
	pg_err("GATEWAY_NAME: '%s': cannot resolve%s within %u s: %s", cfg->gateway,
	       cfg->underlay_family == AF_INET	  ? " to IPv4 (UNDERLAY_FAMILY)"
	       : cfg->underlay_family == AF_INET6 ? " to IPv6 (UNDERLAY_FAMILY)"
						  : "",
	       cfg->resolve_timeout, gai_strerror(r));
	return PG_EXIT_RUNTIME;
}

/* A vxlan link of our name is a previous run's: replaced. Anything else is
 * the operator's and is refused. */
static int remove_previous_link(struct pg_client *c)
{
	struct pg_link_info old;
	int r = pg_link_get(c->rt, c->cfg->vxlan_if, &old);

	if (r == -ENODEV)
		return PG_EXIT_OK;
	if (r < 0)
		return client_fail_netlink(c, "looking up the vxlan link", r);
	c->rerun = true;
	if (strcmp(old.kind, "vxlan") != 0) {
		pg_err("VXLAN_INTERFACE: '%s': exists and is not a vxlan link", c->cfg->vxlan_if);
		return PG_EXIT_CONFIG;
	}
	/* This pod's MAC from its previous run (the init container's): the
	 * gateway keeps knowing it, and it lives exactly as long as the pod. */
	memcpy(c->prev_mac, old.mac, sizeof(c->prev_mac));
	c->have_prev_mac = true;
	r = pg_link_delete(c->rt, old.ifindex);
	return r < 0 ? client_fail_netlink(c, "deleting the previous vxlan link", r) : PG_EXIT_OK;
}

/* Adds dst via the pod network path of its family; a route that already
 * exists is left alone and not rolled back. */
int client_keep_local(struct pg_client *c, const struct pg_prefix *dst, const struct pg_route *via)
{
	struct pg_route r = *via;
	char text[PG_PREFIX_STRLEN];
	int err;

	r.dst = *dst;
	r.table = 0;
	r.priority = 0;
	r.protocol = 0;
	err = pg_route_add(c->rt, &r, false);
	if (err == -EEXIST)
		return PG_EXIT_OK;
	if (err < 0) {
		char what[96];

		snprintf(what, sizeof(what), "routing %s through the pod network",
			 pg_prefix_fmt(dst, text, true));
		return client_fail_netlink(c, what, err);
	}
	return push_undo(c, UNDO_DEL_ROUTE, &r, 0) < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
}

int client_keep_replicas_local(struct pg_client *c)
{
	int r = PG_EXIT_OK;

	for (unsigned i = 0; i < c->replicas.n && r == PG_EXIT_OK; i++)
		r = client_keep_local(c, &c->replicas.r[i].ip, &c->path);
	return r;
}

/* Cluster CIDRs and DNS of the underlay's family go the way the gateway
 * is reached; those of the other family the way its default route went. */
static int keep_cluster_local(struct pg_client *c)
{
	const struct pg_config *cfg = c->cfg;
	int other = c->gw_pod_ip.family == AF_INET6 ? AF_INET : AF_INET6;
	struct pg_route defs[MAX_DEFAULT_ROUTES];
	size_t n_other = 0;
	int r;

	r = pg_route_defaults(c->rt, other, defs, MAX_DEFAULT_ROUTES, &n_other);
	if (r < 0 && r != -EAFNOSUPPORT)
		return client_fail_netlink(c, "listing default routes", r);

	if ((r = client_keep_replicas_local(c)) != PG_EXIT_OK)
		return r;
	for (unsigned pass = 0; pass < 2; pass++) {
		const struct pg_prefix_list *list = pass ? &cfg->dns : &cfg->not_routed;

		for (unsigned i = 0; i < list->n; i++) {
			const struct pg_prefix *p = &list->items[i];
			char text[PG_PREFIX_STRLEN];

			if (p->family == c->gw_pod_ip.family)
				r = client_keep_local(c, p, &c->path);
			else if (n_other > 0)
				r = client_keep_local(c, p, &defs[0]);
			else {
				pg_warn("%s: no %s route on the pod network, not routed",
					pg_prefix_fmt(p, text, true),
					other == AF_INET ? "IPv4" : "IPv6");
				r = PG_EXIT_OK;
			}
			if (r != PG_EXIT_OK)
				return r;
		}
	}
	return PG_EXIT_OK;
}

/* Both families: IPv6 must not leave around the tunnel either. */
static int remove_default_routes(struct pg_client *c)
{
	static const int families[] = {AF_INET, AF_INET6};

	for (size_t f = 0; f < 2; f++) {
		struct pg_route routes[MAX_DEFAULT_ROUTES];
		size_t n = 0;
		int r = pg_route_defaults(c->rt, families[f], routes, MAX_DEFAULT_ROUTES, &n);

		if (r < 0 && r != -EAFNOSUPPORT)
			return client_fail_netlink(c, "listing default routes", r);
		if (n > MAX_DEFAULT_ROUTES)
			n = MAX_DEFAULT_ROUTES;
		for (size_t i = 0; i < n; i++) {
			r = pg_route_del(c->rt, &routes[i]);
			if (r < 0 && r != -ESRCH)
				return client_fail_netlink(c, "removing a default route", r);
			if (r == 0 && push_undo(c, UNDO_ADD_ROUTE, &routes[i], 0) < 0)
				return PG_EXIT_RUNTIME;
		}
	}
	return PG_EXIT_OK;
}

/* Asks the replicas in this pod's order until one grants a lease: one
 * that stays silent for JOIN_TRY_MS is passed over, one that answers with
 * an error speaks for all (they share the key and the rules). */
static int join(struct pg_client *c)
{
	const struct pg_config *cfg = c->cfg;
	struct in_addr wish = {.s_addr = htonl(INADDR_ANY)};
	char why[PG_ERROR_TEXT_MAX + 64], a[PG_PREFIX_STRLEN];
	uint64_t deadline = pg_monotonic_ms() + (uint64_t)cfg->check_timeout * 1000;
	struct pg_replicas order = c->replicas;
	uint16_t error;
	int r = -ETIMEDOUT;

	/* INFO (least-loaded, pin) needs the guard and host routes: done. */
	pg_replicas_order(cfg, c->have_key ? &c->key : NULL, c->have_prev_mac ? c->prev_mac : NULL,
			  &order);
	pg_replicas_rendezvous(&c->replicas, cfg->pod_namespace, cfg->pod_name);
	if (order.n == 0) {
		pg_err("REPLICA: '%s': no replica of gateway %s answers with that name",
		       cfg->replica, cfg->gateway);
		return PG_EXIT_RUNTIME;
	}
	c->gw_pod_ip = order.r[0].ip;
	r = pg_member_open(cfg, &c->gw_pod_ip, c->have_key ? &c->key : NULL,
			   c->have_prev_mac ? c->prev_mac : NULL, &c->member);
	if (r < 0) {
		pg_err("opening the membership socket: %s", strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	if (cfg->client_addr.family)
		wish = pg_prefix_v4(&cfg->client_addr);
	for (unsigned i = 0; i < order.n; i++) {
		uint64_t now = pg_monotonic_ms();
		unsigned left = now < deadline ? (unsigned)(deadline - now) : 0;
		bool last = i + 1 == order.n;

		if (left == 0)
			break;
		c->gw_pod_ip = order.r[i].ip;
		if (i > 0 && (r = pg_member_retarget(c->member, &c->gw_pod_ip)) < 0)
			continue;
		r = pg_member_request(c->member, PG_MSG_JOIN, wish,
				      last || left < JOIN_TRY_MS ? left : JOIN_TRY_MS,
				      JOIN_RESEND_MS, &c->grant, &error, why, sizeof(why));
		if (r != -ETIMEDOUT)
			break;
	}
	if (r < 0) {
		pg_err("joining gateway %s (%s port %u): %s", cfg->gateway,
		       pg_prefix_fmt(&c->gw_pod_ip, a, false), cfg->control_port,
		       r == -ETIMEDOUT && order.n > 1 ? "no replica answered" : why);
		return PG_EXIT_RUNTIME;
	}
	c->joined = true;
	if (cfg->client_addr.family &&
	    memcmp(c->grant.addr.bytes, cfg->client_addr.bytes, 4) != 0) {
		pg_err("CLIENT_ADDRESS: '%s': the gateway granted %s instead",
		       pg_prefix_fmt(&cfg->client_addr, a, false),
		       pg_prefix_fmt(&c->grant.addr, (char[PG_PREFIX_STRLEN]){0}, false));
		return PG_EXIT_RUNTIME;
	}
	return PG_EXIT_OK;
}

int client_create_tunnel(struct pg_client *c)
{
	static const uint8_t zero_mac[6];
	const struct pg_config *cfg = c->cfg;
	struct pg_link_info underlay;
	struct pg_route def = {0};
	unsigned mtu, overhead = c->gw_pod_ip.family == AF_INET6 ? VXLAN_OVERHEAD6 : VXLAN_OVERHEAD;
	int r;

	r = pg_link_get_index(c->rt, c->path.oif, &underlay);
	if (r < 0)
		return client_fail_netlink(c, "looking up the pod network interface", r);
	if (underlay.mtu <= overhead + 576) {
		pg_err("pod network interface %s: MTU %u is too small for VXLAN", underlay.name,
		       underlay.mtu);
		return PG_EXIT_RUNTIME;
	}
	/* The smallest of what our underlay carries, what the gateway's link
	 * carries and what the VPN behind it carries. */
	mtu = underlay.mtu - overhead;
	if (c->grant.mtu && c->grant.mtu < mtu)
		mtu = c->grant.mtu;
	if (cfg->vpn_mtu && cfg->vpn_mtu < mtu)
		mtu = cfg->vpn_mtu;

	struct pg_vxlan vx = {
	    .name = cfg->vxlan_if,
	    .vni = cfg->vxlan_id,
	    .port = cfg->vxlan_port,
	    .underlay_ifindex = underlay.ifindex,
	    .learning = false, /* everything goes to the gateway */
	    .mtu = mtu,
	    /* No link-local address: no ND, MLD or DAD chatter; a granted
	     * IPv6 address comes without DAD (client_follow_v6). */
	    .no_ipv6 = true,
	};
	pg_member_mac(c->member, vx.mac);
	/* An IPv6 underlay needs the local address: the vxlan driver opens
	 * an IPv6 socket only then. */
	if (c->gw_pod_ip.family == AF_INET6)
		pg_member_pod_ip(c->member, &vx.local);
	r = pg_link_vxlan_create(c->rt, &vx, &c->vxlan_ifindex);
	if (r < 0)
		return client_fail_netlink(c, "creating the vxlan link", r);
	if (push_undo(c, UNDO_DEL_LINK, NULL, c->vxlan_ifindex) < 0)
		return PG_EXIT_RUNTIME;
	if ((r = pg_fdb_add(c->rt, c->vxlan_ifindex, zero_mac, &c->gw_pod_ip)) < 0)
		return client_fail_netlink(c, "adding the FDB entry toward the gateway", r);
	if ((r = pg_addr_add(c->rt, c->vxlan_ifindex, &c->grant.addr)) < 0)
		return client_fail_netlink(c, "adding the overlay address", r);
	/* The gateway told us its MAC: no ARP through the tunnel. */
	if ((r = pg_neigh_add(c->rt, c->vxlan_ifindex, &c->grant.gateway, c->grant.gateway_mac)) <
	    0)
		return client_fail_netlink(c, "adding the gateway's neighbour entry", r);
	if ((r = pg_link_set_up(c->rt, c->vxlan_ifindex, true)) < 0)
		return client_fail_netlink(c, "bringing the vxlan link up", r);

	def.dst.family = AF_INET;
	def.gw = c->grant.gateway;
	def.oif = c->vxlan_ifindex;
	if ((r = pg_route_add(c->rt, &def, true)) < 0)
		return client_fail_netlink(c, "adding the default route through the gateway", r);
	/* A new link carries none of an old one's IPv6; IPv6 that the kernel
	 * refuses stays blocked and fails nothing. */
	c->v6_on = false;
	c->v6_failed = false;
	client_follow_v6(c, &c->grant);
	return PG_EXIT_OK;
}

static int verify(struct pg_client *c)
{
	struct pg_prefix outside;
	struct pg_route path;
	char gw[PG_PREFIX_STRLEN];
	int r;

	pg_addr_parse(OUTSIDE_ADDRESS, &outside);
	r = pg_route_lookup(c->rt, &outside, &path);
	if (r < 0)
		return client_fail_netlink(c, "route lookup of an outside address", r);
	if (path.oif != c->vxlan_ifindex) {
		pg_err("an outside address does not route through %s (interface %d instead)",
		       c->cfg->vxlan_if, path.oif);
		return PG_EXIT_RUNTIME;
	}
	/* IPv6 goes through the tunnel when granted, and nowhere else. */
	pg_addr_parse(OUTSIDE_ADDRESS6, &outside);
	r = pg_route_lookup(c->rt, &outside, &path);
	if ((r == 0 && path.oif != c->vxlan_ifindex) || (r < 0 && c->v6_on)) {
		pg_err("an outside IPv6 address does not route through %s (%s)", c->cfg->vxlan_if,
		       r < 0 ? strerror(-r) : "another interface");
		return PG_EXIT_RUNTIME;
	}
	r = pg_probe_echo(c->probe, pg_prefix_v4(&c->grant.gateway), c->cfg->check_timeout * 1000,
			  PROBE_INTERVAL_MS);
	if (r < 0) {
		/* The control port answered (we joined), so the gateway is up and
		 * reachable: what fails is VXLAN itself, most often because
		 * another VXLAN user on the nodes owns the port. */
		pg_err("gateway %s (%s) answered on the control port but not through the tunnel "
		       "within %u s (%s): check VXLAN_PORT %u on both sides; Cilium and Flannel "
		       "use 8472, so VXLAN_PORT=4789 may get through",
		       c->cfg->gateway, pg_prefix_fmt(&c->grant.gateway, gw, false),
		       c->cfg->check_timeout, r == -ETIMEDOUT ? "no reply" : strerror(-r),
		       c->cfg->vxlan_port);
		return PG_EXIT_RUNTIME;
	}
	return PG_EXIT_OK;
}

/* Where the pod's DNS goes: the gateway's overlay address from the grant,
 * and before the join the first host of VXLAN_IP_NETWORK, where a gateway
 * lives (until then nothing routes there: DNS fails closed). */
static void dns_target(const struct pg_client *c, struct pg_prefix *to)
{
	if (c->grant.gateway.family == AF_INET)
		*to = c->grant.gateway;
	else
		pg_prefix_host(&c->cfg->overlay, 1, to);
	to->len = 32;
}

/* The guard lets through eth0 only the cluster, DNS and the gateway's
 * tunnel and control ports. Before the gateway is resolved its pod IP is
 * unknown and the guard is stricter still; it is replaced atomically once
 * it is known. It stays when clientd exits or dies. */
int client_install_guard(struct pg_client *c)
{
	const struct pg_config *cfg = c->cfg;
	struct pg_link_info underlay;
	struct pg_guard_params p = {
	    .vxlan_if = cfg->vxlan_if,
	    .cluster_cidrs = &cfg->not_routed,
	    .dns = &cfg->dns,
	    .gateway_pod_ip = c->gw_pod_ip,
	    .replicas = c->replicas.n > 1 ? &c->replicas : NULL,
	    .vxlan_port = cfg->vxlan_port,
	    .control_port = cfg->control_port,
	};
	struct pg_nft_table *t;
	int oif = c->path.oif, r;

	if (cfg->dns_through_tunnel)
		dns_target(c, &p.dns_to);
	if (!oif) {
		struct pg_route defaults[1];
		size_t n = 0;

		/* Not resolved yet: the pod network is where the default route
		 * goes (the IPv6 one on an IPv6-only pod network). */
		if ((pg_route_defaults(c->rt, AF_INET, defaults, 1, &n) < 0 || n == 0) &&
		    (pg_route_defaults(c->rt, AF_INET6, defaults, 1, &n) < 0 || n == 0))
			return PG_EXIT_OK;
		oif = defaults[0].oif;
	}
	if ((r = pg_link_get_index(c->rt, oif, &underlay)) < 0)
		return client_fail_netlink(c, "looking up the pod network interface", r);
	p.underlay_if = underlay.name;
	t = pg_guard_table(&p);
	if (!t) {
		pg_err("building the guard table: %s", strerror(errno));
		return PG_EXIT_RUNTIME;
	}
	r = pg_nft_table_commit(c->nft, t);
	pg_nft_table_free(t);
	if (r < 0) {
		const char *text = pg_nft_errmsg(c->nft);

		pg_err("installing the guard table inet %s: %s%s%s", PG_GUARD_TABLE, strerror(-r),
		       *text ? ": " : "", text);
		return PG_EXIT_RUNTIME;
	}
	/* A guard a previous run left is kept even if this run fails. */
	if (!c->guard_installed && !c->rerun && push_undo(c, UNDO_DEL_GUARD, NULL, 0) < 0)
		return PG_EXIT_RUNTIME;
	c->guard_installed = true;
	return PG_EXIT_OK;
}

/* The gateway's DNS forwarder listens on its IPv4 overlay address only,
 * so the guard redirects IPv4 queries alone, and drops IPv6 ones to the
 * pod network with the rest of port 53: said once, as an IPv6-only
 * cluster's resolv.conf names IPv6 servers. */
static void note_ipv6_nameservers(const struct pg_config *cfg)
{
	struct pg_prefix ns;
	char text[PG_PREFIX_STRLEN];

	if (cfg->dns_through_tunnel && pg_lookup_ipv6_nameserver(cfg->resolv_conf, &ns) == 0)
		pg_warn("CLIENT_DNS_THROUGH_TUNNEL: %s names the IPv6 nameserver %s: the "
			"gateway's DNS answers on IPv4 only, so IPv6 queries are not redirected "
			"to it, and those to the pod network are dropped",
			cfg->resolv_conf, pg_prefix_fmt(&ns, text, false));
}

static int setup_steps(struct pg_client *c)
{
	int r;

	note_ipv6_nameservers(c->cfg);
	if ((r = pg_rtnl_open(&c->rt)) < 0) {
		pg_err("opening rtnetlink: %s", strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	if ((r = pg_probe_open(&c->probe)) < 0) {
		pg_err("opening the ICMP socket for the gateway check: %s%s", strerror(-r),
		       r == -EPERM || r == -EACCES
			   ? " (needs the pod's net.ipv4.ping_group_range to include this "
			     "process's group, e.g. securityContext.sysctls "
			     "net.ipv4.ping_group_range=\"0 2147483647\", or CAP_NET_RAW)"
			   : "");
		return PG_EXIT_RUNTIME;
	}
	if ((r = pg_nft_open(&c->nft)) < 0) {
		pg_err("opening nftables: %s", strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	/* Every nftables commit costs this process an RCU grace period
	 * (12-25 ms here) when it exits: the kernel's release of a netfilter
	 * netlink socket waits for the destroy work of the namespace's last
	 * commits (nft_rcv_nl_event -> nf_tables_trans_destroy_flush_work),
	 * and two commits in a row wait for two grace periods one after the
	 * other. So a gateway that resolves at once (a pod IP, a name in the
	 * hosts file or DNS) gets its guard in one commit; a name that does
	 * not resolve yet gets the strict guard while we wait for it. */
	if ((r = remove_previous_link(c)) != PG_EXIT_OK)
		return r;
	r = resolve_gateway(c, false);
	if (r == -EAGAIN && ((r = client_install_guard(c)) != PG_EXIT_OK ||
			     (r = resolve_gateway(c, true)) != PG_EXIT_OK))
		return r;
	if (r != PG_EXIT_OK)
		return r;
	if ((r = pg_route_lookup(c->rt, &c->gw_pod_ip, &c->path)) < 0) {
		char ip[PG_PREFIX_STRLEN];

		pg_err("no route to the gateway's pod IP %s: %s",
		       pg_prefix_fmt(&c->gw_pod_ip, ip, false), strerror(-r));
		/* Fail-closed all the same (run keeps it). */
		if (!c->guard_installed)
			client_install_guard(c);
		return PG_EXIT_RUNTIME;
	}
	/* Fail-closed from here: the default routes go before the tunnel
	 * exists, so nothing leaves around it meanwhile. */
	if ((r = client_install_guard(c)) != PG_EXIT_OK ||
	    (r = keep_cluster_local(c)) != PG_EXIT_OK ||
	    (r = remove_default_routes(c)) != PG_EXIT_OK || (r = join(c)) != PG_EXIT_OK)
		return r;
	/* The grant says where the gateway's DNS really is. */
	if (c->cfg->dns_through_tunnel && (r = client_install_guard(c)) != PG_EXIT_OK)
		return r;
	if ((r = client_create_tunnel(c)) != PG_EXIT_OK)
		return r;
	return verify(c);
}

static int load_key(struct pg_client *c)
{
	const char *why = "";

	if (!c->cfg->key_file[0])
		return PG_EXIT_OK;
	if (pg_key_load(c->cfg->key_file, &c->key, &why) < 0) {
		pg_err("MEMBERSHIP_KEY_FILE: '%s': %s", c->cfg->key_file, why);
		return PG_EXIT_CONFIG;
	}
	c->have_key = true;
	return PG_EXIT_OK;
}

void client_release(struct pg_client *c)
{
	char why[PG_ERROR_TEXT_MAX + 64];
	uint16_t error;

	if (!c->joined)
		return;
	if (pg_member_request(c->member, PG_MSG_RELEASE, (struct in_addr){0}, RELEASE_TIMEOUT_MS,
			      JOIN_RESEND_MS, NULL, &error, why, sizeof(why)) < 0)
		pg_warn("releasing the lease: %s", why);
	c->joined = false;
}

int pg_client_setup(const struct pg_config *cfg, bool keep_fail_closed, struct pg_client **out)
{
	struct pg_client *c = calloc(1, sizeof(*c));
	char a[PG_PREFIX_STRLEN], g[PG_PREFIX_STRLEN];
	int status;

	*out = NULL;
	if (!c) {
		pg_err("out of memory");
		return PG_EXIT_RUNTIME;
	}
	c->cfg = cfg;
	status = load_key(c);
	if (status == PG_EXIT_OK)
		status = setup_steps(c);
	if (status != PG_EXIT_OK) {
		if (c->rt && !(keep_fail_closed && status == PG_EXIT_RUNTIME))
			rollback(c);
		client_release(c);
		pg_client_free(c);
		return status;
	}
	free(c->undo);
	c->undo = NULL;
	c->n_undo = 0;
	pg_info("routed through %s (%s) over %s as %s", cfg->gateway,
		pg_prefix_fmt(&c->gw_pod_ip, g, false), cfg->vxlan_if,
		pg_prefix_fmt(&c->grant.addr, a, true));
	client_v6_say(c);
	*out = c;
	return PG_EXIT_OK;
}

/* Where the pod's IPv6 goes, as the kernel would route it. */
static void print_ipv6(struct pg_rtnl *rt, const struct pg_config *cfg)
{
	char a[PG_PREFIX_STRLEN], g[PG_PREFIX_STRLEN];
	struct pg_link_info link;
	struct pg_prefix outside;
	struct pg_route path;

	pg_addr_parse(OUTSIDE_ADDRESS6, &outside);
	if (pg_route_lookup(rt, &outside, &path) < 0)
		printf("ipv6: blocked (not granted)\n");
	else if (pg_link_get(rt, cfg->vxlan_if, &link) == 0 && path.oif == link.ifindex)
		printf("ipv6: %s via %s\n", pg_prefix_fmt(&path.prefsrc, a, false),
		       pg_prefix_fmt(&path.gw, g, false));
	else
		printf("ipv6: routed around %s\n", cfg->vxlan_if);
}

/* Renews the lease at a third of its time; a gateway that forgot it
 * (NO_LEASE, after its leases were lost) is joined again asking for the
 * same address. */
int pg_client_check(const struct pg_config *cfg, bool verbose)
{
	struct pg_link_info link;
	struct pg_prefix outside;
	struct pg_route path;
	struct pg_rtnl *rt;
	int r, status = PG_EXIT_RUNTIME;

	if ((r = pg_rtnl_open(&rt)) < 0) {
		pg_err("opening rtnetlink: %s", strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	pg_addr_parse(OUTSIDE_ADDRESS, &outside);
	if ((r = pg_link_get(rt, cfg->vxlan_if, &link)) < 0)
		pg_err("not routed: %s: %s", cfg->vxlan_if,
		       r == -ENODEV ? "missing" : strerror(-r));
	else if (!link.up)
		pg_err("not routed: %s is down", cfg->vxlan_if);
	else if ((r = pg_route_lookup(rt, &outside, &path)) < 0 || path.oif != link.ifindex)
		pg_err("not routed: outside addresses do not go through %s", cfg->vxlan_if);
	else if (pg_addr_parse(OUTSIDE_ADDRESS6, &outside) == 0 &&
		 pg_route_lookup(rt, &outside, &path) == 0 && path.oif != link.ifindex)
		pg_err("not routed: outside IPv6 addresses go around %s", cfg->vxlan_if);
	else if (cfg->ready_file[0] && access(cfg->ready_file, F_OK) < 0)
		pg_err("not healthy: %s is absent (the sidecar lost the gateway or is not running)",
		       cfg->ready_file);
	else
		status = PG_EXIT_OK;
	if (verbose) {
		printf("routed: %s\n", status == PG_EXIT_OK ? "yes" : "no");
		print_ipv6(rt, cfg);
		if (!cfg->state_file[0])
			printf("no STATE_FILE: the sidecar publishes nothing more\n");
		else if ((r = pg_client_state_print(stdout, cfg->state_file, cfg->gateway,
						    (uint64_t)time(NULL))) < 0)
			printf("STATE_FILE: '%s': %s (is the sidecar running?)\n", cfg->state_file,
			       strerror(-r));
		fflush(stdout);
	}
	pg_rtnl_close(rt);
	return status;
}

void pg_client_free(struct pg_client *c)
{
	if (!c)
		return;
	pg_monitor_close(c->monitor);
	if (c->nft)
		pg_nft_close(c->nft);
	pg_member_close(c->member);
	sodium_memzero(&c->key, sizeof(c->key));
	pg_probe_close(c->probe);
	if (c->rt)
		pg_rtnl_close(c->rt);
	free(c->undo);
	free(c);
}
