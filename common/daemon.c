/* SPDX-License-Identifier: MIT */
#include "common/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/caps.h"
#include "common/log.h"

int pg_signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int pg_signals_read(int fd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof(si));

	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(si))
		return -EIO;
	return (int)si.ssi_signo;
}

uint64_t pg_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int pg_open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), r;

	if (fd < 0)
		return -errno;
	r = fstat(fd, st) < 0 ? -errno : S_ISREG(st->st_mode) ? 0 : -EINVAL;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int pg_read_full(int fd, void *buf, size_t size, size_t *len)
{
	*len = 0;
	while (*len < size) {
		ssize_t n = read(fd, (char *)buf + *len, size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

bool pg_args_take(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int j = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], flag) == 0)
			found = true;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;
	return found;
}

int pg_ready_file_write(const char *path, const char *content)
{
	char tmp[PATH_MAX];
	size_t len = strlen(content);
	int fd, r = 0;

	if (!*path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, content, len) != (ssize_t)len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

void pg_ready_file_remove(const char *path)
{
	if (*path)
		unlink(path);
}

void pg_usage_item(FILE *out, int width, const char *name, const char *help)
{
	const char *nl;

	for (; (nl = strchr(help, '\n')); help = nl + 1, name = "")
		fprintf(out, "  %-*s %.*s\n", width, name, (int)(nl - help), help);
	fprintf(out, "  %-*s %s\n", width, name, help);
}

bool pg_args_want_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		size_t n = strlen(argv[i]);

		if (strcmp(argv[i], "-h") == 0 || (n > 2 && strncmp(argv[i], "--help", n) == 0))
			return true;
	}
	return false;
}

int pg_daemon_ready(const char *ready_file, const char *content)
{
	int r = pg_caps_keep_net_admin(false);

	if (r < 0) {
		pg_err("dropping capabilities: %s", strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	r = pg_ready_file_write(ready_file, content);
	if (r < 0) {
		pg_err("READY_FILE: '%s': %s", ready_file, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	return PG_EXIT_OK;
}
