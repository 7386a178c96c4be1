/* SPDX-License-Identifier: MIT */
#include "gatewayd/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gatewayd/loop.h"

#define CONN_MEMORY    (32 * 1024) /* request headers and our reply's headers */
#define LISTEN_BACKLOG 16

/* A connection's request headers must be complete this long after it was
 * accepted (or after its previous answer): a peer trickling bytes slower
 * than the idle timeout would otherwise hold its slot for ever. */
#define HEADER_DEADLINE_MS 2000

/* One accepted connection: when its wait for headers started. */
struct conn_slot {
	struct MHD_Connection *conn; /* NULL: free */
	uint64_t since;		     /* monotonic ms */
	bool in_request;	     /* headers complete, being answered */
};

struct pg_http {
	struct MHD_Daemon *d;
	pg_http_handler fn;
	void *arg;
	struct conn_slot *slots;
	unsigned nslots;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct conn_slot *slot_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct pg_http *h = cls;
	struct conn_slot *s = *ctx;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (s)
			s->conn = NULL;
		*ctx = NULL;
		return;
	}
	/* MHD accepts no more than the connection limit, the slots' number. */
	for (unsigned i = 0; i < h->nslots; i++) {
		if (!h->slots[i].conn) {
			h->slots[i] = (struct conn_slot){conn, now_ms(), false};
			*ctx = &h->slots[i];
			return;
		}
	}
}

/* A keep-alive connection waits for its next request's headers anew. */
static void notify_completed(void *cls, struct MHD_Connection *conn, void **state,
			     enum MHD_RequestTerminationCode toe)
{
	struct conn_slot *s = slot_of(conn);

	(void)cls;
	(void)state;
	(void)toe;
	if (s) {
		s->since = now_ms();
		s->in_request = false;
	}
}

/* Ends the connections past their header deadline: shut down under
 * libmicrohttpd, which owns the descriptor and closes the connection when
 * it reads the end. Returns the ms to the next deadline (-1: none). */
static int enforce_deadlines(struct pg_http *h)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (unsigned i = 0; i < h->nslots; i++) {
		struct conn_slot *s = &h->slots[i];
		const union MHD_ConnectionInfo *ci;

		if (!s->conn || s->in_request)
			continue;
		if (now < s->since + HEADER_DEADLINE_MS) {
			if (s->since + HEADER_DEADLINE_MS < next)
				next = s->since + HEADER_DEADLINE_MS;
			continue;
		}
		ci = MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		s->in_request = true; /* once */
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static int parse_addr(const char *text, const char *default_addr, struct sockaddr_storage *ss,
		      socklen_t *len, const char **why)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':'), *h = text;
	size_t hlen;
	char *end;
	unsigned long port;

	if (!colon) {
		*why = "expected ADDRESS:PORT (e.g. 0.0.0.0:9108, or :9108 for the pod IP)";
		return -EINVAL;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535) {
		*why = "the port must be between 1 and 65535";
		return -EINVAL;
	}
	hlen = (size_t)(colon - text);
	if (hlen == 0) {
		if (!default_addr) {
			*why = "no address of UNDERLAY_INTERFACE to listen on";
			return -EADDRNOTAVAIL;
		}
		h = default_addr;
		hlen = strlen(h);
	}
	if (hlen >= sizeof(host)) {
		*why = "not an IP address";
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1) {
			*why = "not an IP address";
			return -EINVAL;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
		*why = "not an IP address";
		return -EINVAL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return 0;
}

int pg_http_listen_tcp(const char *addr, const char *default_addr, int *fd, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, r = parse_addr(addr, default_addr, &ss, &len, why);

	if (r < 0)
		return r;
	*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, len) < 0 || listen(*fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		*why = strerror(errno);
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

int pg_http_listen_unix(const char *path, int *fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	memcpy(dir, sa.sun_path, sizeof(sa.sun_path)); /* NUL-terminated above */
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	/* A socket file nobody listens on is a crashed run's; one that
	 * answers is another gatewayd's. */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (r)
			return -EADDRINUSE;
		unlink(path);
	}
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(*fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **state)
{
	static int first;
	struct pg_http *h = cls;
	struct pg_buf body = {0};
	struct MHD_Response *resp;
	const char *ctype = "text/plain; charset=utf-8";
	unsigned code;
	enum MHD_Result ret;

	/* The first call only has the headers; a body is not wanted. */
	if (*state == NULL) {
		struct conn_slot *s = slot_of(conn);

		if (s)
			s->in_request = true;
		*state = &first;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		pg_buf_printf(&body, "only GET and HEAD\n");
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else {
		code = h->fn(h->arg, url,
			     MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format"),
			     &body, &ctype);
	}
	if (body.failed) {
		pg_buf_free(&body);
		return MHD_NO; /* out of memory: the connection is closed */
	}
	resp = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		pg_buf_free(&body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

int pg_http_open(int fd, unsigned max_conns, unsigned per_ip, unsigned timeout_s,
		 pg_http_handler fn, void *arg, struct pg_http **out)
{
	struct pg_http *h = calloc(1, sizeof(*h));

	if (h)
		h->slots = calloc(max_conns, sizeof(*h->slots));
	if (!h || !h->slots) {
		free(h);
		close(fd);
		return -ENOMEM;
	}
	h->nslots = max_conns;
	h->fn = fn;
	h->arg = arg;
	/* No internal thread: MHD_run from our loop. Its epoll descriptor is
	 * the one thing to poll. */
	h->d = MHD_start_daemon(
	    MHD_USE_EPOLL, 0, NULL, NULL, answer, h, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
	    MHD_OPTION_NOTIFY_COMPLETED, notify_completed, h, MHD_OPTION_END);
	if (!h->d) {
		close(fd);
		free(h->slots);
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

void pg_http_close(struct pg_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d); /* closes the listening socket too */
	free(h->slots);
	free(h);
}

int pg_http_fd(const struct pg_http *h)
{
	const union MHD_DaemonInfo *i =
	    h ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;

	return i ? i->epoll_fd : -1;
}

/* libmicrohttpd's own timers (idle connections) and our header deadlines. */
static int http_tick(void *ctx)
{
	struct pg_http *h = ctx;
	MHD_UNSIGNED_LONG_LONG ms;
	int mhd, ours;

	if (!h)
		return -1;
	ours = enforce_deadlines(h);
	mhd = MHD_get_timeout(h->d, &ms) != MHD_YES ? -1 : ms > INT_MAX ? INT_MAX : (int)ms;
	if (ours < 0 || (mhd >= 0 && mhd < ours))
		return mhd;
	return ours;
}

static void http_poll_fds(void *ctx, struct pollfd *pfd)
{
	*pfd = (struct pollfd){.fd = pg_http_fd(ctx), .events = POLLIN};
}

/* Its own timers (idle connections) run when poll says nothing. */
static int http_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_http *h = ctx;

	if (h && (pfd->revents || http_tick(h) == 0))
		MHD_run(h->d);
	return 0;
}

void pg_http_source(struct pg_http *h, const char *name, struct pg_source *out)
{
	*out = (struct pg_source){.name = name,
				  .ctx = h,
				  .nfds = 1,
				  .tick = http_tick,
				  .poll_fds = http_poll_fds,
				  .handle = http_handle};
}
