/* SPDX-License-Identifier: MIT */
/* The metrics exposition, the status table and JSON, and log lines,
 * rendered from a pool, a traffic reading and counters built here. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/addr.h"
#include "common/log.h"
#include "gatewayd/metrics.h"

static struct in_addr ip(const char *text)
{
	struct in_addr a = {0};

	CHECK(inet_pton(AF_INET, text, &a) == 1);
	return a;
}

static struct pg_prefix pod(const char *text)
{
	struct pg_prefix p = {0};

	CHECK(pg_addr_parse(text, &p) == 0);
	return p;
}

static bool has_line(const struct pg_buf *b, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = b->data; p && (p = strstr(p, line)); p++)
		if ((p == b->data || p[-1] == '\n') && p[n] == '\n')
			return true;
	fprintf(stderr, "missing line: %s\n", line);
	return false;
}

/* Every sample line is NAME{LABELS} VALUE or NAME VALUE, every family has
 * HELP and TYPE first, names are [a-z_]: what a text-format parser wants. */
static void check_exposition(const struct pg_buf *b)
{
	char *copy = strndup(b->data, b->len), *save = NULL;
	char family[128] = "";

	CHECK(b->len > 0 && b->data[b->len - 1] == '\n');
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "# HELP ", 7) == 0) {
			sscanf(l + 7, "%127s", family);
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			char name[128], type[16];

			CHECK(sscanf(l + 7, "%127s %15s", name, type) == 2);
			CHECK_STR(name, family);
			CHECK(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			if (strcmp(type, "counter") == 0)
				CHECK(strlen(name) > 6 &&
				      strcmp(name + strlen(name) - 6, "_total") == 0);
			continue;
		}
		CHECK(strncmp(l, family, strlen(family)) == 0);
		CHECK(l[strlen(family)] == '{' || l[strlen(family)] == ' ');
		for (const char *c = l; *c && *c != '{' && *c != ' '; c++)
			CHECK((*c >= 'a' && *c <= 'z') || *c == '_' ||
			      (c > l && *c >= '0' && *c <= '9'));
		const char *space = strrchr(l, ' ');
		char *end;

		CHECK(space != NULL);
		if (space) {
			strtoull(space + 1, &end, 10);
			CHECK(*end == '\0' && end > space + 1);
		}
	}
	free(copy);
}

