/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_PODMAN_H
#define PODGW_PROVISIOND_PODMAN_H

/* A Kubernetes Pod run by podman (libpod REST API v4 on its unix socket):
 * the one translation that both the podman backend and the container test
 * suite use (`provisiond podman-pod up|down`).
 *
 * Modelled: one podman pod per Pod (one network namespace on one podman
 * network, optionally a static IP; IPC and UTS shared, PID when
 * shareProcessNamespace); per container exactly its image (never pulled),
 * command (entrypoint) and args, env (value, $(VAR) expansion, fieldRef
 * metadata.name/namespace/labels['k']/annotations['k'], spec.nodeName,
 * spec.serviceAccountName, status.podIP(s), secretKeyRef, configMapKeyRef,
 * envFrom), workingDir, securityContext (runAsUser/runAsGroup/runAsNonRoot,
 * supplementalGroups, fsGroup, capabilities, readOnlyRootFilesystem,
 * allowPrivilegeEscalation:false -> no_new_privs, seccomp RuntimeDefault or
 * Unconfined), pod sysctls, hostAliases, volumes secret/configMap (decoded
 * files with defaultMode/items modes in a private host folder, read-only
 * bind mounts) and emptyDir (a writable host folder shared by the pod's
 * containers), subPath; init containers one by one to completion; native
 * sidecars (restartPolicy Always) started in order, restarted by podman,
 * each startupProbe (exec) passed before the next container starts; then
 * the regular containers; nofile/nproc limits within the caller's.
 *
 * Refused, with one line naming the field: privileged, hostNetwork, hostPID,
 * hostIPC, hostUsers:false, procMount Unmasked, seccomp Localhost, hostPath
 * and every other volume type, non-exec startup probes on sidecars, fields
 * whose values cannot be supplied (status.hostIP, metadata.uid,
 * resourceFieldRef).
 *
 * Not modelled (ignored): resources (requests, limits, sizeLimit),
 * readiness and liveness probes, startup probes of regular containers,
 * restartPolicy of the pod, service accounts and their tokens, Services,
 * ports (nothing is published), dnsPolicy/dnsConfig, SELinux/AppArmor,
 * imagePullPolicy and pull secrets, lifecycle hooks, live updates of
 * Secret/ConfigMap files, terminationMessage*, topology and scheduling. */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "provisiond/event.h"

#define PV_PODMAN_NAME_MAX 63

struct pv_podman_opts {
	const char *name;	 /* the podman pod; NULL: the object's name */
	const char *network;	 /* podman network the pod joins */
	const char *pod_ip;	 /* static IP on it; NULL: podman picks */
	const char *node_name;	 /* spec.nodeName for fieldRefs */
	const char *state_dir;	 /* volumes in state_dir/<pod>/<volume> */
	const char *infra_image; /* NULL: podman's own pause image */
	uint64_t nofile, nproc;	 /* rlimits (soft = hard) */
	unsigned init_timeout_s; /* each init container's bound */
};

/* A Pod found among rendered objects; everything borrowed from them. */
struct pv_kpod {
	json_object *objects; /* array: Secrets and ConfigMaps are looked up here */
	json_object *meta, *spec;
	char name[PV_PODMAN_NAME_MAX + 1]; /* the podman pod's name */
	char ns[64];
};

/* Pure translation (no I/O): tested without podman. */

/* objects: a List (kind List, items), an array, or one object. pod: the
 * name of a Pod, or of a Deployment/StatefulSet/DaemonSet/ReplicaSet/Job
 * (its pod template), or of a CronJob; NULL: the only such object. */
int pv_kpod_find(json_object *objects, const char *pod, const struct pv_podman_opts *o,
		 struct pv_kpod *kp, char why[PV_WHY_MAX]);
/* Whether podman pod name is a replica of the gateway whose pod is base:
 * base itself, or base-SUFFIX. */
bool pv_podman_replica_of(const char *base, const char *name);
/* Every refusal, before anything is made. */
int pv_podman_check(const struct pv_kpod *kp, const struct pv_podman_opts *o, char why[PV_WHY_MAX]);
json_object *pv_podman_pod_body(const struct pv_kpod *kp, const struct pv_podman_opts *o);
/* [{"name", "dir_mode", "gid", "files": [{"path", "mode", "data"}]}] */
int pv_podman_volumes(const struct pv_kpod *kp, json_object **out, char why[PV_WHY_MAX]);
/* The body of containers/create for c (an element of initContainers or
 * containers); pod_ip: status.podIP. */
int pv_podman_container_body(const struct pv_kpod *kp, json_object *c, const char *pod_ip,
			     const struct pv_podman_opts *o, json_object **body,
			     char why[PV_WHY_MAX]);

/* The fields of this pod the runner ignores, comma separated ("" when
 * none; the caller frees it), so that it can say what it does not model. */
char *pv_podman_ignored(const struct pv_kpod *kp);

struct pv_probe {
	char **argv; /* NULL: no probe */
	unsigned initial_delay_s, period_s, timeout_s, failure_threshold;
};
int pv_podman_startup_probe(json_object *c, struct pv_probe *p, char why[PV_WHY_MAX]);
void pv_probe_clear(struct pv_probe *p);

/* The runner (podman-run.c). */
struct pv_podman_pod {
	char name[PV_PODMAN_NAME_MAX + 1];
	char ip[48];
	bool existed;
};
/* Makes and starts the pod; on failure removes all of it. An existing pod
 * of that name is left as it is and reported as existed. */
int pv_podman_up(const char *socket, json_object *objects, const char *pod,
		 const struct pv_podman_opts *o, struct pv_podman_pod *out, char why[PV_WHY_MAX]);
/* The address of pod name's infra container on network. */
int pv_podman_pod_ip(const char *sock, const char *name, const char *network, char *ip, size_t size,
		     char why[PV_WHY_MAX]);
/* The running pods labelled key=value (what a Service's selector would
 * pick), at most max of their names in names, sorted; the number found. */
int pv_podman_pods_labelled(const char *sock, const char *key, const char *value,
			    char (*names)[PV_PODMAN_NAME_MAX + 1], size_t max, size_t *n,
			    char why[PV_WHY_MAX]);
int pv_podman_down(const char *socket, const char *name, const char *state_dir,
		   char why[PV_WHY_MAX]);

/* nofile/nproc left 0: this process's hard limits, capped. */
void pv_podman_default_limits(struct pv_podman_opts *o);
/* A JSON file: a List or an array as it is, one object as an array of it. */
json_object *pv_podman_read_objects(const char *path);

/* `provisiond podman-pod ...`; returns an exit code. */
int pv_podman_pod_main(int argc, char **argv);

#endif
