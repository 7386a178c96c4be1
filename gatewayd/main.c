/* SPDX-License-Identifier: MIT */
/* gatewayd: the gateway pod's entrypoint. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/caps.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/dns.h"
#include "gatewayd/events.h"
#include "gatewayd/gateway.h"
#include "gatewayd/status.h"

extern char **environ;

int main(int argc, char **argv)
{
	struct pg_config cfg;
	struct pg_gateway *gw;
	int first_arg, sigfd, r, status;
	bool check_config, json;

	pg_log_init(argv[0]);
	/* `gatewayd status [--json]`: the running gatewayd's leases, read from
	 * STATUS_SOCKET; no privilege but access to the socket. */
	json = pg_args_take(&argc, argv, "--json");
	/* --check-config: the settings are read and validated exactly as for a
	 * start, then printed; nothing is touched, no privilege is needed. */
	check_config = pg_args_take(&argc, argv, "--check-config");
	r = pg_config_load(&cfg, PG_ROLE_GATEWAY, argc, argv, environ, stderr, &first_arg);
	if (r == PG_CONFIG_EXIT)
		return PG_EXIT_OK;
	if (r < 0)
		return PG_EXIT_CONFIG;
	pg_log_set_format(cfg.log_format);
	if (first_arg + 1 == argc && strcmp(argv[first_arg], "status") == 0 && !check_config)
		return pg_status_command(cfg.status_socket, json);
	if (first_arg < argc) {
		pg_err("unexpected argument '%s' (see --help)", argv[first_arg]);
		return PG_EXIT_CONFIG;
	}
	if (json) {
		pg_err("--json goes with the status command: gatewayd status --json");
		return PG_EXIT_CONFIG;
	}
	if (pg_events_check_config(&cfg) < 0)
		return PG_EXIT_CONFIG;
	if (check_config) {
		pg_config_print(stdout, PG_ROLE_GATEWAY, &cfg);
		return fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
	}
	pg_log_set_level(cfg.log_level);
	pg_dns_complete_config(&cfg);

	/* Signals are blocked before setup so a SIGTERM during it is not lost
	 * and still gets everything removed. */
	sigfd = pg_signals_open();
	if (sigfd < 0) {
		pg_err("signalfd: %s", strerror(-sigfd));
		return PG_EXIT_RUNTIME;
	}
	status = pg_gateway_setup(&cfg, &gw);
	if (status != PG_EXIT_OK)
		return status;

	r = pg_caps_keep_net_admin(false);
	if (r < 0) {
		pg_err("dropping capabilities: %s", strerror(-r));
		pg_gateway_teardown(gw);
		return PG_EXIT_RUNTIME;
	}
	r = pg_ready_file_write(cfg.ready_file, "ready\n");
	if (r < 0) {
		pg_err("READY_FILE: '%s': %s", cfg.ready_file, strerror(-r));
		pg_gateway_teardown(gw);
		return PG_EXIT_RUNTIME;
	}

	status = pg_gateway_run(gw, sigfd);
	pg_ready_file_remove(cfg.ready_file);
	pg_gateway_teardown(gw);
	close(sigfd);
	return status;
}
