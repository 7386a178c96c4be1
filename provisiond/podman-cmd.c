/* SPDX-License-Identifier: MIT */
/* `provisiond podman-pod up|down`: the podman backend's translation run on
 * rendered manifests (a JSON List, e.g. `kubectl kustomize DIR` converted to
 * JSON), so that a test of the manifests exercises the same code as the
 * backend. */
#include "provisiond/podman.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "common/daemon.h"
#include "common/log.h"

#define DEFAULT_STATE_DIR "/run/podgw-podman"
#define NOFILE_CAP	  1048576
/* A podman service was seen running with 32768 processes under a parent
 * allowed 96367; what counts is the service's limit, which this process
 * cannot see. */
#define NPROC_CAP 32768

static void usage(FILE *out)
{
	fprintf(out,
		"usage: provisiond podman-pod up --socket PATH --network NET --objects FILE\n"
		"                                [--pod NAME] [--name NAME] [--pod-ip IP]\n"
		"                                [--state-dir DIR] [--node-name NAME]\n"
		"                                [--infra-image IMAGE] [--init-timeout S]\n"
		"                                [--nofile N] [--nproc N]\n"
		"       provisiond podman-pod down --socket PATH --name NAME [--state-dir DIR]\n"
		"       provisiond podman-pod plan --objects FILE [up's options]: prints the\n"
		"       requests up would send (files as path, mode and size; env as sent, values\n"
		"       from Secrets included) and changes nothing\n"
		"Runs a Pod (or a workload's pod template) from FILE, a JSON List of rendered\n"
		"objects that also holds the Secrets and ConfigMaps it refers to, in podman\n"
		"(libpod API on the unix socket PATH). up prints 'NAME IP created|existed'.\n"
		"State folder default: " DEFAULT_STATE_DIR "; nofile and nproc: this process's\n"
		"hard limits, at most 1048576 and 32768 (runc cannot exceed the podman service's\n"
		"own). What is not modelled: docs/podman.md.\n");
}

/* What this process may give: runc cannot raise a limit above its hard
 * one without CAP_SYS_RESOURCE ("error setting rlimits"). */
static uint64_t limit(int resource, uint64_t cap)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > cap)
		return cap;
	return rl.rlim_max;
}

void pv_podman_default_limits(struct pv_podman_opts *o)
{
	if (!o->nofile)
		o->nofile = limit(RLIMIT_NOFILE, NOFILE_CAP);
	if (!o->nproc)
		o->nproc = limit(RLIMIT_NPROC, NPROC_CAP);
}

json_object *pv_podman_read_objects(const char *path)
{
	json_object *o = json_object_from_file(path), *a;

	if (!o || json_object_is_type(o, json_type_array) ||
	    json_object_object_get_ex(o, "items", NULL))
		return o;
	a = json_object_new_array();
	json_object_array_add(a, o);
	return a;
}

/* What up would send, as one JSON object; the volumes' files as path, mode
 * and size, env as sent (values from Secrets included). */
