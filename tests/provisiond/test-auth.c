/* SPDX-License-Identifier: MIT */
/* The event senders' token: what a token file may hold, and which
 * Authorization headers and access_token parameters pass. Temporary files,
 * no root. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisiond/auth.h"
#include "tests/unit/check.h"

#define TOKEN "s3cr3t-Token_0123456789"

/* Writes content to a new temporary file of mode mode; its path in path. */
static void file_with(char path[32], const char *content, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/podgw-auth-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static int load(const char *content, mode_t mode, struct pv_auth *a, const char **why)
{
	char path[32];
	int r;

	file_with(path, content, mode);
	r = pv_auth_load(a, path, why);
	unlink(path);
	return r;
}

int main(void)
{
	static const struct {
		const char *content;
		mode_t mode;
		const char *why; /* NULL: loads */
	} files[] = {
	    {TOKEN "\n", 0600, NULL},
	    {TOKEN " \r\n\n", 0640, NULL}, /* group may read: fsGroup */
	    {TOKEN, 0604, "readable by others (chmod 600 or 640)"},
	    {"short\n", 0600, "shorter than 16 characters"},
	    {"", 0600, "shorter than 16 characters"},
	    {"two words in one token\n", 0600, "not a token: visible ASCII characters only"},
	    {"caf\xc3\xa9-0123456789abcdef", 0600, "not a token: visible ASCII characters only"},
	};
	static const struct {
		const char *authorization, *access_token;
		bool ok;
	} requests[] = {
	    {"Bearer " TOKEN, NULL, true},
	    {"bearer " TOKEN, NULL, true}, /* the scheme is case-insensitive */
	    {"Bearer  " TOKEN, NULL, true},
	    {NULL, TOKEN, true},
	    {"Bearer " TOKEN "x", NULL, false},
	    {"Bearer " TOKEN, "x", true},		    /* the header decides */
	    {"Bearer wrong", TOKEN, false},		    /* ... also when wrong */
	    {"Bearer s3cr3t-Token_012345678", NULL, false}, /* a prefix */
	    {"Basic " TOKEN, NULL, false},
	    {TOKEN, NULL, false},
	    {"Bearer ", NULL, false},
	    {NULL, NULL, false},
	    {NULL, "", false},
	    {NULL, TOKEN "\n", false},
	};
	struct pv_auth a, open = {.open = true};
	const char *why;
	char path[32], *big;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		why = NULL;
		int r = load(files[i].content, files[i].mode, &a, &why);

		if (files[i].why) {
			CHECK(r < 0);
			CHECK_STR(why, files[i].why);
		} else {
			CHECK(r == 0);
			CHECK(pv_auth_check(&a, "Bearer " TOKEN, NULL));
		}
	}
	big = malloc(PV_TOKEN_MAX + 2);
	memset(big, 'a', PV_TOKEN_MAX + 1);
	big[PV_TOKEN_MAX + 1] = '\0';
	CHECK(load(big, 0600, &a, &why) < 0);
	CHECK_STR(why, "longer than 4096 characters");
	free(big);
	CHECK(pv_auth_load(&a, "/nonexistent/token", &why) < 0);
	CHECK_STR(why, "No such file or directory");
	strcpy(path, "/tmp");
	CHECK(pv_auth_load(&a, path, &why) < 0);
	CHECK_STR(why, "not a regular file");

	CHECK(load(TOKEN "\n", 0600, &a, &why) == 0);
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		bool ok = pv_auth_check(&a, requests[i].authorization, requests[i].access_token);

		if (ok != requests[i].ok) {
			fprintf(stderr, "request %zu (%s, %s): %s\n", i,
				requests[i].authorization ? requests[i].authorization : "-",
				requests[i].access_token ? requests[i].access_token : "-",
				ok ? "accepted" : "refused");
			check_failures++;
		}
		CHECK(pv_auth_check(&open, requests[i].authorization, requests[i].access_token));
	}
	return check_result();
}
