/* SPDX-License-Identifier: MIT */
/* The liveness decisions, tick by tick, without a kernel. */

#include "clientd/liveness.h"
#include "tests/unit/check.h"

/* A busy tunnel: proof every tick, an echo only every
 * PG_LIVENESS_ECHO_EVERY ticks (its sender's proof for the gateway). */
static void test_busy(void)
{
	struct pg_liveness lv;
	uint64_t rx = 100;
	unsigned echoes = 0;

	pg_liveness_start(&lv, true, rx);
	for (int i = 0; i < 4 * PG_LIVENESS_ECHO_EVERY; i++) {
		struct pg_live_tick t = pg_liveness_tick(&lv, true, rx += 7);

		CHECK(t.alive && !t.miss);
		echoes += t.send_echo;
	}
	CHECK(echoes == 4);
}

/* A quiet tunnel: an echo every interval, answered (its reply moves the
 * counter, and the socket sees it): alive, never a miss. */
static void test_idle_answered(void)
{
	struct pg_liveness lv;
	struct pg_live_tick t;
	uint64_t rx = 5;

	pg_liveness_start(&lv, true, rx);
	t = pg_liveness_tick(&lv, true, rx);
	CHECK(!t.alive && !t.miss && t.send_echo);
	for (int i = 0; i < 10; i++) {
		pg_liveness_answered(&lv);
		t = pg_liveness_tick(&lv, true, ++rx);
		CHECK(t.alive && !t.miss && t.send_echo);
	}
	/* Other traffic beside the reply: no echo needed next time. */
	pg_liveness_answered(&lv);
	t = pg_liveness_tick(&lv, true, rx += 2);
	CHECK(t.alive && !t.send_echo);
}

/* A gateway that dies under traffic: the first quiet interval is a miss
 * already (as an unanswered echo would be) and sends an echo; so is every
 * later one. */
static void test_dead(void)
{
	struct pg_liveness lv;
	struct pg_live_tick t;
	unsigned misses = 0;

	pg_liveness_start(&lv, true, 9);
	t = pg_liveness_tick(&lv, true, 12);
	CHECK(t.alive);
	t = pg_liveness_tick(&lv, true, 12);
	CHECK(!t.alive && t.miss && !t.echo_lost && t.send_echo);
	for (int i = 0; i < 4; i++) {
		t = pg_liveness_tick(&lv, true, 12);
		CHECK(t.echo_lost);
		misses += t.miss;
		CHECK(t.send_echo);
	}
	CHECK(misses == 4);
}

/* Idle, then a dead gateway: the first unanswered echo is the first miss. */
static void test_dead_idle(void)
{
	struct pg_liveness lv;
	struct pg_live_tick t;

	pg_liveness_start(&lv, true, 9);
	t = pg_liveness_tick(&lv, true, 9);
	CHECK(!t.alive && !t.miss && t.send_echo);
	pg_liveness_answered(&lv);
	t = pg_liveness_tick(&lv, true, 10);
	CHECK(t.alive && !t.miss && t.send_echo);
	t = pg_liveness_tick(&lv, true, 10);
	CHECK(!t.alive && t.miss && t.send_echo);
}

/* A counter that cannot be read, or went back (a new link), proves nothing
 * and sets the baseline; an echo reply still counts. */
static void test_unreadable_and_new_link(void)
{
	struct pg_liveness lv;
	struct pg_live_tick t;

	pg_liveness_start(&lv, false, 0);
	t = pg_liveness_tick(&lv, true, 50);
	CHECK(!t.alive && t.send_echo && !t.miss);
	t = pg_liveness_tick(&lv, true, 3);
	CHECK(!t.alive && t.miss);
	t = pg_liveness_tick(&lv, true, 4);
	CHECK(t.alive);
	t = pg_liveness_tick(&lv, false, 0);
	CHECK(!t.alive && t.send_echo && !t.miss);
	pg_liveness_answered(&lv);
	t = pg_liveness_tick(&lv, false, 0);
	CHECK(t.alive && t.send_echo && !t.miss);
}

static void test_renew_interval(void)
{
	CHECK(pg_renew_interval_ms(30, 250) == 10000);
	CHECK(pg_renew_interval_ms(12, 250) == 4000);
	CHECK(pg_renew_interval_ms(0, 250) == 250); /* never a busy loop */
	CHECK(pg_renew_interval_ms(4294967295u, 250) == 4294967295000ull / 3);
}

int main(void)
{
	test_busy();
	test_idle_answered();
	test_dead();
	test_dead_idle();
	test_unreadable_and_new_link();
	test_renew_interval();
	return check_result();
}
