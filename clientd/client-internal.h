/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CLIENT_INTERNAL_H
#define PODGW_CLIENT_INTERNAL_H

/* What the setup (client.c) and the sidecar loop (sidecar.c) share. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clientd/member.h"
#include "clientd/probe.h"
#include "clientd/replicas.h"
#include "clientd/state.h"
#include "common/config.h"
#include "common/wire.h"
#include "netlink/rtnl.h"

#define MAX_DEFAULT_ROUTES 16
#define JOIN_RESEND_MS	   250
/* Only looked up, never sent to: TEST-NET-1 and the IPv6 documentation
 * prefix stand for "the internet". */
#define OUTSIDE_ADDRESS	 "192.0.2.1"
#define OUTSIDE_ADDRESS6 "2001:db8::1"

struct pg_nft;
struct pg_monitor;

/* Every change setup makes is recorded with its inverse, so a failure at
 * any step undoes exactly what was done, newest first. */
enum undo_kind { UNDO_DEL_ROUTE, UNDO_ADD_ROUTE, UNDO_DEL_LINK, UNDO_DEL_GUARD };

struct undo {
	enum undo_kind kind;
	struct pg_route route;
	int ifindex;
};

struct pg_client {
	const struct pg_config *cfg;
	struct pg_rtnl *rt;
	struct pg_probe *probe;
	struct pg_member *member;
	bool have_key;
	struct pg_key key;
	struct pg_prefix gw_pod_ip;  /* the replica in use */
	struct pg_replicas replicas; /* every pod IP of the gateway, in this pod's order */
	struct pg_grant grant;	     /* address, gateway address and MAC, MTU */
	bool joined;
	bool rerun; /* a previous run's link was found */
	bool have_prev_mac;
	uint8_t prev_mac[6]; /* that link's MAC: this pod's */
	bool guard_installed;
	struct pg_route path; /* how the pod reached the gateway before us */
	int vxlan_ifindex;
	struct undo *undo;
	size_t n_undo;
	struct pg_nft *nft;	      /* the guard table */
	struct pg_monitor *monitor;   /* sidecar: foreign changes to repair */
	struct pg_client_state state; /* sidecar: published in STATE_FILE */
	/* The overlay's IPv6 (overlay6.c): v6 is the grant whose ADDR6 and
	 * GATEWAY6 are in the kernel while v6_on, or were refused by it
	 * (v6_failed, with v6_err); v6_none_said: the absence of IPv6 was
	 * logged; v6_loud: changes are logged (from a successful setup on). */
	bool v6_on, v6_failed, v6_none_said, v6_loud;
	int v6_err;
	struct pg_grant v6;
};

/* One resolution of GATEWAY_NAME into all its addresses of family (a pod
 * IP: itself), unordered: 0, or getaddrinfo's error code. AF_UNSPEC (the
 * first resolution with UNDERLAY_FAMILY auto): IPv4 when the name has
 * any, else IPv6. */
int client_resolve_once(const struct pg_config *cfg, int family, struct pg_replicas *out);
/* Routes every replica's pod IP the way the pod reached the gateway. */
int client_keep_replicas_local(struct pg_client *c);
int client_fail_netlink(const struct pg_client *c, const char *what, int r);
/* Routes dst the way the pod reached the gateway before us; an existing
 * route is left alone. */
int client_keep_local(struct pg_client *c, const struct pg_prefix *dst, const struct pg_route *via);
/* vxlan link, FDB entry, address, gateway neighbour, default route. */
int client_create_tunnel(struct pg_client *c);
int client_install_guard(struct pg_client *c);
/* The gateway may move a lease (a reservation for another pod came to hold
 * its address), or a sibling replica grant another one: follow it, new
 * address first so the link never has none. */
int client_follow_address(struct pg_client *c, const struct pg_grant *g);
void client_release(struct pg_client *c);

/* The overlay's IPv6 made to match grant g (added, moved, withdrawn or
 * left), before g becomes c->grant; on a new vxlan link v6_on and
 * v6_failed are cleared first. Without IPv6 in g, says once that IPv6
 * stays blocked. A kernel that refuses it (IPv6 disabled in the pod)
 * leaves IPv6 blocked, with one warning: 0 or a negative errno. Quiet
 * until client_v6_say. */
int client_follow_v6(struct pg_client *c, const struct pg_grant *g);
/* Says where IPv6 goes once setup succeeded (a failed setup says one line,
 * what failed), and from then on every change. */
void client_v6_say(struct pg_client *c);
/* The sidecar's repairs: the address and the gateway's neighbour put back
 * (true when something was); the IPv6 default route put back (while
 * v6_on); whether route r is that route. */
bool client_v6_repair(struct pg_client *c);
int client_v6_route_add(struct pg_client *c);
bool client_v6_neigh_ok(struct pg_client *c);
bool client_v6_route_is_ours(const struct pg_client *c, const struct pg_route *r);

#endif
