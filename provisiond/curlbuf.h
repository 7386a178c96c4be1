/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_CURLBUF_H
#define PODGW_PROVISIOND_CURLBUF_H

/* An HTTP response body collected by libcurl, up to a bound: the API
 * server's and podman's answers alike. */

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct pv_curlbuf {
	char *data; /* NUL-terminated; NULL while nothing came (the caller frees) */
	size_t len;
	size_t max;    /* more stops the transfer */
	bool overflow; /* it was stopped for that */
};

/* The body of curl's transfer goes to b. */
void pv_curlbuf_attach(CURL *curl, struct pv_curlbuf *b);

#endif
