/* SPDX-License-Identifier: MIT */
/* NAT_CONF_FILE (reservations and port forwards): read at start, read
 * again on SIGHUP or when the file changes; a bad file changes nothing. */
#include <poll.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/confwatch.h"
#include "gatewayd/forwards.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/loop.h"
#include "gatewayd/natconf.h"
#include "gatewayd/pool.h"

#define NAT_CONF_SETTLE_MS 100 /* quiet time after a change before reading the file */

/* The file changes without a restart (a ConfigMap update, an edit): with
 * inotify when possible, SIGHUP always. */
static void watch_nat_conf(struct pg_gateway *gw)
{
	const char *path = gw->cfg->nat_conf;
	int r;

	if (!path[0])
		return;
	r = pg_confwatch_open(path, &gw->nat_watch);
	if (r < 0)
		pg_warn("NAT_CONF_FILE: '%s': not watched for changes (%s): send SIGHUP after "
			"changing it",
			path, strerror(-r));
}

int gw_load_nat_conf(struct pg_gateway *gw)
{
	struct pg_natconf *c;
	int r;

	if (!gw->cfg->nat_conf[0])
		return PG_EXIT_OK;
	/* watched first: a change while we start is not missed */
	watch_nat_conf(gw);
	if (pg_forwards_read(gw->cfg, PG_LOG_ERR, "", &c) < 0)
		return PG_EXIT_CONFIG;
	r = pg_pool_set_nat_conf(gw->pool, c, NULL);
	if (r < 0) {
		pg_natconf_free(c);
		pg_err("NAT_CONF_FILE: '%s': %s", gw->cfg->nat_conf, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	pg_info("NAT_CONF_FILE: '%s': reservations: %zu, port forwards: %zu", gw->cfg->nat_conf,
		pg_natconf_reservations(c, NULL), pg_natconf_forwards(c, NULL));
	return PG_EXIT_OK;
}

/* Puts the new reservations and forwards in place: the pool first, then
 * the whole table in one transaction (admitted clients' set elements come
 * with it, conntrack keeps every flow). A failure leaves the old ones. */
static int apply_nat_conf(struct pg_gateway *gw, struct pg_natconf *c)
{
	struct pg_natconf *old = NULL;
	int r = pg_pool_set_nat_conf(gw->pool, c, &old);

	if (r < 0) {
		pg_err("NAT_CONF_FILE: '%s': %s; keeping the previous one", gw->cfg->nat_conf,
		       strerror(-r));
		pg_natconf_free(c);
		return r;
	}
	r = gw_replace_table(gw);
	if (r < 0) {
		/* the pool goes back to what the kernel still has */
		if (pg_pool_set_nat_conf(gw->pool, old, &c) == 0)
			old = c;
		pg_natconf_free(old);
		return r;
	}
	pg_forwards_log_changes(old, c);
	pg_natconf_free(old);
	return 0;
}

void gw_reload_nat_conf(struct pg_gateway *gw, const char *cause)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_natconf *c;

	gw->nat_reload_due = 0;
	if (!cfg->nat_conf[0]) {
		pg_info("no NAT_CONF_FILE to reload (%s)", cause);
		return;
	}
	if (pg_forwards_read(cfg, PG_LOG_WARN, "; keeping the previous one", &c) < 0)
		return;
	if (pg_natconf_equal(c, pg_pool_nat_conf(gw->pool))) {
		pg_natconf_free(c);
		pg_info("NAT_CONF_FILE unchanged (%s)", cause);
		return;
	}
	if (apply_nat_conf(gw, c) == 0)
		pg_info("NAT_CONF_FILE reloaded (%s): reservations: %zu, port forwards: %zu", cause,
			pg_natconf_reservations(c, NULL), pg_natconf_forwards(c, NULL));
}

/* ---- the loop's source: the file's folder watched, read once quiet ---- */

static int nat_tick(void *ctx)
{
	const struct pg_gateway *gw = ctx;
	uint64_t now = pg_monotonic_ms();

	if (!gw->nat_reload_due)
		return -1;
	return gw->nat_reload_due > now ? (int)(gw->nat_reload_due - now) : 0;
}

static void nat_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct pg_gateway *gw = ctx;

	*pfd = (struct pollfd){.fd = pg_confwatch_fd(gw->nat_watch), .events = POLLIN};
}

static int nat_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_gateway *gw = ctx;
	uint64_t now = pg_monotonic_ms();

	/* a writer may need several calls: read once it went quiet */
	if ((pfd->revents & POLLIN) && pg_confwatch_read(gw->nat_watch))
		gw->nat_reload_due = now + NAT_CONF_SETTLE_MS;
	if (gw->nat_reload_due && now >= gw->nat_reload_due)
		gw_reload_nat_conf(gw, "the file changed");
	return 0;
}

void gw_nat_conf_source(struct pg_gateway *gw, struct pg_source *out)
{
	*out = (struct pg_source){.name = "nat.conf",
				  .ctx = gw,
				  .nfds = 1,
				  .tick = nat_tick,
				  .poll_fds = nat_poll_fds,
				  .handle = nat_handle};
}
