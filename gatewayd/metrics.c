/* SPDX-License-Identifier: MIT */
#include "gatewayd/metrics.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_buf_printf(struct pg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown) {
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
}

void pg_buf_free(struct pg_buf *b)
{
	free(b->data);
	*b = (struct pg_buf){0};
}

/* ---- the leases, sorted by address ---- */

struct row {
	struct pg_lease lease;
	const char *ns, *pod; /* into a copy of the id */
	char id[PG_CLIENT_ID_MAX + 1];
	struct pg_traffic_count t;
};

struct rows {
	struct row *r;
	size_t n, cap;
	const struct pg_traffic *traffic;
};

static int collect(const struct pg_lease *l, void *arg)
{
	struct rows *rs = arg;
	const struct pg_traffic_count *t = pg_traffic_find(rs->traffic, l->addr);
	struct row *row;
	if (rs->n == rs->cap)
		return -1; /* sized from the count: only if the pool changed */
	row = &rs->r[rs->n++];
	memset(row, 0, sizeof(*row));
	row->lease = *l;
	snprintf(row->id, sizeof(row->id), "%s", l->id);
	if (t)
		row->t = *t;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct row *)a)->lease.addr.s_addr);
	uint32_t y = ntohl(((const struct row *)b)->lease.addr.s_addr);

	return x < y ? -1 : x > y;
}

/* NULL (nothing to show, or out of memory: *failed) or the rows. */
static struct row *rows_of(const struct pg_view *v, size_t *n, bool *failed)
{
	size_t count = pg_pool_count(v->pool);
	struct rows rs = {.cap = count, .traffic = v->traffic};

	*n = 0;
	if (!count)
		return NULL;
	rs.r = calloc(count, sizeof(*rs.r));
	if (!rs.r) {
		*failed = true;
		return NULL;
	}
	pg_pool_foreach(v->pool, collect, &rs);
	qsort(rs.r, rs.n, sizeof(*rs.r), by_addr);
	/* namespace and pod point into each row's own copy, once rows stay put */
	for (size_t i = 0; i < rs.n; i++) {
		struct row *row = &rs.r[i];
		char *slash = strchr(row->id, '/');

		row->ns = slash ? row->id : "";
		row->pod = slash ? slash + 1 : row->id;
		if (slash)
			*slash = '\0';
	}
	*n = rs.n;
	return rs.r;
}

/* Label values and JSON strings: backslash, quote and newline escaped;
 * ids are [A-Za-z0-9._/-] anyway. */
