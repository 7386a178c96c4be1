/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CONFWATCH_H
#define PODGW_CONFWATCH_H

/* Tells when a configuration file may have changed, through inotify on its
 * folder: the file written in place, replaced by a rename (editors, sed -i),
 * created or deleted, and a Kubernetes ConfigMap update, which swaps the
 * folder's "..data" symlink while the file's own symlink stays. The caller
 * reads the file again and decides whether it changed. */

#include <stdbool.h>

struct pg_confwatch;

/* Returns 0 or a negative errno (no folder, inotify limits). */
int pg_confwatch_open(const char *path, struct pg_confwatch **out);
void pg_confwatch_close(struct pg_confwatch *w);
int pg_confwatch_fd(const struct pg_confwatch *w);
/* Reads the pending events; true when one may concern the file. */
bool pg_confwatch_read(struct pg_confwatch *w);

#endif
