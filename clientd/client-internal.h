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
/* Only looked up, never sent to: TEST-NET-1 stands for "the internet". */
#define OUTSIDE_ADDRESS "192.0.2.1"

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
};

/* One resolution of GATEWAY_NAME into all its IPv4 addresses (a pod IP:
 * itself), unordered: 0, or getaddrinfo's error code. */
int client_resolve_once(const struct pg_config *cfg, struct pg_replicas *out);
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

#endif
