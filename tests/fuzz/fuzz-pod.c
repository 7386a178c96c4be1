/* SPDX-License-Identifier: MIT */
/* The crawler template (CRAWLER_TEMPLATE_FILE, a ConfigMap that other
 * people write) becomes the crawler's Pod, which the podman backend turns
 * into libpod requests; `provisiond podman-pod` does the same to any
 * manifest file. The input is both: the template file, and the manifests.
 * Whatever the bytes: no crash, a refusal says why, clientd's sidecar comes
 * first, and what the check lets through translates without a refusal
 * (the runner makes things between those steps). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/crawlerpod.h"
#include "provisiond/podman.h"
#include "provisiond/settings.h"
#include "tests/fuzz/scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pv_podman_opts opts = {
    .network = "podgw-fuzz",
    .node_name = "node1",
    .state_dir = "/nonexistent/podgw-fuzz",
    .nofile = 4096,
    .nproc = 4096,
    .init_timeout_s = 60,
};

static void refused(int r, const char *why)
{
	if (r != -EINVAL || !why[0] || strnlen(why, PV_WHY_MAX) == PV_WHY_MAX)
		abort();
}

static void translate(json_object *objects, const char *pod)
{
	const char *lists[2] = {"initContainers", "containers"};
	json_object *vols = NULL, *body, *list;
	char why[PV_WHY_MAX] = "";
	struct pv_kpod kp;
	struct pv_probe probe;
	int r;

	r = pv_kpod_find(objects, pod, &opts, &kp, why);
	if (r < 0) {
		refused(r, why);
		return;
	}
	free(pv_podman_ignored(&kp));
	r = pv_podman_check(&kp, &opts, why);
	if (r < 0) {
		refused(r, why);
		return;
	}
	if (pv_podman_volumes(&kp, &vols, why) < 0)
		abort();
	json_object_put(vols);
	json_object_put(pv_podman_pod_body(&kp, &opts));
	for (int l = 0; l < 2; l++) {
		list = json_object_object_get_ex(kp.spec, lists[l], &list) ? list : NULL;
		if (list && !json_object_is_type(list, json_type_array))
			abort(); /* the check refuses it */
		for (size_t i = 0; list && i < json_object_array_length(list); i++) {
			json_object *c = json_object_array_get_idx(list, i);

			if (pv_podman_container_body(&kp, c, "10.88.0.5", &opts, &body, why) < 0 ||
			    pv_podman_startup_probe(c, &probe, why) < 0)
				abort();
			json_object_put(body);
			pv_probe_clear(&probe);
		}
	}
}

static void as_manifests(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *objects;

	if (!tok)
		return;
	objects = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (objects)
		translate(objects, NULL);
	json_object_put(objects);
}

static void as_template(const uint8_t *data, size_t size)
{
	static struct pv_settings s;
	static char path[128];
	struct pv_crawler_spec spec = {.name = "crawler-0a1b2c", .gateway = "foo"};
	char why[PV_WHY_MAX] = "";
	json_object *pod, *objects, *side, *inits;
	const char *name;
	int r;

	if (!path[0]) {
		char *argv[] = {"fuzz", "--gateways", "foo", "--crawler-template-file", path, NULL};
		char *envp[] = {NULL};

		fuzz_scratch_path("template.json", path, sizeof(path));
		if (pv_settings_load(&s, 5, argv, envp, stderr) != 0)
			abort();
	}
	fuzz_scratch_write(path, data, size);
	r = pv_crawler_pod(&s, &spec, &pod, why);
	if (r < 0) {
		/* a bad template names the setting; else only memory runs out */
		if (pod || (r == -EINVAL && strncmp(why, "CRAWLER_TEMPLATE_FILE: ", 23) != 0) ||
		    (r != -EINVAL && r != -ENOMEM))
			abort();
		return;
	}
	inits = json_object_object_get(json_object_object_get(pod, "spec"), "initContainers");
	side = json_object_array_get_idx(inits, 0);
	name = json_object_get_string(json_object_object_get(side, "name"));
	if (!name || strcmp(name, PV_POD_SIDECAR) != 0)
		abort();
	objects = json_object_new_array();
	json_object_array_add(objects, pod);
	translate(objects, spec.name);
	json_object_put(objects);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	as_manifests(data, size);
	as_template(data, size);
	return 0;
}
