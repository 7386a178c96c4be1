/* SPDX-License-Identifier: MIT */
#include "gatewayd/gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <sodium.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/wire.h"
#include "gatewayd/admission.h"
#include "gatewayd/confwatch.h"
#include "gatewayd/forwards.h"
#include "gatewayd/dns.h"
#include "gatewayd/events.h"
#include "gatewayd/http.h"
#include "gatewayd/membership.h"
#include "gatewayd/metrics.h"
#include "gatewayd/stats.h"
#include "netlink/monitor.h"
#include "netlink/rtnl.h"

#define VXLAN_OVERHEAD	   50 /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define IP_FORWARD	   "/proc/sys/net/ipv4/ip_forward"
#define REPAIR_DEBOUNCE_MS 20 /* a burst of foreign changes, one repair */
#define LEASE_PASS_MS	   500
#define NAT_CONF_SETTLE_MS 100 /* quiet time after a change before reading the file */
/* The HTTP endpoints: a scraper, probes and a few curious people; a flood
 * of connections costs at most this many, each idle for at most this long,
 * and never more than one pass of our loop at a time. */
#define METRICS_MAX_CONNS    32
#define METRICS_PER_IP_CONNS 16
#define METRICS_IDLE_S	     5
#define STATUS_MAX_CONNS     8

struct pg_gateway {
	const struct pg_config *cfg;
	struct pg_rtnl *rt;
	struct pg_nft *nft;
	int vxlan_ifindex;
	bool table_created;
	bool have_key;
	struct pg_key key;
	struct pg_pool *pool;
	struct pg_admission admission;
	struct pg_membership *membership;
	struct pg_dns *dns;
	struct pg_events *events; /* NULL: no K_SINK */
	struct pg_link_info underlay;
	size_t repaired_leases;
	struct pg_route local_routes[PG_MAX_PREFIXES]; /* ours: removed on exit */
	size_t n_local_routes;
	struct pg_traffic *traffic; /* per-client counts, last read */
	struct pg_stats stats;
	struct pg_http *metrics; /* NULL: METRICS_ADDRESS is empty */
	struct pg_http *status;	 /* NULL: STATUS_SOCKET is empty */
	bool status_bound;	 /* the socket file is ours to remove */
	uint64_t loop_turns;
	struct pg_confwatch *nat_watch; /* NULL: no NAT_CONF_FILE, or not watched */
	uint64_t nat_reload_due;	/* monotonic ms; 0: none pending */
};

