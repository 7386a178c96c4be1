/* SPDX-License-Identifier: MIT */
#ifndef PODGW_STATUS_H
#define PODGW_STATUS_H

/* `gatewayd status [--json]`: asks the running gatewayd over its status
 * socket (HTTP on a unix socket, read-only) and prints the lease table or
 * JSON. Needs no capability, only access to the socket. Returns an enum
 * pg_exit: 1 when gatewayd cannot be reached (one line says why). */

#include <stdbool.h>

int pg_status_command(const char *socket_path, bool json);

#endif
