/* SPDX-License-Identifier: MIT */
/* The crawler pod: built-in and from a template, the sidecar, the key, the
 * probes and the least-privilege settings; bad templates refused with one
 * line naming CRAWLER_TEMPLATE_FILE and the field. No root, no cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/crawlerpod.h"
#include "tests/unit/check.h"

static char tmpl_path[64];

/* "spec.initContainers.0.name": object keys and list indexes. */
static json_object *at(json_object *o, const char *path)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); o && tok; tok = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	}
	return o;
}

static const char *str(json_object *pod, const char *path)
{
	json_object *v = at(pod, path);

	return v ? json_object_get_string(v) : NULL;
}

/* Each name given once in a list of {name, value} objects. */
static const char *env(json_object *c, const char *name)
{
	json_object *list = at(c, "env");

	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		if (strcmp(str(json_object_array_get_idx(list, i), "name"), name) == 0)
			return str(json_object_array_get_idx(list, i), "value");
	return NULL;
}

static json_object *named(json_object *list, const char *name)
{
	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		if (strcmp(str(json_object_array_get_idx(list, i), "name"), name) == 0)
			return json_object_array_get_idx(list, i);
	return NULL;
}

static int load(struct pv_settings *s, const char *tmpl)
{
	char *argv[] = {"t",	      "--gateways",
			"foo bar",    "--pod-namespace",
			"crawlers",   "--crawler-template-file",
			(char *)tmpl, NULL};
	char *envp[] = {NULL};

	return pv_settings_load(s, 7, argv, envp, stderr);
}

