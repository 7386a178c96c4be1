/* SPDX-License-Identifier: MIT */
#ifndef PODGW_SETTINGS_H
#define PODGW_SETTINGS_H

/* The settings engine that every program's table is read with. Each
 * setting has an environment name, a long option and a default; with
 * pg_settings_table.file it may also come from a --config file in the
 * subset of shell that pod-gateway's settings.sh uses. Options beat
 * environment, environment beats the file. Everything is parsed first and
 * checked as a whole in a second pass; every problem is reported as
 * "SOURCE: KEY: 'value': why" before the program refuses to start. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct pg_setting;
struct pg_settings_loader;

/* A value type: parses text into the setting's field, or sets *why (a
 * static string) and fails; prints the field back as text that parses to
 * the same value (NULL: the field is a string). */
struct pg_value_type {
	const char *metavar;
	int (*parse)(const struct pg_setting *s, const char *text, void *field, const char **why);
	void (*print)(FILE *out, const struct pg_setting *s, const void *field);
};

struct pg_setting {
	const char *key;
	const char *alias; /* a second environment name, e.g. pod-gateway's "gateway" */
	const char *option;
	const char *def; /* NULL: made by default_fn */
	const char *help;
	unsigned roles; /* the programs of a shared table that have it */
	bool required;
	const struct pg_value_type *type;
	size_t offset;
	size_t size; /* of a string field */
	unsigned long min, max;
	void (*default_fn)(char **envp, char *buf, size_t size);
};

#define PG_SETTING_FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define PG_ALL_ROLES		  (~0u)

struct pg_settings_table {
	const struct pg_setting *settings;
	size_t n;
	size_t cfg_size; /* of the structure the settings fill */
	/* Names read without error but not acted on: warned about once. */
	const char *const *ignored;
	size_t n_ignored;
	/* Errors name this instead of where the value came from. */
	const char *source;
	bool file; /* --config FILE */
	/* The second pass, once every value parsed; reports with
	 * pg_settings_report(). */
	void (*check)(struct pg_settings_loader *ld, unsigned role, void *cfg);
	/* --help's text. */
	void (*usage)(FILE *out, unsigned role, const char *prog);
};

enum {
	PG_SETTINGS_OK = 0,
	PG_SETTINGS_EXIT = 1, /* --help or --version was printed: exit 0 */
};

/* Loads the settings of role into cfg from argv (after getopt's
 * permutation, argv[*first_arg..argc) are the positional arguments), envp
 * and the --config file. Errors and warnings are written to err, one line
 * each. Returns PG_SETTINGS_OK, PG_SETTINGS_EXIT, or -EINVAL after
 * reporting. */
int pg_settings_load(const struct pg_settings_table *t, unsigned role, void *cfg, int argc,
		     char **argv, char **envp, FILE *err, int *first_arg);

/* Reads settings file text alone (for fuzzers and tests): as a --config
 * file with an empty environment. */
int pg_settings_load_text(const struct pg_settings_table *t, unsigned role, void *cfg,
			  const char *name, const char *text, size_t len, FILE *err);

void pg_settings_report(struct pg_settings_loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The settings of role, two lines each, and the engine's own options. */
void pg_settings_usage(FILE *out, const struct pg_settings_table *t, unsigned role);

/* The settings of role as KEY="value" lines, a settings file that loads to
 * the same configuration. */
void pg_settings_print(FILE *out, const struct pg_settings_table *t, unsigned role,
		       const void *cfg);

/* The value of name in envp, or NULL. */
const char *pg_settings_env_get(char **envp, const char *name);

/* Copies src with quotes and unprintable bytes as \xNN, to echo file or
 * environment text in one log line. */
void pg_settings_printable(char *dst, size_t size, const char *src);

#endif
