/* SPDX-License-Identifier: MIT */
#include "clientd/state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"

#define STATE_WRITE_MS 1000
#define STATE_MAX      1024

int pg_client_state_flush(const char *path, struct pg_client_state *s, uint64_t now_ms, bool force)
{
	char text[STATE_MAX], gw[PG_PREFIX_STRLEN], gwa[PG_PREFIX_STRLEN], addr[PG_PREFIX_STRLEN];
	char a6[PG_PREFIX_STRLEN], g6[PG_PREFIX_STRLEN];
	size_t n;
	int r;

	if (!path[0] || !s->dirty || (!force && now_ms < s->written_ms + STATE_WRITE_MS))
		return 0;
	n = (size_t)snprintf(
	    text, sizeof(text),
	    "state=%s\ngateway_pod_ip=%s\ngateway_address=%s\naddress=%s\n"
	    "last_keepalive=%" PRIu64 "\nkeepalive_rtt_us=%" PRIu64 "\nrepairs=%" PRIu64
	    "\nlosses=%" PRIu64 "\nsince=%" PRIu64 "\nreplica=%s\nreplica_pod_ip=%s\n",
	    s->healthy ? "routed" : "lost", pg_prefix_fmt(&s->gateway_pod_ip, gw, false),
	    pg_prefix_fmt(&s->gateway_addr, gwa, false), pg_prefix_fmt(&s->addr, addr, true),
	    s->last_keepalive, s->rtt_us, s->repairs, s->losses, s->since, s->replica, gw);
	/* Absent while IPv6 is not routed through the tunnel. */
	if (s->addr6.family && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, "address6=%s\ngateway_address6=%s\n",
			 pg_prefix_fmt(&s->addr6, a6, true),
			 pg_prefix_fmt(&s->gateway_addr6, g6, false));
	r = pg_ready_file_write(path, text);
	s->written_ms = now_ms;
	if (r == 0)
		s->dirty = false;
	return r;
}

static const char *value_of(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1;
			size_t n = strcspn(v, "\n");

			n = n < size - 1 ? n : size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
	}
	snprintf(out, size, "?");
	return out;
}

static uint64_t num(const char *text, const char *key)
{
	char v[32];

	return strtoull(value_of(text, key, v, sizeof(v)), NULL, 10);
}

int pg_client_state_print(FILE *out, const char *path, const char *gateway, uint64_t now)
{
	char text[STATE_MAX + 1], a[64], b[64], c[64], d[64];
	uint64_t last, since;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	n = fread(text, 1, STATE_MAX, f);
	fclose(f);
	text[n] = '\0';
	last = num(text, "last_keepalive");
	since = num(text, "since");
	fprintf(out, "state: %s\n", value_of(text, "state", a, sizeof(a)));
	fprintf(out, "gateway: %s (pod IP %s, overlay %s)\n", gateway,
		value_of(text, "gateway_pod_ip", b, sizeof(b)),
		value_of(text, "gateway_address", c, sizeof(c)));
	fprintf(out, "address: %s\n", value_of(text, "address", d, sizeof(d)));
	value_of(text, "replica", a, sizeof(a));
	fprintf(out, "replica: %s (%s)\n", a[0] && strcmp(a, "?") ? a : "unknown",
		value_of(text, "replica_pod_ip", b, sizeof(b)));
	if (last)
		fprintf(out, "last keepalive: %" PRIu64 " s ago (round trip %.2f ms)\n",
			now > last ? now - last : 0, (double)num(text, "keepalive_rtt_us") / 1000);
	else
		fprintf(out, "last keepalive: none answered yet\n");
	fprintf(out, "repairs: %" PRIu64 "\n", num(text, "repairs"));
	fprintf(out, "gateway lost: %" PRIu64 " times\n", num(text, "losses"));
	if (since)
		fprintf(out, "sidecar up: %" PRIu64 " s\n", now > since ? now - since : 0);
	return 0;
}
