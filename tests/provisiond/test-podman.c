/* SPDX-License-Identifier: MIT */
/* The podman translation without podman: rendered objects in, the bodies of
 * the libpod requests out (pods/create, containers/create), the volumes'
 * files, the startup probe, and every refusal naming its field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "provisiond/podman.h"
#include "tests/unit/check.h"

/* A crawler-like pod (clientd sidecar, crawler), its Secret and ConfigMap,
 * and a Deployment in the way. 256 = 0400, 420 = 0644, 292 = 0444. */
static const char *objects_json =
    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"key\","
    "\"namespace\":\"crawlers\"},\"data\":{\"key\":\"czNjcmV0\",\"other\":\"eA==\"}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"key\","
    "\"namespace\":\"elsewhere\"},\"data\":{\"key\":\"d3Jvbmc=\"}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"},"
    "\"data\":{\"MODE\":\"fast\",\"settings.sh\":\"A=1\\n\"}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"crawler-foo\","
    "\"namespace\":\"crawlers\",\"labels\":{\"podgw.io/gateway\":\"foo\"},"
    "\"annotations\":{\"a\":\"b\"}},\"spec\":{"
    "\"terminationGracePeriodSeconds\":5,"
    "\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"},"
    "\"sysctls\":[{\"name\":\"net.ipv4.ping_group_range\",\"value\":\"0 2147483647\"}]},"
    "\"initContainers\":[{\"name\":\"client\",\"image\":\"podgw\",\"restartPolicy\":\"Always\","
    "\"command\":[\"/usr/local/bin/clientd\",\"run\"],\"args\":[\"--gw=$(GW)\",\"$$(GW)\"],"
    "\"env\":[{\"name\":\"GW\",\"value\":\"gateway-foo\"},"
    "{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
    "{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
    "\"metadata.namespace\"}}},"
    "{\"name\":\"GATEWAY\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
    "\"metadata.labels['podgw.io/gateway']\"}}},"
    "{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"
    "{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"
    "{\"name\":\"KEY\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"key\",\"key\":\"key\"}}},"
    "{\"name\":\"OPT\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"none\",\"key\":\"k\","
    "\"optional\":true}}},"
    "{\"name\":\"MODE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"MODE\"}}},"
    "{\"name\":\"BOTH\",\"value\":\"$(GW)/$(POD_NAME)/$(UNKNOWN)\"}],"
    "\"securityContext\":{\"runAsUser\":0,\"runAsGroup\":0,\"allowPrivilegeEscalation\":false,"
    "\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"ALL\"],\"add\":"
    "[\"NET_ADMIN\"]}},"
    "\"startupProbe\":{\"exec\":{\"command\":[\"/usr/local/bin/clientd\",\"check\"]},"
    "\"periodSeconds\":1,\"failureThreshold\":120},"
    "\"readinessProbe\":{\"httpGet\":{\"port\":1}},"
    "\"volumeMounts\":[{\"name\":\"key\",\"mountPath\":\"/etc/podgw/membership\"},"
    "{\"name\":\"run\",\"mountPath\":\"/run/podgw\"}]}],"
    "\"containers\":[{\"name\":\"crawler\",\"image\":\"busybox\",\"command\":[\"sleep\","
    "\"86400\"],\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"},\"prefix\":\"CFG_\"}],"
    "\"securityContext\":{\"runAsUser\":65534,\"runAsGroup\":65534,\"runAsNonRoot\":true,"
    "\"capabilities\":{\"drop\":[\"ALL\"]}},"
    "\"volumeMounts\":[{\"name\":\"run\",\"mountPath\":\"/run/podgw\",\"readOnly\":true},"
    "{\"name\":\"cfg\",\"mountPath\":\"/etc/settings.sh\",\"subPath\":\"settings.sh\"}]}],"
    "\"volumes\":[{\"name\":\"key\",\"secret\":{\"secretName\":\"key\",\"defaultMode\":256}},"
    "{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"settings.sh\","
    "\"path\":\"settings.sh\",\"mode\":292}]}},"
    "{\"name\":\"run\",\"emptyDir\":{\"medium\":\"Memory\"}}]}},"
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"gw\"},"
    "\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"gw\"}},\"spec\":{"
    "\"containers\":[{\"name\":\"gatewayd\",\"image\":\"podgw\"}]}}}}"
    "]}";

