/* SPDX-License-Identifier: MIT */
/* The podman backend: crawlers on one machine without Kubernetes. The
 * crawler's Pod is the one crawlerpod.c writes for the kubernetes backend;
 * podman-run.c runs it (the same translation `provisiond podman-pod` and the
 * container tests use). The runner starts the crawler containers only once
 * clientd's startup probe (`clientd check`) has passed, so the answer,
 * whatever REPLY_WHEN says, comes when the crawler is routed. The Secrets
 * the pod refers to (the gateway's membership key) come from PODMAN_OBJECTS,
 * read at every event. There is no cluster DNS: the gateway's Service name
 * (clientd's GATEWAY_NAME) becomes hostAliases of the crawler pod, with the
 * addresses of the gateway's running replicas (PODMAN_GATEWAY_POD_PREFIX +
 * its name + -SUFFIX, or that prefix + name alone), looked up at every event
 * (a recreated gateway pod has a new address). Without a prefix the network
 * has to resolve the name. The answer names the replica clientd chose. */
#include "provisiond/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "common/log.h"
#include "provisiond/crawlerpod.h"
#include "provisiond/podman.h"
#include "provisiond/podman-json.h"
#include "provisiond/replica.h"

/* The sidecar writes its state file within a second of a change. */
#define STATE_WAIT_MS 2000
/* Replicas of one gateway a crawler's hosts file lists, at most. */
#define MAX_REPLICAS 16

struct podman {
	const struct pv_settings *s;
	char node[64];
};

static int podman_init(const struct pv_settings *s, void **impl, char why[PV_WHY_MAX])
{
	struct podman *p;

	if (access(s->podman_socket, R_OK | W_OK) < 0) {
		snprintf(why, PV_WHY_MAX, "PODMAN_SOCKET: '%.120s': %s", s->podman_socket,
			 strerror(errno));
		return -errno;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, PV_WHY_MAX, "libcurl: global init failed");
		return -EIO;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	if (gethostname(p->node, sizeof(p->node) - 1) < 0)
		snprintf(p->node, sizeof(p->node), "localhost");
	*impl = p;
	return 0;
}

static void podman_fini(void *impl)
{
	free(impl);
	curl_global_cleanup();
}