static int plan(json_object *objects, const char *pod, const struct pv_podman_opts *o,
		char why[PV_WHY_MAX])
{
	const char *lists[2] = {"initContainers", "containers"};
	json_object *out, *vols = NULL, *ctrs, *list, *b;
	struct pv_kpod kp;
	int r = pv_kpod_find(objects, pod, o, &kp, why);

	if (r == 0)
		r = pv_podman_check(&kp, o, why);
	if (r == 0)
		r = pv_podman_volumes(&kp, &vols, why);
	if (r < 0)
		return r;
	out = json_object_new_object();
	json_object_object_add(out, "pod", pv_podman_pod_body(&kp, o));
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		json_object *files = NULL;

		json_object_object_get_ex(json_object_array_get_idx(vols, i), "files", &files);
		for (size_t j = 0; files && j < json_object_array_length(files); j++) {
			json_object *f = json_object_array_get_idx(files, j), *d = NULL;

			json_object_object_get_ex(f, "data", &d);
			json_object_object_add(f, "size",
					       json_object_new_int(json_object_get_string_len(d)));
			json_object_object_del(f, "data");
		}
	}
	json_object_object_add(out, "volumes", vols);
	ctrs = json_object_new_array();
	json_object_object_add(out, "containers", ctrs);
	for (int l = 0; l < 2 && r == 0; l++) {
		json_object_object_get_ex(kp.spec, lists[l], &list);
		for (size_t i = 0; list && i < json_object_array_length(list) && r == 0; i++) {
			r = pv_podman_container_body(&kp, json_object_array_get_idx(list, i),
						     o->pod_ip ? o->pod_ip : "POD_IP", o, &b, why);
			if (r == 0)
				json_object_array_add(ctrs, b);
		}
		list = NULL;
	}
	if (r == 0)
		printf("%s\n", json_object_to_json_string_ext(
				   out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	return r;
}

/* Says plainly what of this pod is not modelled. */
static void say_ignored(json_object *objects, const char *pod, const struct pv_podman_opts *o)
{
	char why[PV_WHY_MAX];
	struct pv_kpod kp;
	char *list;

	if (pv_kpod_find(objects, pod, o, &kp, why) < 0)
		return;
	list = pv_podman_ignored(&kp);
	if (list && *list)
		fprintf(stderr, "provisiond: podman-pod: %s: not modelled, ignored: %s\n", kp.name,
			list);
	free(list);
}

int pv_podman_pod_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"network", required_argument, NULL, 'n'},
	    {"objects", required_argument, NULL, 'o'},
	    {"pod", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'N'},
	    {"pod-ip", required_argument, NULL, 'i'},
	    {"state-dir", required_argument, NULL, 'd'},
	    {"node-name", required_argument, NULL, 'H'},
	    {"infra-image", required_argument, NULL, 'I'},
	    {"init-timeout", required_argument, NULL, 't'},
	    {"nofile", required_argument, NULL, 'F'},
	    {"nproc", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct pv_podman_opts o = {.state_dir = DEFAULT_STATE_DIR,
				   .network = "podman",
				   .node_name = "localhost",
				   .init_timeout_s = 600};
	const char *sock = NULL, *objects_file = NULL, *pod = NULL, *verb;
	struct pv_podman_pod res;
	char why[PV_WHY_MAX] = "", *end;
	unsigned long long lim;
	json_object *objects;
	int c, r;

	pg_log_init("provisiond");
	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? PG_EXIT_OK : PG_EXIT_CONFIG;
	}
	verb = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'n':
			o.network = optarg;
			break;
		case 'o':
			objects_file = optarg;
			break;
		case 'p':
			pod = optarg;
			break;
		case 'N':
			o.name = optarg;
			break;
		case 'i':
			o.pod_ip = optarg;
			break;
		case 'd':
			o.state_dir = optarg;
			break;
		case 'H':
			o.node_name = optarg;
			break;
		case 'I':
			o.infra_image = optarg;
			break;
		case 't':
			o.init_timeout_s = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o.init_timeout_s == 0 || o.init_timeout_s > 86400) {
				fprintf(stderr, "provisiond: --init-timeout: '%s': 1 to 86400\n",
					optarg);
				return PG_EXIT_CONFIG;
			}
			break;
		case 'F':
		case 'P':
			lim = strtoull(optarg, &end, 10);
			if (*end || !*optarg || lim < 64 || lim > NOFILE_CAP) {
				fprintf(stderr, "provisiond: --%s: '%s': 64 to %d\n",
					c == 'F' ? "nofile" : "nproc", optarg, NOFILE_CAP);
				return PG_EXIT_CONFIG;
			}
			*(c == 'F' ? &o.nofile : &o.nproc) = lim;
			break;
		case 'h':
			usage(stdout);
			return PG_EXIT_OK;
		default:
			usage(stderr);
			return PG_EXIT_CONFIG;
		}
	}
	if (optind < argc || (!sock && strcmp(verb, "plan") != 0) ||
	    (strcmp(verb, "up") != 0 && strcmp(verb, "down") != 0 && strcmp(verb, "plan") != 0) ||
	    (strcmp(verb, "down") != 0 && !objects_file) ||
	    (strcmp(verb, "down") == 0 && !o.name && !pod)) {
		usage(stderr);
		return PG_EXIT_CONFIG;
	}
	pv_podman_default_limits(&o);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(verb, "down") == 0) {
		r = pv_podman_down(sock, o.name ? o.name : pod, o.state_dir, why);
		if (r < 0)
			fprintf(stderr, "provisiond: podman-pod down: %s\n", why);
		curl_global_cleanup();
		return r == -EINVAL ? PG_EXIT_CONFIG : r < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
	}
	objects = pv_podman_read_objects(objects_file);
	if (!objects) {
		fprintf(stderr, "provisiond: --objects: '%s': not a JSON file (%s)\n", objects_file,
			json_util_get_last_err() ? json_util_get_last_err() : "unreadable");
		curl_global_cleanup();
		return PG_EXIT_CONFIG;
	}
	say_ignored(objects, pod, &o);
	if (strcmp(verb, "plan") == 0)
		r = plan(objects, pod, &o, why);
	else
		r = pv_podman_up(sock, objects, pod, &o, &res, why);
	if (r < 0)
		fprintf(stderr, "provisiond: podman-pod %s: %s\n", verb, why);
	else if (strcmp(verb, "plan") == 0)
		;
	else
		printf("%s %s %s\n", res.name, res.ip, res.existed ? "existed" : "created");
	json_object_put(objects);
	curl_global_cleanup();
	return r == -EINVAL ? PG_EXIT_CONFIG : r < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
}
