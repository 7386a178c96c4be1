/* SPDX-License-Identifier: MIT */
/* Settings files come from ConfigMaps that other people write: the reader
 * must survive any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct pg_config cfg;

	if (!sink)
		sink = fopen("/dev/null", "w");
	pg_config_load_text(&cfg, PG_ROLE_GATEWAY, "fuzz", (const char *)data, size, sink);
	pg_config_load_text(&cfg, PG_ROLE_CLIENT, "fuzz", (const char *)data, size, sink);
	return 0;
}
