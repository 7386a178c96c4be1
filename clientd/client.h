/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CLIENT_H
#define PODGW_CLIENT_H

#include <stdbool.h>

#include "common/config.h"

struct pg_client;

/* Routes the pod through the gateway: keeps cluster CIDRs, DNS and the
 * gateway's pod IP on the pod network, removes the default routes, creates
 * the vxlan link with its FDB entry, address and default route, and returns
 * PG_EXIT_OK only once an outside address routes through the tunnel and the
 * gateway answers. Any other enum pg_exit comes after one line saying why,
 * with everything it changed undone — unless keep_fail_closed (the sidecar,
 * which retries): then a runtime failure leaves the guard and the removed
 * default routes in place. */
int pg_client_setup(const struct pg_config *cfg, bool keep_fail_closed, struct pg_client **out);
/* The sidecar: renews the lease until SIGTERM/SIGINT arrives on sigfd,
 * then releases it; the routing stays (fail-closed). */
int pg_client_run(struct pg_client *c, int sigfd);
/* For probes, without privileges: exits PG_EXIT_OK only when the vxlan link
 * is up, outside addresses route through it, and (with READY_FILE) the
 * sidecar says the gateway answers its keepalives. */
int pg_client_check(const struct pg_config *cfg, bool verbose);
/* Frees c; the kernel state is left as it is. */
void pg_client_free(struct pg_client *c);

#endif
