/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_WEBHOOK_H
#define PODGW_PROVISIOND_WEBHOOK_H

/* `provisiond webhook`: the admission webhook over HTTPS. */

#include <stddef.h>
#include <stdint.h>

#include "provisiond/settings.h"

/* The paths reviews are posted to: the admission controller's, so a
 * MutatingWebhookConfiguration written for it works unchanged, and a
 * short one. */
#define PV_WEBHOOK_PATH	      "/wh/mutating/setgateway"
#define PV_WEBHOOK_PATH_SHORT "/mutate"

struct pv_webhook_http;

/* Starts serving HTTPS with this certificate and key (PEM text) on
 * listen_fd when it is >= 0 (a reload), else on s->listen. Returns 0 or a
 * negative errno; MHD says why through the log. */
int pv_webhook_http_start(const struct pv_settings *s, const char *cert, const char *key,
			  int listen_fd, struct pv_webhook_http **out);
/* Whether libmicrohttpd accepts this certificate and key (no socket). */
bool pv_webhook_tls_usable(const char *cert, const char *key);
/* Stops accepting and returns the listening socket for the next server;
 * connections in progress are finished by pv_webhook_http_stop. */
int pv_webhook_http_quiesce(struct pv_webhook_http *h);
void pv_webhook_http_stop(struct pv_webhook_http *h);
uint16_t pv_webhook_http_port(const struct pv_webhook_http *h);

/* The subcommand; returns an exit code. */
int pv_webhook_main(int argc, char **argv, char **envp);

#endif
