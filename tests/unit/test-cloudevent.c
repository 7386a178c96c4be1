/* SPDX-License-Identifier: MIT */
/* The events gatewayd posts to K_SINK: whole messages (headers and JSON
 * body) for each kind, and K_CE_OVERRIDES accepted or refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "check.h"
#include "common/addr.h"
#include "gatewayd/cloudevent.h"

static struct pg_lease lease(const char *id, const char *addr, const char *pod)
{
	struct pg_lease l = {.mac = {0x02, 0x42, 0xac, 0x10, 0x00, 0x14}};

	snprintf(l.id, sizeof(l.id), "%s", id);
	inet_pton(AF_INET, addr, &l.addr);
	pg_addr_parse(pod, &l.pod_ip);
	return l;
}

static const char *header(const struct pg_ce_message *m, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < m->n_headers; i++)
		if (strncmp(m->headers[i], name, n) == 0 && m->headers[i][n] == ':')
			return m->headers[i] + n + 2;
	return NULL;
}

static void test_connected(void)
{
	struct pg_ce_origin o;
	struct pg_ce_record r = {.kind = PG_CE_CONNECTED,
				 .seq = 7,
				 .time = {.tv_sec = 1714564800, .tv_nsec = 123456789},
				 .lease =
				     lease("crawlers/crawler-foo-1", "172.16.0.20", "10.244.0.31")};
	struct pg_ce_message m;
	char why[PG_CE_WHY_MAX] = "";

	CHECK(pg_ce_origin_init(&o, "foo", "", why) == 0);
	CHECK(strlen(o.id_prefix) == 32);
	snprintf(o.id_prefix, sizeof(o.id_prefix), "abc");
	CHECK(pg_ce_format(&o, &r, &m) == 0);
	CHECK(m.n_headers == 7);
	CHECK_STR(header(&m, "Ce-Specversion"), "1.0");
	CHECK_STR(header(&m, "Ce-Id"), "abc-7");
	CHECK_STR(header(&m, "Ce-Source"), "/podgw/gatewayd/foo");
	CHECK_STR(header(&m, "Ce-Type"), "io.podgateway.client.connected");
	CHECK_STR(header(&m, "Ce-Time"), "2024-05-01T12:00:00.123Z");
	CHECK_STR(header(&m, "Ce-Subject"), "crawlers/crawler-foo-1");
	CHECK_STR(header(&m, "Content-Type"), "application/json");
	CHECK_STR(m.body, "{\"pod_name\":\"crawler-foo-1\",\"namespace\":\"crawlers\","
			  "\"gateway_name\":\"foo\",\"overlay_address\":\"172.16.0.20\","
			  "\"pod_ip\":\"10.244.0.31\",\"mac\":\"02:42:ac:10:00:14\"}");
	pg_ce_message_clear(&m);
	CHECK(m.body == NULL && m.n_headers == 0);
}

static void test_disconnected(void)
{
	static const char *const reasons[] = {"released", "expired", "replaced", "refused"};
	struct pg_ce_origin o;
	char why[PG_CE_WHY_MAX] = "";

	CHECK(pg_ce_origin_init(&o, "bar", "{\"extensions\":{\"team\":\"crawl\",\"env2\":\"lab\"}}",
				why) == 0);
	CHECK(o.n_ext == 2);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		struct pg_ce_record r = {.kind = PG_CE_DISCONNECTED,
					 .seq = 1000 + i,
					 .time = {.tv_sec = 0},
					 .lease = lease("default/c", "172.16.0.254",
							i % 2 ? "fd00:10:244::2" : "10.244.0.2")};
		struct pg_ce_message m;
		json_object *j, *v;

		snprintf(r.reason, sizeof(r.reason), "%s", reasons[i]);
		CHECK(pg_ce_format(&o, &r, &m) == 0);
		CHECK_STR(header(&m, "Ce-Type"), "io.podgateway.client.disconnected");
		CHECK_STR(header(&m, "Ce-Time"), "1970-01-01T00:00:00.000Z");
		CHECK_STR(header(&m, "Ce-Source"), "/podgw/gatewayd/bar");
		CHECK_STR(header(&m, "Ce-team"), "crawl");
		CHECK_STR(header(&m, "Ce-env2"), "lab");
		CHECK(m.n_headers == 9);
		j = json_tokener_parse(m.body);
		CHECK(j && json_object_object_get_ex(j, "reason", &v));
		CHECK_STR(j ? json_object_get_string(v) : NULL, reasons[i]);
		CHECK(j && json_object_object_get_ex(j, "pod_name", &v));
		CHECK_STR(j ? json_object_get_string(v) : NULL, "c");
		CHECK(j && json_object_object_get_ex(j, "overlay_address", &v));
		CHECK_STR(j ? json_object_get_string(v) : NULL, "172.16.0.254");
		/* a pod IP of either family, as it is written */
		CHECK(j && json_object_object_get_ex(j, "pod_ip", &v));
		CHECK_STR(j ? json_object_get_string(v) : NULL,
			  i % 2 ? "fd00:10:244::2" : "10.244.0.2");
		json_object_put(j);
		pg_ce_message_clear(&m);
	}
}

