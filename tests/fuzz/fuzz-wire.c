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

/* The gateway's replay cache sees the time and nonce of every request that
 * carries the key. The input read as records of a clock step and a nonce,
 * into a small cache so that eviction happens: a fresh request is
 * remembered at once, whatever was evicted or probed around it. */
static void replay(const uint8_t *data, size_t size)
{
	struct pg_replay *r = pg_replay_new(PG_REPLAY_WINDOW, 4);
	struct pg_msg m = {0};
	uint64_t now = 1000000;

	if (!r)
		abort();
	for (size_t i = 0; i + 2 + PG_WIRE_NONCE_LEN <= size; i += 2 + PG_WIRE_NONCE_LEN) {
		int res;

		now += data[i] % 8;
		m.time = now - PG_REPLAY_WINDOW - 2 + data[i + 1] % (2 * PG_REPLAY_WINDOW + 5);
		memcpy(m.nonce, data + i + 2, PG_WIRE_NONCE_LEN);
		res = pg_replay_check(r, &m, now);
		if (res != 0 && res != -ETIME && res != -EALREADY)
			abort();
		if ((res == -ETIME) !=
		    (m.time + PG_REPLAY_WINDOW < now || m.time > now + PG_REPLAY_WINDOW))
			abort();
		if (res == 0 && pg_replay_check(r, &m, now) != -EALREADY)
			abort();
	}
	pg_replay_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trip(data, size, NULL);
	round_trip(data, size, &fuzz_key);
	replay(data, size);
	return 0;
}