static const struct pv_podman_opts opts = {
    .network = "pgnet",
    .pod_ip = "10.89.0.7",
    .node_name = "node1",
    .state_dir = "/run/st",
    .nofile = 4096,
    .nproc = 2048,
};

/* "a.b.0.c": objects by key, arrays by index. */
static json_object *at(json_object *o, const char *path)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	}
	return o;
}

static const char *s_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	return v ? json_object_get_string(v) : NULL;
}

static void test_pod(json_object *objects, struct pv_kpod *kp)
{
	char why[PV_WHY_MAX] = "";
	json_object *b;

	CHECK(pv_kpod_find(objects, "crawler-foo", &opts, kp, why) == 0);
	CHECK_STR(kp->name, "crawler-foo");
	CHECK_STR(kp->ns, "crawlers");
	CHECK(pv_podman_check(kp, &opts, why) == 0);
	CHECK_STR(why, "");
	b = pv_podman_pod_body(kp, &opts);
	CHECK_STR(s_at(b, "name"), "crawler-foo");
	CHECK_STR(s_at(b, "hostname"), "crawler-foo");
	CHECK_STR(s_at(b, "netns.nsmode"), "bridge");
	CHECK_STR(s_at(b, "Networks.pgnet.static_ips.0"), "10.89.0.7");
	CHECK(json_object_object_length(at(b, "sysctl")) == 1);
	CHECK_STR(json_object_get_string(
		      json_object_object_get(at(b, "sysctl"), "net.ipv4.ping_group_range")),
		  "0 2147483647");
	CHECK_STR(s_at(b, "shared_namespaces.0"), "net");
	CHECK(json_object_array_length(at(b, "shared_namespaces")) == 3);
	CHECK_STR(
	    json_object_get_string(json_object_object_get(at(b, "labels"), "podgw.io/gateway")),
	    "foo");
	CHECK_STR(
	    json_object_get_string(json_object_object_get(at(b, "labels"), "io.podgw.namespace")),
	    "crawlers");
	CHECK(!at(b, "infra_image"));
	json_object_put(b);
}

