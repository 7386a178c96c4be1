/* SPDX-License-Identifier: MIT */
/* The crawler Pod. The operator says what the crawler is (a pod template:
 * containers, volumes, pod settings); provisiond adds what binds it to a
 * gateway, the same way for every pod: clientd as a native sidecar (an init
 * container with restartPolicy Always, so its startup probe holds the
 * crawler back until the pod routes through the gateway, and a Job still
 * completes), the gateway's membership key, and the pod settings clientd
 * needs. The pod never carries the admission controller's setGateway: a
 * second clientd injected into it would fight the first. */
#include "provisiond/crawlerpod.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/daemon.h"

#define TEMPLATE_MAX (256 * 1024)
#define INJECT_KEY   "setGateway" /* the admission controller's label/annotation */

/* The built-in crawler: a long-running example to exec into (its image is
 * CRAWLER_IMAGE); /bin/sleep doubles as its probe, the one binary it has
 * to have. */
static const char builtin_template[] =
    "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"crawler\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"crawler\",\"image\":\"\",\"imagePullPolicy\":"
    "\"IfNotPresent\","
    "\"command\":[\"/bin/sleep\",\"2147483647\"],"
    "\"securityContext\":{\"runAsUser\":65534,\"runAsGroup\":65534,\"runAsNonRoot\":true,"
    "\"privileged\":false,\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,"
    "\"capabilities\":{\"drop\":[\"ALL\"]}},"
    "\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"16Mi\"},"
    "\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"}},"
    "\"readinessProbe\":{\"exec\":{\"command\":[\"/bin/sleep\",\"0\"]},\"periodSeconds\":30},"
    "\"livenessProbe\":{\"exec\":{\"command\":[\"/bin/sleep\",\"0\"]},\"periodSeconds\":30}}]}}";

/* clientd as in k8s/examples/crawler-pod.yaml: user 0 with NET_ADMIN alone
 * (Kubernetes gives a non-root process capabilities only through file
 * capabilities, which no_new_privs switches off); no NET_RAW, the gateway
 * check pings through net.ipv4.ping_group_range. Image and the gateway's
 * values are added by sidecar(). */
#define CLIENTD_CHECK "{\"exec\":{\"command\":[\"/usr/local/bin/clientd\",\"check\"]},"
static const char sidecar_template[] =
    "{\"name\":\"" PV_POD_SIDECAR "\",\"image\":\"\",\"imagePullPolicy\":\"IfNotPresent\","
    "\"command\":[\"/usr/local/bin/clientd\",\"run\"],\"restartPolicy\":\"Always\","
    "\"env\":[{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}"
    "},"
    "{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
    "\"metadata.namespace\"}}}],"
    "\"securityContext\":{\"runAsUser\":0,\"runAsGroup\":0,\"runAsNonRoot\":false,"
    "\"privileged\":false,\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,"
    "\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"NET_ADMIN\"]},"
    "\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},"
    "\"resources\":{\"requests\":{\"cpu\":\"5m\",\"memory\":\"8Mi\"},"
    "\"limits\":{\"cpu\":\"200m\",\"memory\":\"32Mi\"}},"
    "\"startupProbe\":" CLIENTD_CHECK "\"periodSeconds\":1,\"failureThreshold\":120},"
    "\"readinessProbe\":" CLIENTD_CHECK "\"periodSeconds\":5},"
    "\"livenessProbe\":" CLIENTD_CHECK "\"periodSeconds\":10,\"failureThreshold\":6},"
    "\"volumeMounts\":[{\"name\":\"" PV_POD_KEY_VOLUME "\",\"mountPath\":\"" PV_POD_KEY_DIR "\","
    "\"readOnly\":true},{\"name\":\"" PV_POD_RUN_VOLUME "\",\"mountPath\":\"/run/podgw\"}]}";

/* The key readable by its owner (root, clientd) only: clientd refuses a key
 * file that others can read. */
static const char volumes_template[] =
    "[{\"name\":\"" PV_POD_KEY_VOLUME "\",\"secret\":{\"secretName\":\"\",\"defaultMode\":256}},"
    "{\"name\":\"" PV_POD_RUN_VOLUME
    "\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}}]";

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void put_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *child(json_object *o, const char *key, json_type type)
{
	json_object *v = get(o, key);

	if (!v) {
		v = type == json_type_array ? json_object_new_array() : json_object_new_object();
		json_object_object_add(o, key, v);
	}
	return v;
}

static json_object *env_var(const char *name, const char *value)
{
	json_object *e = json_object_new_object();

	put_str(e, "name", name);
	put_str(e, "value", value);
	return e;
}