static void write_template(const char *text)
{
	FILE *f = fopen(tmpl_path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void check_sidecar(json_object *pod, const char *gw)
{
	json_object *c = at(pod, "spec.initContainers.0"), *sc = at(c, "securityContext");
	char want[128];

	CHECK_STR(str(c, "name"), PV_POD_SIDECAR);
	CHECK_STR(str(c, "image"), "localhost/podgw:0.1.0");
	CHECK_STR(str(c, "command.0"), "/usr/local/bin/clientd");
	CHECK_STR(str(c, "command.1"), "run");
	CHECK_STR(str(c, "restartPolicy"), "Always");
	snprintf(want, sizeof(want), "gateway-%s.gateway-system.svc.cluster.local", gw);
	CHECK_STR(env(c, "GATEWAY_NAME"), want);
	CHECK_STR(env(c, "MEMBERSHIP_KEY_FILE"), "/etc/podgw/membership/key");
	CHECK_STR(env(c, "NOT_ROUTED_TO_GATEWAY_CIDRS"), "10.244.0.0/16 10.96.0.0/12");
	CHECK_STR(env(c, "K8S_DNS_IPS"), "10.96.0.10");
	CHECK_STR(env(c, "READY_FILE"), PV_POD_READY_FILE);
	CHECK_STR(str(named(at(c, "env"), "POD_NAME"), "valueFrom.fieldRef.fieldPath"),
		  "metadata.name");
	for (const char *const *p =
		 (const char *const[]){"startupProbe", "readinessProbe", "livenessProbe", NULL};
	     *p; p++) {
		char path[64];

		snprintf(path, sizeof(path), "%s.exec.command", *p);
		CHECK(json_object_array_length(at(c, path)) == 2);
		snprintf(path, sizeof(path), "%s.exec.command.1", *p);
		CHECK_STR(str(c, path), "check");
	}
	CHECK(json_object_get_int(at(sc, "runAsUser")) == 0);
	CHECK(json_object_get_boolean(at(sc, "privileged")) == 0 && at(sc, "privileged"));
	CHECK(json_object_get_boolean(at(sc, "allowPrivilegeEscalation")) == 0 &&
	      at(sc, "allowPrivilegeEscalation"));
	CHECK(json_object_get_boolean(at(sc, "readOnlyRootFilesystem")) == 1);
	CHECK_STR(str(sc, "capabilities.drop.0"), "ALL");
	CHECK(json_object_array_length(at(sc, "capabilities.add")) == 1);
	CHECK_STR(str(sc, "capabilities.add.0"), "NET_ADMIN");
	CHECK_STR(str(named(at(c, "volumeMounts"), PV_POD_KEY_VOLUME), "mountPath"),
		  PV_POD_KEY_DIR);
	CHECK(json_object_get_boolean(
	    at(named(at(c, "volumeMounts"), PV_POD_KEY_VOLUME), "readOnly")));
	CHECK_STR(str(named(at(c, "volumeMounts"), PV_POD_RUN_VOLUME), "mountPath"), "/run/podgw");
}

/* The label's key has a dot: looked up directly. */
static const char *label(json_object *pod, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(at(pod, "metadata.labels"), key, &v)
		   ? json_object_get_string(v)
		   : NULL;
}

static void check_pod_common(json_object *pod, const char *gw, const char *name)
{
	json_object *key = named(at(pod, "spec.volumes"), PV_POD_KEY_VOLUME);
	json_object *sysctls = at(pod, "spec.securityContext.sysctls");
	char secret[64];

	CHECK_STR(str(pod, "apiVersion"), "v1");
	CHECK_STR(str(pod, "kind"), "Pod");
	CHECK_STR(str(pod, "metadata.name"), name);
	CHECK_STR(str(pod, "metadata.namespace"), "crawlers");
	CHECK_STR(label(pod, PV_POD_GATEWAY_LABEL), gw);
	check_sidecar(pod, gw);
	snprintf(secret, sizeof(secret), "podgw-membership-%s", gw);
	CHECK_STR(str(key, "secret.secretName"), secret);
	CHECK(json_object_get_int(at(key, "secret.defaultMode")) == 0400);
	CHECK_STR(str(named(at(pod, "spec.volumes"), PV_POD_RUN_VOLUME), "emptyDir.medium"),
		  "Memory");
	CHECK_STR(str(named(sysctls, "net.ipv4.ping_group_range"), "value"), "0 2147483647");
	CHECK(!at(pod, "metadata.annotations.setGateway"));
	CHECK(!at(pod, "metadata.labels.setGateway"));
}

static void test_builtin(void)
{
	struct pv_crawler_spec spec = {.name = "crawler-abc", .gateway = "foo"};
	struct pv_settings s;
	json_object *pod, *c;
	char why[PV_WHY_MAX] = "";

	CHECK(load(&s, "") == 0);
	CHECK(pv_crawler_pod(&s, &spec, &pod, why) == 0);
	if (!pod)
		return;
	c = at(pod, "spec.containers.0");
	CHECK(json_object_array_length(at(pod, "spec.containers")) == 1);
	CHECK(json_object_array_length(at(pod, "spec.initContainers")) == 1);
	CHECK_STR(str(c, "name"), "crawler");
	CHECK_STR(str(c, "image"), "localhost/podgw-crawler:0.1.0");
	CHECK_STR(str(c, "command.0"), "/bin/sleep");
	CHECK(json_object_get_boolean(at(c, "securityContext.runAsNonRoot")));
	CHECK(json_object_get_boolean(at(c, "securityContext.readOnlyRootFilesystem")));
	CHECK_STR(str(c, "securityContext.capabilities.drop.0"), "ALL");
	CHECK(!at(c, "securityContext.capabilities.add"));
	CHECK_STR(str(pod, "spec.restartPolicy"), "Never");
	CHECK(at(pod, "spec.automountServiceAccountToken") &&
	      !json_object_get_boolean(at(pod, "spec.automountServiceAccountToken")));
	CHECK_STR(str(pod, "spec.securityContext.seccompProfile.type"), "RuntimeDefault");
	CHECK_STR(label(pod, "podgw.io/gateway"), "foo");
	CHECK_STR(label(pod, "app.kubernetes.io/managed-by"), "podgw-provisiond");
	CHECK(!at(pod, "metadata.annotations"));
	check_pod_common(pod, "foo", "crawler-abc");
	json_object_put(pod);
}

static void test_template(void)
{
	struct pv_crawler_spec spec = {.name = "crawler-xyz", .gateway = "bar"};
	struct pv_settings s;
	json_object *pod, *c;
	char why[PV_WHY_MAX] = "";

	write_template(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"team\":\"a\"},"
	    "\"annotations\":{\"note\":\"x\"}},\"spec\":{\"restartPolicy\":\"OnFailure\","
	    "\"securityContext\":{\"seccompProfile\":{\"type\":\"Localhost\","
	    "\"localhostProfile\":\"p.json\"},\"sysctls\":[{\"name\":\"net.ipv4.ping_group_range\","
	    "\"value\":\"1 1\"},{\"name\":\"kernel.shm_rmid_forced\",\"value\":\"1\"}]},"
	    "\"initContainers\":[{\"name\":\"fetch\",\"image\":\"f:1\"}],"
	    "\"containers\":[{\"name\":\"spider\",\"image\":\"s:2\",\"args\":[\"--deep\"]},"
	    "{\"name\":\"parser\",\"image\":\"p:3\"}],"
	    "\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}}]}}\n");
	CHECK(load(&s, tmpl_path) == 0);
	CHECK(pv_crawler_pod(&s, &spec, &pod, why) == 0);
	if (!pod) {
		fprintf(stderr, "template: %s\n", why);
		return;
	}
	check_pod_common(pod, "bar", "crawler-xyz");
	c = at(pod, "spec.containers");
	CHECK(json_object_array_length(c) == 2);
	CHECK_STR(str(c, "0.name"), "spider");
	CHECK_STR(str(c, "0.image"), "s:2");
	CHECK_STR(str(c, "0.args.0"), "--deep");
	CHECK_STR(str(c, "1.name"), "parser");
	/* clientd first, then the crawler's own init containers, routed */
	CHECK(json_object_array_length(at(pod, "spec.initContainers")) == 2);
	CHECK_STR(str(pod, "spec.initContainers.1.name"), "fetch");
	CHECK(json_object_array_length(at(pod, "spec.volumes")) == 3);
	CHECK_STR(str(pod, "spec.volumes.0.name"), "cache");
	CHECK_STR(str(pod, "spec.restartPolicy"), "OnFailure");
	CHECK_STR(str(pod, "spec.securityContext.seccompProfile.type"), "Localhost");
	CHECK(json_object_array_length(at(pod, "spec.securityContext.sysctls")) == 2);
	CHECK_STR(label(pod, "team"), "a");
	CHECK_STR(label(pod, "podgw.io/gateway"), "bar");
	CHECK_STR(str(pod, "metadata.annotations.note"), "x");
	json_object_put(pod);
}

struct bad_case {
	const char *text; /* NULL: no file */
	const char *want; /* in why, after the file's name */
};

static const struct bad_case bad_cases[] = {
    {NULL, "No such file"},
    {"{\"spec\":", "not JSON: it ends early"},
    {"{\"spec\":{]}", "not JSON:"},
    {"{\"spec\":{\"containers\":[{\"name\":\"c\"}]}} {}", "data after the object"},
    {"[]", "not a JSON object"},
    {"{\"metadata\":{}}", "spec: missing"},
    {"{\"spec\":{}}", "spec.containers: missing"},
    {"{\"spec\":{\"containers\":[]}}", "spec.containers: empty"},
    {"{\"spec\":{\"containers\":{}}}", "spec.containers: not a list"},
    {"{\"spec\":{\"containers\":[{\"image\":\"x:1\"}]}}", "spec.containers[0]: an object"},
    {"{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"podgw-client\"}]}}",
     "spec.containers[1].name: 'podgw-client'"},
    {"{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"initContainers\":[{\"name\":"
     "\"podgw-client\"}]}}",
     "spec.initContainers[0].name"},
    {"{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"volumes\":[{\"name\":\"podgw-run\"}]}}",
     "spec.volumes[0].name: 'podgw-run'"},
    {"{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{\"containers\":[{"
     "\"name\":\"c\"}]}}",
     "metadata.annotations.setGateway: must not be set"},
    {"{\"metadata\":{\"labels\":{\"setGateway\":\"foo\"}},\"spec\":{\"containers\":[{\"name\":"
     "\"c\"}]}}",
     "metadata.labels.setGateway"},
    {"{\"metadata\":{\"labels\":{\"a\":1}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}",
     "metadata.labels.a: not a string"},
    {"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}",
     "metadata.name: provisiond sets it"},
    {"{\"kind\":\"Job\",\"spec\":{\"containers\":[{\"name\":\"c\"}]}}", "kind: only Pod"},
    {"{\"template\":{},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}", "template: unknown field"},
    {"{\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\"}]}}", "spec.hostNetwork"},
    {"{\"spec\":{\"securityContext\":{\"seccompProfile\":{\"type\":\"Unconfined\"}},"
     "\"containers\":[{\"name\":\"c\"}]}}",
     "seccompProfile: Unconfined"},
    {"{\"spec\":{\"securityContext\":{\"sysctls\":{}},\"containers\":[{\"name\":\"c\"}]}}",
     "sysctls: not a list"},
};

static void test_bad(void)
{
	struct pv_crawler_spec spec = {.name = "c", .gateway = "foo"};
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "CRAWLER_TEMPLATE_FILE: '%s': ", tmpl_path);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct pv_settings s;
		json_object *pod = (json_object *)1;
		char why[PV_WHY_MAX] = "";
		int r;

		unlink(tmpl_path);
		if (b->text)
			write_template(b->text);
		CHECK(load(&s, tmpl_path) == 0);
		r = pv_crawler_pod(&s, &spec, &pod, why);
		if (r != -EINVAL || pod || strncmp(why, prefix, strlen(prefix)) != 0 ||
		    !strstr(why, b->want) || strchr(why, '\n')) {
			fprintf(stderr, "bad case %zu: r=%d why='%s', want '%s'\n", i, r, why,
				b->want);
			check_failures++;
		}
	}
}

