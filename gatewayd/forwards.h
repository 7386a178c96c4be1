/* SPDX-License-Identifier: MIT */
#ifndef PODGW_FORWARDS_H
#define PODGW_FORWARDS_H

/* NAT_CONF_FILE as gatewayd applies it: read, checked against the other
 * settings (a forward must not take the gateway's own VXLAN or membership
 * port on the underlay), and what a reload changed told in the log. */

#include "common/config.h"
#include "common/log.h"
#include "gatewayd/natconf.h"

/* Reads cfg->nat_conf for cfg->overlay. On failure logs one line at level,
 * "NAT_CONF_FILE: 'FILE':LINE: FIELD 'VALUE': why" followed by then, and
 * returns a negative errno (-EINVAL: a bad file). */
int pg_forwards_read(const struct pg_config *cfg, enum pg_log_level level, const char *then,
		     struct pg_natconf **out);
/* One line per reservation and forward that differs between old and now,
 * saying that a moved reservation applies when its client next joins. */
void pg_forwards_log_changes(const struct pg_natconf *old, const struct pg_natconf *now);

#endif
