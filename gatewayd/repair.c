/* SPDX-License-Identifier: MIT */
/* Puts back what someone else removed or changed: the link (and with it
 * every lease's FDB and neighbour entries), its address, the table (and
 * with it the set elements), the VPN_LOCAL_CIDRS routes, leases' entries.
 * Each check is read-only or a no-op when all is right. The change monitor
 * says what kind of thing changed; a burst of changes costs one pass. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/loop.h"
#include "gatewayd/pool.h"
#include "netlink/monitor.h"
#include "netlink/nft.h"

#define REPAIR_DEBOUNCE_MS 20 /* a burst of foreign changes, one repair */
#define LEASE_PASS_MS	   500

/* One pass: what the monitor said changed, and what the link looks like. */
struct pass {
	unsigned changed;
	struct pg_vxlan vx;
	struct pg_prefix addr;
	struct pg_link_info link;
	bool link_kept; /* ours, as wanted: its address and state are checked */
};

/* A check returns how many things it put back (0: all was right). */
struct check {
	const char *what; /* as logged in "repaired: ..." */
	enum pg_repair stat;
	unsigned when; /* PG_CHANGED_* bits that call for it; 0: every pass */
	size_t (*fix)(struct pg_gateway *gw, struct pass *p);
};

/* A link gone or not ours any more is made again; its FDB and neighbour
 * entries went with it. */
static size_t fix_link(struct pg_gateway *gw, struct pass *p)
{
	int r = pg_link_get(gw->rt, gw->cfg->vxlan_if, &p->link);
	bool replace = r == -ENODEV || (r == 0 && (p->link.ifindex != gw->vxlan_ifindex ||
						   !gw_link_matches(&p->link, &p->vx)));

	p->link_kept = r == 0 && !replace;
	if (!replace)
		return 0;
	if (r == 0)
		pg_link_delete(gw->rt, p->link.ifindex);
	gw->vxlan_ifindex = 0;
	p->changed |= PG_CHANGED_NEIGH;
	if (gw_create_link(gw, &p->vx, &p->addr) < 0)
		return 0;
	gw->admission.vxlan_ifindex = gw->vxlan_ifindex;
	return 1;
}

static size_t fix_link_up(struct pg_gateway *gw, struct pass *p)
{
	return p->link_kept && !p->link.up && pg_link_set_up(gw->rt, gw->vxlan_ifindex, true) == 0;
}

static size_t fix_address(struct pg_gateway *gw, struct pass *p)
{
	if (!p->link_kept)
		return 0;
	return (pg_addr_add(gw->rt, gw->vxlan_ifindex, &p->addr) == 0) +
	       gw_overlay6_fix_address(gw);
}

static size_t fix_tables(struct pg_gateway *gw, struct pass *p)
{
	return gw_install_tables(gw) == 0;
}

static size_t fix_routes(struct pg_gateway *gw, struct pass *p)
{
	return gw_restore_local_routes(gw) > 0;
}

struct regrant {
	struct pg_gateway *gw;
	size_t repaired;
};

static int regrant_lease(const struct pg_lease *l, void *arg)
{
	struct regrant *g = arg;
	struct pg_gateway *gw = g->gw;
	struct pg_prefix overlay;
	uint8_t mac[6];
	uint16_t state = 0;
	int r;

	pg_prefix_from_v4(&overlay, l->addr, 32);
	/* Checked first: rewriting a correct entry would notify, and wake us. */
	r = pg_neigh_get(gw->rt, gw->vxlan_ifindex, &overlay, mac, &state);
	if (r == 0 && memcmp(mac, l->mac, 6) == 0 && (state & NUD_PERMANENT) &&
	    pg_overlay6_admitted(&gw->v6, &gw->admission, l)) {
		struct pg_prefix pod;

		/* Appending an entry that exists changes nothing and is
		 * silent, so this needs no check of its own. */
		pod = l->pod_ip;
		pg_fdb_add(gw->rt, gw->vxlan_ifindex, l->mac, &pod);
		return 0;
	}
	if (pg_admission_grant(&gw->admission, l) == 0)
		g->repaired++;
	return 0;
}

static size_t fix_lease_entries(struct pg_gateway *gw, struct pass *p)
{
	struct regrant g = {gw, 0};

	pg_pool_foreach(gw->pool, regrant_lease, &g);
	return g.repaired;
}

