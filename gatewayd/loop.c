/* SPDX-License-Identifier: MIT */
#include "gatewayd/loop.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "common/log.h"

/* The sooner of two poll timeouts in ms (-1: none). */
static int sooner(int a, int b)
{
	return b >= 0 && (a < 0 || b < a) ? b : a;
}

/* Each source's deadline and descriptors: poll's timeout (-1: none). */
static int prepare(const struct pg_source *src, size_t n, struct pollfd *pfd)
{
	int timeout = -1;

	for (size_t i = 0, slot = 0; i < n; slot += src[i].nfds, i++) {
		if (src[i].tick)
			timeout = sooner(timeout, src[i].tick(src[i].ctx));
		if (src[i].poll_fds)
			src[i].poll_fds(src[i].ctx, &pfd[slot]);
	}
	return timeout;
}

static int handle_all(const struct pg_source *src, size_t n, const struct pollfd *pfd)
{
	for (size_t i = 0, slot = 0; i < n; slot += src[i].nfds, i++)
		if (src[i].handle && src[i].handle(src[i].ctx, &pfd[slot]))
			return 1;
	return 0;
}

int pg_loop_run(const struct pg_source *src, size_t n, uint64_t *turns)
{
	struct pollfd pfd[PG_LOOP_MAX_FDS];
	size_t nfds = 0;

	for (size_t i = 0; i < n; i++)
		nfds += src[i].nfds;
	if (nfds > PG_LOOP_MAX_FDS) {
		pg_err("event loop: %zu descriptors to watch, room for %d", nfds, PG_LOOP_MAX_FDS);
		return -E2BIG;
	}
	for (;;) {
		int timeout = prepare(src, n, pfd);

		(*turns)++;
		if (poll(pfd, nfds, timeout) < 0) {
			int r = -errno;

			if (r == -EINTR)
				continue;
			pg_err("poll: %s", strerror(-r));
			return r;
		}
		if (handle_all(src, n, pfd))
			return 0;
	}
}
