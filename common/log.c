/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *prog_name = "podgw";
static enum pg_log_level max_level = PG_LOG_INFO;

static const char *const level_names[] = {
    [PG_LOG_ERR] = "error",
    [PG_LOG_WARN] = "warning",
    [PG_LOG_INFO] = "info",
    [PG_LOG_DEBUG] = "debug",
};

void pg_log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	prog_name = slash ? slash + 1 : prog;
}

void pg_log_set_level(enum pg_log_level level)
{
	max_level = level;
}

int pg_log_level_parse(const char *text, enum pg_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum pg_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void pg_log(enum pg_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	/* Build the line first so concurrent writers never interleave halves. */
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s: %s%s", prog_name,
			 level == PG_LOG_INFO ? "" : level_names[level],
			 level == PG_LOG_INFO ? "" : ": ");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

void pg_log_limited(struct pg_ratelimit *rl, enum pg_log_level level, const char *fmt, ...)
{
	struct timespec ts;
	char line[768];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((uint64_t)ts.tv_sec >= rl->window_start + rl->interval_s) {
		rl->window_start = (uint64_t)ts.tv_sec;
		rl->printed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rl->suppressed) {
		pg_log(level, "%s (%u similar messages suppressed)", line, rl->suppressed);
		rl->suppressed = 0;
	} else {
		pg_log(level, "%s", line);
	}
}
