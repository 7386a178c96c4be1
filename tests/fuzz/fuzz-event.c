/* SPDX-License-Identifier: MIT */
/* provisiond reads events from anyone who reaches its port. The input is
 * split at the first five newlines into content-type, ce-specversion,
 * ce-id, ce-source and ce-type (a line starting with '!' means the header
 * is absent); the rest is the body. Whatever the bytes: no crash, a status
 * that is 0, 400 or 415, a reason exactly when refused, and an accepted
 * event whose fields are bounded text that renders as a reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_HEADERS 5

static void check_text(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len > max)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *p, *h[N_HEADERS] = {0};
	struct pv_request rq = {0};
	struct pv_http_reply rep;
	struct pv_event ev;
	char why[PV_WHY_MAX];
	int st;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (int i = 0; i < N_HEADERS; i++) {
		char *nl = memchr(p, '\n', size - (size_t)(p - copy));

		if (!nl)
			break;
		*nl = '\0';
		/* headers are C strings: MHD never hands over an embedded NUL */
		h[i] = (p[0] == '!' || strlen(p) != (size_t)(nl - p)) ? NULL : p;
		p = nl + 1;
	}
	rq.content_type = h[0];
	rq.ce_specversion = h[1];
	rq.ce_id = h[2];
	rq.ce_source = h[3];
	rq.ce_type = h[4];
	rq.body = p;
	rq.body_len = size - (size_t)(p - copy);
	st = pv_event_parse(&rq, &ev, why);
	if (st != 0 && st != 400 && st != 415)
		abort();
	if ((st != 0) != (why[0] != '\0') || strnlen(why, PV_WHY_MAX) >= PV_WHY_MAX)
		abort();
	if (st == 0) {
		check_text(ev.id, PV_ATTR_MAX);
		check_text(ev.source, PV_ATTR_MAX);
		if (strcmp(ev.type, PV_TYPE_PENDING) != 0 || !pv_dns_label_ok(ev.gateway) ||
		    !ev.id[0] || !ev.source[0])
			abort();
		if (pv_reply_render(ev.mode, PV_TYPE_DONE, ev.id, ev.source, "{\"pod_name\":\"x\"}",
				    &rep) == 0)
			pv_reply_free(&rep);
	}
	free(copy);
	return 0;
}