static void test_sidecar(const struct pv_kpod *kp)
{
	json_object *c = at(kp->spec, "initContainers.0"), *b = NULL;
	char why[PV_WHY_MAX] = "";
	struct pv_probe p;

	CHECK(pv_podman_container_body(kp, c, "10.89.0.7", &opts, &b, why) == 0);
	CHECK_STR(s_at(b, "name"), "crawler-foo-client");
	CHECK_STR(s_at(b, "pod"), "crawler-foo");
	CHECK_STR(s_at(b, "image"), "podgw");
	CHECK_STR(s_at(b, "entrypoint.0"), "/usr/local/bin/clientd");
	CHECK_STR(s_at(b, "entrypoint.1"), "run");
	CHECK_STR(s_at(b, "command.0"), "--gw=gateway-foo");
	CHECK_STR(s_at(b, "command.1"), "$(GW)");
	CHECK_STR(s_at(b, "env.POD_NAME"), "crawler-foo");
	CHECK_STR(s_at(b, "env.POD_NAMESPACE"), "crawlers");
	CHECK_STR(s_at(b, "env.GATEWAY"), "foo");
	CHECK_STR(s_at(b, "env.IP"), "10.89.0.7");
	CHECK_STR(s_at(b, "env.NODE"), "node1");
	CHECK_STR(s_at(b, "env.KEY"), "s3cret");
	CHECK(!at(b, "env.OPT"));
	CHECK_STR(s_at(b, "env.MODE"), "fast");
	CHECK_STR(s_at(b, "env.BOTH"), "gateway-foo/crawler-foo/$(UNKNOWN)");
	CHECK_STR(s_at(b, "user"), "0:0");
	CHECK_STR(s_at(b, "cap_drop.0"), "ALL");
	CHECK_STR(s_at(b, "cap_add.0"), "CAP_NET_ADMIN");
	CHECK(json_object_get_boolean(at(b, "read_only_filesystem")));
	CHECK(json_object_get_boolean(at(b, "no_new_privileges")));
	CHECK(!at(b, "seccomp_profile_path"));
	CHECK(!at(b, "privileged"));
	CHECK_STR(s_at(b, "restart_policy"), "always");
	CHECK_STR(json_object_get_string(json_object_object_get(at(b, "labels"), "io.podgw.role")),
		  "sidecar");
	CHECK_STR(s_at(b, "r_limits.0.type"), "nofile");
	CHECK(json_object_get_int(at(b, "r_limits.0.hard")) == 4096);
	CHECK_STR(s_at(b, "r_limits.1.type"), "nproc");
	CHECK(json_object_get_int(at(b, "r_limits.1.soft")) == 2048);
	CHECK(json_object_get_int(at(b, "stop_timeout")) == 5);
	CHECK_STR(s_at(b, "mounts.0.destination"), "/etc/podgw/membership");
	CHECK_STR(s_at(b, "mounts.0.source"), "/run/st/crawler-foo/key");
	CHECK_STR(s_at(b, "mounts.0.type"), "bind");
	CHECK_STR(s_at(b, "mounts.0.options.1"), "ro"); /* a Secret: always */
	CHECK_STR(s_at(b, "mounts.1.source"), "/run/st/crawler-foo/run");
	CHECK_STR(s_at(b, "mounts.1.options.1"), "rw"); /* an emptyDir */
	json_object_put(b);
	CHECK(pv_podman_startup_probe(c, &p, why) == 0);
	CHECK(p.argv && p.argv[2] == NULL);
	CHECK_STR(p.argv ? p.argv[1] : NULL, "check");
	CHECK(p.period_s == 1 && p.failure_threshold == 120 && p.timeout_s == 1);
	pv_probe_clear(&p);
	/* A regular container's startup probe holds nothing back. */
	CHECK(pv_podman_startup_probe(at(kp->spec, "containers.0"), &p, why) == 0 && !p.argv);
}

static void test_container(const struct pv_kpod *kp)
{
	json_object *b = NULL;
	char why[PV_WHY_MAX] = "";

	CHECK(pv_podman_container_body(kp, at(kp->spec, "containers.0"), "10.89.0.7", &opts, &b,
				       why) == 0);
	CHECK_STR(s_at(b, "entrypoint.0"), "sleep");
	CHECK(!at(b, "command")); /* no args: the image's CMD is not used either */
	CHECK_STR(s_at(b, "env.CFG_MODE"), "fast");
	CHECK_STR(s_at(b, "user"), "65534:65534");
	CHECK(!at(b, "cap_add"));
	CHECK(!at(b, "read_only_filesystem"));
	CHECK(!at(b, "no_new_privileges")); /* allowPrivilegeEscalation unset */
	CHECK(!at(b, "restart_policy"));
	CHECK_STR(s_at(b, "mounts.0.options.1"), "ro"); /* readOnly: true */
	CHECK_STR(s_at(b, "mounts.1.source"), "/run/st/crawler-foo/cfg/settings.sh");
	json_object_put(b);
}

