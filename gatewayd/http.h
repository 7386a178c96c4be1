/* SPDX-License-Identifier: MIT */
#ifndef PODGW_HTTP_H
#define PODGW_HTTP_H

/* A small HTTP/1.1 server (libmicrohttpd) run from gatewayd's own poll
 * loop: no thread, one epoll descriptor to watch, bounded connections,
 * memory per connection and idle time. GET and HEAD only; a handler fills a
 * body for a path. Used for /metrics, /healthz and /readyz on TCP, and for
 * the status command on a unix socket. */

#include <stddef.h>
#include <stdint.h>

#include "gatewayd/metrics.h"

struct pg_http;
struct pg_source;

/* Answers one request: fills body (text), sets *content_type, returns the
 * HTTP status. query is the value of the "format" argument or NULL. */
typedef unsigned (*pg_http_handler)(void *arg, const char *path, const char *format,
				    struct pg_buf *body, const char **content_type);

/* Listening sockets, made before capabilities are dropped. addr is
 * "ADDRESS:PORT" (IPv4, or [IPv6]:PORT); "" for the address (":9108") means
 * default_addr. 0 or a negative errno; *why says what was wrong with it. */
int pg_http_listen_tcp(const char *addr, const char *default_addr, int *fd, const char **why);
/* A unix socket at path (its folder made if missing), mode 0660; a stale
 * socket file left by a crash is replaced. */
int pg_http_listen_unix(const char *path, int *fd);

/* Takes over fd. max_conns bounds the connections at once, per_ip those
 * of one peer address (0: no such limit), timeout_s each one's idle time. */
int pg_http_open(int fd, unsigned max_conns, unsigned per_ip, unsigned timeout_s,
		 pg_http_handler fn, void *arg, struct pg_http **out);
void pg_http_close(struct pg_http *h);
/* The descriptor to poll for input. */
int pg_http_fd(const struct pg_http *h);
/* The event loop's source (gatewayd/loop.h): requests answered when the
 * descriptor is ready; its tick is libmicrohttpd's idle timeout. */
void pg_http_source(struct pg_http *h, const char *name, struct pg_source *out);

#endif