/* In this order: the link first, since a new link needs every lease's
 * entries again. */
static const struct check checks[] = {
    {"vxlan link", PG_REPAIR_LINK, 0, fix_link},
    {"link up", PG_REPAIR_LINK_UP, 0, fix_link_up},
    {"address", PG_REPAIR_ADDRESS, 0, fix_address},
    {"nftables tables", PG_REPAIR_TABLES, PG_CHANGED_NFT, fix_tables},
    {"VPN_LOCAL_CIDRS routes", PG_REPAIR_ROUTES, PG_CHANGED_ROUTE, fix_routes},
    {"lease entries", PG_REPAIR_LEASE_ENTRIES, PG_CHANGED_NEIGH | PG_CHANGED_LINK,
     fix_lease_entries},
};

static void repair(struct pg_gateway *gw, unsigned changed)
{
	struct pass p = {.changed = changed};
	char what[160] = "";
	size_t n = 0;

	gw_wanted_link(gw, &p.vx, &p.addr);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *c = &checks[i];
		size_t fixed;

		if (c->when && !(p.changed & c->when))
			continue;
		fixed = c->fix(gw, &p);
		if (!fixed)
			continue;
		gw->stats.repairs[c->stat] += fixed;
		n += (size_t)snprintf(what + n, n < sizeof(what) ? sizeof(what) - n : 0, "%s%s",
				      n ? ", " : "", c->what);
	}
	if (n)
		pg_info("repaired: %s", what);
}

/* ---- the loop's source: the change monitor, debounced ---- */

void gw_repair_open(struct pg_gateway *gw)
{
	static const char *const tables[] = {PG_GATEWAY_TABLE, PG_GATEWAY_GUARD_TABLE};
	int r = pg_monitor_open(pg_rtnl_portid(gw->rt), pg_nft_portid(gw->nft), NFPROTO_INET,
				tables, 2, &gw->repair.mon);

	if (r < 0)
		pg_warn("watching for changes: %s; nothing will be repaired", strerror(-r));
}

void gw_repair_close(struct pg_gateway *gw)
{
	pg_monitor_close(gw->repair.mon);
	gw->repair.mon = NULL;
}

static int repair_tick(void *ctx)
{
	const struct gw_repair_state *s = &((struct pg_gateway *)ctx)->repair;
	uint64_t now = pg_monotonic_ms();

	if (!s->pending)
		return -1;
	return s->due > now ? (int)(s->due - now) : 0;
}

static void repair_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct gw_repair_state *s = &((struct pg_gateway *)ctx)->repair;

	*pfd = (struct pollfd){.fd = s->mon ? pg_monitor_fd(s->mon) : -1, .events = POLLIN};
}

static int repair_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_gateway *gw = ctx;
	struct gw_repair_state *s = &gw->repair;
	uint64_t now = pg_monotonic_ms();
	unsigned changed = 0, lease_bits;

	if ((pfd->revents & POLLIN) && pg_monitor_read(s->mon, &changed) == 0 && changed) {
		if (!s->pending)
			s->due = now + REPAIR_DEBOUNCE_MS;
		s->pending |= changed;
	}
	if (!s->pending || now < s->due)
		return 0;
	/* Our own FDB changes come back as foreign events (the kernel does not
	 * stamp them), so the per-lease pass runs at most every LEASE_PASS_MS
	 * during a burst of joins. */
	lease_bits = s->pending & (PG_CHANGED_NEIGH | PG_CHANGED_LINK);
	if (lease_bits && now < s->last_lease_pass + LEASE_PASS_MS) {
		repair(gw, s->pending & ~lease_bits);
		s->pending = lease_bits;
		s->due = s->last_lease_pass + LEASE_PASS_MS;
		return 0;
	}
	repair(gw, s->pending);
	if (lease_bits)
		s->last_lease_pass = now;
	s->pending = 0;
	return 0;
}

void gw_repair_source(struct pg_gateway *gw, struct pg_source *out)
{
	*out = (struct pg_source){.name = "repair",
				  .ctx = gw,
				  .nfds = 1,
				  .tick = repair_tick,
				  .poll_fds = repair_poll_fds,
				  .handle = repair_handle};
}
