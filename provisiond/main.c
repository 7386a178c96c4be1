/* SPDX-License-Identifier: MIT */
/* provisiond: CloudEvents in, crawlers bound to gateways out. Parses its
 * settings, starts the backend and the HTTP server, waits for SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>
#include <sodium.h>

#include "common/daemon.h"
#include "common/log.h"
#include "provisiond/backend.h"
#include "provisiond/crawlerpod.h"
#include "provisiond/podman.h"
#include "provisiond/provision.h"
#include "provisiond/server.h"
#include "provisiond/settings.h"
#include "provisiond/webhook.h"

/* The kubernetes backend only talks HTTP(S): it needs no capability at all
 * (a port below 1024 is bound before this). The netns backend runs the lab's
 * scripts, which need root; it lives in the lab, never in a cluster. */
static int drop_privileges(const struct pv_settings *s)
{
	if (s->backend != PV_BACKEND_KUBERNETES)
		return 0;
	capng_clear(CAPNG_SELECT_BOTH);
	return capng_apply(CAPNG_SELECT_BOTH) < 0 ? -EPERM : 0;
}

static void wait_for_termination(int sfd)
{
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};

	for (;;) {
		int sig;

		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return;
		sig = pg_signals_read(sfd);
		if (sig == SIGTERM || sig == SIGINT) {
			pg_info("%s: stopping", strsignal(sig));
			return;
		}
	}
}

static int serve(int argc, char **argv, char **envp)
{
	const struct pv_backend_ops *ops;
	struct pv_provisioner *p = NULL;
	struct pv_server *srv = NULL;
	struct pv_settings s;
	struct pv_auth auth = {0};
	const char *auth_why = NULL;
	char why[PV_WHY_MAX] = "", addr[INET_ADDRSTRLEN], ready[96];
	int r, sfd, rc = PG_EXIT_RUNTIME;

	r = pv_settings_load(&s, argc, argv, envp, stderr);
	if (r == PV_SETTINGS_EXIT)
		return PG_EXIT_OK;
	if (r < 0)
		return PG_EXIT_CONFIG;
	pg_log_set_level(s.log_level);
	if (sodium_init() < 0) {
		pg_err("libsodium: cannot initialise");
		return PG_EXIT_RUNTIME;
	}
	auth.open = s.auth_open;
	/* Serving only: crawler-pod and podman-pod take no events. */
	if (!s.auth_open && !s.token_file[0]) {
		fprintf(stderr,
			"provisiond: PROVISIOND_TOKEN_FILE: '': needed to authenticate event "
			"senders (PROVISIOND_AUTH=none serves anyone: a lab only)\n");
		return PG_EXIT_CONFIG;
	}
	if (!s.auth_open && pv_auth_load(&auth, s.token_file, &auth_why) < 0) {
		fprintf(stderr, "provisiond: PROVISIOND_TOKEN_FILE: '%s': %s\n", s.token_file,
			auth_why);
		return PG_EXIT_CONFIG;
	}
	/* A client that hangs up must not kill the daemon mid-write. */
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread exists, so that every thread blocks them. */
	sfd = pg_signals_open();
	if (sfd < 0) {
		pg_err("signals: %s", strerror(-sfd));
		return PG_EXIT_RUNTIME;
	}
	ops = s.backend == PV_BACKEND_NETNS    ? &pv_backend_netns
	      : s.backend == PV_BACKEND_PODMAN ? &pv_backend_podman
					       : &pv_backend_kubernetes;
	r = pv_provisioner_new(&s, ops, &p, why);
	if (r < 0) {
		pg_err("backend %s: %s", ops->name, why[0] ? why : strerror(-r));
		rc = r == -EINVAL ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
		goto out;
	}
	r = pv_server_start(&s, &auth, p, &srv);
	if (r < 0) {
		pg_err("PROVISIOND_LISTEN: cannot serve HTTP (see above)");
		goto out;
	}
	if (drop_privileges(&s) < 0) {
		pg_err("capabilities: cannot drop them");
		goto out;
	}
	inet_ntop(AF_INET, &s.listen.sin_addr, addr, sizeof(addr));
	snprintf(ready, sizeof(ready), "%s:%u\n", addr, pv_server_port(srv));
	pg_info("serving CloudEvents on http://%s:%u/, backend %s, reply when %s, %u gateway(s), "
		"%s",
		addr, pv_server_port(srv), ops->name,
		s.reply_when == PV_REPLY_ROUTED ? "routed" : "created", s.n_gateways,
		s.auth_open ? "to ANYONE (PROVISIOND_AUTH=none)" : "to bearers of the token");
	if (pg_ready_file_write(s.ready_file, ready) < 0)
		pg_warn("READY_FILE: '%s': cannot write it", s.ready_file);
	wait_for_termination(sfd);
	rc = PG_EXIT_OK;
out:
	pv_server_stop(srv);
	pv_provisioner_free(p);
	pg_ready_file_remove(s.ready_file);
	close(sfd);
	return rc;
}

static int podman_pod(int argc, char **argv, char **envp)
{
	return pv_podman_pod_main(argc, argv);
}

/* Subcommands take their own arguments; without one provisiond serves. */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv, char **envp);
} commands[] = {
    {"crawler-pod", pv_crawler_pod_cmd},
    {"podman-pod", podman_pod},
    {"webhook", pv_webhook_main},
};

int main(int argc, char **argv, char **envp)
{
	pg_log_init("provisiond");
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1, envp);
	return serve(argc, argv, envp);
}