static void test_render(void)
{
	static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 1}, mac2[6] = {0x02, 0, 0, 0, 0, 2};
	struct pg_prefix net;
	struct pg_pool *pool = NULL;
	struct pg_traffic *tr = NULL;
	struct pg_stats st = {.joins = 5, .leases_granted = 2, .renewals = 40, .expiries = 1};
	struct pg_buf b = {0};
	struct pg_view v;

	st.rejections[PG_REJECT_AUTH] = 3;
	st.repairs[PG_REPAIR_TABLES] = 1;
	st.start_time = 1700000000;
	CHECK(pg_prefix_parse("172.16.0.0/24", &net, false) == 0);
	CHECK(pg_pool_new(&net, 20, &pool) == 0);
	CHECK(pg_traffic_new(&tr) == 0);
	/* joined at 1700000000 (+30 lease time), the second renewed since;
	 * each asked for its address, so that the rows below can name it */
	CHECK(pg_pool_acquire(pool, "crawlers/web-2", "web-2", ip("172.16.0.20"), mac2,
			      pod("10.244.0.12"), 1700000030, NULL, NULL, NULL) == 0);
	CHECK(pg_pool_acquire(pool, "default/crawler-1", "crawler-1", ip("172.16.0.21"), mac1,
			      pod("10.244.0.11"), 1700000030, NULL, NULL, NULL) == 0);
	CHECK(pg_pool_renew(pool, "default/crawler-1", 1700000100, NULL) == 0);
	CHECK(pg_traffic_put(tr, &(struct pg_traffic_count){.addr = ip("172.16.0.20"),
							    .tx_bytes = 1000,
							    .tx_packets = 10,
							    .rx_bytes = 5000,
							    .rx_packets = 7}) == 0);
	st.info_requests = 4;
	v = (struct pg_view){.gateway = "foo",
			     .replica = "foo-7d9f.b",
			     .version = "9.9.9",
			     .pool = pool,
			     .traffic = tr,
			     .stats = &st,
			     .lease_time = 30,
			     .now = 1700000090,
			     .lease_now = 1700000090};

	pg_metrics_render(&b, &v);
	CHECK(!b.failed);
	check_exposition(&b);
	CHECK(has_line(&b, "podgw_build_info{version=\"9.9.9\",gateway=\"foo\"} 1"));
	CHECK(has_line(&b, "podgw_gateway_info{gateway=\"foo\",replica=\"foo-7d9f.b\"} 1"));
	CHECK(has_line(&b, "podgw_info_requests_total 4"));
	CHECK(has_line(&b, "podgw_leases_active 2"));
	CHECK(has_line(&b, "podgw_leases_total 2"));
	CHECK(has_line(&b, "podgw_joins_total 5"));
	CHECK(has_line(&b, "podgw_renewals_total 40"));
	CHECK(has_line(&b, "podgw_expiries_total 1"));
	CHECK(has_line(&b, "podgw_rejections_total{reason=\"auth\"} 3"));
	CHECK(has_line(&b, "podgw_rejections_total{reason=\"pool_exhausted\"} 0"));
	CHECK(has_line(&b, "podgw_rejections_total{reason=\"lease_held\"} 0"));
	CHECK(has_line(&b, "podgw_membership_answers_suppressed_total 0"));
	CHECK(has_line(&b, "podgw_pool_size 253"));
	CHECK(has_line(&b, "podgw_pool_free 251"));
	CHECK(has_line(&b, "podgw_repairs_total{kind=\"nftables\"} 1"));
	CHECK(has_line(&b, "podgw_client_transmit_bytes_total{namespace=\"crawlers\",pod=\"web-2\","
			   "address=\"172.16.0.20\"} 1000"));
	CHECK(has_line(&b,
		       "podgw_client_receive_packets_total{namespace=\"crawlers\",pod=\"web-2\","
		       "address=\"172.16.0.20\"} 7"));
	CHECK(has_line(&b,
		       "podgw_client_transmit_bytes_total{namespace=\"default\",pod=\"crawler-1\","
		       "address=\"172.16.0.21\"} 0"));
	CHECK(has_line(&b, "podgw_client_last_keepalive_timestamp_seconds{namespace=\"default\","
			   "pod=\"crawler-1\",address=\"172.16.0.21\"} 1700000070"));
	pg_buf_free(&b);

	pg_status_render_table(&b, &v);
	CHECK(!b.failed);
	CHECK(has_line(&b, "gateway foo: 2 leases, 251 of 253 addresses free"));
	CHECK(has_line(&b, "replica: foo-7d9f.b"));
	CHECK(has_line(&b, "ipv6: off"));
	CHECK(strstr(b.data, "\nweb-2      crawlers   172.16.0.20      10.244.0.12      "
			     "02:00:00:00:00:02    90s    90s ago          1000          5000\n"));
	CHECK(strstr(b.data, "\ncrawler-1  default    172.16.0.21      10.244.0.11      "
			     "02:00:00:00:00:01    90s    20s ago             0             0\n"));
	pg_buf_free(&b);

	pg_status_render_json(&b, &v);
	CHECK(!b.failed);
	CHECK(strstr(b.data,
		     "{\"gateway\":\"foo\",\"replica\":\"foo-7d9f.b\",\"version\":\"9.9.9\","
		     "\"time\":1700000090,"
		     "\"pool\":{\"size\":253,\"free\":251},\"ipv6\":null,\"leases\":[\n") ==
	      b.data);
	CHECK(strstr(b.data,
		     "{\"pod\":\"crawler-1\",\"namespace\":\"default\",\"address\":"
		     "\"172.16.0.21\",\"pod_ip\":\"10.244.0.11\",\"mac\":\"02:00:00:00:00:01\","
		     "\"since\":1700000000,\"age_seconds\":90,\"last_keepalive\":1700000070,"
		     "\"expires\":1700000100,\"tx_bytes\":0"));
	CHECK(strcmp(b.data + b.len - 4, "}\n]}") == 0 || strcmp(b.data + b.len - 3, "]}\n") == 0);
	pg_buf_free(&b);

	/* an IPv6 overlay: its prefix, and whether grants carry it */
	v.ipv6 = (struct pg_prefix){AF_INET6, 64, {0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 42}};
	pg_status_render_table(&b, &v);
	CHECK(has_line(&b, "ipv6: fd12:3456:789a:2a::/64 (egress: no)"));
	pg_buf_free(&b);
	pg_metrics_render(&b, &v);
	CHECK(has_line(&b, "podgw_ipv6_egress 0"));
	pg_buf_free(&b);
	v.ipv6_egress = true;
	pg_status_render_table(&b, &v);
	CHECK(has_line(&b, "ipv6: fd12:3456:789a:2a::/64 (egress: yes)"));
	pg_buf_free(&b);
	pg_metrics_render(&b, &v);
	check_exposition(&b);
	CHECK(has_line(&b, "podgw_ipv6_egress 1"));
	pg_buf_free(&b);
	pg_status_render_json(&b, &v);
	CHECK(strstr(b.data, ",\"ipv6\":{\"network\":\"fd12:3456:789a:2a::/64\",\"egress\":true,"
			     "\"setup_failed\":false},\"leases\":[") != NULL);
	pg_buf_free(&b);
	/* configured, but the kernel refused it (forwarding, the address):
	 * the setting alone must not be shown as an overlay */
	v.ipv6_egress = false;
	v.ipv6_failed = true;
	pg_status_render_table(&b, &v);
	CHECK(has_line(&b, "ipv6: fd12:3456:789a:2a::/64 (setup failed: IPv4 only)"));
	CHECK(!strstr(b.data, "(egress:"));
	pg_buf_free(&b);
	pg_status_render_json(&b, &v);
	CHECK(strstr(b.data, ",\"ipv6\":{\"network\":\"fd12:3456:789a:2a::/64\",\"egress\":false,"
			     "\"setup_failed\":true},") != NULL);
	pg_buf_free(&b);
	v.ipv6 = (struct pg_prefix){0};
	v.ipv6_failed = false;

	/* leases run on the boot clock, readers read the wall clock: the same
	 * lease with the boot clock 1699990000 s behind is shown alike (here
	 * from an IPv6 underlay's pod IP) */
	v.lease_now = 90;
	pg_pool_free(pool);
	CHECK(pg_pool_new(&net, 20, &pool) == 0);
	CHECK(pg_pool_acquire(pool, "default/crawler-1", "crawler-1", ip("0.0.0.0"), mac1,
			      pod("fd00:10:244:1:2:3:4:b"), 30, NULL, NULL, NULL) == 0);
	CHECK(pg_pool_renew(pool, "default/crawler-1", 100, NULL) == 0);
	v.pool = pool;
	pg_status_render_json(&b, &v);
	CHECK(strstr(b.data,
		     "\"since\":1700000000,\"age_seconds\":90,\"last_keepalive\":1700000070,"
		     "\"expires\":1700000100,"));
	CHECK(strstr(b.data, "\"pod_ip\":\"fd00:10:244:1:2:3:4:b\""));
	pg_buf_free(&b);
	pg_status_render_table(&b, &v);
	/* the column as wide as its widest pod IP */
	CHECK(strstr(b.data, "ADDRESS          POD IP                 MAC "));
	CHECK(strstr(b.data, "  fd00:10:244:1:2:3:4:b  02:00:00:00:00:01 "));
	pg_buf_free(&b);
	v.lease_now = v.now;

	/* nothing leased: families without samples, an empty list */
	pg_pool_free(pool);
	CHECK(pg_pool_new(&net, 20, &pool) == 0);
	v.pool = pool;
	pg_metrics_render(&b, &v);
	check_exposition(&b);
	CHECK(has_line(&b, "podgw_leases_active 0"));
	pg_buf_free(&b);
	pg_status_render_json(&b, &v);
	CHECK(strstr(b.data, "\"leases\":[]}\n") != NULL);
	pg_buf_free(&b);
	pg_pool_free(pool);
	pg_traffic_free(tr);
}

