/* SPDX-License-Identifier: MIT */
/* The sidecar's loop: liveness with hysteresis (clientd/liveness.c says
 * what counts as proof of life), lease renewals, finding a lost or moved
 * gateway again, and repairing what others change in the pod's network.
 * Nothing here ever removes the fail-closed state (guard, missing default
 * routes); it only ever puts the tunnel back. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/neighbour.h>
#include <linux/netfilter.h>

#include "clientd/client-internal.h"
#include "clientd/client.h"
#include "clientd/failover.h"
#include "clientd/guard.h"
#include "clientd/liveness.h"
#include "common/daemon.h"
#include "common/log.h"
#include "netlink/monitor.h"
#include "netlink/nft.h"

#define REPAIR_DEBOUNCE_MS 20 /* a burst of foreign changes, one repair */
/* A replaced gateway pod is found again within this much of its name
 * pointing at it: a lookup is cheap (hosts file, cluster DNS), a late
 * one costs traffic. */
#define RESOLVE_BACKOFF_MAX_MS 500

enum health { HEALTHY, LOST };

/* misses: keepalive intervals in a row without proof that the gateway is
 * alive; LOST after KEEPALIVE_MISSES of them. */
struct loop {
	struct pg_client *c;
	enum health health;
	unsigned misses;
	bool awaiting; /* a RENEW or JOIN is unanswered */
	uint64_t next_keepalive;
	uint64_t next_renew;
	struct pg_liveness live;
	uint64_t echo_at;	/* the last echo, for its round trip */
	uint64_t echo_again_at; /* after a miss: a second echo, if none answered yet */
	bool suspect;		/* an echo went unanswered since the last proof of life */
	uint64_t next_resolve;
	unsigned backoff_ms;
	uint64_t lost_at;
	unsigned pending; /* PG_CHANGED_* bits not yet repaired */
	uint64_t repair_due;
	bool error_logged;
	uint64_t first_miss_at; /* when the unanswered echo of the first miss left */
};

/* STATE_FILE: what the tunnel looks like now, for `clientd check --verbose`. */
static void note_state(struct loop *l, uint64_t now, bool force)
{
	struct pg_client *c = l->c;
	struct pg_client_state *st = &c->state;

	st->healthy = l->health == HEALTHY;
	st->gateway_pod_ip = c->gw_pod_ip;
	st->gateway_addr = c->grant.gateway;
	st->addr = c->grant.addr;
	memset(&st->addr6, 0, sizeof(st->addr6));
	memset(&st->gateway_addr6, 0, sizeof(st->gateway_addr6));
	if (c->v6_on) {
		st->addr6 = c->v6.addr6;
		st->gateway_addr6 = c->v6.gateway6;
	}
	snprintf(st->replica, sizeof(st->replica), "%s", c->grant.replica);
	st->dirty = true;
	pg_client_state_flush(c->cfg->state_file, st, now, force);
}

int client_follow_address(struct pg_client *c, const struct pg_grant *g)
{
	char a[PG_PREFIX_STRLEN], b[PG_PREFIX_STRLEN];
	int r;

	if (memcmp(g->addr.bytes, c->grant.addr.bytes, 4) == 0 && g->addr.len == c->grant.addr.len)
		return 0;
	pg_warn("the gateway moved this pod from %s to %s", pg_prefix_fmt(&c->grant.addr, a, true),
		pg_prefix_fmt(&g->addr, b, true));
	r = pg_addr_add(c->rt, c->vxlan_ifindex, &g->addr);
	if (r == 0 || r == -EEXIST)
		r = pg_addr_del(c->rt, c->vxlan_ifindex, &c->grant.addr);
	return r == -EADDRNOTAVAIL ? 0 : r;
}

