/* SPDX-License-Identifier: MIT */
#ifndef PODGW_SETTINGS_FILE_H
#define PODGW_SETTINGS_FILE_H

/* KEY=VALUE lines in the subset of shell that pod-gateway's settings.sh
 * uses: comments, `export`, single and double quotes, $NAME and ${NAME}
 * (earlier lines, then the environment). Anything beyond is refused. */

#include <stddef.h>

struct pg_settings_file_ops {
	/* One assignment; source is "NAME:LINE". Returns 0 or -ENOMEM. */
	int (*assign)(void *ctx, const char *source, const char *key, const char *value);
	/* One line that is not understood, as "NAME:LINE: 'line': why". */
	void (*error)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

/* Returns 0 (every bad line reported through ops->error) or -ENOMEM. */
int pg_settings_file_read(const char *name, const char *text, size_t len, char **envp,
			  const struct pg_settings_file_ops *ops, void *ctx);

#endif
