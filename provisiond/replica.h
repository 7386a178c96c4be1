/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_REPLICA_H
#define PODGW_PROVISIOND_REPLICA_H

/* Which replica of its gateway a routed crawler went through, for
 * scheduling.done: read from clientd's STATE_FILE keys (replica=,
 * replica_pod_ip=; gateway_pod_ip= when an older clientd wrote no
 * replica_pod_ip), which the netns helper passes on in its output and the
 * podman backend reads from the pod's run volume. The values come from the
 * gateway through the crawler: checked, and left empty when they are not a
 * replica name or an IPv4 address. */

#include "provisiond/backend.h"

/* 1..63 characters of [a-z0-9.-], as gatewayd's REPLICA_NAME. */
bool pv_replica_name_ok(const char *name);

/* Fills c->replica and c->replica_pod_ip from key=value lines; returns
 * true when the text named the replica. */
bool pv_replica_from_text(const char *text, struct pv_crawler *c);

/* Reads clientd's STATE_FILE at path, waiting up to wait_ms for the
 * replica's name (the sidecar writes the file at most once a second). */
void pv_replica_from_file(const char *path, unsigned wait_ms, struct pv_crawler *c);

#endif