static void try_resolve(struct loop *l, uint64_t now)
{
	struct pg_client *c = l->c;
	enum pg_failover_result r;

	l->next_resolve = now + l->backoff_ms;
	l->backoff_ms =
	    l->backoff_ms * 2 > RESOLVE_BACKOFF_MAX_MS ? RESOLVE_BACKOFF_MAX_MS : l->backoff_ms * 2;
	r = pg_failover(c, l->misses >= PG_FAILOVER_MISSES, l->first_miss_at);
	if (r != PG_FAILOVER_MOVED)
		return;
	/* Joined a sibling: routed again, as an answer would say; the
	 * echo sent to the old replica counts for nothing. */
	pg_liveness_start(&l->live, false, 0);
	l->misses = 0;
	l->awaiting = false;
	l->backoff_ms = c->cfg->keepalive_interval;
	l->next_resolve = 0;
	/* The repair pass checks what the grant implies (a guard commit only
	 * for DNS through the tunnel, whose target is in the grant). */
	l->pending |=
	    PG_CHANGED_NEIGH | PG_CHANGED_ROUTE | (c->cfg->dns_through_tunnel ? PG_CHANGED_NFT : 0);
	l->repair_due = now;
	if (l->health == LOST) {
		pg_ready_file_write(c->cfg->ready_file, "routed\n");
		l->health = HEALTHY;
	}
	note_state(l, now, true);
}

static void on_answer(struct loop *l, const struct pg_answer *a, uint64_t now)
{
	struct pg_client *c = l->c;
	int r;

	if (a->type == PG_MSG_ERROR) {
		if (a->error == PG_ERR_NO_LEASE) {
			/* The gateway forgot us (its leases were lost): ask for
			 * the same address again at once. */
			pg_member_send(c->member, PG_MSG_JOIN, pg_prefix_v4(&c->grant.addr));
		} else if (!l->error_logged) {
			pg_warn("the gateway refused a renewal: %s", a->why);
			l->error_logged = true;
		}
		return;
	}
	if (a->type != PG_MSG_GRANT)
		return;
	l->awaiting = false;
	l->error_logged = false;
	l->next_renew = now + pg_renew_interval_ms(a->grant.lease_time, c->cfg->keepalive_interval);
	/* While healthy, a GRANT proves gatewayd alive, not the tunnel: the
	 * tunnel's own traffic decides. After a loss, the JOIN's GRANT ends
	 * it, as the grant puts the gateway's side of the tunnel back. */
	if (l->health == LOST) {
		pg_info("gateway %s answers again after %llu ms", c->cfg->gateway,
			(unsigned long long)(now - l->lost_at));
		pg_ready_file_write(c->cfg->ready_file, "routed\n");
		l->health = HEALTHY;
		l->misses = 0;
		l->backoff_ms = c->cfg->keepalive_interval;
		l->next_resolve = 0;
		c->state.last_keepalive = (uint64_t)time(NULL);
		pg_liveness_start(&l->live, false,
				  0); /* echoes sent while lost count for nothing */
		note_state(l, now, true);
	}
	r = client_follow_address(c, &a->grant);
	if (r < 0) {
		client_fail_netlink(c, "moving to the new address", r);
		return;
	}
	/* A new gateway pod has a new MAC only if its overlay address moved;
	 * either way the repair pass makes the neighbour match the grant. */
	if (memcmp(&a->grant.gateway, &c->grant.gateway, sizeof(a->grant.gateway)) != 0 ||
	    memcmp(a->grant.gateway_mac, c->grant.gateway_mac, 6) != 0)
		l->pending |= PG_CHANGED_NEIGH | PG_CHANGED_ROUTE |
			      (c->cfg->dns_through_tunnel ? PG_CHANGED_NFT : 0); /* DNS target */
	/* Every GRANT may add, move or withdraw IPv6. */
	client_follow_v6(c, &a->grant);
	c->grant = a->grant;
}

/* The gateway proved alive during the last interval. */
static void alive(struct loop *l)
{
	l->misses = 0;
	l->backoff_ms = l->c->cfg->keepalive_interval;
	l->next_resolve = 0;
	l->c->state.last_keepalive = (uint64_t)time(NULL);
	l->c->state.dirty = true;
}

/* Echo replies: proof of life, and the round trip STATE_FILE shows. */
static void echo_replies(struct loop *l, uint64_t now)
{
	struct pg_client *c = l->c;

	if (pg_probe_drain(c->probe, pg_prefix_v4(&c->grant.gateway)) == 0)
		return;
	pg_liveness_answered(&l->live);
	if (l->echo_at) {
		c->state.rtt_us = (now - l->echo_at) * 1000;
		l->echo_at = 0;
	}
}

/* Once per KEEPALIVE_INTERVAL_MS. Healthy: an echo only when the tunnel
 * carried nothing but echo replies, a RENEW every LEASE_TIME / 3 and, from the first miss on,
 * every interval (a gateway that restarted without our lease answers it
 * NO_LEASE, and we join again before it counts as lost). Lost: a JOIN every
 * interval, as the gateway's side of the tunnel may be gone. */
