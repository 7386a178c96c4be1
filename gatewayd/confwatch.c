/* SPDX-License-Identifier: MIT */
#include "gatewayd/confwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define CONFIGMAP_DATA "..data" /* the symlink a ConfigMap update swaps */
#define EVENTS_BYTES   4096	/* a read takes whole events: many fit */
#define WATCHED                                                                                    \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
	 IN_DELETE_SELF | IN_MOVE_SELF)

struct pg_confwatch {
	int fd;
	char name[NAME_MAX + 1]; /* the file's name in its folder */
};

int pg_confwatch_open(const char *path, struct pg_confwatch **out)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct pg_confwatch *w;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int r;

	*out = NULL;
	if (dlen >= sizeof(dir) || strlen(slash ? slash + 1 : path) > NAME_MAX)
		return -ENAMETOOLONG;
	/* the folder, not the file: a rename or a ConfigMap swap replaces the
	 * file, and a watch on the old inode would hear nothing more */
	if (!slash)
		strcpy(dir, ".");
	else if (dlen == 0)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)dlen, path);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	strcpy(w->name, slash ? slash + 1 : path);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 || inotify_add_watch(w->fd, dir, WATCHED | IN_ONLYDIR) < 0) {
		r = -errno;
		pg_confwatch_close(w);
		return r;
	}
	*out = w;
	return 0;
}

void pg_confwatch_close(struct pg_confwatch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int pg_confwatch_fd(const struct pg_confwatch *w)
{
	return w->fd;
}

bool pg_confwatch_read(struct pg_confwatch *w)
{
	char buf[EVENTS_BYTES] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			/* an overflow lost events: any of them may have been ours */
			if ((ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) ||
			    (ev->len && (strcmp(ev->name, w->name) == 0 ||
					 strcmp(ev->name, CONFIGMAP_DATA) == 0)))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}
