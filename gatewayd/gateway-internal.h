/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GATEWAY_INTERNAL_H
#define PODGW_GATEWAY_INTERNAL_H

/* What gatewayd's rooms share: setup and teardown (gateway.c), the vxlan
 * link (link.c), the tables (tables.c), the VPN_LOCAL_CIDRS routes
 * (routes.c), the state read at start (load.c), nat.conf (natreload.c),
 * what operators look at (observe.c), repair (repair.c) and the run
 * (run.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/wire.h"
#include "gatewayd/admission.h"
#include "gatewayd/gateway.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/stats.h"
#include "netlink/rtnl.h"

struct pg_nft;
struct pg_pool;
struct pg_membership;
struct pg_dns;
struct pg_events;
struct pg_http;
struct pg_confwatch;
struct pg_traffic;
struct pg_monitor;
struct pg_source;

#define GW_VXLAN_OVERHEAD  50 /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define GW_VXLAN_OVERHEAD6 70 /* the same with an outer IPv6 header (40) */

/* The repair pass's debounce: changes seen, and when they are repaired. */
struct gw_repair_state {
	struct pg_monitor *mon; /* NULL: nothing is watched */
	unsigned pending;	/* PG_CHANGED_* bits not repaired yet */
	uint64_t due;		/* monotonic ms */
	uint64_t last_lease_pass;
};

struct pg_gateway {
	const struct pg_config *cfg;
	char name[PG_NAMESPACE_MAX + 1]; /* metrics and status: pg_events_gateway_name() */
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
	int underlay_family;		     /* the tunnel's: AF_INET or AF_INET6 (underlay.c) */
	struct pg_prefix pod_ip;	     /* ours in that family (family 0: IPv4 without one) */
	struct pg_prefix_list underlay_nets; /* its networks and router: no overlay traffic there */
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
	struct gw_repair_state repair;
	struct pg_overlay6 v6; /* gateway6.c */
	bool v6_failed;	       /* said once: the gateway stays IPv4-only */
};

/* link.c: the vxlan link. Returns of adopt are an enum pg_exit; the others
 * 0 or a negative errno, logged. */
void gw_wanted_link(const struct pg_gateway *gw, struct pg_vxlan *vx, struct pg_prefix *addr);
bool gw_link_matches(const struct pg_link_info *l, const struct pg_vxlan *vx);
int gw_adopt_or_remove_leftover(struct pg_gateway *gw, const struct pg_vxlan *vx);
int gw_create_link(struct pg_gateway *gw, const struct pg_vxlan *vx, const struct pg_prefix *addr);
void gw_delete_link(struct pg_gateway *gw);

/* underlay.c: the tunnel's family and our pod IP in it (an enum pg_exit),
 * the bytes VXLAN adds in that family, the first usable address of a
 * family on an interface (not link-local). */
int gw_choose_underlay(struct pg_gateway *gw);
unsigned gw_vxlan_overhead(const struct pg_gateway *gw);
bool gw_pod_addr(const char *ifname, int family, struct pg_prefix *out);

/* tables.c: the guard and our table, committed whole. */
int gw_install_tables(struct pg_gateway *gw);
int gw_replace_table(struct pg_gateway *gw);
void gw_delete_tables(struct pg_gateway *gw);

/* routes.c, per family (AF_INET, AF_INET6): VPN_LOCAL_CIDRS through the
 * underlay's router (joining gw->local_routes); the underlay's networks and
 * routers, read at start (appended to gw->underlay_nets). */
void gw_read_underlay_nets(struct pg_gateway *gw, int family);
int gw_add_local_routes(struct pg_gateway *gw, int family);
int gw_restore_local_routes(struct pg_gateway *gw);
void gw_delete_local_routes(struct pg_gateway *gw);

/* load.c: the key, nat.conf and persisted leases before the kernel is
 * touched (an enum pg_exit), and the leases given back to the kernel. */
int gw_load_state(struct pg_gateway *gw);
int gw_restore_leases(struct pg_gateway *gw);

/* natreload.c: nat.conf at start (an enum pg_exit), reloaded on SIGHUP or
 * when the file changes. */
int gw_load_nat_conf(struct pg_gateway *gw);
void gw_reload_nat_conf(struct pg_gateway *gw, const char *cause);
void gw_nat_conf_source(struct pg_gateway *gw, struct pg_source *out);

/* observe.c: /metrics, /healthz, /readyz and the status socket. */
int gw_open_observability(struct pg_gateway *gw);
void gw_close_observability(struct pg_gateway *gw);

/* gateway6.c: the IPv6 overlay's kernel state. init before the link and
 * admission are made; link after each creation of the link (setup,
 * repair); fix_address returns 1 when it put PREFIX::1 back. */
void gw_overlay6_init(struct pg_gateway *gw);
void gw_overlay6_link(struct pg_gateway *gw);
size_t gw_overlay6_fix_address(struct pg_gateway *gw);

/* repair.c: puts back what others removed or changed, watched from the
 * start of the run (open) to its end (close). */
void gw_repair_open(struct pg_gateway *gw);
void gw_repair_close(struct pg_gateway *gw);
void gw_repair_source(struct pg_gateway *gw, struct pg_source *out);

#endif
