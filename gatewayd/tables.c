/* SPDX-License-Identifier: MIT */
/* The gateway's two nftables tables in the kernel: installed whole,
 * replaced whole (nat.conf, repair), deleted on exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <string.h>

#include "common/log.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/traffic.h"

static int commit(struct pg_gateway *gw, struct pg_nft_table *t, const char *name)
{
	int r = t ? pg_nft_table_error(t) : -ENOMEM;

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
int gw_replace_table(struct pg_gateway *gw)
{
	pg_traffic_read(gw->traffic, gw->nft, PG_GATEWAY_TABLE);
	return commit(
	    gw, pg_gateway_ruleset_counted(gw->cfg, gw->pool, gw->traffic, &gw->underlay_nets),
	    PG_GATEWAY_TABLE);
}

/* The guard first, so that no moment has forwarding without it. */
int gw_install_tables(struct pg_gateway *gw)
{
	int r = commit(gw, pg_gateway_guard(gw->cfg), PG_GATEWAY_GUARD_TABLE);

	return r < 0 ? r : gw_replace_table(gw);
}

void gw_delete_tables(struct pg_gateway *gw)
{
	static const char *const names[] = {PG_GATEWAY_TABLE, PG_GATEWAY_GUARD_TABLE};
	int r;

	for (size_t i = 0; gw->table_created && i < 2; i++)
		if ((r = pg_nft_table_delete(gw->nft, NFPROTO_INET, names[i])) < 0 && r != -ENOENT)
			pg_warn("deleting nftables table inet %s: %s", names[i], strerror(-r));
}
