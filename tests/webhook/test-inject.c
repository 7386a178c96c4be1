/* SPDX-License-Identifier: MIT */
/* The injection patch on pod specs as users write them: the example crawler,
 * a Job's pod, a pod with init containers and a native sidecar of its own,
 * and the ones that must be refused or left alone. Each patch is applied
 * (a small RFC 6902 add/replace applier below) and the result checked;
 * applying the webhook again to its own result changes nothing. No root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/admission.h"
#include "provisiond/crawlerpod.h"
#include "provisiond/inject.h"
#include "tests/unit/check.h"

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

static const char *str(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	return v ? json_object_get_string(v) : NULL;
}

static size_t len(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	return v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

/* JSON Pointer: ~1 is '/', ~0 is '~'. */
static void unescape(char *t)
{
	char *w = t;

	for (char *r = t; *r; r++, w++) {
		*w = *r;
		if (r[0] == '~' && (r[1] == '0' || r[1] == '1'))
			*w = *++r == '1' ? '/' : '~';
	}
	*w = '\0';
}

/* json-c 0.16 has no insert: shift right by one, each moved element
 * referenced before its old slot is released. */
static void insert(json_object *a, size_t i, json_object *v)
{
	size_t n = json_object_array_length(a);

	json_object_array_add(a, NULL);
	for (size_t j = n; j > i; j--)
		json_object_array_put_idx(a, j,
					  json_object_get(json_object_array_get_idx(a, j - 1)));
	json_object_array_put_idx(a, i, v);
}

