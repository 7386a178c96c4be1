/* SPDX-License-Identifier: MIT */
/* What operators look at: /metrics, /healthz, /readyz on TCP and the
 * status socket, both answered from the event loop. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/http.h"
#include "gatewayd/leaseclock.h"
#include "gatewayd/membership.h"
#include "gatewayd/metrics.h"
#include "gatewayd/status.h"
#include "gatewayd/traffic.h"

/* The HTTP endpoints: a scraper, probes and a few curious people. The
 * liveness probe must find a free connection whoever else is connected:
 * one peer address holds at most METRICS_PER_IP_CONNS, each for at most
 * 2 s before its headers are complete (gatewayd/http.c) and idle for at
 * most METRICS_IDLE_S, so it takes METRICS_MAX_CONNS / METRICS_PER_IP_CONNS
 * peers at once to fill them. Overlay clients are not among the peers:
 * the table drops whatever they send to the gateway but DNS and pings
 * (gatewayd/ruleset.c); on Kubernetes the NetworkPolicy admits only the
 * monitoring namespaces (and the node) to the port. */
#define METRICS_MAX_CONNS    64
#define METRICS_PER_IP_CONNS 4
#define METRICS_IDLE_S	     5
#define STATUS_MAX_CONNS     8

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
	    .gateway = gw->name,
	    .replica = gw->cfg->replica_name,
	    .version = PODGW_VERSION,
	    .pool = gw->pool,
	    .traffic = gw->traffic,
	    .stats = &gw->stats,
	    .lease_time = gw->cfg->lease_time,
	    .now = (uint64_t)time(NULL),
	    .lease_now = pg_lease_clock_s(),
	    .ipv6_egress = pg_overlay6_egress(&gw->v6),
	};
	if (pg_overlay6_configured(gw->cfg)) {
		v->ipv6 = gw->cfg->overlay6.prefix;
		/* the setting alone would claim an overlay the kernel refused */
		v->ipv6_failed = !gw->v6.on;
	}
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

/* ":PORT"'s address: the pod IP of the underlay's family, "[x::y]" for
 * IPv6 (an IPv6-only pod has no IPv4 one). */
static bool default_listen(const struct pg_gateway *gw, char out[PG_PREFIX_STRLEN + 2])
{
	char a[PG_PREFIX_STRLEN];

	if (gw->underlay_family != AF_INET6)
		return ipv4_of(gw->cfg->underlay_if, NULL, out);
	snprintf(out, PG_PREFIX_STRLEN + 2, "[%s]", pg_prefix_fmt(&gw->pod_ip, a, false));
	return true;
}

/* Both sockets are made during setup, before capabilities go. A metrics
 * address that cannot be used stops the start (a probe would never pass),
 * a status socket only warns;
 * ":PORT" listens on the pod IP, never on the overlay, where the clients
 * are. */
int gw_open_observability(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	char pod_ip[PG_PREFIX_STRLEN + 2];
	const char *why = "";
	int fd, r;

	gw->stats.start_time = (uint64_t)time(NULL);
	if (cfg->metrics_address[0]) {
		bool have = default_listen(gw, pod_ip);

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

void gw_close_observability(struct pg_gateway *gw)
{
	pg_http_close(gw->metrics);
	pg_http_close(gw->status);
	if (gw->status_bound)
		unlink(gw->cfg->status_socket);
}
