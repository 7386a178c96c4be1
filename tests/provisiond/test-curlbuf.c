/* SPDX-License-Identifier: MIT */
/* The shared libcurl response collector: a body up to its bound arrives
 * whole and NUL-terminated; one byte more stops the transfer and says so.
 * file:// URLs of a temporary file: no sockets, no root. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/curlbuf.h"
#include "tests/unit/check.h"

#define BODY_LEN 5000

static CURLcode fetch(const char *url, struct pv_curlbuf *b)
{
	CURL *curl = curl_easy_init();
	CURLcode cc;

	if (!curl)
		return CURLE_FAILED_INIT;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	pv_curlbuf_attach(curl, b);
	cc = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	return cc;
}

static bool file_protocol(void)
{
	const char *const *p = curl_version_info(CURLVERSION_NOW)->protocols;

	while (p && *p && strcmp(*p, "file") != 0)
		p++;
	return p && *p;
}

int main(void)
{
	char path[] = "/tmp/podgw-curlbuf-XXXXXX", url[64], body[BODY_LEN];
	int fd;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!file_protocol())
		return 77;
	memset(body, 'x', sizeof(body));
	fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, body, sizeof(body)) == (ssize_t)sizeof(body));
	snprintf(url, sizeof(url), "file://%s", path);
	for (size_t max = BODY_LEN - 1; max <= BODY_LEN; max++) {
		struct pv_curlbuf b = {.max = max};
		CURLcode cc = fetch(url, &b);

		if (max == BODY_LEN) {
			CHECK(cc == CURLE_OK && !b.overflow && b.len == BODY_LEN);
			CHECK(b.data && b.data[BODY_LEN] == '\0' &&
			      memcmp(b.data, body, BODY_LEN) == 0);
		} else {
			CHECK(cc == CURLE_WRITE_ERROR && b.overflow && b.len <= max);
		}
		free(b.data);
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	curl_global_cleanup();
	return check_result();
}