/* add and replace, as the API server applies them. */
static int apply_op(json_object *doc, const char *verb, const char *path, json_object *value)
{
	char buf[512], *last, *tok, *save;
	json_object *parent = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	last = strrchr(buf, '/');
	if (!last)
		return -EINVAL;
	*last++ = '\0';
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		unescape(tok);
		parent = json_object_is_type(parent, json_type_array)
			     ? json_object_array_get_idx(parent, (size_t)atoi(tok))
			     : json_object_object_get(parent, tok);
		if (!parent)
			return -ENOENT;
	}
	unescape(last);
	value = json_object_get(value);
	if (json_object_is_type(parent, json_type_object)) {
		if (strcmp(verb, "replace") == 0 && !json_object_object_get(parent, last))
			return -ENOENT;
		json_object_object_add(parent, last, value);
	} else if (json_object_is_type(parent, json_type_array)) {
		if (strcmp(last, "-") == 0)
			json_object_array_add(parent, value);
		else if (strcmp(verb, "replace") == 0)
			json_object_array_put_idx(parent, (size_t)atoi(last), value);
		else
			insert(parent, (size_t)atoi(last), value);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int apply(json_object *doc, json_object *patch)
{
	for (size_t i = 0; i < json_object_array_length(patch); i++) {
		json_object *o = json_object_array_get_idx(patch, i);
		const char *verb = str(o, "op");

		if (strcmp(verb, "add") != 0 && strcmp(verb, "replace") != 0)
			return -EINVAL;
		if (apply_op(doc, verb, str(o, "path"), json_object_object_get(o, "value")) < 0)
			return -EINVAL;
	}
	return 0;
}

static struct pv_settings settings;

static void load(void)
{
	char *argv[] = {"t", "--gateways", "foo bar", "--webhook-default-gateway", "bar", NULL};
	char *envp[] = {NULL};

	CHECK(pv_settings_load(&settings, 5, argv, envp, stderr) == PV_SETTINGS_OK);
}

static json_object *named(json_object *list, const char *name)
{
	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		if (strcmp(str(json_object_array_get_idx(list, i), "name"), name) == 0)
			return json_object_array_get_idx(list, i);
	return NULL;
}

static const char *env(json_object *c, const char *name)
{
	return str(named(at(c, "env"), name), "value");
}

/* Injects, applies, checks what every injected pod has; returns the pod. */
static json_object *inject_ok(const char *text, const char *gw)
{
	json_object *pod = json_tokener_parse(text), *patch = NULL, *side, *key, *again = NULL;
	char why[PV_WHY_MAX] = "", chosen[PV_GATEWAY_MAX + 1], secret[64], cm[64];
	const char *before = NULL;
	int r;

	CHECK(pod != NULL);
	if (!pod)
		return NULL;
	before = strdup(json_object_to_json_string(at(pod, "spec.containers")));
	r = pv_inject(&settings, pod, &patch, chosen, why);
	CHECK(r == PV_INJECT_PATCH);
	if (r != PV_INJECT_PATCH) {
		fprintf(stderr, "  not injected: %s\n", why);
		free((void *)before);
		return pod;
	}
	CHECK_STR(chosen, gw);
	CHECK(apply(pod, patch) == 0);
	json_object_put(patch);
	side = at(pod, "spec.initContainers.0");
	CHECK_STR(str(side, "name"), PV_POD_SIDECAR);
	CHECK_STR(str(side, "restartPolicy"), "Always");
	CHECK_STR(str(side, "command.1"), "run");
	CHECK_STR(str(side, "startupProbe.exec.command.1"), "check");
	CHECK_STR(str(side, "securityContext.capabilities.add.0"), "NET_ADMIN");
	CHECK(len(side, "securityContext.capabilities.add") == 1);
	CHECK_STR(str(side, "securityContext.capabilities.drop.0"), "ALL");
	CHECK_STR(str(side, "securityContext.seccompProfile.type"), "RuntimeDefault");
	CHECK_STR(env(side, "MEMBERSHIP_KEY_FILE"), PV_POD_KEY_DIR "/key");
	snprintf(secret, sizeof(secret), "gateway-%s.gateway-system.svc.cluster.local", gw);
	CHECK_STR(env(side, "GATEWAY_NAME"), secret);
	snprintf(cm, sizeof(cm), "podgw-client-%s", gw);
	CHECK_STR(str(side, "envFrom.0.configMapRef.name"), cm);
	CHECK(env(side, "NOT_ROUTED_TO_GATEWAY_CIDRS") == NULL);
	key = named(at(pod, "spec.volumes"), PV_POD_KEY_VOLUME);
	snprintf(secret, sizeof(secret), "podgw-membership-%s", gw);
	CHECK_STR(str(key, "secret.secretName"), secret);
	CHECK(json_object_get_int(at(key, "secret.defaultMode")) == 0400);
	CHECK(named(at(pod, "spec.volumes"), PV_POD_RUN_VOLUME) != NULL);
	CHECK_STR(str(named(at(pod, "spec.securityContext.sysctls"), PV_POD_PING_SYSCTL), "value"),
		  PV_POD_PING_RANGE);
	CHECK_STR(json_object_get_string(
		      json_object_object_get(at(pod, "metadata.labels"), PV_POD_GATEWAY_LABEL)),
		  gw);
	/* The user's containers are untouched. */
	CHECK_STR(json_object_to_json_string(at(pod, "spec.containers")), before);
	free((void *)before);
	/* Reinvoked on its own result: left alone. */
	CHECK(pv_inject(&settings, pod, &again, chosen, why) == PV_INJECT_SKIP);
	CHECK(again == NULL);
	return pod;
}

static void refused(const char *text, const char *want)
{
	json_object *pod = json_tokener_parse(text), *patch = NULL;
	char why[PV_WHY_MAX] = "", gw[PV_GATEWAY_MAX + 1];

	CHECK(pv_inject(&settings, pod, &patch, gw, why) == -EPERM);
	CHECK(patch == NULL);
	if (!strstr(why, want)) {
		fprintf(stderr, "  '%s' does not say '%s'\n", why, want);
		check_failures++;
	}
	json_object_put(pod);
}

static void skipped(const char *text, const char *want)
{
	json_object *pod = json_tokener_parse(text), *patch = NULL;
	char why[PV_WHY_MAX] = "", gw[PV_GATEWAY_MAX + 1];

	CHECK(pod != NULL);
	CHECK(pv_inject(&settings, pod, &patch, gw, why) == PV_INJECT_SKIP);
	CHECK(patch == NULL);
	CHECK(strstr(why, want) != NULL);
	json_object_put(pod);
}

#define CRAWLER                                                                                    \
	"{\"name\":\"crawler\",\"image\":\"busybox\",\"command\":[\"sleep\",\"86400\"],"           \
	"\"securityContext\":{\"runAsUser\":65534,\"runAsNonRoot\":true}}"

/* k8s/examples/injected/crawler-pod.yaml as the API server sees it. */
static const char example_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"crawler-foo-injected\","
    "\"namespace\":\"crawler-system\",\"labels\":{\"app.kubernetes.io/name\":\"crawler\"},"
    "\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{\"automountServiceAccountToken\":false,"
    "\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},"
    "\"containers\":[" CRAWLER "]}}";

/* A Job's pod: generateName, the Job controller's labels, the label
 * setGateway (the admission controller's objectSelector sees labels). */
static const char job_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"crawler-bar-\","
    "\"labels\":{\"setGateway\":\"bar\",\"batch.kubernetes.io/job-name\":\"crawler-bar\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"crawler-bar\","
    "\"uid\":\"0b0b\",\"controller\":true}]},\"spec\":{\"restartPolicy\":\"Never\","
    "\"securityContext\":{\"runAsUser\":65534,\"sysctls\":[{\"name\":\"net.ipv4.ping_group_range\","
    "\"value\":\"1 0\"},{\"name\":\"net.ipv4.ip_unprivileged_port_start\",\"value\":\"80\"}]},"
    "\"containers\":[" CRAWLER "],\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}}]}}";

/* Init containers and a native sidecar of its own (a log shipper): clientd
 * goes before all of them, so they run routed. */
static const char own_inits[] =
    "{\"metadata\":{\"name\":\"p\",\"annotations\":{\"setGateway\":\"foo\"},\"labels\":{}},"
    "\"spec\":{\"initContainers\":[{\"name\":\"fetch-config\",\"image\":\"busybox\"},"
    "{\"name\":\"shipper\",\"image\":\"busybox\",\"restartPolicy\":\"Always\"}],"
    "\"securityContext\":{\"sysctls\":[]},"
    "\"containers\":[" CRAWLER "]}}";

static void test_examples(void)
{
	json_object *pod;

	pod = inject_ok(example_pod, "foo");
	CHECK_STR(str(pod, "spec.securityContext.seccompProfile.type"), "RuntimeDefault");
	CHECK(len(pod, "spec.initContainers") == 1);
	json_object_put(pod);

	pod = inject_ok(job_pod, "bar");
	CHECK_STR(str(pod, "spec.restartPolicy"), "Never");
	CHECK(len(pod, "spec.securityContext.sysctls") == 2);
	CHECK_STR(str(pod, "spec.securityContext.sysctls.1.value"), "80");
	CHECK_STR(str(pod, "spec.volumes.0.name"), "data");
	CHECK(len(pod, "spec.volumes") == 3);
	CHECK_STR(str(pod, "metadata.labels.setGateway"), "bar");
	/* No pod-level seccomp invented: the sidecar has its own. */
	CHECK(at(pod, "spec.securityContext.seccompProfile") == NULL);
	json_object_put(pod);

	pod = inject_ok(own_inits, "foo");
	CHECK(len(pod, "spec.initContainers") == 3);
	CHECK_STR(str(pod, "spec.initContainers.1.name"), "fetch-config");
	CHECK_STR(str(pod, "spec.initContainers.2.name"), "shipper");
	CHECK(len(pod, "spec.securityContext.sysctls") == 1);
	json_object_put(pod);

	/* setGateway=true: the default gateway, as the admission controller. */
	pod = inject_ok("{\"metadata\":{\"labels\":{\"setGateway\":\"true\"}},"
			"\"spec\":{\"containers\":[" CRAWLER "]}}",
			"bar");
	json_object_put(pod);
}

static void test_left_alone(void)
{
	skipped("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[" CRAWLER "]}}",
		"no setGateway");
	skipped("{\"spec\":{\"containers\":[" CRAWLER "]}}", "no setGateway");
	skipped("{\"metadata\":{\"labels\":{\"setGateway\":\"false\"}},\"spec\":{}}",
		"setGateway is false");
	/* Written by hand (k8s/examples) or by the admission controller. */
	skipped("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"initContainers\":[{\"name\":\"podgw-client\"}],\"containers\":[" CRAWLER "]}}",
		"already has clientd (container podgw-client)");
	skipped("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"initContainers\":[{\"name\":\"gateway-init\"}],\"containers\":[" CRAWLER "]}}",
		"already has clientd");
}

static void test_refused(void)
{
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"hostNetwork\":true,\"containers\":[" CRAWLER "]}}",
		"spec.hostNetwork");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"nope\"}},\"spec\":{}}",
		"unknown gateway 'nope' (known: foo, bar)");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"},"
		"\"labels\":{\"setGateway\":\"bar\"}},\"spec\":{}}",
		"name different gateways");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":7}},\"spec\":{}}",
		"must be a string");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}}}", "spec: missing");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":[]}",
		"spec: not an object");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"containers\":{}}}",
		"spec.containers: not a list");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"volumes\":[{\"name\":\"podgw-run\",\"emptyDir\":{}}]}}",
		"spec.volumes[0].name: 'podgw-run' is podgw's");
	refused("{\"metadata\":{\"annotations\":{\"setGateway\":\"foo\"}},\"spec\":{"
		"\"securityContext\":{\"sysctls\":{}}}}",
		"spec.securityContext.sysctls: not a list");
	refused("{\"metadata\":[],\"spec\":{}}", "metadata: not an object");
	refused("[]", "not a Pod object");
}

