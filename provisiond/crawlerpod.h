/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_CRAWLERPOD_H
#define PODGW_PROVISIOND_CRAWLERPOD_H

/* The one place that writes a crawler's Pod: the operator's crawler
 * containers (CRAWLER_TEMPLATE_FILE, or a built-in long-running example)
 * plus clientd as a native sidecar with the gateway's membership key. Every
 * backend that runs crawlers as pods uses this object as it is. */

#include <json-c/json.h>

#include "provisiond/backend.h"
#include "provisiond/settings.h"

/* Names provisiond owns inside the pod: a template that uses them is refused. */
#define PV_POD_SIDECAR	     "podgw-client"
#define PV_POD_KEY_VOLUME    "podgw-membership-key"
#define PV_POD_RUN_VOLUME    "podgw-run"
#define PV_POD_KEY_DIR	     "/etc/podgw/membership"
#define PV_POD_READY_FILE    "/run/podgw/ready"
#define PV_POD_STATE_FILE    "/run/podgw/state"
#define PV_POD_GATEWAY_LABEL "podgw.io/gateway"
/* clientd's gateway check pings without NET_RAW: the one value that works. */
#define PV_POD_PING_SYSCTL "net.ipv4.ping_group_range"
#define PV_POD_PING_RANGE  "0 2147483647"
/* ConfigMap (per gateway, in the pod's namespace) of injected clientd's
 * settings, as environment variables. */
#define PV_POD_SETTINGS_PREFIX "podgw-client-"

/* What binds a pod to a gateway. provisiond's pods and the webhook's
 * injected ones are bound by the same pieces, built here. */
struct pv_binding {
	const char *gateway;
	/* clientd's settings from ConfigMap PV_POD_SETTINGS_PREFIX<gateway>
	 * (envFrom) instead of provisiond's CLIENT_* settings. */
	bool settings_configmap;
};

/* clientd as a native sidecar (restartPolicy Always, startup probe, user 0
 * with NET_ADMIN only, seccomp RuntimeDefault, the key mounted). NULL: out
 * of memory. */
struct json_object *pv_client_sidecar(const struct pv_settings *s, const struct pv_binding *b);

/* The volumes the sidecar mounts: the gateway's membership key Secret at
 * mode 0400 and a small memory emptyDir for its ready file. NULL: out of
 * memory. */
struct json_object *pv_client_volumes(const struct pv_binding *b);

/* Builds the Pod (apiVersion v1, kind Pod, metadata.name spec->name in
 * s->pod_namespace) bound to spec->gateway. The template file is read at
 * every call, so an updated ConfigMap takes effect without a restart. On
 * failure *pod is NULL, why holds one line (naming CRAWLER_TEMPLATE_FILE
 * and the field for a bad template) and -EINVAL (bad template) or another
 * negative errno is returned. The caller owns *pod (json_object_put). */
int pv_crawler_pod(const struct pv_settings *s, const struct pv_crawler_spec *spec,
		   struct json_object **pod, char why[PV_WHY_MAX]);

/* `provisiond crawler-pod --gateway NAME --name POD [settings]`: prints the
 * pod as JSON. Returns an exit code (0, 2 for bad usage or settings). */
int pv_crawler_pod_cmd(int argc, char **argv, char **envp);

#endif
