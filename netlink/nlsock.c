/* SPDX-License-Identifier: MIT */
#include "netlink/nlsock.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static int set_flag(int fd, int opt)
{
	int one = 1;

	return setsockopt(fd, SOL_NETLINK, opt, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int setup(int fd, const struct pg_nl_opts *o)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int r;

	if (o->rcvbuf)
		pg_nl_grow_buf(fd, SO_RCVBUF, o->rcvbuf);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	r = set_flag(fd, NETLINK_EXT_ACK);
	if (r < 0 && r != -ENOPROTOOPT)
		return r;
	if (o->cap_ack && (r = set_flag(fd, NETLINK_CAP_ACK)) < 0)
		return r;
	for (size_t i = 0; i < o->n_groups; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &o->groups[i],
			       sizeof(o->groups[i])) < 0)
			return -errno;
	return 0;
}

int pg_nl_open(int protocol, const struct pg_nl_opts *opts)
{
	static const struct pg_nl_opts none;
	const struct pg_nl_opts *o = opts ? opts : &none;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (o->nonblock ? SOCK_NONBLOCK : 0),
			protocol);
	int r;

	if (fd < 0)
		return -errno;
	r = setup(fd, o);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

uint32_t pg_nl_portid(int fd)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || len != sizeof(sa))
		return 0;
	return sa.nl_pid;
}

/* The kernel doubles what it is given; the FORCE variant passes
 * rmem_max/wmem_max with CAP_NET_ADMIN, else the plain one is capped. */
void pg_nl_grow_buf(int fd, int opt, size_t size)
{
	int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	int cur, want = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &len) == 0 && cur >= want)
		return;
	if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof(want)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want));
}

int pg_nl_send(int fd, const void *buf, size_t len)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int pg_nlbuf_init(struct pg_nlbuf *b)
{
	b->size = MNL_SOCKET_BUFFER_SIZE;
	b->data = malloc(b->size);
	return b->data ? 0 : -ENOMEM;
}

void pg_nlbuf_free(struct pg_nlbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->size = 0;
}

long pg_nl_recv(int fd, struct pg_nlbuf *b)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov;
		struct msghdr mh = {
		    .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
		/* MSG_TRUNC makes the peek report the datagram's real size. */
		ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if ((size_t)n > b->size) {
			char *data = realloc(b->data, (size_t)n);

			if (!data)
				return -ENOMEM;
			b->data = data;
			b->size = (size_t)n;
		}
		iov = (struct iovec){b->data, b->size};
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (mh.msg_namelen != sizeof(sa) || sa.nl_pid != 0)
			continue; /* not from the kernel */
		if (n > 0)
			return n;
	}
}

/* Where the TLVs of an NLMSG_ERROR start in its payload: without
 * NLM_F_CAPPED the whole request is echoed after the nlmsgerr. */
static int error_tlv_offset(const struct nlmsghdr *nlh, const unsigned char *payload, size_t plen,
			    int *error, size_t *off)
{
	struct nlmsgerr e;

	if (plen < sizeof(e))
		return -EBADMSG;
	memcpy(&e, payload, sizeof(e));
	*error = e.error;
	*off = sizeof(e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e.msg.nlmsg_len < NLMSG_HDRLEN)
			return -EBADMSG;
		*off += e.msg.nlmsg_len - NLMSG_HDRLEN;
	}
	return 0;
}

/* NLMSGERR_ATTR_MSG among the TLVs, read with a cursor. */
static void find_text(const unsigned char *p, size_t len, const char **msg, size_t *msglen)
{
	while (len >= NLA_HDRLEN) {
		struct nlattr a;
		size_t step;

		memcpy(&a, p, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len)
			return;
		if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			*msg = (const char *)p + NLA_HDRLEN;
			*msglen = strnlen(*msg, a.nla_len - NLA_HDRLEN);
		}
		step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

int pg_nl_parse_ack(const struct nlmsghdr *nlh, int *error, const char **msg, size_t *msglen)
{
	const unsigned char *payload = (const unsigned char *)nlh + NLMSG_HDRLEN;
	size_t plen, off;
	int r;

	*error = 0;
	*msg = "";
	*msglen = 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN)
		return -EBADMSG;
	plen = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if ((r = error_tlv_offset(nlh, payload, plen, error, &off)) < 0)
			return r;
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		/* A dump's result; old kernels may send an empty DONE. */
		if (plen < sizeof(*error))
			return 0;
		memcpy(error, payload, sizeof(*error));
		off = sizeof(*error);
	} else {
		return -EINVAL;
	}
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;
	off = NLMSG_ALIGN(off);
	if (off > plen)
		return -EBADMSG;
	find_text(payload + off, plen - off, msg, msglen);
	return 0;
}

char *pg_nl_ack_text(const struct nlmsghdr *nlh)
{
	const char *msg;
	size_t len;
	int error;
	char *text;

	if (pg_nl_parse_ack(nlh, &error, &msg, &len) < 0 || !len)
		return NULL;
	text = strndup(msg, len);
	/* Kernel text, but still bytes from a socket: keep it printable. */
	for (char *c = text; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return text;
}
