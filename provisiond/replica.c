/* SPDX-License-Identifier: MIT */
#include "provisiond/replica.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/wire.h"
#include "provisiond/charset.h"

#define STATE_TEXT_MAX 2048
#define POLL_MS	       100

bool pv_replica_name_ok(const char *name)
{
	return pg_replica_name_ok(name, strlen(name));
}

/* The value of key on its own line, bounded by size; false when absent. */
static bool value_of(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n;

		if (strncmp(l, key, klen) != 0 || l[klen] != '=')
			continue;
		n = strcspn(l + klen + 1, "\n");
		if (n >= size)
			return false;
		memcpy(out, l + klen + 1, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

bool pv_replica_from_text(const char *text, struct pv_crawler *c)
{
	char v[64];
	struct in_addr a;

	c->replica[0] = c->replica_pod_ip[0] = '\0';
	if (value_of(text, "replica", v, sizeof(v)) && pv_replica_name_ok(v))
		snprintf(c->replica, sizeof(c->replica), "%s", v);
	if ((value_of(text, "replica_pod_ip", v, sizeof(v)) ||
	     value_of(text, "gateway_pod_ip", v, sizeof(v))) &&
	    inet_pton(AF_INET, v, &a) == 1)
		inet_ntop(AF_INET, &a, c->replica_pod_ip, sizeof(c->replica_pod_ip));
	return c->replica[0] != '\0';
}

/* The crawler pod can write where its state file lives: a FIFO there must
 * not hold provisiond, nor a link lead it elsewhere. Bytes read, at most
 * size - 1. */
static size_t read_state(const char *path, char *text, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, text, size - 1);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

void pv_replica_from_file(const char *path, unsigned wait_ms, struct pv_crawler *c)
{
	uint64_t deadline = pg_monotonic_ms() + wait_ms;
	char text[STATE_TEXT_MAX];

	for (;;) {
		size_t n = read_state(path, text, sizeof(text));

		text[n] = '\0';
		if (pv_replica_from_text(text, c) || pg_monotonic_ms() >= deadline)
			return;
		usleep(POLL_MS * 1000);
	}
}
