/* SPDX-License-Identifier: MIT */
/* clientd: the crawler pod's init container ("init") or sidecar ("run"). */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientd/client.h"
#include "common/caps.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 10000

extern char **environ;

static unsigned next_backoff(unsigned ms)
{
	return ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ms * 2;
}

/* Sleeps ms unless SIGTERM/SIGINT comes first (then true). */
static bool wait_or_signal(int sigfd, unsigned ms)
{
	struct pollfd pfd = {.fd = sigfd, .events = POLLIN};

	if (poll(&pfd, 1, (int)ms) > 0) {
		int sig = pg_signals_read(sigfd);

		return sig == SIGTERM || sig == SIGINT;
	}
	return false;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s init|run|check [options]\n"
		"  init  route this pod through the gateway, then exit (0 only when routed)\n"
		"  run   the same (retrying until it works), then keep it working: keepalives,\n"
		"        finding a moved gateway, repairing changes; on SIGTERM release the lease\n"
		"  check exit 0 only when the tunnel is up and (with READY_FILE) healthy;\n"
		"        --verbose also prints the sidecar's state (STATE_FILE)\n"
		"With --check-config the command may be left out.\n\n",
		prog);
	pg_config_usage(out, PG_ROLE_CLIENT, prog);
}

/* The gateway admission controller runs its init and sidecar commands
 * without arguments: named gateway-init or gateway-sidecar, clientd is that
 * command, with pod-gateway's settings file when the pod mounts one. Other
 * arguments (--help, --check-config, options) are kept. */
static char **alias_argv(int *argc, char **argv)
{
	static const char *const aliases[][2] = {{"gateway-init", "init"},
						 {"gateway-sidecar", "run"}};
	static const char settings[] = "/config/settings.sh";
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct stat st;
	char **out;
	int n = 0;

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(base, aliases[i][0]) != 0)
			continue;
		out = calloc((size_t)*argc + 4, sizeof(*out));
		if (!out)
			return argv;
		out[n++] = argv[0];
		if (stat(settings, &st) == 0 && S_ISREG(st.st_mode)) {
			out[n++] = (char *)"--config";
			out[n++] = (char *)settings;
		}
		for (int a = 1; a < *argc; a++)
			out[n++] = argv[a];
		out[n++] = (char *)aliases[i][1];
		*argc = n;
		return out;
	}
	return argv;
}

int main(int argc, char **argv)
{
	struct pg_config cfg;
	struct pg_client *c;
	const char *cmd;
	int first_arg, sigfd = -1, r, status;
	bool check_config, verbose;

	argv = alias_argv(&argc, argv);
	pg_log_init(argv[0]);
	verbose = pg_args_take(&argc, argv, "--verbose");
	/* --check-config: the settings are read and validated exactly as for a
	 * start, then printed; nothing is touched, no privilege is needed. The
	 * command may be left out. */
	check_config = pg_args_take(&argc, argv, "--check-config");
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
	pg_log_set_format(cfg.log_format);
	if (check_config && first_arg == argc) {
		pg_config_print(stdout, PG_ROLE_CLIENT, &cfg);
		return fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
	}
	if (first_arg == argc) {
		pg_err("missing command: init, run or check (see --help)");
		return PG_EXIT_CONFIG;
	}
	if (first_arg + 1 != argc ||
	    (strcmp(argv[first_arg], "init") != 0 && strcmp(argv[first_arg], "run") != 0 &&
	     strcmp(argv[first_arg], "check") != 0)) {
		pg_err("unknown command '%s': expected init, run or check (see --help)",
		       argv[first_arg]);
		return PG_EXIT_CONFIG;
	}
	cmd = argv[first_arg];
	if (check_config) {
		pg_config_print(stdout, PG_ROLE_CLIENT, &cfg);
		return fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
	}
	pg_log_set_level(cfg.log_level);

	if (strcmp(cmd, "check") == 0)
		return pg_client_check(&cfg, verbose);
	if (strcmp(cmd, "init") == 0) {
		status = pg_client_setup(&cfg, false, &c);
		if (status == PG_EXIT_OK)
			pg_client_free(c);
		return status;
	}

	sigfd = pg_signals_open();
	if (sigfd < 0) {
		pg_err("signalfd: %s", strerror(-sigfd));
		return PG_EXIT_RUNTIME;
	}
	/* The sidecar never gives up: a gateway that is away at start is
	 * waited for, with the pod kept fail-closed meanwhile. */
	for (unsigned backoff_ms = RETRY_MIN_MS;; backoff_ms = next_backoff(backoff_ms)) {
		status = pg_client_setup(&cfg, true, &c);
		if (status != PG_EXIT_RUNTIME)
			break;
		pg_info("retrying in %u ms", backoff_ms);
		if (wait_or_signal(sigfd, backoff_ms)) {
			close(sigfd);
			return PG_EXIT_OK;
		}
	}
	if (status != PG_EXIT_OK) {
		close(sigfd);
		return status;
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
	pg_ready_file_remove(cfg.state_file);
	pg_client_free(c);
	close(sigfd);
	return status;
}
