/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_AUTH_H
#define PODGW_PROVISIOND_AUTH_H

/* Who may post events: a sender presenting the shared bearer token of
 * PROVISIOND_TOKEN_FILE, or anyone when PROVISIOND_AUTH=none (the lab only).
 * The token comes in "Authorization: Bearer TOKEN" or, for senders that
 * cannot set a header (a Knative Trigger: only its subscriber's URI is
 * configurable), in the query parameter access_token (RFC 6750, 2.1, 2.3). Only a hash of the token
 * is kept; the comparison takes the same time whatever the presented token. */

#include <stdbool.h>
#include <stdint.h>

#define PV_TOKEN_MIN 16
#define PV_TOKEN_MAX 4096

struct pv_auth {
	bool open;
	uint8_t hash[32];
};

/* Reads the token: a regular file that others cannot read, 16 to 4096
 * visible ASCII characters after trailing blanks and newlines are cut. 0,
 * or a negative errno with why set. */
int pv_auth_load(struct pv_auth *a, const char *path, const char **why);
/* Whether the request is accepted: the Authorization header's value and
 * the access_token query parameter (each NULL when absent). */
bool pv_auth_check(const struct pv_auth *a, const char *authorization, const char *access_token);

#endif
