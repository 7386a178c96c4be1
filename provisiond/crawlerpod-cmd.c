/* SPDX-License-Identifier: MIT */
/* `provisiond crawler-pod --gateway NAME --name POD [settings]`: the pod the
 * kubernetes backend would post, printed, so that users and tests can read
 * and validate exactly that object. GATEWAYS defaults to the one gateway. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "provisiond/crawlerpod.h"

/* Takes "--flag VALUE" or "--flag=VALUE" out of argv; NULL when absent. */
static const char *take_value(int *argc, char **argv, const char *flag, bool *missing)
{
	size_t len = strlen(flag);
	const char *v = NULL;
	int n = 0;

	for (int i = 0; i < *argc; i++) {
		if (strncmp(argv[i], flag, len) == 0 && argv[i][len] == '=') {
			v = argv[i] + len + 1;
		} else if (strcmp(argv[i], flag) == 0) {
			if (i + 1 >= *argc) {
				*missing = true;
				continue;
			}
			v = argv[++i];
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	argv[n] = NULL;
	return v;
}

static bool has_gateways(int argc, char **argv, char **envp)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--gateways", 10) == 0)
			return true;
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, "GATEWAYS=", 9) == 0)
			return true;
	return false;
}

int pv_crawler_pod_cmd(int argc, char **argv, char **envp)
{
	char **args = calloc((size_t)argc + 3, sizeof(*args)), why[PV_WHY_MAX] = "";
	struct pv_crawler_spec spec = {0};
	struct json_object *pod = NULL;
	struct pv_settings s;
	bool missing = false;
	int n = argc, r, rc = PG_EXIT_CONFIG;

	if (!args)
		return PG_EXIT_RUNTIME;
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	spec.gateway = take_value(&n, args, "--gateway", &missing);
	spec.name = take_value(&n, args, "--name", &missing);
	if (missing || !spec.gateway || !spec.name) {
		fprintf(stderr, "usage: provisiond crawler-pod --gateway NAME --name POD "
				"[provisiond settings]\n");
		goto out;
	}
	if (!pv_dns_label_ok(spec.gateway) || !pv_dns_label_ok(spec.name)) {
		fprintf(stderr,
			"provisiond: crawler-pod: --gateway '%s', --name '%s': each must "
			"be a DNS label (a-z, 0-9, -)\n",
			spec.gateway, spec.name);
		goto out;
	}
	if (!has_gateways(n, args, envp)) {
		args[n++] = "--gateways";
		args[n++] = (char *)spec.gateway;
	}
	r = pv_settings_load(&s, n, args, envp, stderr);
	if (r != PV_SETTINGS_OK) {
		rc = r == PV_SETTINGS_EXIT ? PG_EXIT_OK : PG_EXIT_CONFIG;
		goto out;
	}
	if (!pv_settings_gateway_known(&s, spec.gateway)) {
		fprintf(stderr, "provisiond: --gateway: '%s': not in GATEWAYS\n", spec.gateway);
		goto out;
	}
	r = pv_crawler_pod(&s, &spec, &pod, why);
	if (r < 0) {
		fprintf(stderr, "provisiond: %s\n", why);
		rc = r == -EINVAL ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
		goto out;
	}
	printf("%s\n", json_object_to_json_string_ext(pod, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_SPACED |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
out:
	json_object_put(pod);
	free(args);
	return rc;
}
