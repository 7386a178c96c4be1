/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LOOP_H
#define PODGW_LOOP_H

/* gatewayd's event loop: one poll over a list of sources, each with the
 * same few callbacks. A turn asks every source for its next deadline (doing
 * the work the clock made due), polls their descriptors until the soonest
 * one, then lets each, in list order, handle what is ready. */

#include <stddef.h>
#include <stdint.h>

struct pollfd;

#define PG_LOOP_MAX_FDS 32 /* of all sources together */

struct pg_source {
	const char *name;
	void *ctx;
	unsigned nfds; /* pollfd slots it fills */
	/* Before each poll: does what fell due and returns the milliseconds
	 * until it next wants handle called without input (-1: never).
	 * NULL: never. */
	int (*tick)(void *ctx);
	/* Fills nfds slots (fd -1: nothing to watch now). */
	void (*poll_fds)(void *ctx, struct pollfd *pfd);
	/* After poll: handles what its slots say is ready and what fell due;
	 * returns 0, or 1 to end the loop. */
	int (*handle)(void *ctx, const struct pollfd *pfd);
};

/* Runs until a source's handle returns 1 (then 0) or poll fails (a
 * negative errno, logged; -E2BIG for more than PG_LOOP_MAX_FDS slots);
 * counts each turn in *turns. */
int pg_loop_run(const struct pg_source *src, size_t n, uint64_t *turns);

#endif
