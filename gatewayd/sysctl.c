/* SPDX-License-Identifier: MIT */
#include "gatewayd/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int pg_sysctl_enable(const char *path)
{
	char cur = '0';
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		/* A read-only /proc/sys is fine if the pod's sysctls already say 1. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (read(fd, &cur, 1) != 1)
			cur = '0';
		close(fd);
		return cur == '1' ? 0 : -EROFS;
	}
	if (write(fd, "1\n", 2) != 2) {
		int r = -errno;

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}
