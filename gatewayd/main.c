/* SPDX-License-Identifier: MIT */
/* gatewayd: the gateway pod's entrypoint. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/dns.h"
#include "gatewayd/events.h"
#include "gatewayd/gateway.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/status.h"

extern char **environ;

/* What the command line asked for besides the settings. */
struct flags {
	bool check_config, json;
};

struct command {
	const char *name; /* "": no command given */
	int (*run)(struct pg_config *cfg, const struct flags *f);
	const char *usage, *help; /* for --help; NULL: not listed */
};

static int cmd_serve(struct pg_config *cfg, const struct flags *f)
{
	struct pg_gateway *gw;
	int sigfd, status;

	if (f->json) {
		pg_err("--json goes with the status command: gatewayd status --json");
		return PG_EXIT_CONFIG;
	}
	if (pg_events_check_config(cfg) < 0)
		return PG_EXIT_CONFIG;
	if (f->check_config) {
		if (pg_gateway_check_key(cfg) != PG_EXIT_OK)
			return PG_EXIT_CONFIG;
		pg_config_print(stdout, PG_ROLE_GATEWAY, cfg);
		return fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
	}
	pg_log_set_level(cfg->log_level);
	pg_dns_complete_config(cfg);
	pg_overlay6_complete_config(cfg);

	/* Signals are blocked before setup so a SIGTERM during it is not lost
	 * and still gets everything removed. */
	sigfd = pg_signals_open();
	if (sigfd < 0) {
		pg_err("signalfd: %s", strerror(-sigfd));
		return PG_EXIT_RUNTIME;
	}
	status = pg_gateway_setup(cfg, &gw);
	if (status != PG_EXIT_OK)
		return status;

	if (pg_daemon_ready(cfg->ready_file, "ready\n") != PG_EXIT_OK) {
		pg_gateway_teardown(gw);
		return PG_EXIT_RUNTIME;
	}

	status = pg_gateway_run(gw, sigfd);
	pg_ready_file_remove(cfg->ready_file);
	pg_gateway_teardown(gw);
	close(sigfd);
	return status;
}

/* `gatewayd status [--json]`: the running gatewayd's leases, read from
 * STATUS_SOCKET; no privilege but access to the socket. */
static int cmd_status(struct pg_config *cfg, const struct flags *f)
{
	return pg_status_command(cfg->status_socket, f->json);
}

static const struct command commands[] = {
    {"", cmd_serve, NULL, NULL},
    {"status", cmd_status, "status [--json]",
     "the running gatewayd's leases as a table (or JSON), read\nfrom STATUS_SOCKET"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *out, const char *prog)
{
	pg_config_usage(out, PG_ROLE_GATEWAY, prog);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].help)
			pg_usage_item(out, 38, commands[i].usage, commands[i].help);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct pg_config cfg;
	struct flags f;
	int first_arg, r;

	pg_log_init(argv[0]);
	f.json = pg_args_take(&argc, argv, "--json");
	/* --check-config: the settings are read and validated exactly as for a
	 * start, then printed; nothing is touched, no privilege is needed. */
	f.check_config = pg_args_take(&argc, argv, "--check-config");
	if (pg_args_want_help(argc, argv)) {
		usage(stdout, argv[0]);
		return PG_EXIT_OK;
	}
	r = pg_config_load(&cfg, PG_ROLE_GATEWAY, argc, argv, environ, stderr, &first_arg);
	if (r == PG_CONFIG_EXIT)
		return PG_EXIT_OK;
	if (r < 0)
		return PG_EXIT_CONFIG;
	pg_log_set_format(cfg.log_format);
	/* At most one command; --check-config only checks a start. */
	cmd = first_arg == argc	      ? &commands[0]
	      : first_arg + 1 == argc ? find_command(argv[first_arg])
				      : NULL;
	if (!cmd || (f.check_config && cmd != &commands[0])) {
		pg_err("unexpected argument '%s' (see --help)", argv[first_arg]);
		return PG_EXIT_CONFIG;
	}
	return cmd->run(&cfg, &f);
}