static void test_buf_grows(void)
{
	struct pg_buf b = {0};

	for (int i = 0; i < 10000; i++)
		pg_buf_printf(&b, "%05d\n", i);
	CHECK(!b.failed && b.len == 60000);
	CHECK(strncmp(b.data + 59994, "09999\n", 6) == 0);
	pg_buf_free(&b);
}

static void test_log_lines(void)
{
	static const char *const fields[] = {"pod", "crawler 1", "addr", "172.16.0.20", NULL};
	char line[512];

	pg_log_init("/usr/bin/gatewayd");
	pg_log_format_line(line, sizeof(line), PG_LOG_LOGFMT, PG_LOG_INFO, "T",
			   "granted default/crawler-1: 172.16.0.20", fields);
	CHECK_STR(line, "ts=T level=info prog=gatewayd msg=\"granted default/crawler-1: "
			"172.16.0.20\" pod=\"crawler 1\" addr=172.16.0.20");
	pg_log_format_line(line, sizeof(line), PG_LOG_LOGFMT, PG_LOG_WARN, "T", "say \"hi\"\\\n",
			   NULL);
	CHECK_STR(line, "ts=T level=warning prog=gatewayd msg=\"say \\\"hi\\\"\\\\\\n\"");
	pg_log_format_line(line, sizeof(line), PG_LOG_JSON, PG_LOG_ERR, "T", "bad\x01 \"x\"",
			   fields);
	CHECK_STR(line, "{\"ts\":\"T\",\"level\":\"error\",\"prog\":\"gatewayd\",\"msg\":"
			"\"bad\\u0001 \\\"x\\\"\",\"pod\":\"crawler 1\",\"addr\":\"172.16.0.20\"}");
	/* cut short, still one closed object */
	pg_log_format_line(line, 40, PG_LOG_JSON, PG_LOG_INFO, "T", "a long message that is cut",
			   NULL);
	CHECK(strlen(line) == 39 && line[38] == '}');
	enum pg_log_format f;

	CHECK(pg_log_format_parse("json", &f) == 0 && f == PG_LOG_JSON);
	CHECK(pg_log_format_parse("logfmt", &f) == 0 && f == PG_LOG_LOGFMT);
	CHECK(pg_log_format_parse("xml", &f) < 0);
}

int main(void)
{
	test_render();
	test_buf_grows();
	test_log_lines();
	return check_result();
}
