/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LOG_H
#define PODGW_LOG_H

/* One line per event on stderr, so a failing init container's log says
 * what went wrong in its last line. logfmt by default:
 *   ts=2025-01-02T03:04:05.678Z level=info prog=gatewayd msg="granted ..." pod=crawler-1
 * or one JSON object a line (LOG_FORMAT=json) with the same keys. The
 * message text is the same in both, so a search for it finds it either way. */

#include <stddef.h>
#include <stdint.h>

enum pg_log_level { PG_LOG_ERR, PG_LOG_WARN, PG_LOG_INFO, PG_LOG_DEBUG };
enum pg_log_format { PG_LOG_LOGFMT, PG_LOG_JSON };

void pg_log_init(const char *prog);
void pg_log_set_level(enum pg_log_level level);
int pg_log_level_parse(const char *text, enum pg_log_level *out);
void pg_log_set_format(enum pg_log_format format);
int pg_log_format_parse(const char *text, enum pg_log_format *out);
const char *pg_log_format_name(enum pg_log_format format);
void pg_log(enum pg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with key=value fields after the message: fields is NULL or
 * alternating keys and values, ending with a NULL key. */
void pg_log_fields(enum pg_log_level level, const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One line as it would be written (for tests): returns its length. */
size_t pg_log_format_line(char *out, size_t size, enum pg_log_format format,
			  enum pg_log_level level, const char *ts, const char *msg,
			  const char *const *fields);

/* At most burst lines per interval_s seconds per limiter; what was held back
 * is counted and reported with the next line that passes. */
struct pg_ratelimit {
	unsigned interval_s;
	unsigned burst;
	uint64_t window_start;
	unsigned printed;
	unsigned suppressed;
};

#define PG_RATELIMIT_INIT(interval, lines)                                                         \
	{                                                                                          \
		.interval_s = (interval), .burst = (lines)                                         \
	}

void pg_log_limited(struct pg_ratelimit *rl, enum pg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pg_err(...)   pg_log(PG_LOG_ERR, __VA_ARGS__)
#define pg_warn(...)  pg_log(PG_LOG_WARN, __VA_ARGS__)
#define pg_info(...)  pg_log(PG_LOG_INFO, __VA_ARGS__)
#define pg_debug(...) pg_log(PG_LOG_DEBUG, __VA_ARGS__)

#endif
