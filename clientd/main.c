/* SPDX-License-Identifier: MIT */
/* clientd: the crawler pod's init container ("init") or sidecar ("run"). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clientd/client.h"
#include "common/caps.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"

extern char **environ;

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s init|run [options]\n"
		"  init  route this pod through the gateway, then exit (0 only when routed)\n"
		"  run   the same, then renew the lease until SIGTERM, then release it\n\n",
		prog);
	pg_config_usage(out, PG_ROLE_CLIENT, prog);
}

int main(int argc, char **argv)
{
	struct pg_config cfg;
	struct pg_client *c;
	const char *cmd;
	int first_arg, sigfd = -1, r, status;

	pg_log_init(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return PG_EXIT_OK;
		}
	}
	r = pg_config_load(&cfg, PG_ROLE_CLIENT, argc, argv, environ, stderr, &first_arg);
	if (r == PG_CONFIG_EXIT)
		return PG_EXIT_OK;
	if (r < 0)
		return PG_EXIT_CONFIG;
	if (first_arg == argc) {
		pg_err("missing command: init or run (see --help)");
		return PG_EXIT_CONFIG;
	}
	if (first_arg + 1 != argc ||
	    (strcmp(argv[first_arg], "init") != 0 && strcmp(argv[first_arg], "run") != 0)) {
		pg_err("unknown command '%s': expected init or run (see --help)", argv[first_arg]);
		return PG_EXIT_CONFIG;
	}
	cmd = argv[first_arg];
	pg_log_set_level(cfg.log_level);

	if (strcmp(cmd, "run") == 0) {
		sigfd = pg_signals_open();
		if (sigfd < 0) {
			pg_err("signalfd: %s", strerror(-sigfd));
			return PG_EXIT_RUNTIME;
		}
	}
	status = pg_client_setup(&cfg, &c);
	if (status != PG_EXIT_OK)
		return status;
	if (strcmp(cmd, "init") == 0) {
		pg_client_free(c);
		return PG_EXIT_OK;
	}

	r = pg_caps_keep_net_admin(false);
	if (r < 0) {
		pg_err("dropping capabilities: %s", strerror(-r));
		pg_client_free(c);
		return PG_EXIT_RUNTIME;
	}
	r = pg_ready_file_write(cfg.ready_file, "routed\n");
	if (r < 0) {
		pg_err("READY_FILE: '%s': %s", cfg.ready_file, strerror(-r));
		pg_client_free(c);
		return PG_EXIT_RUNTIME;
	}
	status = pg_client_run(c, sigfd);
	pg_ready_file_remove(cfg.ready_file);
	pg_client_free(c);
	close(sigfd);
	return status;
}
