/* SPDX-License-Identifier: MIT */
#include "clientd/replicas.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clientd/member.h"
#include "common/daemon.h"

#define INFO_RESEND_MS 100
#define ORDER_QUERY_MS 150 /* INFO answers come within a round trip or never */

/* Fixed, public and the same in every clientd: the order only has to be
 * stable and uniform, not secret (anyone may compute anyone's replica). */
static const uint8_t weight_key[crypto_shorthash_KEYBYTES] = "podgw-replicas!";

uint64_t pg_replica_weight(const char *ns, const char *name, const struct pg_prefix *ip)
{
	uint8_t in[PG_NAMESPACE_MAX + 1 + PG_POD_NAME_MAX + 1 + 16], out[crypto_shorthash_BYTES];
	size_t lns = strnlen(ns, PG_NAMESPACE_MAX), lname = strnlen(name, PG_POD_NAME_MAX), n = 0;
	uint64_t w = 0;

	/* namespace NUL name NUL ip: no two identities share an input. */
	memcpy(in + n, ns, lns);
	n += lns;
	in[n++] = 0;
	memcpy(in + n, name, lname);
	n += lname;
	in[n++] = 0;
	/* An IPv4 pod IP weighs as it always did (4 bytes). */
	memcpy(in + n, ip->bytes, pg_prefix_bytes(ip));
	n += pg_prefix_bytes(ip);
	crypto_shorthash(out, in, n, weight_key);
	for (size_t i = 0; i < sizeof(out); i++)
		w = w << 8 | out[i];
	return w;
}

static int ip_cmp(const struct pg_prefix *a, const struct pg_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, pg_prefix_bytes(a));
}

void pg_replicas_rendezvous(struct pg_replicas *s, const char *ns, const char *name)
{
	uint64_t w[PG_REPLICAS_MAX];

	for (unsigned i = 0; i < s->n; i++)
		w[i] = pg_replica_weight(ns, name, &s->r[i].ip);
	/* At most 16: an insertion sort; equal weights (never in practice)
	 * fall back on the address so the order stays total. */
	for (unsigned i = 1; i < s->n; i++)
		for (unsigned j = i; j > 0; j--) {
			struct pg_replica t;
			uint64_t tw;

			if (w[j - 1] > w[j] ||
			    (w[j - 1] == w[j] && ip_cmp(&s->r[j - 1].ip, &s->r[j].ip) < 0))
				break;
			t = s->r[j - 1], s->r[j - 1] = s->r[j], s->r[j] = t;
			tw = w[j - 1], w[j - 1] = w[j], w[j] = tw;
		}
}

static bool lighter(const struct pg_replica *a, const struct pg_replica *b)
{
	if (a->has_leases != b->has_leases)
		return a->has_leases;
	return a->has_leases && a->leases < b->leases;
}

void pg_replicas_by_load(struct pg_replicas *s)
{
	for (unsigned i = 1; i < s->n; i++)
		for (unsigned j = i; j > 0 && lighter(&s->r[j], &s->r[j - 1]); j--) {
			struct pg_replica t = s->r[j - 1];

			s->r[j - 1] = s->r[j];
			s->r[j] = t;
		}
}

int pg_replicas_find(const struct pg_replicas *s, const struct pg_prefix *ip)
{
	for (unsigned i = 0; i < s->n; i++)
		if (ip_cmp(&s->r[i].ip, ip) == 0)
			return (int)i;
	return -1;
}

bool pg_replicas_same_ips(const struct pg_replicas *a, const struct pg_replicas *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (pg_replicas_find(b, &a->r[i].ip) < 0)
			return false;
	return true;
}

int pg_replicas_query(const struct pg_config *cfg, const struct pg_key *key, const uint8_t mac[6],
		      struct pg_replicas *s, unsigned timeout_ms)
{
	struct pg_member *m[PG_REPLICAS_MAX] = {0};
	struct pollfd pfd[PG_REPLICAS_MAX];
	uint64_t now = pg_monotonic_ms(), deadline = now + timeout_ms, resend = now;
	unsigned left = 0;
	int r = 0;

	for (unsigned i = 0; i < s->n; i++) {
		s->r[i].answered = false;
		s->r[i].has_leases = false;
		pfd[i] = (struct pollfd){.fd = -1, .events = POLLIN};
		/* One socket each: a connected socket hears only its replica. */
		if (pg_member_open(cfg, &s->r[i].ip, key, mac, &m[i]) < 0)
			continue;
		pfd[i].fd = pg_member_fd(m[i]);
		left++;
	}
	while (left > 0 && (now = pg_monotonic_ms()) < deadline) {
		if (now >= resend) {
			for (unsigned i = 0; i < s->n; i++)
				if (m[i] && !s->r[i].answered)
					pg_member_send(m[i], PG_MSG_INFO, (struct in_addr){0});
			resend = now + INFO_RESEND_MS;
		}
		if (poll(pfd, s->n, (int)((resend < deadline ? resend : deadline) - now)) < 0 &&
		    errno != EINTR) {
			r = -errno;
			break;
		}
		for (unsigned i = 0; i < s->n; i++) {
			struct pg_answer a;
			bool unverified = false;

			if (!(pfd[i].revents & (POLLIN | POLLERR)))
				continue;
			while (pg_member_receive(m[i], &a, &unverified) > 0) {
				if (a.type != PG_MSG_INFO_REPLY || s->r[i].answered)
					continue;
				snprintf(s->r[i].name, sizeof(s->r[i].name), "%s", a.grant.replica);
				s->r[i].has_leases = a.grant.has_leases;
				s->r[i].leases = a.grant.leases;
				s->r[i].answered = true;
				pfd[i].fd = -1;
				left--;
			}
		}
	}
	for (unsigned i = 0; i < s->n; i++)
		pg_member_close(m[i]);
	return r;
}

void pg_replicas_order(const struct pg_config *cfg, const struct pg_key *key, const uint8_t mac[6],
		       struct pg_replicas *s)
{
	unsigned k = 0;

	pg_replicas_rendezvous(s, cfg->pod_namespace, cfg->pod_name);
	if (cfg->replica_selection == PG_REPLICA_SPREAD)
		return;
	pg_replicas_query(cfg, key, mac, s, ORDER_QUERY_MS);
	if (cfg->replica_selection == PG_REPLICA_LEAST_LOADED) {
		pg_replicas_by_load(s);
		return;
	}
	for (unsigned i = 0; i < s->n; i++)
		if (s->r[i].answered && strcmp(s->r[i].name, cfg->replica) == 0)
			s->r[k++] = s->r[i];
	s->n = k;
}