static void test_volumes(const struct pv_kpod *kp)
{
	json_object *v = NULL;
	char why[PV_WHY_MAX] = "";

	CHECK(pv_podman_volumes(kp, &v, why) == 0);
	CHECK(json_object_array_length(v) == 3);
	CHECK_STR(s_at(v, "0.name"), "key");
	CHECK(json_object_get_int(at(v, "0.dir_mode")) == 0755);
	CHECK(json_object_array_length(at(v, "0.files")) == 2);
	CHECK_STR(s_at(v, "0.files.0.path"), "key");
	CHECK_STR(s_at(v, "0.files.0.data"), "s3cret"); /* decoded, not base64 */
	CHECK(json_object_get_int(at(v, "0.files.0.mode")) == 0400);
	CHECK_STR(s_at(v, "0.files.1.data"), "x");
	CHECK_STR(s_at(v, "1.files.0.path"), "settings.sh");
	CHECK_STR(s_at(v, "1.files.0.data"), "A=1\n");
	CHECK(json_object_get_int(at(v, "1.files.0.mode")) == 0444);
	CHECK(json_object_array_length(at(v, "1.files")) == 1);
	CHECK_STR(s_at(v, "2.name"), "run");
	CHECK(json_object_get_int(at(v, "2.dir_mode")) == 0777);
	CHECK(json_object_array_length(at(v, "2.files")) == 0);
	json_object_put(v);
}

static void test_ignored(const struct pv_kpod *kp)
{
	char *list = pv_podman_ignored(kp);

	CHECK(list && strstr(list, "client.readinessProbe") != NULL);
	CHECK(list && strstr(list, "spec.volumes (run).emptyDir.sizeLimit/medium") != NULL);
	CHECK(list && strstr(list, "client.startupProbe") == NULL); /* a sidecar's: run */
	free(list);
}

static void test_workloads(json_object *objects)
{
	struct pv_kpod kp;
	char why[PV_WHY_MAX] = "";
	struct pv_podman_opts named = opts;

	CHECK(pv_kpod_find(objects, "gw", &opts, &kp, why) == 0);
	CHECK_STR(kp.name, "gw");
	CHECK_STR(kp.ns, "default");
	CHECK_STR(s_at(kp.meta, "labels.app"), "gw");
	CHECK(pv_kpod_find(objects, NULL, &opts, &kp, why) == -EINVAL);
	CHECK(strstr(why, "2 Pods or workloads") != NULL);
	CHECK(pv_kpod_find(objects, "nope", &opts, &kp, why) == -EINVAL);
	named.name = "t1-crawler";
	CHECK(pv_kpod_find(objects, "crawler-foo", &named, &kp, why) == 0);
	CHECK_STR(kp.name, "t1-crawler");
	named.name = "Bad_Name";
	CHECK(pv_kpod_find(objects, "crawler-foo", &named, &kp, why) == -EINVAL);
}

/* Each edit of the pod (a JSON path set to a JSON value) must be refused
 * with a reason that names the field. */
struct refusal {
	const char *object, *key, *value, *why;
};

