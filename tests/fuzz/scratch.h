/* SPDX-License-Identifier: MIT */
#ifndef PODGW_FUZZ_SCRATCH_H
#define PODGW_FUZZ_SCRATCH_H

/* For targets whose parser takes a path: a private directory per process,
 * in memory where there is some, removed with what it holds at exit. */

#include <stddef.h>
#include <stdint.h>

/* dir/name into out (size bytes); aborts when no directory can be made. */
void fuzz_scratch_path(const char *name, char *out, size_t size);
/* Replaces path's content with the input; aborts on failure. */
void fuzz_scratch_write(const char *path, const uint8_t *data, size_t size);

#endif