static int sysctl_enable(const char *path)
{
	char cur = '0';
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		/* A read-only /proc/sys is fine if the pod's sysctls already say 1. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (read(fd, &cur, 1) != 1)
			cur = '0';
		close(fd);
		return cur == '1' ? 0 : -EROFS;
	}
	if (write(fd, "1\n", 2) != 2) {
		int r = -errno;

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

/* The overlay's packets leave through the egress after decapsulation: the
 * smaller of what the underlay carries inside VXLAN and VPN_INTERFACE_MTU.
 * Clients learn it from the grant. */
static unsigned vxlan_mtu(const struct pg_config *cfg, const struct pg_link_info *underlay)
{
	unsigned mtu = underlay->mtu - VXLAN_OVERHEAD;

	return cfg->vpn_mtu && cfg->vpn_mtu < mtu ? cfg->vpn_mtu : mtu;
}

static void wanted_link(const struct pg_gateway *gw, const struct pg_link_info *underlay,
			struct pg_vxlan *vx, struct pg_prefix *addr)
{
	const struct pg_config *cfg = gw->cfg;

	*vx = (struct pg_vxlan){
	    .name = cfg->vxlan_if,
	    .vni = cfg->vxlan_id,
	    .port = (uint16_t)cfg->vxlan_port,
	    .underlay_ifindex = underlay->ifindex,
	    /* Membership programs the FDB: nothing is learned from packets. */
	    .learning = false,
	    .mtu = vxlan_mtu(cfg, underlay),
	    .no_ipv6 = true, /* the overlay is IPv4 only */
	};
	pg_prefix_host(&cfg->overlay, 1, addr);
	pg_overlay_mac(addr, vx->mac);
}

static bool link_matches(const struct pg_link_info *l, const struct pg_vxlan *vx)
{
	return l->vxlan.vni == vx->vni && l->vxlan.port == vx->port &&
	       l->vxlan.underlay_ifindex == vx->underlay_ifindex &&
	       l->vxlan.learning == vx->learning && l->mtu == vx->mtu &&
	       memcmp(l->mac, vx->mac, sizeof(l->mac)) == 0;
}

/* A link of our name left by a crashed gatewayd is kept when it matches,
 * which keeps what the kernel learned about clients on it (so they resume
 * at once), and replaced otherwise: vxlan settings cannot change on a live
 * link. Anything else carrying the name is the operator's and is refused. */
static int adopt_or_remove_leftover(struct pg_gateway *gw, const struct pg_vxlan *vx)
{
	struct pg_link_info old;
	int r = pg_link_get(gw->rt, gw->cfg->vxlan_if, &old);

	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		pg_err("looking up %s: %s", gw->cfg->vxlan_if, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	if (strcmp(old.kind, "vxlan") != 0) {
		pg_err("VXLAN_INTERFACE: '%s': exists and is not a vxlan link", gw->cfg->vxlan_if);
		return PG_EXIT_CONFIG;
	}
	if (link_matches(&old, vx)) {
		pg_info("adopting leftover %s", gw->cfg->vxlan_if);
		gw->vxlan_ifindex = old.ifindex;
		return 0;
	}
	pg_info("replacing leftover %s: its settings differ", gw->cfg->vxlan_if);
	r = pg_link_delete(gw->rt, old.ifindex);
	if (r < 0) {
		pg_err("deleting leftover %s: %s", gw->cfg->vxlan_if, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	return 0;
}

static int create_link(struct pg_gateway *gw, const struct pg_vxlan *vx,
		       const struct pg_prefix *addr)
{
	const char *step = "creating";
	int r = 0;

	if (!gw->vxlan_ifindex)
		r = pg_link_vxlan_create(gw->rt, vx, &gw->vxlan_ifindex);
	if (r == 0) {
		step = "adding the overlay address to";
		r = pg_addr_add(gw->rt, gw->vxlan_ifindex, addr);
		if (r == -EEXIST) /* an adopted link */
			r = 0;
	}
	if (r == 0) {
		step = "bringing up";
		r = pg_link_set_up(gw->rt, gw->vxlan_ifindex, true);
	}
	if (r < 0) {
		const char *ext = pg_rtnl_errmsg(gw->rt);

		pg_err("%s %s: %s%s%s", step, gw->cfg->vxlan_if, strerror(-r), *ext ? ": " : "",
		       ext);
	}
	return r;
}

static int commit(struct pg_gateway *gw, struct pg_nft_table *t, const char *name)
{
	int r;

	r = t ? pg_nft_table_error(t) : -ENOMEM;
	if (r < 0) {
		pg_err("building nftables table inet %s: %s", name, strerror(-r));
		pg_nft_table_free(t);
		return r;
	}
	/* Even a failed commit may follow a crashed run's table: ours to remove. */
	gw->table_created = true;
	r = pg_nft_table_commit(gw->nft, t);
	pg_nft_table_free(t);
	if (r < 0) {
		const char *ext = pg_nft_errmsg(gw->nft);

		pg_err("installing nftables table inet %s: %s%s%s", name, strerror(-r),
		       *ext ? ": " : "", ext);
	}
	return r;
}

/* Our table with the clients' traffic counts carried on: read just before
 * the replace (what passes between the read and the commit, microseconds,
 * is not counted; a crashed run's table counts on too); when the table is
 * gone (someone deleted it), the last reading (of a scrape or an earlier
 * replace) is what comes back. */
static struct pg_nft_table *ruleset(struct pg_gateway *gw)
{
	pg_traffic_read(gw->traffic, gw->nft, PG_GATEWAY_TABLE);
	return pg_gateway_ruleset_counted(gw->cfg, gw->pool, gw->traffic);
}

/* The guard first, so that no moment has forwarding without it. */
static int install_table(struct pg_gateway *gw)
{
	int r = commit(gw, pg_gateway_guard(gw->cfg), PG_GATEWAY_GUARD_TABLE);

	return r < 0 ? r : commit(gw, ruleset(gw), PG_GATEWAY_TABLE);
}

/* The leases file's folder (e.g. /var/lib/podgw) is ours to create; a
 * failure shows when the leases are saved. */
static void ensure_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		pg_warn("LEASES_FILE: cannot create %s: %s", dir, strerror(errno));
}

/* The file changes without a restart (a ConfigMap update, an edit): with
 * inotify when possible, SIGHUP always. */
static void watch_nat_conf(struct pg_gateway *gw)
{
	const char *path = gw->cfg->nat_conf;
	int r;

	if (!path[0])
		return;
	r = pg_confwatch_open(path, &gw->nat_watch);
	if (r < 0)
		pg_warn("NAT_CONF_FILE: '%s': not watched for changes (%s): send SIGHUP after "
			"changing it",
			path, strerror(-r));
}

/* Reservations and port forwards, before the leases: a restored lease on
 * an address now reserved for another name is dropped. */
static int load_nat_conf(struct pg_gateway *gw)
{
	struct pg_natconf *c;
	int r;

	if (!gw->cfg->nat_conf[0])
		return PG_EXIT_OK;
	/* watched first: a change while we start is not missed */
	watch_nat_conf(gw);
	if (pg_forwards_read(gw->cfg, PG_LOG_ERR, "", &c) < 0)
		return PG_EXIT_CONFIG;
	r = pg_pool_set_nat_conf(gw->pool, c, NULL);
	if (r < 0) {
		pg_natconf_free(c);
		pg_err("NAT_CONF_FILE: '%s': %s", gw->cfg->nat_conf, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	pg_info("NAT_CONF_FILE: '%s': reservations: %zu, port forwards: %zu", gw->cfg->nat_conf,
		pg_natconf_reservations(c, NULL), pg_natconf_forwards(c, NULL));
	return PG_EXIT_OK;
}

/* The key, the reservations and the persisted leases: read before the
 * kernel is touched, so that a bad file changes nothing. */
static int load_membership_state(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	const char *why = "";
	unsigned line = 0;
	int r;

	if (cfg->key_file[0]) {
		r = pg_key_load(cfg->key_file, &gw->key, &why);
		if (r < 0) {
			pg_err("MEMBERSHIP_KEY_FILE: '%s': %s", cfg->key_file, why);
			return PG_EXIT_CONFIG;
		}
		gw->have_key = true;
	} else {
		pg_warn("MEMBERSHIP_KEY_FILE is not set: any pod that reaches port %u may join",
			cfg->control_port);
	}
	r = pg_pool_new(&cfg->overlay, cfg->first_dynamic, &gw->pool);
	if (r < 0) {
		pg_err("VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '%u': %s", cfg->first_dynamic,
		       strerror(-r));
		return PG_EXIT_CONFIG;
	}
	if ((r = load_nat_conf(gw)) != PG_EXIT_OK)
		return r;
	if (cfg->leases_file[0]) {
		ensure_parent_dir(cfg->leases_file);
		r = pg_pool_load(gw->pool, cfg->leases_file, &line);
		if (r == -EBADMSG)
			pg_warn("LEASES_FILE: '%s':%u: corrupt, set aside as %s.corrupt; clients "
				"rejoin asking for their addresses",
				cfg->leases_file, line, cfg->leases_file);
		else if (r < 0)
			pg_warn("LEASES_FILE: '%s': %s; starting without leases", cfg->leases_file,
				strerror(-r));
		else if (pg_pool_count(gw->pool))
			pg_info("restored %zu leases from %s", pg_pool_count(gw->pool),
				cfg->leases_file);
	}
	return PG_EXIT_OK;
}

static int collect_lease(const struct pg_lease *l, void *arg)
{
	struct pg_lease **next = arg;

	*(*next)++ = *l;
	return 0;
}

/* Restored leases live a full lease time from now, whatever the file said
 * (renewals are not saved): their clients get time to renew. Then the
 * kernel is told about each. */
static int restore_leases(struct pg_gateway *gw)
{
	size_t n = pg_pool_count(gw->pool);
	struct pg_lease *leases = n ? calloc(n, sizeof(*leases)) : NULL, *next = leases;
	uint64_t expires = (uint64_t)time(NULL) + gw->cfg->lease_time;

	if (n && !leases)
		return -ENOMEM;
	pg_pool_foreach(gw->pool, collect_lease, &next);
	for (size_t i = 0; i < n; i++) {
		const struct pg_lease *l = &leases[i];
		const char *name = strchr(l->id, '/');
		struct pg_lease granted;
		int r = pg_pool_acquire(gw->pool, l->id, name ? name + 1 : l->id, l->addr, l->mac,
					l->pod_ip, expires, &granted, NULL, NULL);

		/* A reservation loaded since may have moved it: the old address's
		 * elements came with the table and must go. */
		if (r == 0 && granted.addr.s_addr != l->addr.s_addr)
			pg_admission_revoke(&gw->admission, l, true);
		if (r == 0)
			r = pg_admission_grant(&gw->admission, &granted);
		if (r < 0)
			pg_warn("restoring the lease of %s: %s", l->id, strerror(-r));
	}
	free(leases);
	return 0;
}

static int open_membership(struct pg_gateway *gw, const struct pg_vxlan *vx,
			   const struct pg_prefix *addr)
{
	struct pg_membership_params params = {
	    .cfg = gw->cfg,
	    .admission = &gw->admission,
	    .pool = gw->pool,
	    .key = gw->have_key ? &gw->key : NULL,
	    .gateway_addr = pg_prefix_v4(addr),
	    .mtu = (uint16_t)vx->mtu,
	    .events = gw->events,
	    .stats = &gw->stats,
	};
	int r;

	memcpy(params.gateway_mac, vx->mac, sizeof(params.gateway_mac));
	r = pg_membership_open(&params, &gw->membership);
	if (r < 0)
		pg_err("GATEWAY_CONTROL_PORT: '%u': %s", gw->cfg->control_port, strerror(-r));
	return r;
}

/* Bound before capabilities are dropped: port 53 needs
 * CAP_NET_BIND_SERVICE, the cluster DNS socket's device binding root. */
static int open_dns(struct pg_gateway *gw, const struct pg_prefix *addr)
{
	int r;

	if (!gw->cfg->dns_forwarder)
		return 0;
	r = pg_dns_open(gw->cfg, pg_prefix_v4(addr), &gw->vxlan_ifindex, &gw->dns);
	if (r < 0)
		pg_err("DNS_FORWARDER: cannot serve DNS on %s port 53: %s",
		       pg_prefix_fmt(addr, (char[PG_PREFIX_STRLEN]){0}, false), strerror(-r));
	return r;
}

/* With a VPN, VPN_LOCAL_CIDRS go to the pod network's router (the
 * underlay's default gateway), as pod-gateway does, so that a VPN client's
 * 0/1 and 128/1 routes do not take them. A route someone else already
 * made is left alone; ours are removed on exit. */
static int add_local_routes(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_route defaults[8], *via = NULL;
	size_t n = 0;
	int r;

	if (!cfg->vpn_if[0] || !cfg->vpn_local.n)
		return 0;
	r = pg_route_defaults(gw->rt, AF_INET, defaults, 8, &n);
	for (size_t i = 0; r == 0 && i < n && i < 8 && !via; i++)
		if (defaults[i].oif == gw->underlay.ifindex && defaults[i].gw.family == AF_INET)
			via = &defaults[i];
	if (!via) {
		pg_warn("VPN_LOCAL_CIDRS: no IPv4 default route through %s (%s): no routes added; "
			"the pod's routes must send them there",
			cfg->underlay_if, r < 0 ? strerror(-r) : "none found");
		return 0;
	}
	for (unsigned i = 0; i < cfg->vpn_local.n; i++) {
		struct pg_route rt = {
		    .dst = cfg->vpn_local.items[i], .gw = via->gw, .oif = gw->underlay.ifindex};
		char a[PG_PREFIX_STRLEN];

		if (rt.dst.family != AF_INET)
			continue;
		r = pg_route_add(gw->rt, &rt, false);
		if (r == -EEXIST)
			continue;
		if (r < 0) {
			const char *ext = pg_rtnl_errmsg(gw->rt);

			pg_err("VPN_LOCAL_CIDRS: adding the route to %s: %s%s%s",
			       pg_prefix_fmt(&rt.dst, a, true), strerror(-r), *ext ? ": " : "",
			       ext);
			return r;
		}
		gw->local_routes[gw->n_local_routes++] = rt;
	}
	return 0;
}

/* Puts back the VPN_LOCAL_CIDRS routes we made that someone deleted;
 * adding one that is there fails with EEXIST and notifies nobody. */
static int restore_local_routes(struct pg_gateway *gw)
{
	int restored = 0;

	for (size_t i = 0; i < gw->n_local_routes; i++)
		if (pg_route_add(gw->rt, &gw->local_routes[i], false) == 0)
			restored++;
	return restored;
}

/* ---- what operators look at: /metrics, /healthz, /readyz, status ---- */

/* The first IPv4 address of ifname (or, with want set, whether it has
 * want): the pod IP on the underlay, the overlay address on the link. */
static bool ipv4_of(const char *ifname, const struct in_addr *want, char out[INET_ADDRSTRLEN])
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (want && sin->sin_addr.s_addr != want->s_addr)
			continue;
		found = true;
		if (out)
			inet_ntop(AF_INET, &sin->sin_addr, out, INET_ADDRSTRLEN);
	}
	freeifaddrs(ifs);
	return found;
}

static void view_of(struct pg_gateway *gw, struct pg_view *v)
{
	*v = (struct pg_view){
	    .gateway = gw->cfg->gateway,
	    .version = PODGW_VERSION,
	    .pool = gw->pool,
	    .traffic = gw->traffic,
	    .stats = &gw->stats,
	    .lease_time = gw->cfg->lease_time,
	    .now = (uint64_t)time(NULL),
	};
}

/* What /readyz checks, each read-only: the vxlan link up, the overlay
 * address on it, our table with its sets, the membership socket. The
 * traffic reading doubles as the table check. */
static bool ready(struct pg_gateway *gw, struct pg_buf *b)
{
	struct pg_link_info link;
	struct pg_prefix addr;
	struct in_addr a;
	int r;
	bool ok = true;

	pg_prefix_host(&gw->cfg->overlay, 1, &addr);
	a = pg_prefix_v4(&addr);
	r = pg_link_get(gw->rt, gw->cfg->vxlan_if, &link);
	if (r < 0 || !link.up) {
		pg_buf_printf(b, "link: %s %s\n", gw->cfg->vxlan_if, r < 0 ? strerror(-r) : "down");
		ok = false;
	}
	if (!ipv4_of(gw->cfg->vxlan_if, &a, NULL)) {
		pg_buf_printf(b, "address: %s not on %s\n", inet_ntoa(a), gw->cfg->vxlan_if);
		ok = false;
	}
	r = pg_traffic_read(gw->traffic, gw->nft, PG_GATEWAY_TABLE);
	if (r < 0) {
		pg_buf_printf(b, "table: inet %s: %s\n", PG_GATEWAY_TABLE, strerror(-r));
		ok = false;
	}
	if (!gw->membership || pg_membership_fd(gw->membership) < 0) {
		pg_buf_printf(b, "membership: no socket\n");
		ok = false;
	}
	if (ok)
		pg_buf_printf(b, "ready: link, address, table and membership socket in place\n");
	return ok;
}

static unsigned metrics_handler(void *arg, const char *path, const char *format,
				struct pg_buf *body, const char **ctype)
{
	struct pg_gateway *gw = arg;
	struct pg_view v;

	if (strcmp(path, "/metrics") == 0) {
		/* A failed reading keeps the last one: counters never go back. */
		pg_traffic_read(gw->traffic, gw->nft, PG_GATEWAY_TABLE);
		view_of(gw, &v);
		pg_metrics_render(body, &v);
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	/* Answered from the event loop itself: an answer means it turns. */
	if (strcmp(path, "/healthz") == 0) {
		pg_buf_printf(body, "ok: event loop turning (%llu turns)\n",
			      (unsigned long long)gw->loop_turns);
		return 200;
	}
	if (strcmp(path, "/readyz") == 0)
		return ready(gw, body) ? 200 : 503;
	if (strcmp(path, "/") == 0) {
		pg_buf_printf(body, "gatewayd %s: /metrics /healthz /readyz\n", PODGW_VERSION);
		return 200;
	}
	(void)format;
	pg_buf_printf(body, "not found: /metrics /healthz /readyz\n");
	return 404;
}

/* The status socket: the lease table, or JSON with ?format=json. */
static unsigned status_handler(void *arg, const char *path, const char *format, struct pg_buf *body,
			       const char **ctype)
{
	struct pg_gateway *gw = arg;
	struct pg_view v;

	if (strcmp(path, "/status") != 0)
		return metrics_handler(arg, path, format, body, ctype);
	pg_traffic_read(gw->traffic, gw->nft, PG_GATEWAY_TABLE);
	view_of(gw, &v);
	if (format && strcmp(format, "json") == 0) {
		pg_status_render_json(body, &v);
		*ctype = "application/json";
	} else {
		pg_status_render_table(body, &v);
	}
	return 200;
}

/* Both sockets are made during setup, before capabilities go. A metrics
 * address that cannot be used stops the start (a probe would never pass),
 * a status socket only warns;
 * ":PORT" listens on the pod IP, never on the overlay, where the clients
 * are. */
static int open_observability(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	char pod_ip[INET_ADDRSTRLEN];
	const char *why = "";
	int fd, r;

	gw->stats.start_time = (uint64_t)time(NULL);
	if (cfg->metrics_address[0]) {
		bool have = ipv4_of(cfg->underlay_if, NULL, pod_ip);

		r = pg_http_listen_tcp(cfg->metrics_address, have ? pod_ip : NULL, &fd, &why);
		if (r == 0)
			r = pg_http_open(fd, METRICS_MAX_CONNS, METRICS_PER_IP_CONNS,
					 METRICS_IDLE_S, metrics_handler, gw, &gw->metrics);
		if (r < 0) {
			pg_err("METRICS_ADDRESS: '%s': %s", cfg->metrics_address,
			       *why ? why : strerror(-r));
			return -1;
		}
	}
	if (cfg->status_socket[0]) {
		r = pg_http_listen_unix(cfg->status_socket, &fd);
		if (r == 0) {
			gw->status_bound = true;
			r = pg_http_open(fd, STATUS_MAX_CONNS, 0, METRICS_IDLE_S, status_handler,
					 gw, &gw->status);
		}
		/* Only the status command needs it: the gateway runs on. */
		if (r < 0)
			pg_warn("STATUS_SOCKET: '%s': %s; `gatewayd status` will not work",
				cfg->status_socket, strerror(-r));
	}
	return 0;
}

int pg_gateway_setup(const struct pg_config *cfg, struct pg_gateway **out)
{
	struct pg_gateway *gw = calloc(1, sizeof(*gw));
	struct pg_link_info *underlay;
	struct pg_vxlan vx;
	struct pg_prefix addr;
	int r, status = PG_EXIT_RUNTIME;

	*out = NULL;
	if (!gw) {
		pg_err("out of memory");
		return PG_EXIT_RUNTIME;
	}
	gw->cfg = cfg;
	if ((r = pg_traffic_new(&gw->traffic)) < 0 || (r = pg_rtnl_open(&gw->rt)) < 0 ||
	    (r = pg_nft_open(&gw->nft)) < 0) {
		pg_err("opening netlink sockets: %s", strerror(-r));
		goto fail;
	}

	underlay = &gw->underlay;
	r = pg_link_get(gw->rt, cfg->underlay_if, underlay);
	if (r < 0) {
		pg_err("UNDERLAY_INTERFACE: '%s': %s", cfg->underlay_if,
		       r == -ENODEV ? "no such interface" : strerror(-r));
		status = r == -ENODEV ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
		goto fail;
	}
	if (underlay->mtu <= VXLAN_OVERHEAD + 68) {
		pg_err("UNDERLAY_INTERFACE: '%s': MTU %u is too small for VXLAN", cfg->underlay_if,
		       underlay->mtu);
		status = PG_EXIT_CONFIG;
		goto fail;
	}
	if ((status = load_membership_state(gw)) != PG_EXIT_OK)
		goto fail;
	if ((r = pg_events_open(cfg, &gw->events)) < 0) {
		status = r == -EINVAL ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
		goto fail;
	}
	wanted_link(gw, underlay, &vx, &addr);
	status = PG_EXIT_RUNTIME;
	if (open_membership(gw, &vx, &addr) < 0 || open_dns(gw, &addr) < 0 ||
	    open_observability(gw) < 0)
		goto fail;
	if ((status = adopt_or_remove_leftover(gw, &vx)) != 0)
		goto fail;
	status = PG_EXIT_RUNTIME;

	r = sysctl_enable(IP_FORWARD);
	if (r < 0) {
		/* In a pod /proc/sys is read-only: the pod itself must ask. */
		pg_err("net.ipv4.ip_forward is 0 and cannot be set here (%s): set it in the pod, "
		       "spec.securityContext.sysctls: [{name: net.ipv4.ip_forward, value: \"1\"}] "
		       "(an unsafe sysctl: the node's kubelet needs "
		       "--allowed-unsafe-sysctls=net.ipv4.ip_forward)",
		       strerror(-r));
		goto fail;
	}
	if (create_link(gw, &vx, &addr) < 0 || install_table(gw) < 0 || add_local_routes(gw) < 0)
		goto fail;
	gw->admission = (struct pg_admission){
	    .rt = gw->rt,
	    .nft = gw->nft,
	    .table = PG_GATEWAY_TABLE,
	    .vxlan_ifindex = gw->vxlan_ifindex,
	};
	if (restore_leases(gw) < 0) {
		pg_err("restoring leases: out of memory");
		goto fail;
	}

	pg_info("ready: %s vni %u port %u on %s, overlay %s, egress %s%s, membership on port %u, "
		"mtu %u",
		cfg->vxlan_if, cfg->vxlan_id, cfg->vxlan_port, cfg->underlay_if,
		pg_prefix_fmt(&cfg->overlay, (char[PG_PREFIX_STRLEN]){0}, true),
		cfg->vpn_if[0] ? cfg->vpn_if : cfg->underlay_if,
		cfg->vpn_if[0] && cfg->vpn_block ? " (kill switch)" : "", cfg->control_port,
		vx.mtu);
	pg_dns_describe(cfg);
	*out = gw;
	return PG_EXIT_OK;

fail:
	pg_gateway_teardown(gw);
	return status;
}

static int regrant_lease(const struct pg_lease *l, void *arg)
{
	struct pg_gateway *gw = arg;
	struct pg_prefix overlay;
	uint8_t mac[6];
	uint16_t state = 0;
	int r;

	pg_prefix_from_v4(&overlay, l->addr, 32);
	/* Checked first: rewriting a correct entry would notify, and wake us. */
	r = pg_neigh_get(gw->rt, gw->vxlan_ifindex, &overlay, mac, &state);
	if (r == 0 && memcmp(mac, l->mac, 6) == 0 && (state & NUD_PERMANENT)) {
		struct pg_prefix pod;

		/* Appending an entry that exists changes nothing and is
		 * silent, so this needs no check of its own. */
		pg_prefix_from_v4(&pod, l->pod_ip, 32);
		pg_fdb_add(gw->rt, gw->vxlan_ifindex, l->mac, &pod);
		return 0;
	}
	if (pg_admission_grant(&gw->admission, l) == 0)
		gw->repaired_leases++;
	return 0;
}

/* Puts back what someone else removed or changed: the link (and with it
 * every lease's FDB and neighbour entries), its address, the table (and
 * with it the set elements), leases' entries. Each check is read-only or a
 * no-op when all is right. */
static void repair(struct pg_gateway *gw, unsigned changed)
{
	struct pg_link_info link;
	struct pg_vxlan vx;
	struct pg_prefix addr;
	char what[160] = "";
	size_t n = 0;
	int r;

#define NOTE(s)                                                                                    \
	(n += (size_t)snprintf(what + n, n < sizeof(what) ? sizeof(what) - n : 0, "%s%s",          \
			       n ? ", " : "", (s)))
	wanted_link(gw, &gw->underlay, &vx, &addr);
	r = pg_link_get(gw->rt, gw->cfg->vxlan_if, &link);
	if (r == -ENODEV ||
	    (r == 0 && (link.ifindex != gw->vxlan_ifindex || !link_matches(&link, &vx)))) {
		if (r == 0)
			pg_link_delete(gw->rt, link.ifindex);
		gw->vxlan_ifindex = 0;
		if (create_link(gw, &vx, &addr) == 0) {
			gw->admission.vxlan_ifindex = gw->vxlan_ifindex;
			gw->stats.repairs[PG_REPAIR_LINK]++;
			NOTE("vxlan link");
		}
		changed |= PG_CHANGED_NEIGH;
	} else if (r == 0) {
		if (!link.up && pg_link_set_up(gw->rt, gw->vxlan_ifindex, true) == 0) {
			gw->stats.repairs[PG_REPAIR_LINK_UP]++;
			NOTE("link up");
		}
		if (pg_addr_add(gw->rt, gw->vxlan_ifindex, &addr) == 0) {
			gw->stats.repairs[PG_REPAIR_ADDRESS]++;
			NOTE("address");
		}
	}
	if ((changed & PG_CHANGED_NFT) && install_table(gw) == 0) {
		gw->stats.repairs[PG_REPAIR_TABLES]++;
		NOTE("nftables tables");
	}
	if ((changed & PG_CHANGED_ROUTE) && restore_local_routes(gw) > 0) {
		gw->stats.repairs[PG_REPAIR_ROUTES]++;
		NOTE("VPN_LOCAL_CIDRS routes");
	}
	if (changed & (PG_CHANGED_NEIGH | PG_CHANGED_LINK)) {
		gw->repaired_leases = 0;
		pg_pool_foreach(gw->pool, regrant_lease, gw);
		if (gw->repaired_leases) {
			gw->stats.repairs[PG_REPAIR_LEASE_ENTRIES] += gw->repaired_leases;
			NOTE("lease entries");
		}
	}
	if (n)
		pg_info("repaired: %s", what);
#undef NOTE
}

/* Puts the new reservations and forwards in place: the pool first, then
 * the whole table in one transaction (admitted clients' set elements come
 * with it, conntrack keeps every flow). A failure leaves the old ones. */
static int apply_nat_conf(struct pg_gateway *gw, struct pg_natconf *c)
{
	struct pg_natconf *old = NULL;
	int r = pg_pool_set_nat_conf(gw->pool, c, &old);

	if (r < 0) {
		pg_err("NAT_CONF_FILE: '%s': %s; keeping the previous one", gw->cfg->nat_conf,
		       strerror(-r));
		pg_natconf_free(c);
		return r;
	}
	r = commit(gw, ruleset(gw), PG_GATEWAY_TABLE);
	if (r < 0) {
		/* the pool goes back to what the kernel still has */
		if (pg_pool_set_nat_conf(gw->pool, old, &c) == 0)
			old = c;
		pg_natconf_free(old);
		return r;
	}
	pg_forwards_log_changes(old, c);
	pg_natconf_free(old);
	return 0;
}

/* Reads NAT_CONF_FILE again; a bad file changes nothing. */
static void reload_nat_conf(struct pg_gateway *gw, const char *cause)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_natconf *c;

	gw->nat_reload_due = 0;
	if (!cfg->nat_conf[0]) {
		pg_info("no NAT_CONF_FILE to reload (%s)", cause);
		return;
	}
	if (pg_forwards_read(cfg, PG_LOG_WARN, "; keeping the previous one", &c) < 0)
		return;
	if (pg_natconf_equal(c, pg_pool_nat_conf(gw->pool))) {
		pg_natconf_free(c);
		pg_info("NAT_CONF_FILE unchanged (%s)", cause);
		return;
	}
	if (apply_nat_conf(gw, c) == 0)
		pg_info("NAT_CONF_FILE reloaded (%s): reservations: %zu, port forwards: %zu", cause,
			pg_natconf_reservations(c, NULL), pg_natconf_forwards(c, NULL));
}

/* The sooner of two poll timeouts in ms (-1: none). */
static int sooner(int a, int b)
{
	return b >= 0 && (a < 0 || b < a) ? b : a;
}

/* poll's timeout in ms (-1: none) shortened to reach due (0: none). */
static int until(int timeout, uint64_t due, uint64_t now)
{
	if (!due)
		return timeout;
	return sooner(timeout, due > now ? (int)(due - now) : 0);
}

/* The event loop's descriptors, by slot. */
enum {
	FD_SIGNALS,
	FD_MEMBERSHIP,
	FD_MONITOR,
	FD_NAT_CONF,
	FD_METRICS,
	FD_STATUS,
	FD_DNS,
	FD_EVENTS = FD_DNS + PG_DNS_NFDS,
	FD_COUNT = FD_EVENTS + PG_EVENTS_NFDS
};

int pg_gateway_run(struct pg_gateway *gw, int sigfd)
{
	static const char *const tables[] = {PG_GATEWAY_TABLE, PG_GATEWAY_GUARD_TABLE};
	struct pg_monitor *mon = NULL;
	unsigned pending = 0;
	uint64_t repair_due = 0, last_lease_pass = 0;
	int r;

	r = pg_monitor_open(pg_rtnl_portid(gw->rt), pg_nft_portid(gw->nft), NFPROTO_INET, tables, 2,
			    &mon);
	if (r < 0)
		pg_warn("watching for changes: %s; nothing will be repaired", strerror(-r));
	for (;;) {
		struct pollfd pfd[FD_COUNT] = {
		    {.fd = sigfd, .events = POLLIN},
		    {.fd = pg_membership_fd(gw->membership), .events = POLLIN},
		    {.fd = mon ? pg_monitor_fd(mon) : -1, .events = POLLIN},
		    {.fd = gw->nat_watch ? pg_confwatch_fd(gw->nat_watch) : -1, .events = POLLIN},
		    {.fd = pg_http_fd(gw->metrics), .events = POLLIN},
		    {.fd = pg_http_fd(gw->status), .events = POLLIN},
		};
		int timeout = sooner(pg_membership_tick(gw->membership), pg_dns_tick(gw->dns));
		uint64_t now = pg_monotonic_ms();
		unsigned changed = 0;

		pg_dns_poll_fds(gw->dns, &pfd[FD_DNS]);
		pg_events_poll_fds(gw->events, &pfd[FD_EVENTS]);
		if (pending)
			timeout = repair_due > now ? (int)(repair_due - now) : 0;
		timeout = until(timeout, gw->nat_reload_due, now);
		timeout = sooner(timeout, pg_events_tick(gw->events)); /* K_SINK's timers */
		timeout = sooner(sooner(timeout, pg_http_timeout(gw->metrics)),
				 pg_http_timeout(gw->status));
		gw->loop_turns++;
		if (poll(pfd, FD_COUNT, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pg_err("poll: %s", strerror(errno));
			pg_monitor_close(mon);
			return PG_EXIT_RUNTIME;
		}
		if (pfd[FD_SIGNALS].revents & POLLIN) {
			int sig = pg_signals_read(sigfd);

			if (sig == SIGTERM || sig == SIGINT) {
				pg_info("%s: removing what was set up", strsignal(sig));
				pg_monitor_close(mon);
				return PG_EXIT_OK;
			}
			if (sig == SIGHUP)
				reload_nat_conf(gw, "SIGHUP");
		}
		if (pfd[FD_MEMBERSHIP].revents & POLLIN)
			pg_membership_receive(gw->membership);
		pg_dns_handle(gw->dns, &pfd[FD_DNS]);
		pg_events_handle(gw->events, &pfd[FD_EVENTS]);
		/* Their own timers (idle connections) run when poll says nothing. */
		if (pfd[FD_METRICS].revents || pg_http_timeout(gw->metrics) == 0)
			pg_http_run(gw->metrics);
		if (pfd[FD_STATUS].revents || pg_http_timeout(gw->status) == 0)
			pg_http_run(gw->status);
		now = pg_monotonic_ms();
		/* a writer may need several calls: read once it went quiet */
		if ((pfd[FD_NAT_CONF].revents & POLLIN) && pg_confwatch_read(gw->nat_watch))
			gw->nat_reload_due = now + NAT_CONF_SETTLE_MS;
		if (gw->nat_reload_due && now >= gw->nat_reload_due)
			reload_nat_conf(gw, "the file changed");
		if ((pfd[FD_MONITOR].revents & POLLIN) && pg_monitor_read(mon, &changed) == 0 &&
		    changed) {
			if (!pending)
				repair_due = now + REPAIR_DEBOUNCE_MS;
			pending |= changed;
		}
		if (pending && now >= repair_due) {
			/* Our own FDB changes come back as foreign events (the kernel
			 * does not stamp them), so the per-lease pass runs at most
			 * every LEASE_PASS_MS during a burst of joins. */
			unsigned lease_bits = pending & (PG_CHANGED_NEIGH | PG_CHANGED_LINK);

			if (lease_bits && now < last_lease_pass + LEASE_PASS_MS) {
				repair(gw, pending & ~lease_bits);
				pending = lease_bits;
				repair_due = last_lease_pass + LEASE_PASS_MS;
			} else {
				repair(gw, pending);
				if (lease_bits)
					last_lease_pass = now;
				pending = 0;
			}
		}
	}
}

void pg_gateway_teardown(struct pg_gateway *gw)
{
	int r;

	if (!gw)
		return;
	pg_http_close(gw->metrics);
	pg_http_close(gw->status);
	if (gw->status_bound)
		unlink(gw->cfg->status_socket);
	pg_confwatch_close(gw->nat_watch);
	if (gw->membership) {
		pg_membership_save(gw->membership);
		pg_membership_close(gw->membership);
	}
	pg_dns_close(gw->dns);
	pg_events_close(gw->events);
	pg_pool_free(gw->pool);
	sodium_memzero(&gw->key, sizeof(gw->key));
	for (size_t i = 0; i < gw->n_local_routes; i++)
		if ((r = pg_route_del(gw->rt, &gw->local_routes[i])) < 0 && r != -ESRCH)
			pg_warn("deleting the route to %s: %s",
				pg_prefix_fmt(&gw->local_routes[i].dst, (char[PG_PREFIX_STRLEN]){0},
					      true),
				strerror(-r));
	for (size_t i = 0; gw->table_created && i < 2; i++) {
		const char *name = i ? PG_GATEWAY_GUARD_TABLE : PG_GATEWAY_TABLE;

		if ((r = pg_nft_table_delete(gw->nft, NFPROTO_INET, name)) < 0 && r != -ENOENT)
			pg_warn("deleting nftables table inet %s: %s", name, strerror(-r));
	}
	if (gw->vxlan_ifindex && (r = pg_link_delete(gw->rt, gw->vxlan_ifindex)) < 0 &&
	    r != -ENODEV)
		pg_warn("deleting %s: %s", gw->cfg->vxlan_if, strerror(-r));
	if (gw->nft)
		pg_nft_close(gw->nft);
	if (gw->rt)
		pg_rtnl_close(gw->rt);
	pg_traffic_free(gw->traffic);
	free(gw);
}