/* The review envelope: the answer names what is wrong. */
static void review(const char *body, unsigned status, const char *want)
{
	struct pv_admission_reply rep;

	CHECK(pv_admission_answer(&settings, body, strlen(body), &rep) == 0);
	CHECK(rep.status == status);
	if (!rep.body || !strstr(rep.body, want)) {
		fprintf(stderr, "  review answer '%s' does not say '%s'\n",
			rep.body ? rep.body : "(null)", want);
		check_failures++;
	}
	pv_admission_reply_free(&rep);
}

#define REVIEW_HEAD                                                                                \
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"       \
	"\"uid\":\"u1\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
static void test_reviews(void)
{
	review("", 400, "not JSON");
	review("{\"apiVersion\":", 400, "ends early");
	review("{} {}", 400, "data after the object");
	review("[1]", 400, "not a JSON object");
	review("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}", 400,
	       "apiVersion: 'admission.k8s.io/v1beta1'");
	review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", 400, "kind: 'Pod'");
	review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", 400,
	       "request: missing");
	review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	       "{}}",
	       400, "request.uid");
	review(REVIEW_HEAD "\"operation\":\"CREATE\"}}", 200, "request.object: missing");
	review(REVIEW_HEAD "\"operation\":\"UPDATE\",\"object\":{}}}", 200,
	       "request.operation: 'UPDATE'");
	review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	       "\"uid\":\"u1\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":"
	       "\"Deployment\"},\"operation\":\"CREATE\",\"object\":{}}}",
	       200, "only v1 Pod is injected");
	review(REVIEW_HEAD "\"operation\":\"CREATE\",\"object\":{\"metadata\":{\"annotations\":{"
			   "\"setGateway\":\"nope\"}},\"spec\":{}}}}",
	       200, "\"allowed\":false,\"status\":{\"code\":403");
	review(REVIEW_HEAD "\"operation\":\"CREATE\",\"object\":{\"spec\":{}}}}", 200,
	       "{\"uid\":\"u1\",\"allowed\":true}");
	review(REVIEW_HEAD "\"operation\":\"CREATE\",\"object\":{\"metadata\":{\"annotations\":{"
			   "\"setGateway\":\"foo\"}},\"spec\":{}}}}",
	       200, "\"patchType\":\"JSONPatch\",\"patch\":\"W3");
}

int main(void)
{
	load();
	test_examples();
	test_left_alone();
	test_refused();
	test_reviews();
	return check_result();
}
