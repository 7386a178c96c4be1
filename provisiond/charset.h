/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_CHARSET_H
#define PODGW_PROVISIOND_CHARSET_H

/* Names checked by their characters and length: they end up in paths we
 * delete, podman names and capability sets. */

#include <stdbool.h>
#include <string.h>

#define PV_LOWER  "abcdefghijklmnopqrstuvwxyz"
#define PV_UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define PV_DIGITS "0123456789"

/* s (NULL reads as empty) has min to max characters, each of set. */
static inline bool pv_charset_ok(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n >= min && n <= max && (n == 0 || strspn(s, set) == n);
}

#endif
