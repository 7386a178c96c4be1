/* SPDX-License-Identifier: MIT */
/* gatewayd's event loop and its source contract, netlink's one ACK reader,
 * and builder errors sticking to a table: no root, no kernel state. */
#include "gatewayd/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netlink/nft.h"
#include "netlink/nlsock.h"

/* A source with n pipes (at most 3): handle reads what is ready, notes
 * the turn and its place in the order of handles, stops after stop_after. */
struct fake {
	int rd[3], wr[3];
	unsigned n;
	int due; /* what tick returns */
	unsigned ticks, handled, reads[3];
	unsigned stop_after;
	unsigned order[16];
	unsigned *clock; /* shared: handles called so far, all sources */
};

static int fake_tick(void *ctx)
{
	struct fake *f = ctx;

	f->ticks++;
	return f->due;
}

static void fake_poll_fds(void *ctx, struct pollfd *pfd)
{
	struct fake *f = ctx;

	for (unsigned i = 0; i < f->n; i++)
		pfd[i] = (struct pollfd){.fd = f->rd[i], .events = POLLIN};
}

static int fake_handle(void *ctx, const struct pollfd *pfd)
{
	struct fake *f = ctx;
	char c;

	for (unsigned i = 0; i < f->n; i++)
		if ((pfd[i].revents & POLLIN) && read(f->rd[i], &c, 1) == 1)
			f->reads[i]++;
	if (f->handled < 16)
		f->order[f->handled] = (*f->clock)++;
	f->handled++;
	return f->stop_after && f->handled >= f->stop_after;
}

static void fake_init(struct fake *f, unsigned n, unsigned *clock)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	f->due = -1;
	f->clock = clock;
	for (unsigned i = 0; i < n; i++) {
		int p[2];

		CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
		f->rd[i] = p[0];
		f->wr[i] = p[1];
	}
}

static void fake_free(struct fake *f)
{
	for (unsigned i = 0; i < f->n; i++) {
		close(f->rd[i]);
		close(f->wr[i]);
	}
}

static struct pg_source source_of(struct fake *f, const char *name)
{
	return (struct pg_source){.name = name,
				  .ctx = f,
				  .nfds = f->n,
				  .tick = fake_tick,
				  .poll_fds = fake_poll_fds,
				  .handle = fake_handle};
}

/* Each source sees its own slots; handles run in list order every turn;
 * the one that says stop ends the run with 0. */
static void test_slots_and_order(void)
{
	struct fake a, b;
	unsigned clock = 0;
	uint64_t turns = 0;
	struct pg_source src[2];

	fake_init(&a, 1, &clock);
	fake_init(&b, 3, &clock);
	b.stop_after = 2;
	CHECK(write(b.wr[2], "x", 1) == 1); /* b's third slot, after a's one */
	CHECK(write(a.wr[0], "x", 1) == 1);
	a.due = 0; /* the second turn: nothing to read, a deadline reached */
	src[0] = source_of(&a, "a");
	src[1] = source_of(&b, "b");
	CHECK(pg_loop_run(src, 2, &turns) == 0);
	CHECK(turns == 2);
	CHECK(a.reads[0] == 1 && b.reads[2] == 1 && b.reads[0] == 0 && b.reads[1] == 0);
	CHECK(a.handled == 2 && b.handled == 2 && a.ticks == 2 && b.ticks == 2);
	CHECK(a.order[0] == 0 && b.order[0] == 1 && a.order[1] == 2 && b.order[1] == 3);
	fake_free(&a);
	fake_free(&b);
}

/* Callbacks may be left out: a source with only a descriptor. */
static void test_optional_callbacks(void)
{
	struct fake a;
	unsigned clock = 0;
	uint64_t turns = 0;
	struct pg_source src[2];

	fake_init(&a, 1, &clock);
	a.stop_after = 1;
	CHECK(write(a.wr[0], "x", 1) == 1);
	src[0] = (struct pg_source){.name = "quiet", .nfds = 0};
	src[1] = source_of(&a, "a");
	src[1].tick = NULL;
	CHECK(pg_loop_run(src, 2, &turns) == 0);
	CHECK(turns == 1 && a.reads[0] == 1 && a.ticks == 0);
	fake_free(&a);
}

static void test_too_many_fds(void)
{
	struct pg_source big = {.name = "big", .nfds = PG_LOOP_MAX_FDS + 1};
	uint64_t turns = 0;

	CHECK(pg_loop_run(&big, 1, &turns) == -E2BIG);
	CHECK(turns == 0);
}

/* An NLMSG_ERROR with NLM_F_CAPPED and an extended-ack text holding a
 * control character: the errno, and the text made printable. */
static void test_ack_text(void)
{
	union {
		char buf[256];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nlh = &u.align;
	struct nlmsgerr e = {.error = -EEXIST, .msg = {.nlmsg_len = NLMSG_HDRLEN}};
	static const char text[] = "bad\nthing";
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + sizeof(text)),
			   .nla_type = NLMSGERR_ATTR_MSG};
	size_t off = NLMSG_HDRLEN, msglen;
	const char *msg;
	char *copy;
	int error;

	memset(&u, 0, sizeof(u));
	memcpy((char *)nlh + off, &e, sizeof(e));
	off += NLMSG_ALIGN(sizeof(e));
	memcpy((char *)nlh + off, &a, sizeof(a));
	memcpy((char *)nlh + off + NLA_HDRLEN, text, sizeof(text));
	off += NLA_ALIGN(a.nla_len);
	*nlh = (struct nlmsghdr){.nlmsg_len = (uint32_t)off,
				 .nlmsg_type = NLMSG_ERROR,
				 .nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS};
	CHECK(pg_nl_parse_ack(nlh, &error, &msg, &msglen) == 0);
	CHECK(error == -EEXIST && msglen == sizeof(text) - 1);
	copy = pg_nl_ack_text(nlh);
	CHECK_STR(copy, "bad?thing");
	free(copy);
	/* cut short: malformed, no text */
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	CHECK(pg_nl_parse_ack(nlh, &error, &msg, &msglen) == -EBADMSG);
	CHECK(pg_nl_ack_text(nlh) == NULL);
}

/* A rule for a chain that does not exist: every later call is harmless,
 * and the table carries the first error. */
static void test_builder_error_sticks(void)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "t");
	struct pg_nft_rule *r;
	char buf[4096];

	CHECK(pg_nft_table_error(t) == 0);
	CHECK(pg_nft_table_add_chain(t, "c", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false) == 0);
	r = pg_nft_rule_new(t, "nope");
	CHECK(r == NULL);
	pg_nft_counter(r);
	pg_nft_drop(r);
	CHECK(pg_nft_table_add_chain(t, "c", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false) ==
	      -EEXIST);
	CHECK(pg_nft_table_error(t) == -EINVAL);
	CHECK(pg_nft_table_serialize(t, buf, sizeof(buf)) == -EINVAL);
	CHECK(pg_nft_table_error(NULL) == -EINVAL);
	pg_nft_table_free(t);
}

int main(void)
{
	test_slots_and_order();
	test_optional_callbacks();
	test_too_many_fds();
	test_ack_text();
	test_builder_error_sticks();
	return check_result();
}
