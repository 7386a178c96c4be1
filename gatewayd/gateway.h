/* SPDX-License-Identifier: MIT */
#ifndef PODGW_GATEWAY_H
#define PODGW_GATEWAY_H

#include "common/config.h"
#include "gatewayd/ruleset.h" /* the tables, for their users and tests */

struct pg_gateway;

/* Creates the vxlan link, the overlay address, forwarding and the nftables
 * table. Returns an enum pg_exit; on failure everything it created is gone
 * and one line said why. */
int pg_gateway_setup(const struct pg_config *cfg, struct pg_gateway **out);
/* Serves the membership protocol until SIGTERM or SIGINT arrives on sigfd;
 * SIGHUP or a change of NAT_CONF_FILE reloads nat.conf. Returns an enum
 * pg_exit. */
int pg_gateway_run(struct pg_gateway *gw, int sigfd);
/* Reads MEMBERSHIP_KEY_FILE as a start would (--check-config): an enum
 * pg_exit, with one line on failure. */
int pg_gateway_check_key(const struct pg_config *cfg);
/* Removes what setup created and frees gw. */
void pg_gateway_teardown(struct pg_gateway *gw);

#endif
