/* SPDX-License-Identifier: MIT */
#include "gatewayd/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"

#define TIMEOUT_S  5
#define REPLY_MAX  (64u << 20) /* a /16 pool's JSON is about 16 MiB */
#define READ_CHUNK 65536

/* Reads until the server closes, at most REPLY_MAX bytes. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = READ_CHUNK;
	char *buf = malloc(cap + 1);

	*len = 0;
	while (buf) {
		ssize_t n;

		if (cap - *len < READ_CHUNK) {
			char *grown = cap < REPLY_MAX ? realloc(buf, 2 * cap + 1) : NULL;

			if (!grown) {
				free(buf);
				errno = cap < REPLY_MAX ? ENOMEM : EFBIG;
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

int pg_status_command(const char *socket_path, bool json)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = TIMEOUT_S};
	const char *req = json ? "GET /status?format=json HTTP/1.0\r\nHost: gatewayd\r\n\r\n"
			       : "GET /status HTTP/1.0\r\nHost: gatewayd\r\n\r\n";
	char *reply, *body;
	size_t len;
	int fd, code = 0;

	if (!socket_path[0]) {
		pg_err("STATUS_SOCKET is empty: no status socket to ask");
		return PG_EXIT_CONFIG;
	}
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		pg_err("STATUS_SOCKET: '%s': path too long", socket_path);
		return PG_EXIT_CONFIG;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pg_err("STATUS_SOCKET: '%s': %s (is gatewayd running?)", socket_path,
		       strerror(errno));
		if (fd >= 0)
			close(fd);
		return PG_EXIT_RUNTIME;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		pg_err("STATUS_SOCKET: '%s': %s", socket_path, strerror(errno));
		close(fd);
		return PG_EXIT_RUNTIME;
	}
	reply = read_all(fd, &len);
	close(fd);
	if (!reply) {
		pg_err("STATUS_SOCKET: '%s': reading the answer: %s", socket_path, strerror(errno));
		return PG_EXIT_RUNTIME;
	}
	body = strstr(reply, "\r\n\r\n");
	if (sscanf(reply, "HTTP/1.%*d %d", &code) != 1 || !body || code != 200) {
		pg_err("STATUS_SOCKET: '%s': unexpected answer (HTTP status %d)", socket_path,
		       code);
		free(reply);
		return PG_EXIT_RUNTIME;
	}
	body += 4;
	fwrite(body, 1, len - (size_t)(body - reply), stdout);
	free(reply);
	return fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
}
