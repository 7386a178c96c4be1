/* SPDX-License-Identifier: MIT */
#include "provisiond/httpbody.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool pv_body_declared_too_big(struct MHD_Connection *c, uint32_t max)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return false;
	n = strtoull(cl, &end, 10);
	return *end == '\0' && n > max;
}

int pv_body_append(struct pv_body *b, const char *data, size_t len, uint32_t max)
{
	char *grown;

	if (b->too_big || b->len + len > max) {
		b->too_big = true;
		return 0;
	}
	grown = realloc(b->data, b->len + len + 1);
	if (!grown)
		return -ENOMEM;
	b->data = grown;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void pv_body_free(struct pv_body *b)
{
	free(b->data);
	*b = (struct pv_body){0};
}
