/* SPDX-License-Identifier: MIT */
/* The run: the event loop's sources, in the order they are handled. */
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/dns.h"
#include "gatewayd/events.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/http.h"
#include "gatewayd/loop.h"
#include "gatewayd/membership.h"

struct signals {
	struct pg_gateway *gw;
	int fd;
};

static void signals_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct signals *s = ctx;

	*pfd = (struct pollfd){.fd = s->fd, .events = POLLIN};
}

/* SIGTERM and SIGINT end the run; SIGHUP reloads nat.conf. */
static int signals_handle(void *ctx, const struct pollfd *pfd)
{
	struct signals *s = ctx;
	int sig;

	if (!(pfd->revents & POLLIN))
		return 0;
	sig = pg_signals_read(s->fd);
	if (sig == SIGTERM || sig == SIGINT) {
		pg_info("%s: removing what was set up", strsignal(sig));
		return 1;
	}
	if (sig == SIGHUP)
		gw_reload_nat_conf(s->gw, "SIGHUP");
	return 0;
}

int pg_gateway_run(struct pg_gateway *gw, int sigfd)
{
	struct signals sig = {gw, sigfd};
	struct pg_source src[8];
	size_t n = 0;
	int r;

	/* Opened before the first pass, so no change slips in between. */
	gw_repair_open(gw);
	src[n++] = (struct pg_source){.name = "signals",
				      .ctx = &sig,
				      .nfds = 1,
				      .poll_fds = signals_poll_fds,
				      .handle = signals_handle};
	pg_membership_source(gw->membership, &src[n++]);
	if (gw->dns)
		pg_dns_source(gw->dns, &src[n++]);
	if (gw->events)
		pg_events_source(gw->events, &src[n++]);
	if (gw->metrics)
		pg_http_source(gw->metrics, "metrics", &src[n++]);
	if (gw->status)
		pg_http_source(gw->status, "status", &src[n++]);
	if (gw->nat_watch)
		gw_nat_conf_source(gw, &src[n++]);
	if (gw->repair.mon)
		gw_repair_source(gw, &src[n++]);
	r = pg_loop_run(src, n, &gw->loop_turns);
	gw_repair_close(gw);
	return r < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
}
