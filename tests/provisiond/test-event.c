/* SPDX-License-Identifier: MIT */
/* The CloudEvents parser and reply writer, table-driven: each request with
 * the status and the start of the reason it must get; names and reply ids
 * derived from events. No sockets, no root. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "provisiond/event.h"
#include "provisiond/provision.h"
#include "provisiond/store.h"
#include "tests/unit/check.h"

#define CT_JSON "application/json"
#define CT_CE	"application/cloudevents+json"
#define PENDING PV_TYPE_PENDING

struct parse_case {
	const char *ct, *spec, *id, *source, *type, *body;
	int status;
	const char *why; /* prefix */
	const char *gateway;
};

static const struct parse_case cases[] = {
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"foo\"}", 0, "", "foo"},
    {"Application/JSON; charset=utf-8", "1.0", "a", "/s", PENDING,
     " {\"gateway_name\":\"foo\",\"x\":1}\n", 0, "", "foo"},
    {CT_JSON, "1.0", "a%20b", "/s", PENDING, "{\"gateway_name\":\"bar\"}", 0, "", "bar"},
    {CT_JSON, "1.0", "a%2", "/s", PENDING, "{\"gateway_name\":\"bar\"}", 400, "ce-id: 'a%2'", 0},
    {CT_JSON, "1.0", "a%0a", "/s", PENDING, "{}", 400, "ce-id: 'a%0a': control", 0},
    {CT_JSON, "1.0", "", "/s", PENDING, "{}", 400, "ce-id: empty", 0},
    {CT_JSON, "1.0", "a", "/s", "other", "{}", 400, "ce-type: 'other'", 0},
    {CT_JSON, "2.0", "a", "/s", PENDING, "{}", 400, "ce-specversion: '2.0'", 0},
    {CT_JSON, "1.0", "a", NULL, PENDING, "{}", 400, "ce-source: missing header", 0},
    {NULL, "1.0", "a", "/s", PENDING, "{}", 415, "content-type: missing", 0},
    {"text/plain", "1.0", "a", "/s", PENDING, "{}", 415, "content-type: 'text/plain'", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{}", 400, "data.gateway_name: missing", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":1}", 400,
     "data.gateway_name: not a string", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"\"}", 400,
     "data.gateway_name: '': not a DNS label", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"-foo\"}", 400,
     "data.gateway_name: '-foo'", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"f\\u0000o\"}", 400,
     "data.gateway_name: contains a NUL", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"foo\"", 400, "data: bad JSON", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{\"gateway_name\":\"foo\"}{}", 400, "data: bad JSON", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "[]", 400, "data: not a JSON object", 0},
    {CT_JSON, "1.0", "a", "/s", PENDING,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 400, "data: bad JSON",
     0},
    {CT_JSON, "1.0", "a", "/s", PENDING, "{'gateway_name':'foo'}", 400, "data: bad JSON", 0},
    {CT_CE, NULL, 0, 0, 0,
     "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"/s\",\"type\":\"" PENDING
     "\",\"data\":{\"gateway_name\":\"foo\"}}",
     0, "", "foo"},
    {CT_CE, NULL, 0, 0, 0,
     "{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"" PENDING
     "\",\"data\":{\"gateway_name\":\"foo\"}}",
     400, "id: not a string", 0},
    {CT_CE, NULL, 0, 0, 0,
     "{\"specversion\":\"1.0\",\"id\":\"i\",\"type\":\"" PENDING
     "\",\"data\":{\"gateway_name\":\"foo\"}}",
     400, "source: missing", 0},
    {CT_CE, NULL, 0, 0, 0,
     "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"/s\",\"type\":\"" PENDING
     "\",\"data\":\"x\"}",
     400, "data: not a JSON object", 0},
    {CT_CE, NULL, 0, 0, 0, "{\"id\":\"i\"}", 400, "specversion: missing", 0},
    {"application/cloudevents-batch+json", NULL, 0, 0, 0, "[]", 415, "content-type: batched", 0},
    {CT_JSON, NULL, 0, 0, 0, "{}", 400, "ce-specversion: missing header", 0},
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct pv_request rq = {c->ct,	 c->spec, c->id,	  c->source,
					c->type, c->body, strlen(c->body)};
		struct pv_event ev;
		char why[PV_WHY_MAX];
		int st = pv_event_parse(&rq, &ev, why);

		if (st != c->status || strncmp(why, c->why, strlen(c->why)) != 0) {
			fprintf(stderr, "case %zu: got %d '%s', want %d '%s...'\n", i, st, why,
				c->status, c->why);
			check_failures++;
		}
		if (st == 0)
			CHECK_STR(ev.gateway, c->gateway);
	}
}

