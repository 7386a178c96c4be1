/* SPDX-License-Identifier: MIT */
#include "provisiond/curlbuf.h"

#include <stdlib.h>
#include <string.h>

/* Returning less than given makes libcurl fail the transfer. */
static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct pv_curlbuf *b = arg;
	size_t len = size * n;
	char *grown;

	if (b->len + len > b->max) {
		b->overflow = true;
		return 0;
	}
	grown = realloc(b->data, b->len + len + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

void pv_curlbuf_attach(CURL *curl, struct pv_curlbuf *b)
{
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
}
