/* SPDX-License-Identifier: MIT */
/* Membership datagrams come from any pod that can reach the control port:
 * the decoder must survive any bytes, and whatever it accepts must encode
 * and decode back to the same message. The seed corpus holds messages
 * tagged with the key below, so that the keyed path is reached too. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not a secret: the corpus' tagged messages are made with it. */
static const struct pg_key fuzz_key = {{0x70, 0x6f, 0x64, 0x67, 0x77, 0x2d, 0x66, 0x75,
					0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
					0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
					0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x21}};

static void round_trip(const uint8_t *data, size_t size, const struct pg_key *key)
{
	uint8_t first[PG_WIRE_MAX], second[PG_WIRE_MAX];
	struct pg_msg m, again;
	int r, n1, n2;

	r = pg_msg_decode(data, size, key, &m);
	if (r == -EPROTONOSUPPORT && m.version == PG_WIRE_VERSION)
		abort();
	if (r == -EACCES && !key)
		abort();
	if (r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EACCES)
		return;
	if (r != 0 || m.authenticated != (key != NULL) || size > PG_WIRE_MAX)
		abort();

	/* Encoding is deterministic (the nonce and time are the message's),
	 * so equal messages give equal bytes. */
	n1 = pg_msg_encode(&m, key, first, sizeof(first));
	if (n1 <= 0 || pg_msg_decode(first, (size_t)n1, key, &again) != 0)
		abort();
	n2 = pg_msg_encode(&again, key, second, sizeof(second));
	if (n2 != n1 || memcmp(first, second, (size_t)n1) != 0)
		abort();
	if (again.version != m.version || again.type != m.type || again.time != m.time ||
	    memcmp(again.nonce, m.nonce, sizeof(m.nonce)) != 0 ||
	    again.authenticated != m.authenticated)
		abort();
	/* Nothing that was accepted grows on the way back: unknown fields are
	 * dropped, known ones keep their length. */
	if ((size_t)n1 > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trip(data, size, NULL);
	round_trip(data, size, &fuzz_key);
	return 0;
}