static void test_long_attr(void)
{
	char id[PV_ATTR_MAX + 2];
	struct pv_request rq = {CT_JSON, "1.0", id, "/s", PENDING, "{\"gateway_name\":\"a\"}", 20};
	struct pv_event ev;
	char why[PV_WHY_MAX];

	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	CHECK(pv_event_parse(&rq, &ev, why) == 400);
	CHECK(strncmp(why, "ce-id: longer than", 18) == 0);
	id[PV_ATTR_MAX] = '\0';
	CHECK(pv_event_parse(&rq, &ev, why) == 0);
}

static void test_render(void)
{
	struct pv_http_reply r;
	json_object *o, *v;

	CHECK(pv_reply_render(PV_MODE_BINARY, PV_TYPE_DONE, "id 1", "/src", "{\"pod_name\":\"p\"}",
			      &r) == 0);
	CHECK_STR(r.content_type, "application/json");
	CHECK_STR(r.body, "{\"pod_name\":\"p\"}");
	CHECK(r.n_headers == 4);
	CHECK_STR(r.headers[1].name, "ce-id");
	CHECK_STR(r.headers[1].value, "id%201"); /* percent-encoded */
	pv_reply_free(&r);

	CHECK(pv_reply_render(PV_MODE_STRUCTURED, PV_TYPE_FAILED, "i", "/src",
			      "{\"message\":\"m\"}", &r) == 0);
	CHECK_STR(r.content_type, "application/cloudevents+json");
	o = json_tokener_parse(r.body);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "type", &v) &&
	      strcmp(json_object_get_string(v), PV_TYPE_FAILED) == 0);
	CHECK(json_object_object_get_ex(o, "data", &v) && json_object_is_type(v, json_type_object));
	CHECK(json_object_object_get_ex(o, "specversion", &v) &&
	      strcmp(json_object_get_string(v), "1.0") == 0);
	json_object_put(o);
	pv_reply_free(&r);
}

static void test_names(void)
{
	char a[PV_NAME_MAX + 1], b[PV_NAME_MAX + 1], id[PV_REPLY_ID_MAX + 1];
	char gw[PV_GATEWAY_MAX + 1];

	pv_crawler_name("foo", "/s", "1", a);
	pv_crawler_name("foo", "/s", "1", b);
	CHECK_STR(a, b);
	CHECK(strncmp(a, "crawler-foo-", 12) == 0 && strlen(a) == 22);
	pv_crawler_name("foo", "/s1", "", b); /* parts are delimited */
	CHECK(strcmp(a, b) != 0);
	memset(gw, 'g', PV_GATEWAY_MAX);
	gw[PV_GATEWAY_MAX] = '\0';
	pv_crawler_name(gw, "/s", "1", a);
	CHECK(strlen(a) <= PV_NAME_MAX && pv_dns_label_ok(a));
	pv_reply_id("/s", "1", id);
	CHECK(strlen(id) == 32);
}

static void test_store(void)
{
	struct pv_store *s;
	struct pv_answer a = {0}, got;

	CHECK(pv_store_new(16, &s) == 0);
	CHECK(pv_store_claim(s, "/s", "1", 1, &got) == 0);
	/* in progress: a second delivery waits, then times out */
	CHECK(pv_store_claim(s, "/s", "1", 0, &got) == -ETIMEDOUT);
	snprintf(a.type, sizeof(a.type), "t");
	a.data_json = "{\"x\":1}";
	CHECK(pv_store_finish(s, "/s", "1", &a) == 0);
	CHECK(pv_store_claim(s, "/s", "1", 1, &got) == 1);
	CHECK_STR(got.type, "t");
	CHECK_STR(got.data_json, "{\"x\":1}");
	pv_answer_clear(&got);
	/* abandoned: the next delivery owns it again */
	CHECK(pv_store_claim(s, "/s", "2", 1, &got) == 0);
	pv_store_abandon(s, "/s", "2");
	CHECK(pv_store_claim(s, "/s", "2", 1, &got) == 0);
	pv_store_abandon(s, "/s", "2");
	/* bounded: old answers are forgotten, never an event in progress */
	for (int i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n%d", i);
		CHECK(pv_store_claim(s, "/s", id, 1, &got) == 0);
		CHECK(pv_store_finish(s, "/s", id, &a) == 0);
	}
	CHECK(pv_store_claim(s, "/s", "1", 1, &got) == 0); /* forgotten */
	pv_store_abandon(s, "/s", "1");
	pv_store_free(s);
}

int main(void)
{
	test_parse();
	test_long_attr();
	test_render();
	test_names();
	test_store();
	return check_result();
}
