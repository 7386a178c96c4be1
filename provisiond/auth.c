/* SPDX-License-Identifier: MIT */
#include "provisiond/auth.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/daemon.h"

static void hash(uint8_t out[32], const char *s, size_t len)
{
	crypto_generichash(out, 32, (const unsigned char *)s, len, NULL, 0);
}

int pv_auth_load(struct pv_auth *a, const char *path, const char **why)
{
	char buf[PV_TOKEN_MAX + 2]; /* one more, to see a file that is too long */
	size_t len = 0;
	struct stat st;
	int fd, r;

	*a = (struct pv_auth){0};
	if (sodium_init() < 0) {
		*why = "libsodium cannot initialise";
		return -EIO;
	}
	fd = pg_open_regular(path, &st);
	if (fd < 0) {
		*why = fd == -EINVAL ? "not a regular file" : strerror(-fd);
		return fd;
	}
	/* Group may read it: a Kubernetes Secret reaches a non-root user
	 * through fsGroup. */
	if (st.st_mode & S_IRWXO) {
		*why = "readable by others (chmod 600 or 640)";
		r = -EPERM;
		goto out;
	}
	r = pg_read_full(fd, buf, sizeof(buf) - 1, &len);
	if (r < 0) {
		*why = strerror(-r);
		goto out;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	buf[len] = '\0';
	r = -EINVAL;
	if (len < PV_TOKEN_MIN || len > PV_TOKEN_MAX) {
		*why = len < PV_TOKEN_MIN ? "shorter than 16 characters"
					  : "longer than 4096 characters";
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= ' ' || buf[i] > '~') {
			*why = "not a token: visible ASCII characters only";
			goto out;
		}
	hash(a->hash, buf, len);
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}

static bool token_ok(const struct pv_auth *a, const char *token)
{
	uint8_t h[32];

	/* Hashes of equal length: the time taken tells nothing of the token. */
	hash(h, token, strnlen(token, PV_TOKEN_MAX + 1));
	return sodium_memcmp(h, a->hash, sizeof(h)) == 0;
}

bool pv_auth_check(const struct pv_auth *a, const char *authorization, const char *access_token)
{
	static const char scheme[] = "Bearer ";

	if (a->open)
		return true;
	if (authorization) {
		if (strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
			return false;
		authorization += sizeof(scheme) - 1;
		while (*authorization == ' ')
			authorization++;
		return token_ok(a, authorization);
	}
	return access_token && token_ok(a, access_token);
}