/* Trusted text (the constants above): a failure is out of memory. */
static json_object *parse_const(const char *text)
{
	return json_tokener_parse(text);
}

static int bad(char why[PV_WHY_MAX], const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "CRAWLER_TEMPLATE_FILE: 'path': what", cut to one line of PV_WHY_MAX. */
static int bad(char why[PV_WHY_MAX], const char *path, const char *fmt, ...)
{
	int n = snprintf(why, PV_WHY_MAX, "CRAWLER_TEMPLATE_FILE: '%.100s': ", path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + n, PV_WHY_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int read_template(const char *path, json_object **out, char why[PV_WHY_MAX])
{
	struct json_tokener *tok;
	struct stat st;
	size_t len = 0, end;
	char *buf;
	int fd, r;

	fd = pg_open_regular(path, &st);
	if (fd < 0)
		return bad(why, path, "%s", fd == -EINVAL ? "not a regular file" : strerror(-fd));
	if (st.st_size > TEMPLATE_MAX) {
		close(fd);
		return bad(why, path, "larger than %d KiB", TEMPLATE_MAX / 1024);
	}
	buf = malloc(TEMPLATE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = pg_read_full(fd, buf, TEMPLATE_MAX + 1, &len);
	close(fd);
	if (r < 0 || len > TEMPLATE_MAX) {
		free(buf);
		return bad(why, path, "%s", r < 0 ? strerror(-r) : "grew while read");
	}
	buf[len] = '\0';
	tok = json_tokener_new();
	if (!tok) {
		free(buf);
		return -ENOMEM;
	}
	*out = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!*out && json_tokener_get_error(tok) == json_tokener_continue)
		r = bad(why, path, "not JSON: it ends early");
	else if (!*out)
		r = bad(why, path, "not JSON: %s at byte %zu",
			json_tokener_error_desc(json_tokener_get_error(tok)), end);
	else if (buf[end + strspn(buf + end, " \t\r\n")] != '\0')
		r = bad(why, path, "not JSON: data after the object at byte %zu", end);
	json_tokener_free(tok);
	free(buf);
	if (r < 0) {
		json_object_put(*out);
		*out = NULL;
	}
	return r;
}

static bool is(json_object *v, json_type t)
{
	return v && json_object_is_type(v, t);
}

/* Names in a list of objects that must not take provisiond's. */
static int check_named_list(json_object *list, const char *field, const char *reserved,
			    bool need_one, const char *path, char why[PV_WHY_MAX])
{
	size_t n;

	if (!list)
		return need_one ? bad(why, path,
				      "%s: missing (at least "
				      "one crawler container is needed)",
				      field)
				: 0;
	if (!is(list, json_type_array))
		return bad(why, path, "%s: not a list", field);
	n = json_object_array_length(list);
	if (need_one && n == 0)
		return bad(why, path,
			   "%s: empty (at least one crawler "
			   "container is needed)",
			   field);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i), *name = get(item, "name");

		if (!is(item, json_type_object) || !is(name, json_type_string))
			return bad(why, path,
				   "%s[%zu]: an object with a "
				   "string name is needed",
				   field, i);
		if (strcmp(json_object_get_string(name), reserved) == 0)
			return bad(why, path,
				   "%s[%zu].name: '%s' is "
				   "provisiond's",
				   field, i, reserved);
	}
	return 0;
}

static int check_string_map(json_object *map, const char *field, const char *path,
			    char why[PV_WHY_MAX])
{
	if (!map)
		return 0;
	if (!is(map, json_type_object))
		return bad(why, path, "%s: not an object", field);
	json_object_object_foreach(map, k, v)
	{
		if (!is(v, json_type_string))
			return bad(why, path, "%s.%.60s: not a string", field, k);
		if (strcmp(k, INJECT_KEY) == 0)
			return bad(why, path,
				   "%s.%s: must not be set "
				   "(provisiond adds clientd itself; the admission controller "
				   "would add a second one)",
				   field, INJECT_KEY);
	}
	return 0;
}

/* The template's shape: {apiVersion?, kind?: Pod, metadata?: {labels,
 * annotations}, spec: PodSpec}. Only what provisiond merges into is checked;
 * the rest of the PodSpec is the API server's to judge. */
static int check_template(json_object *t, const char *path, char why[PV_WHY_MAX])
{
	json_object *meta = get(t, "metadata"), *spec = get(t, "spec"), *v;
	int r;

	if (!is(t, json_type_object))
		return bad(why, path, "not a JSON object");
	json_object_object_foreach(t, k, val)
	{
		(void)val;
		if (strcmp(k, "apiVersion") && strcmp(k, "kind") && strcmp(k, "metadata") &&
		    strcmp(k, "spec"))
			return bad(why, path,
				   "%.60s: unknown field "
				   "(expected metadata and spec)",
				   k);
	}
	if ((v = get(t, "kind")) &&
	    !(is(v, json_type_string) && strcmp(json_object_get_string(v), "Pod") == 0))
		return bad(why, path, "kind: only Pod is expected");
	if (meta) {
		if (!is(meta, json_type_object))
			return bad(why, path, "metadata: not an object");
		json_object_object_foreach(meta, mk, mval)
		{
			(void)mval;
			if (strcmp(mk, "labels") && strcmp(mk, "annotations"))
				return bad(why, path,
					   "metadata.%.60s: provisiond sets it (only labels and "
					   "annotations are taken)",
					   mk);
		}
		if ((r = check_string_map(get(meta, "labels"), "metadata.labels", path, why)) < 0 ||
		    (r = check_string_map(get(meta, "annotations"), "metadata.annotations", path,
					  why)) < 0)
			return r;
	}
	if (!is(spec, json_type_object))
		return bad(why, path, "spec: %s", spec ? "not an object" : "missing");
	if ((r = check_named_list(get(spec, "containers"), "spec.containers", PV_POD_SIDECAR, true,
				  path, why)) < 0 ||
	    (r = check_named_list(get(spec, "initContainers"), "spec.initContainers",
				  PV_POD_SIDECAR, false, path, why)) < 0 ||
	    (r = check_named_list(get(spec, "volumes"), "spec.volumes", PV_POD_KEY_VOLUME, false,
				  path, why)) < 0 ||
	    (r = check_named_list(get(spec, "volumes"), "spec.volumes", PV_POD_RUN_VOLUME, false,
				  path, why)) < 0)
		return r;
	/* clientd would rewire the node's own network. */
	if ((v = get(spec, "hostNetwork")) && json_object_get_boolean(v))
		return bad(why, path,
			   "spec.hostNetwork: a crawler has its "
			   "own network namespace");
	if ((v = get(spec, "securityContext")) && !is(v, json_type_object))
		return bad(why, path, "spec.securityContext: not an object");
	if ((v = get(get(spec, "securityContext"), "sysctls")) && !is(v, json_type_array))
		return bad(why, path,
			   "spec.securityContext.sysctls: not a "
			   "list");
	v = get(get(get(spec, "securityContext"), "seccompProfile"), "type");
	if (v && strcmp(json_object_get_string(v), "Unconfined") == 0)
		return bad(why, path,
			   "spec.securityContext.seccompProfile: "
			   "Unconfined is refused (RuntimeDefault or Localhost)");
	return 0;
}

json_object *pv_client_sidecar(const struct pv_settings *s, const struct pv_binding *b)
{
	json_object *c = parse_const(sidecar_template), *env;
	char name[256];

	if (!c)
		return NULL;
	snprintf(name, sizeof(name), "gateway-%s.%s.svc.%s", b->gateway, s->gateway_namespace,
		 s->cluster_domain);
	put_str(c, "image", s->clientd_image);
	env = get(c, "env");
	json_object_array_add(env, env_var("GATEWAY_NAME", name));
	json_object_array_add(env, env_var("MEMBERSHIP_KEY_FILE", PV_POD_KEY_DIR "/key"));
	if (!b->settings_configmap) {
		json_object_array_add(env,
				      env_var("NOT_ROUTED_TO_GATEWAY_CIDRS", s->client_not_routed));
		json_object_array_add(env, env_var("K8S_DNS_IPS", s->client_dns_ips));
	}
	json_object_array_add(env, env_var("READY_FILE", PV_POD_READY_FILE));
	json_object_array_add(env, env_var("STATE_FILE", PV_POD_STATE_FILE));
	if (b->settings_configmap) {
		/* The gateway's client settings (cluster ranges, ports, DNS...):
		 * explicit env above wins over them, so the ConfigMap can tune
		 * clientd but not point it at another gateway or key. */
		json_object *from = json_object_new_array(), *ref = json_object_new_object();
		json_object *cm = json_object_new_object();

		snprintf(name, sizeof(name), PV_POD_SETTINGS_PREFIX "%s", b->gateway);
		put_str(cm, "name", name);
		json_object_object_add(ref, "configMapRef", cm);
		json_object_array_add(from, ref);
		json_object_object_add(c, "envFrom", from);
	}
	return c;
}

json_object *pv_client_volumes(const struct pv_binding *b)
{
	json_object *vols = parse_const(volumes_template);
	char secret[128];

	if (!vols)
		return NULL;
	snprintf(secret, sizeof(secret), "podgw-membership-%s", b->gateway);
	put_str(get(json_object_array_get_idx(vols, 0), "secret"), "secretName", secret);
	return vols;
}

/* The pod's securityContext: seccomp on unless the template chose a profile,
 * and the ICMP sysctl clientd's gateway check needs (the one value that
 * works, whatever the template said). */
static void pod_security(json_object *spec)
{
	json_object *sc = child(spec, "securityContext", json_type_object);
	json_object *sysctls = child(sc, "sysctls", json_type_array), *ping = NULL;

	if (!get(sc, "seccompProfile")) {
		json_object *prof = child(sc, "seccompProfile", json_type_object);

		put_str(prof, "type", "RuntimeDefault");
	}
	for (size_t i = 0; i < json_object_array_length(sysctls); i++) {
		json_object *e = json_object_array_get_idx(sysctls, i), *n = get(e, "name");

		if (n && strcmp(json_object_get_string(n), PV_POD_PING_SYSCTL) == 0)
			ping = e;
	}
	if (!ping) {
		ping = json_object_new_object();
		put_str(ping, "name", PV_POD_PING_SYSCTL);
		json_object_array_add(sysctls, ping);
	}
	put_str(ping, "value", PV_POD_PING_RANGE);
}

static void default_field(json_object *o, const char *key, json_object *v)
{
	if (get(o, key))
		json_object_put(v);
	else
		json_object_object_add(o, key, v);
}

static int assemble(const struct pv_settings *s, const struct pv_crawler_spec *spec, json_object *t,
		    json_object *pod)
{
	json_object *meta = json_object_new_object(), *podspec = NULL, *labels, *ann, *inits;
	json_object *vols, *extra, *side, *tmeta = get(t, "metadata");
	const struct pv_binding binding = {.gateway = spec->gateway};

	put_str(pod, "apiVersion", "v1");
	put_str(pod, "kind", "Pod");
	json_object_object_add(pod, "metadata", meta);
	put_str(meta, "name", spec->name);
	put_str(meta, "namespace", s->pod_namespace);
	labels = get(tmeta, "labels");
	labels = labels ? json_object_get(labels) : json_object_new_object();
	json_object_object_add(meta, "labels", labels);
	put_str(labels, "app.kubernetes.io/managed-by", "podgw-provisiond");
	put_str(labels, PV_POD_GATEWAY_LABEL, spec->gateway);
	if ((ann = get(tmeta, "annotations")))
		json_object_object_add(meta, "annotations", json_object_get(ann));
	/* Moved, not copied: the template is the caller's to drop. */
	podspec = json_object_get(get(t, "spec"));
	json_object_object_add(pod, "spec", podspec);
	default_field(podspec, "restartPolicy", json_object_new_string("Never"));
	default_field(podspec, "automountServiceAccountToken", json_object_new_boolean(0));
	default_field(podspec, "enableServiceLinks", json_object_new_boolean(0));
	pod_security(podspec);
	/* clientd first: the crawler's own init containers run routed too. */
	side = pv_client_sidecar(s, &binding);
	if (!side)
		return -ENOMEM;
	inits = json_object_new_array();
	json_object_array_add(inits, side);
	extra = get(podspec, "initContainers");
	for (size_t i = 0; extra && i < json_object_array_length(extra); i++)
		json_object_array_add(inits, json_object_get(json_object_array_get_idx(extra, i)));
	json_object_object_add(podspec, "initContainers", inits);
	extra = pv_client_volumes(&binding);
	if (!extra)
		return -ENOMEM;
	vols = child(podspec, "volumes", json_type_array);
	for (size_t i = 0; i < json_object_array_length(extra); i++)
		json_object_array_add(vols, json_object_get(json_object_array_get_idx(extra, i)));
	json_object_put(extra);
	return 0;
}

int pv_crawler_pod(const struct pv_settings *s, const struct pv_crawler_spec *spec,
		   struct json_object **pod, char why[PV_WHY_MAX])
{
	const char *path = s->crawler_template_file;
	json_object *t = NULL;
	int r;

	*pod = NULL;
	if (path[0]) {
		r = read_template(path, &t, why);
		if (r < 0)
			return r;
		r = check_template(t, path, why);
	} else {
		t = parse_const(builtin_template);
		if (!t)
			return -ENOMEM;
		put_str(json_object_array_get_idx(get(get(t, "spec"), "containers"), 0), "image",
			s->crawler_image);
		r = 0;
	}
	if (r == 0) {
		*pod = json_object_new_object();
		r = *pod ? assemble(s, spec, t, *pod) : -ENOMEM;
		if (r < 0) {
			json_object_put(*pod);
			*pod = NULL;
		}
	}
	if (r == -ENOMEM)
		snprintf(why, PV_WHY_MAX, "crawler pod: out of memory");
	json_object_put(t);
	return r;
}
