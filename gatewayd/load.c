/* SPDX-License-Identifier: MIT */
/* What gatewayd reads at start: the membership key, nat.conf and the
 * persisted leases, before the kernel is touched, so that a bad file
 * changes nothing; then the restored leases are given back to the kernel. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/gateway.h"
#include "gatewayd/leaseclock.h"
#include "gatewayd/pool.h"

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

/* One check for a start and for --check-config: what one refuses, the
 * other does too. */
static int read_key(const struct pg_config *cfg, struct pg_key *key, bool *have)
{
	const char *why = "";

	*have = false;
	if (!cfg->key_file[0]) {
		pg_warn("MEMBERSHIP_KEY_FILE is not set: any pod that reaches port %u may join",
			cfg->control_port);
		return PG_EXIT_OK;
	}
	if (pg_key_load(cfg->key_file, key, &why) < 0) {
		pg_err("MEMBERSHIP_KEY_FILE: '%s': %s", cfg->key_file, why);
		return PG_EXIT_CONFIG;
	}
	*have = true;
	return PG_EXIT_OK;
}

int pg_gateway_check_key(const struct pg_config *cfg)
{
	struct pg_key key;
	bool have;
	int r;

	if (!cfg->key_file[0])
		return PG_EXIT_OK;
	/* A Secret exists only where the pod runs: a check elsewhere (of a
	 * manifest's settings) cannot read it. Quietly, so that the printed
	 * settings stay a settings file. */
	if (access(cfg->key_file, F_OK) < 0 && errno == ENOENT)
		return PG_EXIT_OK;
	r = read_key(cfg, &key, &have);

	sodium_memzero(&key, sizeof(key));
	return r;
}

static int load_key(struct pg_gateway *gw)
{
	return read_key(gw->cfg, &gw->key, &gw->have_key);
}

/* A file that cannot be read costs the leases, never the start. */
static void load_leases(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	unsigned line = 0;
	int r;

	if (!cfg->leases_file[0])
		return;
	ensure_parent_dir(cfg->leases_file);
	r = pg_pool_load(gw->pool, cfg->leases_file, pg_lease_clock_s(), (uint64_t)time(NULL),
			 cfg->lease_time, &line);
	if (r == -EBADMSG)
		pg_warn("LEASES_FILE: '%s':%u: corrupt, set aside as %s.corrupt; clients "
			"rejoin asking for their addresses",
			cfg->leases_file, line, cfg->leases_file);
	else if (r < 0)
		pg_warn("LEASES_FILE: '%s': %s; starting without leases", cfg->leases_file,
			strerror(-r));
	else if (pg_pool_count(gw->pool))
		pg_info("restored %zu leases from %s", pg_pool_count(gw->pool), cfg->leases_file);
}

/* Reservations and port forwards before the leases: a restored lease on
 * an address now reserved for another name is dropped. */
int gw_load_state(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	int r;

	if ((r = load_key(gw)) != PG_EXIT_OK)
		return r;
	r = pg_pool_new(&cfg->overlay, cfg->first_dynamic, &gw->pool);
	if (r < 0) {
		pg_err("VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '%u': %s", cfg->first_dynamic,
		       strerror(-r));
		return PG_EXIT_CONFIG;
	}
	if (pg_pool_set_reservation_namespace(gw->pool, cfg->nat_conf_namespace) < 0) {
		pg_err("NAT_CONF_NAMESPACE: '%s': not a namespace", cfg->nat_conf_namespace);
		return PG_EXIT_CONFIG;
	}
	if ((r = gw_load_nat_conf(gw)) != PG_EXIT_OK)
		return r;
	load_leases(gw);
	return PG_EXIT_OK;
}

static int collect_lease(const struct pg_lease *l, void *arg)
{
	struct pg_lease **next = arg;

	*(*next)++ = *l;
	return 0;
}

/* A restored lease that cannot be served again goes at once, with its
 * kernel elements (a table that survived us may still hold them). */
static void drop_restored(struct pg_gateway *gw, const struct pg_lease *l, const char *why)
{
	struct pg_lease ended;

	pg_pool_release(gw->pool, l->id, &ended);
	pg_admission_revoke(&gw->admission, l, pg_pool_count_pod_ip(gw->pool, l->pod_ip) > 0);
	pg_warn("dropped the restored lease of %s: %s", l->id, why);
}

/* Restored leases keep the time they had left (saved with renewals now
 * and then, see membership.c): one whose time ran out while we were away
 * expires at the first tick. Each counts as renewed now, so that nobody
 * can take it over from another pod IP before its client renewed it. Then
 * the kernel is told about each. */
int gw_restore_leases(struct pg_gateway *gw)
{
	size_t n = pg_pool_count(gw->pool);
	struct pg_lease *leases = n ? calloc(n, sizeof(*leases)) : NULL, *next = leases;
	uint64_t now = pg_lease_clock_ms();

	if (n && !leases)
		return -ENOMEM;
	pg_pool_foreach(gw->pool, collect_lease, &next);
	for (size_t i = 0; i < n; i++) {
		const struct pg_lease *l = &leases[i];
		struct pg_lease granted;
		int r;

		/* Saved while the tunnel ran over the other family (UNDERLAY_FAMILY
		 * changed, or auto chose otherwise): its client cannot reach us
		 * from that pod IP, and held, it would refuse the client's JOIN
		 * from its new one until it expired. */
		if (l->pod_ip.family != gw->underlay_family) {
			drop_restored(gw, l, "its pod IP is not of the tunnel's family");
			continue;
		}
		r = pg_pool_acquire(gw->pool, l->id, l->id, l->addr, l->mac, l->pod_ip, l->expires,
				    &granted, NULL, NULL);

		/* A reservation loaded since may have moved it: the old address's
		 * elements came with the table and must go. */
		if (r == 0 && granted.addr.s_addr != l->addr.s_addr)
			pg_admission_revoke(&gw->admission, l, true);
		if (r == 0) {
			pg_pool_touch(gw->pool, l->id, now);
			r = pg_admission_grant(&gw->admission, &granted);
		}
		if (r < 0)
			drop_restored(gw, l, strerror(-r));
	}
	free(leases);
	return 0;
}