static const char *esc(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s && o + 3 < size; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if ((unsigned char)*s >= 0x20) {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return out;
}

#define ESC_MAX (2 * PG_CLIENT_ID_MAX + 1)

static void family(struct pg_buf *b, const char *name, const char *type, const char *help)
{
	pg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(struct pg_buf *b, const char *name, const char *type, const char *help,
		   uint64_t value)
{
	family(b, name, type, help);
	pg_buf_printf(b, "%s %" PRIu64 "\n", name, value);
}

/* One per-client family: a sample per lease. */
static void per_client(struct pg_buf *b, const struct row *rows, size_t n, const char *name,
		       const char *help, size_t offset)
{
	family(b, name, "counter", help);
	for (size_t i = 0; i < n; i++) {
		char ns[ESC_MAX], pod[ESC_MAX], addr[INET_ADDRSTRLEN];
		uint64_t value;

		memcpy(&value, (const char *)&rows[i].t + offset, sizeof(value));
		inet_ntop(AF_INET, &rows[i].lease.addr, addr, sizeof(addr));
		pg_buf_printf(b, "%s{namespace=\"%s\",pod=\"%s\",address=\"%s\"} %" PRIu64 "\n",
			      name, esc(rows[i].ns, ns, sizeof(ns)),
			      esc(rows[i].pod, pod, sizeof(pod)), addr, value);
	}
}

/* A lease-clock time as a wall-clock one: readers and dashboards compare
 * them with their own clocks. */
static uint64_t wall(const struct pg_view *v, uint64_t t)
{
	int64_t w = (int64_t)v->now + ((int64_t)t - (int64_t)v->lease_now);

	return w > 0 ? (uint64_t)w : 0;
}

static uint64_t last_keepalive(const struct pg_view *v, const struct pg_lease *l)
{
	uint64_t e = wall(v, l->expires);

	return e > v->lease_time ? e - v->lease_time : 0;
}

static uint64_t since(const struct pg_view *v, const struct pg_lease *l)
{
	uint64_t e = wall(v, l->first_expires);

	return e > v->lease_time ? e - v->lease_time : 0;
}

void pg_metrics_render(struct pg_buf *b, const struct pg_view *v)
{
	const struct pg_stats *s = v->stats;
	size_t n, count = pg_pool_count(v->pool), capacity = pg_pool_capacity(v->pool);
	struct row *rows = rows_of(v, &n, &b->failed);
	char gw[ESC_MAX], replica[ESC_MAX];

	family(b, "podgw_build_info", "gauge", "podgw's version; always 1.");
	pg_buf_printf(b, "podgw_build_info{version=\"%s\",gateway=\"%s\"} 1\n", v->version,
		      esc(v->gateway, gw, sizeof(gw)));
	/* Every replica of a gateway is scraped apart: this names it, so that
	 * its series (podgw_leases_active...) can be joined to a replica. */
	family(b, "podgw_gateway_info", "gauge", "The gateway and the replica of it; always 1.");
	pg_buf_printf(b, "podgw_gateway_info{gateway=\"%s\",replica=\"%s\"} 1\n", gw,
		      esc(v->replica, replica, sizeof(replica)));
	scalar(b, "podgw_start_time_seconds", "gauge",
	       "When gatewayd started, in seconds since the epoch.", s->start_time);
	scalar(b, "podgw_leases_active", "gauge", "Live leases: clients admitted now.", count);
	scalar(b, "podgw_leases_total", "counter",
	       "Leases begun: joins of clients that held no live lease.", s->leases_granted);
	scalar(b, "podgw_joins_total", "counter", "Joins answered with an address (rejoins too).",
	       s->joins);
	scalar(b, "podgw_renewals_total", "counter", "Lease renewals (keepalives) answered.",
	       s->renewals);
	scalar(b, "podgw_releases_total", "counter", "Leases released by their clients.",
	       s->releases);
	scalar(b, "podgw_expiries_total", "counter", "Leases that expired without renewal.",
	       s->expiries);
	family(b, "podgw_rejections_total", "counter",
	       "Membership requests refused or dropped, by reason.");
	for (int i = 0; i < PG_REJECT_COUNT; i++)
		pg_buf_printf(b, "podgw_rejections_total{reason=\"%s\"} %" PRIu64 "\n",
			      pg_reject_name((enum pg_reject)i), s->rejections[i]);
	scalar(b, "podgw_membership_answers_suppressed_total", "counter",
	       "Answers to unauthenticated or failed requests not sent (over the rate, or longer "
	       "than the request).",
	       s->answers_suppressed);
	scalar(b, "podgw_info_requests_total", "counter",
	       "INFO requests answered (clients asking which replica this is, and its load).",
	       s->info_requests);
	scalar(b, "podgw_ipv6_egress", "gauge",
	       "1 while grants carry IPv6 (an IPv6 overlay, and the internet's IPv6 routed through "
	       "the egress), else 0.",
	       v->ipv6_egress);
	scalar(b, "podgw_pool_size", "gauge", "Addresses of the overlay that can be leased.",
	       capacity);
	scalar(b, "podgw_pool_free", "gauge", "Addresses of the overlay not leased now.",
	       capacity > count ? capacity - count : 0);
	family(b, "podgw_repairs_total", "counter",
	       "Kernel state put back after someone else changed it, by kind.");
	for (int i = 0; i < PG_REPAIR_COUNT; i++)
		pg_buf_printf(b, "podgw_repairs_total{kind=\"%s\"} %" PRIu64 "\n",
			      pg_repair_name((enum pg_repair)i), s->repairs[i]);
	scalar(b, "podgw_dns_queries_total", "counter",
	       "DNS queries the forwarder sent on to a server.", s->dns_forwarded);
	family(b, "podgw_dns_dropped_total", "counter",
	       "DNS queries (and answers) the forwarder dropped or gave up, by reason.");
	for (int i = 0; i < PG_DNS_DROP_COUNT; i++)
		pg_buf_printf(b, "podgw_dns_dropped_total{reason=\"%s\"} %" PRIu64 "\n",
			      pg_dns_drop_name((enum pg_dns_drop)i), s->dns_dropped[i]);
	per_client(b, rows, n, "podgw_client_transmit_bytes_total",
		   "Bytes of IP packets a client sent through the gateway.",
		   offsetof(struct pg_traffic_count, tx_bytes));
	per_client(b, rows, n, "podgw_client_transmit_packets_total",
		   "IP packets a client sent through the gateway.",
		   offsetof(struct pg_traffic_count, tx_packets));
	per_client(b, rows, n, "podgw_client_receive_bytes_total",
		   "Bytes of IP packets the gateway forwarded to a client.",
		   offsetof(struct pg_traffic_count, rx_bytes));
	per_client(b, rows, n, "podgw_client_receive_packets_total",
		   "IP packets the gateway forwarded to a client.",
		   offsetof(struct pg_traffic_count, rx_packets));
	family(b, "podgw_client_last_keepalive_timestamp_seconds", "gauge",
	       "When a client last joined or renewed its lease, in seconds since the epoch.");
	for (size_t i = 0; i < n; i++) {
		char ns[ESC_MAX], pod[ESC_MAX], addr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &rows[i].lease.addr, addr, sizeof(addr));
		pg_buf_printf(b,
			      "podgw_client_last_keepalive_timestamp_seconds{namespace=\"%s\","
			      "pod=\"%s\",address=\"%s\"} %" PRIu64 "\n",
			      esc(rows[i].ns, ns, sizeof(ns)), esc(rows[i].pod, pod, sizeof(pod)),
			      addr, last_keepalive(v, &rows[i].lease));
	}
	free(rows);
}

static void fmt_mac(const uint8_t *m, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* 75s, 12m, 3h, 2d: short enough for a table column. */
static const char *fmt_age(uint64_t s, char out[24])
{
	if (s < 120)
		snprintf(out, 24, "%" PRIu64 "s", s);
	else if (s < 7200)
		snprintf(out, 24, "%" PRIu64 "m", s / 60);
	else if (s < 172800)
		snprintf(out, 24, "%" PRIu64 "h", s / 3600);
	else
		snprintf(out, 24, "%" PRIu64 "d", s / 86400);
	return out;
}

static uint64_t ago(const struct pg_view *v, uint64_t t)
{
	return v->now > t ? v->now - t : 0;
}

void pg_status_render_table(struct pg_buf *b, const struct pg_view *v)
{
	size_t n, count = pg_pool_count(v->pool), capacity = pg_pool_capacity(v->pool);
	struct row *rows = rows_of(v, &n, &b->failed);
	int wpod = 3, wns = 9, wip = 15;

	for (size_t i = 0; i < n; i++) {
		int lp = (int)strlen(rows[i].pod), ln = (int)strlen(rows[i].ns);
		/* An IPv6 underlay's pod IPs are wider than an IPv4 one's. */
		int li = (int)strlen(
		    pg_prefix_fmt(&rows[i].lease.pod_ip, (char[PG_PREFIX_STRLEN]){0}, false));

		wpod = lp > wpod ? lp : wpod;
		wns = ln > wns ? ln : wns;
		wip = li > wip ? li : wip;
	}
	pg_buf_printf(b, "gateway %s: %zu leases, %zu of %zu addresses free\n",
		      v->gateway[0] ? v->gateway : "(unnamed)", count,
		      capacity > count ? capacity - count : 0, capacity);
	pg_buf_printf(b, "replica: %s\n", v->replica);
	if (v->ipv6.family && v->ipv6_failed)
		pg_buf_printf(b, "ipv6: %s (setup failed: IPv4 only)\n",
			      pg_prefix_fmt(&v->ipv6, (char[PG_PREFIX_STRLEN]){0}, true));
	else if (v->ipv6.family)
		pg_buf_printf(b, "ipv6: %s (egress: %s)\n",
			      pg_prefix_fmt(&v->ipv6, (char[PG_PREFIX_STRLEN]){0}, true),
			      v->ipv6_egress ? "yes" : "no");
	else
		pg_buf_printf(b, "ipv6: off\n");
	pg_buf_printf(b, "%-*s  %-*s  %-15s  %-*s  %-17s  %5s  %9s  %12s  %12s\n", wpod, "POD", wns,
		      "NAMESPACE", "ADDRESS", wip, "POD IP", "MAC", "AGE", "KEEPALIVE", "TX BYTES",
		      "RX BYTES");
	for (size_t i = 0; i < n; i++) {
		const struct pg_lease *l = &rows[i].lease;
		char addr[INET_ADDRSTRLEN], pod_ip[PG_PREFIX_STRLEN], mac[18], age[24], ka[24],
		    ka_ago[32];

		inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
		pg_prefix_fmt(&l->pod_ip, pod_ip, false);
		fmt_mac(l->mac, mac);
		snprintf(ka_ago, sizeof(ka_ago), "%s ago",
			 fmt_age(ago(v, last_keepalive(v, l)), ka));
		pg_buf_printf(
		    b, "%-*s  %-*s  %-15s  %-*s  %-17s  %5s  %9s  %12" PRIu64 "  %12" PRIu64 "\n",
		    wpod, rows[i].pod, wns, rows[i].ns, addr, wip, pod_ip, mac,
		    fmt_age(ago(v, since(v, l)), age), ka_ago, rows[i].t.tx_bytes,
		    rows[i].t.rx_bytes);
	}
	free(rows);
}

void pg_status_render_json(struct pg_buf *b, const struct pg_view *v)
{
	size_t n, count = pg_pool_count(v->pool), capacity = pg_pool_capacity(v->pool);
	struct row *rows = rows_of(v, &n, &b->failed);
	char gw[ESC_MAX], replica[ESC_MAX];

	pg_buf_printf(b,
		      "{\"gateway\":\"%s\",\"replica\":\"%s\",\"version\":\"%s\",\"time\":%" PRIu64
		      ",\"pool\":{\"size\":%zu,\"free\":%zu},",
		      esc(v->gateway, gw, sizeof(gw)), esc(v->replica, replica, sizeof(replica)),
		      v->version, v->now, capacity, capacity > count ? capacity - count : 0);
	if (v->ipv6.family)
		pg_buf_printf(b, "\"ipv6\":{\"network\":\"%s\",\"egress\":%s,\"setup_failed\":%s},",
			      pg_prefix_fmt(&v->ipv6, (char[PG_PREFIX_STRLEN]){0}, true),
			      v->ipv6_egress ? "true" : "false", v->ipv6_failed ? "true" : "false");
	else
		pg_buf_printf(b, "\"ipv6\":null,");
	pg_buf_printf(b, "\"leases\":[");
	for (size_t i = 0; i < n; i++) {
		const struct pg_lease *l = &rows[i].lease;
		const struct pg_traffic_count *t = &rows[i].t;
		char ns[ESC_MAX], pod[ESC_MAX], addr[INET_ADDRSTRLEN], pod_ip[PG_PREFIX_STRLEN],
		    mac[18];

		inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
		pg_prefix_fmt(&l->pod_ip, pod_ip, false);
		fmt_mac(l->mac, mac);
		pg_buf_printf(b,
			      "%s\n{\"pod\":\"%s\",\"namespace\":\"%s\",\"address\":\"%s\","
			      "\"pod_ip\":\"%s\",\"mac\":\"%s\",\"since\":%" PRIu64
			      ",\"age_seconds\":%" PRIu64 ",\"last_keepalive\":%" PRIu64
			      ",\"expires\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			      ",\"tx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			      ",\"rx_packets\":%" PRIu64 "}",
			      i ? "," : "", esc(rows[i].pod, pod, sizeof(pod)),
			      esc(rows[i].ns, ns, sizeof(ns)), addr, pod_ip, mac, since(v, l),
			      ago(v, since(v, l)), last_keepalive(v, l), wall(v, l->expires),
			      t->tx_bytes, t->tx_packets, t->rx_bytes, t->rx_packets);
	}
	pg_buf_printf(b, "%s]}\n", n ? "\n" : "");
	free(rows);
}
