/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CHECK_H
#define PODGW_CHECK_H

/* A minimal harness: CHECK records a failure and goes on, so one run shows
 * every broken case; main returns check_result(). */

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                           \
			fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__,               \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                           \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static inline int check_result(void)
{
	if (check_failures)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures ? 1 : 0;
}

#endif