/* Two origins never share an id prefix: ids stay unique across restarts. */
static void test_ids(void)
{
	struct pg_ce_origin a, b;
	char why[PG_CE_WHY_MAX];

	CHECK(pg_ce_origin_init(&a, "foo", "", why) == 0);
	CHECK(pg_ce_origin_init(&b, "foo", "", why) == 0);
	CHECK(strcmp(a.id_prefix, b.id_prefix) != 0);
}

struct overrides_case {
	const char *text;
	bool ok;
	const char *why;
};

static const struct overrides_case overrides[] = {
    {"", true, NULL},
    {"{}", true, NULL},
    {"{\"extensions\":{}}", true, NULL},
    {"{\"extensions\":{\"a1\":\"x y\"}}", true, NULL},
    {"nope", false, "not JSON"},
    {"[]", false, "not a JSON object"},
    {"{\"extensions\":[]}", false, "\"extensions\" is not an object"},
    {"{\"other\":{}}", false, "unknown member 'other'"},
    {"{\"extensions\":{\"Team\":\"x\"}}", false, "extension 'Team': not 1 to 20"},
    {"{\"extensions\":{\"a-b\":\"x\"}}", false, "extension 'a-b'"},
    {"{\"extensions\":{\"abcdefghijklmnopqrstu\":\"x\"}}", false, "not 1 to 20"},
    {"{\"extensions\":{\"source\":\"x\"}}", false, "an attribute gatewayd sets"},
    {"{\"extensions\":{\"n\":1}}", false, "the value is not a string"},
    {"{\"extensions\":{\"n\":\"a\\r\\nX-Evil: 1\"}}", false, "printable ASCII"},
};

static void test_overrides(void)
{
	for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
		const struct overrides_case *c = &overrides[i];
		struct pg_ce_origin o;
		char why[PG_CE_WHY_MAX] = "";
		int r = pg_ce_origin_init(&o, "foo", c->text, why);

		if ((r == 0) != c->ok || (c->why && !strstr(why, c->why))) {
			fprintf(stderr, "K_CE_OVERRIDES '%s': got %d '%s'\n", c->text, r, why);
			check_failures++;
		}
	}
	/* 17 extensions: one too many */
	{
		char text[1024] = "{\"extensions\":{";
		struct pg_ce_origin o;
		char why[PG_CE_WHY_MAX] = "";

		for (int i = 0; i < 17; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "%s\"e%d\":\"v\"", i ? "," : "", i);
		strcat(text, "}}");
		CHECK(pg_ce_origin_init(&o, "foo", text, why) == -EINVAL);
		CHECK(strstr(why, "more than 16") != NULL);
	}
}

int main(void)
{
	test_connected();
	test_disconnected();
	test_ids();
	test_overrides();
	return check_result();
}