/* The crawler pod first, then what PODMAN_OBJECTS holds. */
static int objects_for(const struct pv_settings *s, json_object *pod, json_object **out,
		       char why[PV_WHY_MAX])
{
	json_object *all = json_object_new_array(), *file, *items;

	json_object_array_add(all, pod);
	*out = all;
	if (!s->podman_objects[0])
		return 0;
	file = pv_podman_read_objects(s->podman_objects);
	if (!file) {
		snprintf(why, PV_WHY_MAX, "PODMAN_OBJECTS: '%.120s': not a readable JSON file",
			 s->podman_objects);
		return -EINVAL;
	}
	items = json_object_is_type(file, json_type_array) ? file : NULL;
	if (!items)
		json_object_object_get_ex(file, "items", &items);
	for (size_t i = 0; items && i < json_object_array_length(items); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
	json_object_put(file);
	return 0;
}

static const char *sidecar_gateway_name(json_object *pod)
{
	json_object *inits = get(get(pod, "spec"), "initContainers");

	for (size_t i = 0; i < alen(inits); i++) {
		json_object *c = json_object_array_get_idx(inits, i), *env = get(c, "env");

		if (!str(c, "name") || strcmp(str(c, "name"), PV_POD_SIDECAR) != 0)
			continue;
		for (size_t j = 0; j < alen(env); j++) {
			json_object *e = json_object_array_get_idx(env, j);

			if (str(e, "name") && strcmp(str(e, "name"), "GATEWAY_NAME") == 0)
				return str(e, "value");
		}
	}
	return NULL;
}

/* One line of the crawler's hosts file: the gateway's name at ip. */
static void add_alias(json_object *spec, const char *host, const char *ip)
{
	json_object *aliases = get(spec, "hostAliases"), *alias, *hosts;

	if (!aliases) {
		aliases = json_object_new_array();
		json_object_object_add(spec, "hostAliases", aliases);
	}
	alias = json_object_new_object();
	hosts = json_object_new_array();
	json_object_array_add(hosts, jstr(host));
	json_object_object_add(alias, "ip", jstr(ip));
	json_object_object_add(alias, "hostnames", hosts);
	json_object_array_add(aliases, alias);
}

/* What the headless Service gives in a cluster: the gateway's name resolves
 * to every running replica, the pods labelled podgw.io/gateway=NAME and
 * named PREFIX+NAME or PREFIX+NAME-SUFFIX, one hostAlias line each. */
static int gateway_alias(const struct pv_settings *s, const char *gateway, json_object *pod,
			 char why[PV_WHY_MAX])
{
	char base[PV_PODMAN_NAME_MAX + 1], names[MAX_REPLICAS][PV_PODMAN_NAME_MAX + 1], ip[48];
	char ignored[PV_WHY_MAX];
	json_object *spec = get(pod, "spec");
	const char *host = sidecar_gateway_name(pod);
	size_t n = 0, added = 0;

	if (!s->podman_gateway_prefix[0])
		return 0;
	if (!host || !spec)
		return pv_why(why, "crawler pod: no GATEWAY_NAME in the %s sidecar",
			      PV_POD_SIDECAR);
	if (snprintf(base, sizeof(base), "%s%s", s->podman_gateway_prefix, gateway) >=
	    (int)sizeof(base))
		return pv_why(why, "gateway '%s': pod name too long", gateway);
	if (pv_podman_pods_labelled(s->podman_socket, PV_POD_GATEWAY_LABEL, gateway, names,
				    MAX_REPLICAS, &n, ignored) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (pv_podman_replica_of(base, names[i]) &&
		    pv_podman_pod_ip(s->podman_socket, names[i], s->podman_network, ip, sizeof(ip),
				     ignored) == 0) {
			add_alias(spec, host, ip);
			added++;
		}
	/* A pod made without the overlay's label: by its name alone. */
	if (!added && pv_podman_pod_ip(s->podman_socket, base, s->podman_network, ip, sizeof(ip),
				       ignored) == 0) {
		add_alias(spec, host, ip);
		added++;
	}
	if (!added)
		return pv_why(why,
			      "gateway '%s': no pod %s (nor a replica %s-*) on podman network %s",
			      gateway, base, base, s->podman_network);
	return 0;
}

/* The replica clientd is routed through, from its STATE_FILE in the pod's
 * run volume (a folder of PODMAN_STATE_DIR, shared with the host). */
static void read_replica(const struct pv_settings *s, const char *pod, struct pv_crawler *out)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s/%s/%s", s->podman_state_dir, pod, PV_POD_RUN_VOLUME,
		     strrchr(PV_POD_STATE_FILE, '/') + 1) >= (int)sizeof(path))
		return;
	pv_replica_from_file(path, STATE_WAIT_MS, out);
	if (!out->replica[0])
		pg_info("crawler %s: no replica name in %s (an older clientd or gateway?)", pod,
			path);
}

static int podman_create(void *impl, const struct pv_crawler_spec *spec, struct pv_crawler *out,
			 char why[PV_WHY_MAX])
{
	struct podman *p = impl;
	const struct pv_settings *s = p->s;
	struct pv_podman_opts o = {
	    .network = s->podman_network,
	    .node_name = p->node,
	    .state_dir = s->podman_state_dir,
	    .init_timeout_s = s->routed_timeout,
	};
	struct pv_podman_pod res;
	json_object *pod = NULL, *objects = NULL;
	int r;

	r = pv_crawler_pod(s, spec, &pod, why);
	if (r < 0)
		return r;
	r = gateway_alias(s, spec->gateway, pod, why);
	if (r < 0) {
		json_object_put(pod);
		return r;
	}
	r = objects_for(s, pod, &objects, why);
	if (r == 0) {
		pv_podman_default_limits(&o);
		r = pv_podman_up(s->podman_socket, objects, spec->name, &o, &res, why);
	}
	if (r == 0) {
		snprintf(out->pod_name, sizeof(out->pod_name), "%s", res.name);
		snprintf(out->pod_namespace, sizeof(out->pod_namespace), "%s", s->pod_namespace);
		snprintf(out->pod_ip, sizeof(out->pod_ip), "%s", res.ip);
		out->existed = res.existed;
		read_replica(s, res.name, out);
	}
	json_object_put(objects);
	return r;
}

const struct pv_backend_ops pv_backend_podman = {
    .name = "podman",
    .init = podman_init,
    .create = podman_create,
    .fini = podman_fini,
};
