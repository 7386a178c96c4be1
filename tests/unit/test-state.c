/* SPDX-License-Identifier: MIT */
/* STATE_FILE: what the sidecar writes and `clientd check --verbose`
 * prints from it, with and without IPv6 through the tunnel. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "clientd/state.h"

static void read_all(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		fclose(f);
}

static void print_to(const char *path, char *out, size_t size)
{
	FILE *f = fmemopen(out, size, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(pg_client_state_print(f, path, "foo", 1000) == 0);
	fclose(f);
}

static void test_v6(void)
{
	char dir[] = "/tmp/podgw-test-state-XXXXXX", path[64], text[2048];
	struct pg_client_state s = {.healthy = true, .dirty = true, .since = 900};

	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	CHECK(pg_addr_parse("10.244.0.2", &s.gateway_pod_ip) == 0);
	CHECK(pg_addr_parse("172.16.0.1", &s.gateway_addr) == 0);
	CHECK(pg_prefix_parse("172.16.0.23/24", &s.addr, true) == 0);

	/* Not granted: no address6 line. */
	CHECK(pg_client_state_flush(path, &s, 0, true) == 0);
	read_all(path, text, sizeof(text));
	CHECK(strstr(text, "address=172.16.0.23/24\n") != NULL);
	CHECK(strstr(text, "address6=") == NULL);
	print_to(path, text, sizeof(text));
	CHECK(strstr(text, "address: 172.16.0.23/24\n") != NULL);

	/* Granted. */
	CHECK(pg_prefix_parse("fd12:3456:789a:2a::17/64", &s.addr6, true) == 0);
	CHECK(pg_addr_parse("fd12:3456:789a:2a::1", &s.gateway_addr6) == 0);
	s.dirty = true;
	CHECK(pg_client_state_flush(path, &s, 5000, true) == 0);
	read_all(path, text, sizeof(text));
	CHECK(strstr(text, "address6=fd12:3456:789a:2a::17/64\n") != NULL);
	CHECK(strstr(text, "address=172.16.0.23/24\n") != NULL);
	print_to(path, text, sizeof(text));
	CHECK(strstr(text, "address: 172.16.0.23/24\n") != NULL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_v6();
	return check_result();
}
