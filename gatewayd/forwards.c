/* SPDX-License-Identifier: MIT */
#include "gatewayd/forwards.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FORWARD_STRLEN sizeof("tcp:65535->255.255.255.255:65535")

/* Without a VPN the egress is the underlay, where the gateway's own UDP
 * ports carry the tunnel and the membership service: a forward of one
 * would steal them. */
static bool forward_clashes(const struct pg_config *cfg, const struct pg_natconf *c,
			    struct pg_natconf_error *e)
{
	const struct {
		unsigned port;
		const char *why;
	} own[] = {
	    {cfg->vxlan_port, "is the gateway's VXLAN_PORT on the egress interface"},
	    {cfg->control_port, "is the gateway's GATEWAY_CONTROL_PORT on the egress interface"},
	};

	if (cfg->vpn_if[0])
		return false;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		const struct pg_forward *f =
		    pg_natconf_find_forward(c, IPPROTO_UDP, (uint16_t)own[i].port);

		if (!f)
			continue;
		e->line = f->line;
		e->field = "port";
		snprintf(e->value, sizeof(e->value), "udp:%u", own[i].port);
		e->why = own[i].why;
		return true;
	}
	return false;
}

int pg_forwards_read(const struct pg_config *cfg, enum pg_log_level level, const char *then,
		     struct pg_natconf **out)
{
	struct pg_natconf_error e;
	const char *path = cfg->nat_conf;
	int r = pg_natconf_load(&cfg->overlay, path, out, &e);

	if (r == 0 && forward_clashes(cfg, *out, &e)) {
		pg_natconf_free(*out);
		*out = NULL;
		r = -EINVAL;
	}
	if (r == 0)
		return 0;
	if (!e.why)
		e.why = strerror(-r);
	if (!e.line)
		pg_log(level, "NAT_CONF_FILE: '%s': %s%s", path, e.why, then);
	else if (!e.field)
		pg_log(level, "NAT_CONF_FILE: '%s':%u: %s%s", path, e.line, e.why, then);
	else
		pg_log(level, "NAT_CONF_FILE: '%s':%u: %s '%s': %s%s", path, e.line, e.field,
		       e.value, e.why, then);
	return r;
}

static const char *addr_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *forward_str(const struct pg_forward *f, char buf[FORWARD_STRLEN])
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, FORWARD_STRLEN, "%s:%u->%s:%u", f->proto == IPPROTO_TCP ? "tcp" : "udp",
		 f->port, addr_str(f->addr, a), f->to_port);
	return buf;
}

static bool same_forward(const struct pg_forward *a, const struct pg_forward *b)
{
	return a->to_port == b->to_port && a->addr.s_addr == b->addr.s_addr;
}

static void log_reservations(const struct pg_natconf *old, const struct pg_natconf *now)
{
	const struct pg_reservation *r;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	size_t n = pg_natconf_reservations(now, &r);

	for (size_t i = 0; i < n; i++) {
		const struct pg_reservation *o = pg_natconf_find(old, r[i].name);

		if (!o)
			pg_info("NAT_CONF_FILE: %s reserved for %s", addr_str(r[i].addr, a),
				r[i].name);
		else if (o->index != r[i].index)
			pg_info("NAT_CONF_FILE: %s's reservation moved from %s to %s: it applies "
				"when %s next joins, a live lease keeps its address",
				r[i].name, addr_str(o->addr, a), addr_str(r[i].addr, b), r[i].name);
	}
	n = pg_natconf_reservations(old, &r);
	for (size_t i = 0; i < n; i++)
		if (!pg_natconf_find(now, r[i].name))
			pg_info(
			    "NAT_CONF_FILE: %s is no longer reserved for %s (a live lease keeps "
			    "it)",
			    addr_str(r[i].addr, a), r[i].name);
}

static void log_forwards(const struct pg_natconf *old, const struct pg_natconf *now)
{
	const struct pg_forward *f;
	char a[FORWARD_STRLEN], b[FORWARD_STRLEN];
	size_t n = pg_natconf_forwards(now, &f);

	for (size_t i = 0; i < n; i++) {
		const struct pg_forward *o = pg_natconf_find_forward(old, f[i].proto, f[i].port);

		if (!o)
			pg_info("NAT_CONF_FILE: forwarding %s (%s)", forward_str(&f[i], a),
				f[i].name);
		else if (!same_forward(o, &f[i]))
			pg_info("NAT_CONF_FILE: forwarding %s (%s) instead of %s",
				forward_str(&f[i], a), f[i].name, forward_str(o, b));
	}
	n = pg_natconf_forwards(old, &f);
	for (size_t i = 0; i < n; i++)
		if (!pg_natconf_find_forward(now, f[i].proto, f[i].port))
			pg_info("NAT_CONF_FILE: no longer forwarding %s (%s)",
				forward_str(&f[i], a), f[i].name);
}

void pg_forwards_log_changes(const struct pg_natconf *old, const struct pg_natconf *now)
{
	log_reservations(old, now);
	log_forwards(old, now);
}
