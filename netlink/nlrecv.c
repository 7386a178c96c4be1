/* SPDX-License-Identifier: MIT */
#include "netlink/nlrecv.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>

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
