/* SPDX-License-Identifier: MIT */
#ifndef PODGW_LOG_H
#define PODGW_LOG_H

/* One line per event on stderr, prefixed with the program's name, so a
 * failing init container's log says what went wrong in its last line. */

enum pg_log_level { PG_LOG_ERR, PG_LOG_WARN, PG_LOG_INFO, PG_LOG_DEBUG };

void pg_log_init(const char *prog);
void pg_log_set_level(enum pg_log_level level);
int pg_log_level_parse(const char *text, enum pg_log_level *out);
void pg_log(enum pg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pg_err(...)   pg_log(PG_LOG_ERR, __VA_ARGS__)
#define pg_warn(...)  pg_log(PG_LOG_WARN, __VA_ARGS__)
#define pg_info(...)  pg_log(PG_LOG_INFO, __VA_ARGS__)
#define pg_debug(...) pg_log(PG_LOG_DEBUG, __VA_ARGS__)

#endif
