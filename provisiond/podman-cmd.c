/* SPDX-License-Identifier: MIT */
/* `provisiond podman-pod up|down`: the podman backend's translation run on
 * rendered manifests (a JSON List, e.g. `kubectl kustomize DIR` converted to
 * JSON), so that a test of the manifests exercises the same code as the
 * backend. */
#include "provisiond/podman.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
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

/* What the command line gives: up's, down's and plan's options. */
struct pod_args {
	struct pv_podman_opts o;
	const char *sock, *objects_file, *pod;
};

struct pod_opt {
	const char *name;
	size_t off; /* in struct pod_args */
	int (*parse)(const struct pod_opt *po, const char *v, void *field);
};

static int parse_str(const struct pod_opt *po, const char *v, void *field)
{
	(void)po;
	*(const char **)field = v;
	return 0;
}

static int parse_timeout(const struct pod_opt *po, const char *v, void *field)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	/* Range before the cast: 4294967297 is not 1. */
	if (*end || !*v || errno || v[0] == '-' || n == 0 || n > 86400) {
		fprintf(stderr, "provisiond: --%s: '%s': 1 to 86400\n", po->name, v);
		return -EINVAL;
	}
	*(unsigned *)field = (unsigned)n;
	return 0;
}

static int parse_limit(const struct pod_opt *po, const char *v, void *field)
{
	char *end;
	unsigned long long lim = strtoull(v, &end, 10);

	if (*end || !*v || lim < 64 || lim > NOFILE_CAP) {
		fprintf(stderr, "provisiond: --%s: '%s': 64 to %d\n", po->name, v, NOFILE_CAP);
		return -EINVAL;
	}
	*(uint64_t *)field = lim;
	return 0;
}

#define ARG(member) offsetof(struct pod_args, member)
static const struct pod_opt pod_opts[] = {
    {"socket", ARG(sock), parse_str},
    {"network", ARG(o.network), parse_str},
    {"objects", ARG(objects_file), parse_str},
    {"pod", ARG(pod), parse_str},
    {"name", ARG(o.name), parse_str},
    {"pod-ip", ARG(o.pod_ip), parse_str},
    {"state-dir", ARG(o.state_dir), parse_str},
    {"node-name", ARG(o.node_name), parse_str},
    {"infra-image", ARG(o.infra_image), parse_str},
    {"init-timeout", ARG(o.init_timeout_s), parse_timeout},
    {"nofile", ARG(o.nofile), parse_limit},
    {"nproc", ARG(o.nproc), parse_limit},
};
#define N_POD_OPTS (sizeof(pod_opts) / sizeof(pod_opts[0]))
/* getopt_long's values for pod_opts[i]: clear of '?', ':' and 'h'. */
#define OPT_BASE 256

/* PG_EXIT_OK after --help, PG_EXIT_CONFIG on a bad option, else -1. */
static int parse_opts(int argc, char **argv, struct pod_args *a)
{
	struct option opts[N_POD_OPTS + 2] = {{0}};
	int c;

	for (size_t i = 0; i < N_POD_OPTS; i++)
		opts[i] =
		    (struct option){pod_opts[i].name, required_argument, NULL, OPT_BASE + (int)i};
	opts[N_POD_OPTS] = (struct option){"help", no_argument, NULL, 'h'};
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const struct pod_opt *po;

		if (c == 'h') {
			usage(stdout);
			return PG_EXIT_OK;
		}
		if (c < OPT_BASE || c >= OPT_BASE + (int)N_POD_OPTS) {
			usage(stderr);
			return PG_EXIT_CONFIG;
		}
		po = &pod_opts[c - OPT_BASE];
		if (po->parse(po, optarg, (char *)a + po->off) < 0)
			return PG_EXIT_CONFIG;
	}
	return -1;
}

static int exit_code(int r)
{
	return r == -EINVAL ? PG_EXIT_CONFIG : r < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
}

static int run_down(struct pod_args *a, json_object *objects, char why[PV_WHY_MAX])
{
	(void)objects;
	return pv_podman_down(a->sock, a->o.name ? a->o.name : a->pod, a->o.state_dir, why);
}

static int run_plan(struct pod_args *a, json_object *objects, char why[PV_WHY_MAX])
{
	return plan(objects, a->pod, &a->o, why);
}

static int run_up(struct pod_args *a, json_object *objects, char why[PV_WHY_MAX])
{
	struct pv_podman_pod res;
	int r = pv_podman_up(a->sock, objects, a->pod, &a->o, &res, why);

	if (r == 0)
		printf("%s %s %s\n", res.name, res.ip, res.existed ? "existed" : "created");
	return r;
}

struct pod_verb {
	const char *name;
	bool needs_socket, reads_objects;
	int (*run)(struct pod_args *a, json_object *objects, char why[PV_WHY_MAX]);
};

static const struct pod_verb pod_verbs[] = {
    {"up", true, true, run_up},
    {"down", true, false, run_down},
    {"plan", false, true, run_plan},
};

static const struct pod_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(pod_verbs) / sizeof(pod_verbs[0]); i++)
		if (strcmp(pod_verbs[i].name, name) == 0)
			return &pod_verbs[i];
	return NULL;
}

static bool args_complete(const struct pod_verb *v, const struct pod_args *a)
{
	if (!v || (v->needs_socket && !a->sock))
		return false;
	return v->reads_objects ? a->objects_file != NULL : a->o.name || a->pod;
}

/* The verb run with curl set up; the objects read first when it needs them. */
static int run_verb(const struct pod_verb *v, struct pod_args *a)
{
	char why[PV_WHY_MAX] = "";
	json_object *objects = NULL;
	int r;

	if (v->reads_objects) {
		objects = pv_podman_read_objects(a->objects_file);
		if (!objects) {
			fprintf(stderr, "provisiond: --objects: '%s': not a JSON file (%s)\n",
				a->objects_file,
				json_util_get_last_err() ? json_util_get_last_err() : "unreadable");
			return PG_EXIT_CONFIG;
		}
		say_ignored(objects, a->pod, &a->o);
	}
	r = v->run(a, objects, why);
	if (r < 0)
		fprintf(stderr, "provisiond: podman-pod %s: %s\n", v->name, why);
	json_object_put(objects);
	return exit_code(r);
}

int pv_podman_pod_main(int argc, char **argv)
{
	struct pod_args a = {.o = {.state_dir = DEFAULT_STATE_DIR,
				   .network = "podman",
				   .node_name = "localhost",
				   .init_timeout_s = 600}};
	const struct pod_verb *v;
	int r;

	pg_log_init("provisiond");
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;

		usage(help ? stdout : stderr);
		return help ? PG_EXIT_OK : PG_EXIT_CONFIG;
	}
	r = parse_opts(argc, argv, &a);
	if (r >= 0)
		return r;
	v = find_verb(argv[1]);
	if (optind < argc || !args_complete(v, &a)) {
		usage(stderr);
		return PG_EXIT_CONFIG;
	}
	pv_podman_default_limits(&a.o);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = run_verb(v, &a);
	curl_global_cleanup();
	return r;
}
