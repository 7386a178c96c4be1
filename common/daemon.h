/* SPDX-License-Identifier: MIT */
#ifndef PODGW_DAEMON_H
#define PODGW_DAEMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* What both daemons do around their work: exit codes, termination signals
 * as a file descriptor, readiness files. */

enum pg_exit {
	PG_EXIT_OK = 0,
	PG_EXIT_RUNTIME = 1,
	PG_EXIT_CONFIG = 2,
};

/* Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them (or a
 * negative errno), so the event loop sees termination as input. */
int pg_signals_open(void);
/* Reads one signal from the signalfd; returns its number or a negative errno. */
int pg_signals_read(int fd);
/* Milliseconds of CLOCK_MONOTONIC: for timeouts and measured intervals. */
uint64_t pg_monotonic_ms(void);

/* Opens a regular file for reading, following symlinks (Kubernetes Secret
 * and ConfigMap volumes are made of them) and fills *st. Returns the fd,
 * -EINVAL for anything but a regular file (a FIFO does not hang the
 * caller), or another negative errno. */
int pg_open_regular(const char *path, struct stat *st);
/* Reads fd until end of file or size bytes, whichever comes first, again
 * after EINTR; *len gets what was read. 0 or a negative errno. */
int pg_read_full(int fd, void *buf, size_t size, size_t *len);
/* Removes every argument equal to flag from argv (up to a "--"), moving
 * the rest down and updating *argc; true when there was one. For flags
 * that main() handles before the settings are parsed (--check-config). */
bool pg_args_take(int *argc, char **argv, const char *flag);

/* Whether argv asks for --help (or getopt's abbreviation of it) or -h
 * before "--": the program's own usage comes before settings are read. */
bool pg_args_want_help(int argc, char **argv);

/* Writes one --help entry: name in a column of width, then help, whose
 * further lines ('\n'-separated) are indented to the same column. */
void pg_usage_item(FILE *out, int width, const char *name, const char *help);

/* Writes path atomically (temp file + rename); "" means no ready file. */
int pg_ready_file_write(const char *path, const char *content);
void pg_ready_file_remove(const char *path);

/* After setup: keeps CAP_NET_ADMIN alone, then writes the ready file.
 * Logs a failure and returns PG_EXIT_RUNTIME, else PG_EXIT_OK. */
int pg_daemon_ready(const char *ready_file, const char *content);

#endif
