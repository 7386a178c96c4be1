/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_HTTPBODY_H
#define PODGW_PROVISIOND_HTTPBODY_H

/* A request body as libmicrohttpd hands it over in pieces, bounded: shared
 * by the event server and the webhook. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct pv_body {
	char *data; /* NUL-terminated; NULL until the first byte */
	size_t len;
	bool too_big; /* over the limit: the rest is read and dropped */
};

/* A declared Content-Length over max: refused before any byte is read. */
bool pv_body_declared_too_big(struct MHD_Connection *c, uint32_t max);
/* 0, or -ENOMEM; past max only too_big is set. */
int pv_body_append(struct pv_body *b, const char *data, size_t len, uint32_t max);
void pv_body_free(struct pv_body *b);

#endif