static void keepalive(struct loop *l, uint64_t now)
{
	struct pg_client *c = l->c;
	const struct pg_config *cfg = c->cfg;
	struct pg_link_info link;
	bool rx_ok, renewal;
	struct pg_live_tick t;

	/* Replies first, so that the counter read next has no reply in it
	 * that was not counted as one. */
	echo_replies(l, now);
	rx_ok = pg_link_get_index(c->rt, c->vxlan_ifindex, &link) == 0;
	t = pg_liveness_tick(&l->live, rx_ok, rx_ok ? link.rx_packets : 0);
	if (l->health == LOST) {
		if (l->awaiting)
			l->misses++;
	} else if (t.alive) {
		alive(l);
		note_state(l, now, false);
	} else if (t.miss && l->misses++ == 0) {
		l->first_miss_at = now - cfg->keepalive_interval;
	}
	/* An echo goes with each renewal too: a busy tunnel needs none, but
	 * STATE_FILE's round trip should not grow old. */
	renewal = now >= l->next_renew && !l->awaiting;
	if ((t.send_echo || renewal) &&
	    pg_probe_send(c->probe, pg_prefix_v4(&c->grant.gateway)) == 0)
		l->echo_at = now;
	/* Two misses move a crawler to a sibling: after the first, a second
	 * echo half an interval later, so that one lost datagram (the echo,
	 * or its reply) never makes the second. */
	l->echo_again_at =
	    l->health == HEALTHY && l->misses > 0 ? now + cfg->keepalive_interval / 2 : 0;
	if (l->health == HEALTHY && l->misses >= cfg->keepalive_misses) {
		pg_warn("gateway %s lost: nothing from it through the tunnel for %u keepalive "
			"intervals",
			cfg->gateway, l->misses);
		pg_ready_file_remove(cfg->ready_file);
		l->health = LOST;
		l->lost_at = now;
		c->state.losses++;
		note_state(l, now, true);
	}
	/* From the first unanswered echo on, not only once the gateway counts
	 * as lost: a replaced gateway pod is followed before the hysteresis
	 * runs out. Not for a mere pause in traffic (a miss the echo sent now
	 * ends): that would ask the cluster DNS, and the gateway, after each
	 * burst. Quietly: the state changes are logged. */
	if (t.echo_lost)
		l->suspect = true;
	if (l->misses == 0)
		l->suspect = false;
	if (l->misses > 0 && (l->suspect || l->health == LOST || l->misses >= PG_FAILOVER_MISSES) &&
	    (now >= l->next_resolve || l->misses == PG_FAILOVER_MISSES))
		try_resolve(l, now);
	if (l->misses == 0) /* moved to a sibling */
		l->suspect = false;
	/* While lost, a JOIN asking for our address: a restarted gateway that
	 * kept our lease answers it as a renewal, one that lost it grants the
	 * same address again. An unanswered RENEW is sent again. */
	if (l->health == LOST || l->suspect || l->awaiting || now >= l->next_renew) {
		pg_member_send(c->member, l->health == LOST ? PG_MSG_JOIN : PG_MSG_RENEW,
			       pg_prefix_v4(&c->grant.addr));
		l->awaiting = true;
	}
	l->next_keepalive = now + cfg->keepalive_interval;
}

static bool neigh_matches(struct pg_client *c)
{
	uint8_t mac[6];
	uint16_t state = 0;

	return pg_neigh_get(c->rt, c->vxlan_ifindex, &c->grant.gateway, mac, &state) == 0 &&
	       memcmp(mac, c->grant.gateway_mac, 6) == 0 && (state & NUD_PERMANENT);
}

/* Default routes other than ours (IPv6 ones included) are removed, ours is
 * put back. */