static void test_settings(void)
{
	char *argv[] = {"t",	      "--gateways",
			"foo",	      "--client-not-routed-cidrs",
			"10.0.0.1/8", "--client-k8s-dns-ips",
			"x",	      "--cluster-domain",
			"a..b",	      "--crawler-template-file",
			"rel.json",   NULL};
	char *envp[] = {NULL};
	struct pv_settings s;
	char buf[1024] = "";
	FILE *err = fmemopen(buf, sizeof(buf) - 1, "w");

	CHECK(pv_settings_load(&s, 11, argv, envp, err) == -EINVAL);
	fclose(err);
	CHECK(strstr(buf, "CLIENT_NOT_ROUTED_TO_GATEWAY_CIDRS: '10.0.0.1/8'") != NULL);
	CHECK(strstr(buf, "CLIENT_K8S_DNS_IPS: 'x'") != NULL);
	CHECK(strstr(buf, "CLUSTER_DOMAIN: 'a..b'") != NULL);
	CHECK(strstr(buf, "CRAWLER_TEMPLATE_FILE: 'rel.json'") != NULL);
}

int main(void)
{
	int fd;

	snprintf(tmpl_path, sizeof(tmpl_path), "/tmp/podgw-crawlerpod-XXXXXX");
	fd = mkstemp(tmpl_path);
	if (fd < 0)
		return 1;
	close(fd);
	test_builtin();
	test_template();
	test_bad();
	test_settings();
	unlink(tmpl_path);
	return check_result();
}
