/* SPDX-License-Identifier: MIT */
/* scheduling.done names the gateway replica a routed crawler went through:
 * the STATE_FILE keys read back (bad values dropped, never passed on), and
 * the event data with a stand-in backend, routed and not. No root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "provisiond/provision.h"
#include "provisiond/replica.h"
#include "tests/unit/check.h"

struct text_case {
	const char *text, *replica, *pod_ip;
};

static const struct text_case texts[] = {
    {"state=routed\nreplica=foo-0\nreplica_pod_ip=10.244.0.2\n", "foo-0", "10.244.0.2"},
    {"replica=gateway-foo-7d4b9-x2x1z\ngateway_pod_ip=10.244.1.7\n", "gateway-foo-7d4b9-x2x1z",
     "10.244.1.7"},
    /* replica_pod_ip wins over gateway_pod_ip, wherever it is */
    {"gateway_pod_ip=10.0.0.9\nreplica_pod_ip=10.0.0.8\nreplica=a.b\n", "a.b", "10.0.0.8"},
    /* an older clientd: no name, the gateway's pod IP only */
    {"state=routed\ngateway_pod_ip=10.244.0.2\n", "", "10.244.0.2"},
    /* a gateway that gave no name */
    {"replica=\nreplica_pod_ip=10.244.0.3\n", "", "10.244.0.3"},
    {"", "", ""},
    /* what is not a replica name or an IPv4 address is dropped */
    {"replica=Foo-0\nreplica_pod_ip=10.244.0.300\n", "", ""},
    {"replica=foo 0\n", "", ""},
    {"replica=foo\"}\n", "", ""},
    {"replica=0123456789012345678901234567890123456789012345678901234567890123\n", "", ""},
    {"replica=012345678901234567890123456789012345678901234567890123456789012\n",
     "012345678901234567890123456789012345678901234567890123456789012", ""},
    {"replica_pod_ip=fe80::1\n", "", ""},
    {"xreplica=foo-1\nreplica_pod_ipx=10.0.0.1\n", "", ""},
    {"replica=foo-2", "foo-2", ""},
};

static void test_text(void)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct pv_crawler c;

		memset(&c, 'x', sizeof(c));
		CHECK(pv_replica_from_text(texts[i].text, &c) == (texts[i].replica[0] != '\0'));
		CHECK_STR(c.replica, texts[i].replica);
		CHECK_STR(c.replica_pod_ip, texts[i].pod_ip);
	}
	CHECK(pv_replica_name_ok("foo-0"));
	CHECK(!pv_replica_name_ok(""));
	CHECK(!pv_replica_name_ok("foo_0"));
}

static void test_file(void)
{
	char path[] = "/tmp/podgw-test-replica-XXXXXX";
	struct pv_crawler c = {0};
	int fd = mkstemp(path);
	const char text[] = "state=routed\nreplica=foo-1\nreplica_pod_ip=10.244.0.4\n";

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	pv_replica_from_file(path, 0, &c);
	CHECK_STR(c.replica, "foo-1");
	CHECK_STR(c.replica_pod_ip, "10.244.0.4");
	unlink(path);
	/* a missing file: nothing, after the wait */
	pv_replica_from_file(path, 0, &c);
	CHECK_STR(c.replica, "");
	CHECK_STR(c.replica_pod_ip, "");
}

/* A backend that makes nothing and reports what a routed crawler would. */
static const char *fake_state;

static int fake_init(const struct pv_settings *s, void **impl, char why[PV_WHY_MAX])
{
	(void)s;
	(void)why;
	*impl = NULL;
	return 0;
}

static int fake_create(void *impl, const struct pv_crawler_spec *spec, struct pv_crawler *out,
		       char why[PV_WHY_MAX])
{
	(void)impl;
	(void)why;
	snprintf(out->pod_name, sizeof(out->pod_name), "%s", spec->name);
	snprintf(out->pod_namespace, sizeof(out->pod_namespace), "crawlers");
	if (spec->wait_routed) {
		snprintf(out->overlay_address, sizeof(out->overlay_address), "172.16.0.9");
		pv_replica_from_text(fake_state, out);
	}
	return 0;
}

static void fake_fini(void *impl)
{
	(void)impl;
}

static const struct pv_backend_ops fake = {
    .name = "fake", .init = fake_init, .create = fake_create, .fini = fake_fini};

/* The data of scheduling.done for one event, parsed. */
static json_object *done_data(enum pv_reply_when when, const char *state, const char *id)
{
	static struct pv_settings s;
	struct pv_provisioner *p;
	struct pv_event ev = {.mode = PV_MODE_BINARY};
	struct pv_answer ans = {0};
	char why[PV_WHY_MAX] = "";
	json_object *d = NULL;

	memset(&s, 0, sizeof(s));
	s.dedup_entries = 16;
	s.n_gateways = 1;
	snprintf(s.gateways[0], sizeof(s.gateways[0]), "foo");
	s.reply_when = when;
	fake_state = state;
	snprintf(ev.id, sizeof(ev.id), "%s", id);
	snprintf(ev.source, sizeof(ev.source), "/test");
	snprintf(ev.type, sizeof(ev.type), PV_TYPE_PENDING);
	snprintf(ev.gateway, sizeof(ev.gateway), "foo");
	CHECK(pv_provisioner_new(&s, &fake, &p, why) == 0);
	if (!p)
		return NULL;
	CHECK(pv_provisioner_handle(p, &ev, &ans) == 0);
	CHECK_STR(ans.type, PV_TYPE_DONE);
	if (ans.data_json)
		d = json_tokener_parse(ans.data_json);
	pv_answer_clear(&ans);
	pv_provisioner_free(p);
	return d;
}

static const char *field(json_object *d, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(d, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_event(void)
{
	const char *st = "state=routed\nreplica=foo-2\nreplica_pod_ip=10.244.0.4\n";
	json_object *d = done_data(PV_REPLY_ROUTED, st, "e1");

	CHECK_STR(field(d, "gateway_name"), "foo");
	CHECK_STR(field(d, "replica"), "foo-2");
	CHECK_STR(field(d, "replica_pod_ip"), "10.244.0.4");
	CHECK_STR(field(d, "overlay_address"), "172.16.0.9");
	json_object_put(d);
	/* Answered at creation: nobody knows the replica yet, so no field. */
	d = done_data(PV_REPLY_CREATED, st, "e2");
	CHECK(d && field(d, "pod_name"));
	CHECK(!field(d, "replica"));
	CHECK(!field(d, "replica_pod_ip"));
	json_object_put(d);
	/* A gateway that gave no name: the pod IP alone. */
	d = done_data(PV_REPLY_ROUTED, "replica=\nreplica_pod_ip=10.244.0.5\n", "e3");
	CHECK(!field(d, "replica"));
	CHECK_STR(field(d, "replica_pod_ip"), "10.244.0.5");
	json_object_put(d);
	/* A bad name from the wire never reaches the event. */
	d = done_data(PV_REPLY_ROUTED, "replica=x\",\"pod_name\":\"evil\n", "e4");
	CHECK(!field(d, "replica"));
	CHECK(strncmp(field(d, "pod_name") ? field(d, "pod_name") : "", "crawler-foo-", 12) == 0);
	json_object_put(d);
}

int main(void)
{
	test_text();
	test_file();
	test_event();
	return check_result();
}