static const struct refusal refusals[] = {
    {"initContainers.0.securityContext", "privileged", "true",
     "spec.initContainers[0] (client).securityContext.privileged: true is refused"},
    {"", "hostNetwork", "true", "spec.hostNetwork: true is refused"},
    {"", "initContainers", "{\"name\":\"client\",\"image\":\"podgw\"}",
     "spec.initContainers: not a list"},
    {"", "containers", "\"crawler\"", "spec.containers: not a list"},
    {"", "volumes", "{}", "spec.volumes: not a list"},
    {"", "hostPID", "true", "spec.hostPID: true is refused"},
    {"", "hostUsers", "false", "spec.hostUsers: false"},
    {"volumes.2", "hostPath", "{\"path\":\"/\"}", "spec.volumes[2] (run).hostPath: volume type"},
    {"containers.0.securityContext", "seccompProfile", "{\"type\":\"Localhost\"}",
     "spec.containers[0] (crawler).securityContext.seccompProfile.type: 'Localhost'"},
    {"containers.0.securityContext", "runAsUser", "0",
     "spec.containers[0] (crawler).securityContext.runAsNonRoot"},
    {"containers.0.securityContext", "procMount", "\"Unmasked\"",
     "spec.containers[0] (crawler).securityContext.procMount"},
    {"volumes.0.secret", "secretName", "\"missing\"",
     "spec.volumes[0] (key).secret: Secret 'missing' not among the objects"},
    {"volumes.1.configMap.items.0", "path", "\"../x\"",
     "spec.volumes[1] (cfg).configMap.items[0].path"},
    {"volumes.0.secret", "defaultMode", "4096", "spec.volumes[0] (key).secret.defaultMode"},
    {"initContainers.0.env.4.valueFrom.fieldRef", "fieldPath", "\"status.hostIP\"",
     "spec.initContainers[0] (client).env[4].valueFrom.fieldRef.fieldPath: 'status.hostIP'"},
    {"initContainers.0.env.6.valueFrom.secretKeyRef", "key", "\"nokey\"",
     "spec.initContainers[0] (client).env[6].valueFrom.secretKeyRef: Secret 'key' key 'nokey'"},
    {"initContainers.0.startupProbe", "exec", "null", "initContainers (client).startupProbe"},
    {"containers.0", "restartPolicy", "\"Always\"", "spec.containers[0] (crawler).restartPolicy"},
    {"containers.0.securityContext.capabilities", "add", "[\"net_admin\"]",
     "spec.containers[0] (crawler).securityContext.capabilities.add[0]"},
    {"containers.0.volumeMounts.0", "name", "\"nope\"",
     "spec.containers[0] (crawler).volumeMounts[0].name"},
    {"containers.0", "image", "\"\"", "spec.containers[0] (crawler).image"},
};

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *t = &refusals[i];
		json_object *objects = json_tokener_parse(objects_json), *target;
		char why[PV_WHY_MAX] = "", path[256];
		struct pv_kpod kp;

		CHECK(pv_kpod_find(objects, "crawler-foo", &opts, &kp, why) == 0);
		snprintf(path, sizeof(path), "%s", t->object);
		target = *path ? at(kp.spec, path) : kp.spec;
		CHECK(target != NULL);
		if (target)
			json_object_object_add(target, t->key, json_tokener_parse(t->value));
		CHECK(pv_podman_check(&kp, &opts, why) == -EINVAL);
		if (strncmp(why, t->why, strlen(t->why)) != 0) {
			fprintf(stderr, "refusal %zu: got '%s', want '%s...'\n", i, why, t->why);
			check_failures++;
		}
		json_object_put(objects);
	}
}

static void test_replica_of(void)
{
	CHECK(pv_podman_replica_of("ct-gateway-foo", "ct-gateway-foo"));
	CHECK(pv_podman_replica_of("ct-gateway-foo", "ct-gateway-foo-0"));
	CHECK(pv_podman_replica_of("ct-gateway-foo", "ct-gateway-foo-7d4b9-x2x1z"));
	CHECK(!pv_podman_replica_of("ct-gateway-foo", "ct-gateway-foo-"));
	CHECK(!pv_podman_replica_of("ct-gateway-foo", "ct-gateway-foobar"));
	CHECK(!pv_podman_replica_of("ct-gateway-foo", "other-gateway-foo-0"));
	CHECK(!pv_podman_replica_of("ct-gateway-foo", "ct-gateway-fo"));
	CHECK(!pv_podman_replica_of("ct-gateway-foo", NULL));
}

int main(void)
{
	json_object *objects = json_tokener_parse(objects_json);
	struct pv_kpod kp;

	CHECK(objects != NULL);
	test_pod(objects, &kp);
	test_sidecar(&kp);
	test_container(&kp);
	test_volumes(&kp);
	test_ignored(&kp);
	test_workloads(objects);
	test_refusals();
	test_replica_of();
	json_object_put(objects);
	return check_result();
}
