/* SPDX-License-Identifier: MIT */
#ifndef PODGW_NLSOCK_H
#define PODGW_NLSOCK_H

/* The one way netlink is spoken here: every socket (rtnetlink, handed to
 * libnl; nfnetlink; the change monitor's) opened and bound alike, datagrams
 * read into a buffer that grows for a larger one, ACKs and a dump's DONE
 * read alike, and the kernel's extended-ack text made into a message.
 * Calls return 0 (or a length, or a descriptor) or a negative errno. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

struct pg_nl_opts {
	bool nonblock;
	bool cap_ack;		/* errors without a copy of the (possibly large) request */
	size_t rcvbuf;		/* at least this receive buffer (0: the default) */
	const unsigned *groups; /* multicast groups to join */
	size_t n_groups;
};

/* A netlink socket of protocol, close-on-exec, bound to a port id the kernel
 * picks, asking for extended ACKs (kernels before 4.12 lack them, which only
 * costs the text). Returns the descriptor. */
int pg_nl_open(int protocol, const struct pg_nl_opts *opts);
uint32_t pg_nl_portid(int fd);
/* Raises a socket buffer (SO_RCVBUF or SO_SNDBUF) to at least size; with
 * CAP_NET_ADMIN past rmem_max/wmem_max. */
void pg_nl_grow_buf(int fd, int opt, size_t size);
/* Sends one datagram to the kernel: 0, or -EMSGSIZE when it went out cut. */
int pg_nl_send(int fd, const void *buf, size_t len);

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

/* The error and extended-ack text of an NLMSG_ERROR or NLMSG_DONE whose
 * nlmsg_len the caller has checked against what it received. *msg points
 * into nlh (not NUL-terminated; *msglen bytes, "" when none). Returns 0, or
 * -EBADMSG when the message is malformed, -EINVAL for another type. */
int pg_nl_parse_ack(const struct nlmsghdr *nlh, int *error, const char **msg, size_t *msglen);
/* The extended-ack text of an ACK, made printable, in a new string: NULL
 * when there is none (or no memory). */
char *pg_nl_ack_text(const struct nlmsghdr *nlh);

#endif