static int repair_routes(struct pg_client *c, bool *did)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct pg_route def = {.oif = c->vxlan_ifindex, .gw = c->grant.gateway};
	bool ours = false, ours6 = false;

	for (size_t f = 0; f < 2; f++) {
		struct pg_route routes[MAX_DEFAULT_ROUTES];
		size_t n = 0;

		if (pg_route_defaults(c->rt, families[f], routes, MAX_DEFAULT_ROUTES, &n) < 0)
			continue;
		for (size_t i = 0; i < n && i < MAX_DEFAULT_ROUTES; i++) {
			if (families[f] == AF_INET && routes[i].oif == c->vxlan_ifindex &&
			    memcmp(routes[i].gw.bytes, c->grant.gateway.bytes, 4) == 0) {
				ours = true;
				continue;
			}
			if (client_v6_route_is_ours(c, &routes[i])) {
				ours6 = true;
				continue;
			}
			pg_route_del(c->rt, &routes[i]);
			*did = true;
		}
	}
	if (c->v6_on && !ours6) {
		*did = true;
		client_v6_route_add(c);
	}
	if (!ours) {
		def.dst.family = AF_INET;
		*did = true;
		return pg_route_add(c->rt, &def, true);
	}
	return 0;
}

/* keep_local and create_tunnel record undo entries for a failed setup;
 * in the sidecar they mean nothing once a step is done. */
static void forget_undo(struct pg_client *c)
{
	free(c->undo);
	c->undo = NULL;
	c->n_undo = 0;
}

/* One repair pass: what the link looks like. */
struct pass {
	struct pg_link_info link;
	bool link_kept; /* ours: its state, address and entries are checked */
};

struct check {
	const char *what; /* as logged in "repaired: ..." */
	unsigned when;	  /* PG_CHANGED_* bits that call for it; 0: every pass */
	bool (*fix)(struct pg_client *c, struct pass *p);
};

/* A link gone or not ours any more is made again, with all it carries. */
static bool fix_link(struct pg_client *c, struct pass *p)
{
	int r = pg_link_get(c->rt, c->cfg->vxlan_if, &p->link);
	bool replace =
	    r == -ENODEV ||
	    (r == 0 && (p->link.ifindex != c->vxlan_ifindex || strcmp(p->link.kind, "vxlan") != 0));
	bool made;

	p->link_kept = r == 0 && !replace;
	if (!replace)
		return false;
	if (r == 0)
		pg_link_delete(c->rt, p->link.ifindex);
	made = client_create_tunnel(c) == PG_EXIT_OK;
	forget_undo(c);
	return made;
}

static bool fix_link_up(struct pg_client *c, struct pass *p)
{
	return p->link_kept && !p->link.up && pg_link_set_up(c->rt, c->vxlan_ifindex, true) == 0;
}

static bool fix_address(struct pg_client *c, struct pass *p)
{
	return p->link_kept && pg_addr_add(c->rt, c->vxlan_ifindex, &c->grant.addr) == 0;
}

static bool fix_neighbour(struct pg_client *c, struct pass *p)
{
	static const uint8_t zero_mac[6];
	bool fixed;

	if (!p->link_kept)
		return false;
	fixed = !neigh_matches(c) &&
		pg_neigh_add(c->rt, c->vxlan_ifindex, &c->grant.gateway, c->grant.gateway_mac) == 0;
	/* Appending an entry that exists changes nothing: no check needed,
	 * and nothing to report. */
	pg_fdb_add(c->rt, c->vxlan_ifindex, zero_mac, &c->gw_pod_ip);
	return fixed;
}

static bool fix_v6(struct pg_client *c, struct pass *p)
{
	return p->link_kept && client_v6_repair(c);
}

static bool fix_default_route(struct pg_client *c, struct pass *p)
{
	bool did = false;

	return repair_routes(c, &did) == 0 && did;
}

static bool fix_gateway_route(struct pg_client *c, struct pass *p)
{
	struct pg_route path;

	return pg_route_lookup(c->rt, &c->gw_pod_ip, &path) == 0 && path.oif != c->path.oif &&
	       client_keep_local(c, &c->gw_pod_ip, &c->path) == PG_EXIT_OK;
}

static bool fix_guard(struct pg_client *c, struct pass *p)
{
	return client_install_guard(c) == PG_EXIT_OK;
}

/* In this order: the link first, since a new one carries everything. */
static const struct check checks[] = {
    {"vxlan link", 0, fix_link},
    {"link up", 0, fix_link_up},
    {"address", 0, fix_address},
    {"gateway neighbour", 0, fix_neighbour},
    {"IPv6 address or neighbour", 0, fix_v6},
    {"default route", 0, fix_default_route},
    {"route to the gateway", 0, fix_gateway_route},
    {"guard table", PG_CHANGED_NFT, fix_guard},
};

/* Checks everything the tunnel needs and puts back what is missing. Each
 * step is a no-op (and so makes no notification) when all is right. */
