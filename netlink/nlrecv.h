/* SPDX-License-Identifier: MIT */
#ifndef PODGW_NLRECV_H
#define PODGW_NLRECV_H

/* Receiving netlink datagrams into a heap buffer that grows for a larger
 * one: shared by the nftables socket and the change monitor. */

#include <stddef.h>

struct pg_nlbuf {
	char *data;
	size_t size;
};

int pg_nlbuf_init(struct pg_nlbuf *b);
void pg_nlbuf_free(struct pg_nlbuf *b);
/* Reads one datagram sent by the kernel (others are skipped) without
 * blocking. Returns its length, 0 when nothing is queued, or a negative
 * errno (-ENOBUFS: the kernel dropped messages for us). b->data may move. */
long pg_nl_recv(int fd, struct pg_nlbuf *b);

#endif
