/* SPDX-License-Identifier: MIT */
/* The overlay's IPv6, when the gateway grants it (ADDR6 and GATEWAY6 in a
 * GRANT): the address on the vxlan link without duplicate address
 * detection, the gateway's permanent neighbour (its MAC is GATEWAY's) and
 * the IPv6 default route through the tunnel. Without it IPv6 stays
 * blocked as it always was: no IPv6 default route, and the guard lets
 * IPv6 out of the pod network only to the cluster. Every GRANT may add,
 * move or withdraw it. */
#include <errno.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>

#include "clientd/client-internal.h"
#include "common/log.h"
#include "common/sockaddr.h"

static bool same_prefix(const struct pg_prefix *a, const struct pg_prefix *b)
{
	return pg_addr_equal(a, b) && a->len == b->len;
}

static struct pg_route default6(const struct pg_client *c, const struct pg_prefix *gateway6)
{
	struct pg_route def = {.oif = c->vxlan_ifindex, .gw = *gateway6};

	def.dst.family = AF_INET6;
	return def;
}

/* What c->v6 put in the kernel, taken out; what is gone already is no
 * error. */
static void withdraw(struct pg_client *c)
{
	struct pg_route def = default6(c, &c->v6.gateway6);

	if (!c->v6_on)
		return;
	pg_route_del(c->rt, &def);
	pg_neigh_del(c->rt, c->vxlan_ifindex, &c->v6.gateway6);
	pg_addr_del(c->rt, c->vxlan_ifindex, &c->v6.addr6);
	c->v6_on = false;
}

/* Address, neighbour, route: each done over is no change. */
static int install(struct pg_client *c, const struct pg_grant *g)
{
	struct pg_route def = default6(c, &g->gateway6);
	int r;

	/* Without DAD the address is usable at once, and the link (which has
	 * no link-local address) sends no neighbour solicitation for it. */
	r = pg_addr_add_flags(c->rt, c->vxlan_ifindex, &g->addr6, IFA_F_NODAD);
	if (r < 0 && r != -EEXIST)
		return r;
	/* The gateway told us its MAC: no neighbour discovery in the tunnel. */
	if ((r = pg_neigh_add(c->rt, c->vxlan_ifindex, &g->gateway6, g->gateway_mac)) < 0)
		return r;
	return pg_route_add(c->rt, &def, true);
}

static void say_routed(const struct pg_client *c)
{
	char a[PG_PREFIX_STRLEN], b[PG_PREFIX_STRLEN];

	pg_info("IPv6: routed through the gateway as %s via %s",
		pg_prefix_fmt(&c->v6.addr6, a, true), pg_prefix_fmt(&c->v6.gateway6, b, false));
}

static void say_none(struct pg_client *c)
{
	if (!c->v6_none_said)
		pg_info("IPv6: the gateway grants none (its egress has no IPv6): IPv6 stays "
			"blocked");
	c->v6_none_said = true;
}

static void say_refused(const struct pg_client *c, int r, const char *text)
{
	char a[PG_PREFIX_STRLEN];

	pg_warn("IPv6: %s through the tunnel: %s%s%s: IPv6 stays blocked",
		pg_prefix_fmt(&c->v6.addr6, a, true), strerror(-r), *text ? ": " : "", text);
}

int client_follow_v6(struct pg_client *c, const struct pg_grant *g)
{
	bool same =
	    same_prefix(&c->v6.addr6, &g->addr6) && same_prefix(&c->v6.gateway6, &g->gateway6);
	bool moved = !c->v6_on || !same_prefix(&c->v6.addr6, &g->addr6);
	int r;

	/* Unchanged, or refused before (said once: a pod whose IPv6 is
	 * disabled stays so). */
	if (g->has_v6 && same &&
	    ((c->v6_on && memcmp(c->v6.gateway_mac, g->gateway_mac, 6) == 0) || c->v6_failed))
		return 0;
	if (!g->has_v6) {
		if (c->v6_on && c->v6_loud)
			pg_warn("IPv6: the gateway withdrew it: IPv6 blocked again");
		withdraw(c);
		c->v6_failed = false;
		if (c->v6_loud)
			say_none(c);
		return 0;
	}
	/* Another address or gateway: the old ones go first, so the route
	 * never points at a gateway the link has no neighbour for. */
	if (c->v6_on && !same)
		withdraw(c);
	c->v6 = *g;
	r = install(c, g);
	if (r < 0) {
		if (c->v6_loud)
			say_refused(c, r, pg_rtnl_errmsg(c->rt));
		c->v6_on = true;
		withdraw(c);
		c->v6_failed = true;
		c->v6_err = r;
		return r;
	}
	c->v6_on = true;
	c->v6_failed = false;
	c->v6_none_said = false;
	if (moved && c->v6_loud)
		say_routed(c);
	return 0;
}

void client_v6_say(struct pg_client *c)
{
	c->v6_loud = true;
	if (c->v6_on)
		say_routed(c);
	else if (c->v6_failed)
		say_refused(c, c->v6_err, "");
	else
		say_none(c);
}

bool client_v6_neigh_ok(struct pg_client *c)
{
	uint8_t mac[6];
	uint16_t state = 0;

	return !c->v6_on ||
	       (pg_neigh_get(c->rt, c->vxlan_ifindex, &c->v6.gateway6, mac, &state) == 0 &&
		memcmp(mac, c->v6.gateway_mac, 6) == 0 && (state & NUD_PERMANENT));
}

bool client_v6_route_is_ours(const struct pg_client *c, const struct pg_route *r)
{
	return c->v6_on && r->dst.family == AF_INET6 && r->oif == c->vxlan_ifindex &&
	       same_prefix(&r->gw, &c->v6.gateway6);
}

int client_v6_route_add(struct pg_client *c)
{
	struct pg_route def = default6(c, &c->v6.gateway6);

	return c->v6_on ? pg_route_add(c->rt, &def, true) : 0;
}

bool client_v6_repair(struct pg_client *c)
{
	bool did = false;

	if (!c->v6_on)
		return false;
	if (pg_addr_add_flags(c->rt, c->vxlan_ifindex, &c->v6.addr6, IFA_F_NODAD) == 0)
		did = true;
	if (!client_v6_neigh_ok(c) &&
	    pg_neigh_add(c->rt, c->vxlan_ifindex, &c->v6.gateway6, c->v6.gateway_mac) == 0)
		did = true;
	return did;
}