static void repair(struct loop *l)
{
	struct pg_client *c = l->c;
	struct pass p = {0};
	char what[160] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *k = &checks[i];

		if ((k->when && !(l->pending & k->when)) || !k->fix(c, &p))
			continue;
		n += (size_t)snprintf(what + n, n < sizeof(what) ? sizeof(what) - n : 0, "%s%s",
				      n ? ", " : "", k->what);
	}
	forget_undo(c);
	if (n) {
		pg_info("repaired: %s", what);
		c->state.repairs++;
		note_state(l, pg_monotonic_ms(), true);
	}
	l->pending = 0;
}

static int open_monitor(struct pg_client *c)
{
	static const char *const tables[] = {PG_GUARD_TABLE};
	int r = pg_monitor_open(pg_rtnl_portid(c->rt), pg_nft_portid(c->nft), NFPROTO_INET, tables,
				1, &c->monitor);

	if (r < 0)
		pg_warn("watching for changes: %s; repairs wait for keepalives", strerror(-r));
	return r;
}

/* SIGTERM and SIGINT end the run, releasing the lease. */
static bool stop_signal(struct pg_client *c, int sigfd)
{
	int sig = pg_signals_read(sigfd);

	if (sig != SIGTERM && sig != SIGINT)
		return false;
	pg_info("%s: releasing the lease; the pod stays fail-closed", strsignal(sig));
	client_release(c);
	return true;
}

/* Foreign changes: a burst of them costs one repair pass. */
static void watch_changes(struct loop *l, uint64_t now)
{
	unsigned changed = 0;

	if (pg_monitor_read(l->c->monitor, &changed) < 0 || !changed)
		return;
	if (!l->pending)
		l->repair_due = now + REPAIR_DEBOUNCE_MS;
	l->pending |= changed;
}

int pg_client_run(struct pg_client *c, int sigfd)
{
	struct loop l = {.c = c, .health = HEALTHY, .backoff_ms = c->cfg->keepalive_interval};
	uint64_t now = pg_monotonic_ms();
	struct pg_link_info link;
	bool rx_ok = pg_link_get_index(c->rt, c->vxlan_ifindex, &link) == 0;

	pg_liveness_start(&l.live, rx_ok, rx_ok ? link.rx_packets : 0);
	pg_probe_drain(c->probe, pg_prefix_v4(&c->grant.gateway)); /* the setup's check */
	l.next_keepalive = now + c->cfg->keepalive_interval;
	l.next_renew = now + pg_renew_interval_ms(c->grant.lease_time, c->cfg->keepalive_interval);
	c->state.since = (uint64_t)time(NULL);
	note_state(&l, now, true);
	open_monitor(c);
	for (;;) {
		struct pollfd pfd[4] = {
		    {.fd = sigfd, .events = POLLIN},
		    {.fd = pg_member_fd(c->member), .events = POLLIN},
		    {.fd = c->monitor ? pg_monitor_fd(c->monitor) : -1, .events = POLLIN},
		    {.fd = pg_probe_fd(c->probe), .events = POLLIN},
		};
		uint64_t due = l.next_keepalive;
		struct pg_answer a;
		bool unverified = false;

		if (l.pending && l.repair_due < due)
			due = l.repair_due;
		if (l.echo_again_at && l.echo_again_at < due)
			due = l.echo_again_at;
		now = pg_monotonic_ms();
		if (poll(pfd, 4, due > now ? (int)(due - now) : 0) < 0 && errno != EINTR) {
			pg_err("poll: %s", strerror(errno));
			return PG_EXIT_RUNTIME;
		}
		now = pg_monotonic_ms();
		if ((pfd[0].revents & POLLIN) && stop_signal(c, sigfd))
			return PG_EXIT_OK;
		while (pg_member_receive(c->member, &a, &unverified) > 0) {
			on_answer(&l, &a, now);
			note_state(&l, now, false);
		}
		if (pfd[3].revents)
			echo_replies(&l, now);
		if (pfd[2].revents & POLLIN)
			watch_changes(&l, now);
		if (l.pending && now >= l.repair_due)
			repair(&l);
		if (l.echo_again_at && now >= l.echo_again_at) {
			if (!l.live.replies)
				pg_probe_send(c->probe, pg_prefix_v4(&c->grant.gateway));
			l.echo_again_at = 0;
		}
		if (now >= l.next_keepalive)
			keepalive(&l, now);
	}
}
