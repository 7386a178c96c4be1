/* SPDX-License-Identifier: MIT */
/* rtnetlink through libnl-route-3. Objects are built with libnl, but every
 * request goes through request(): it asks for an ACK, reads until the ACK
 * (or NLMSG_DONE for a dump) and turns errors into negative errnos, keeping
 * the kernel's extended-ack text, which libnl 3.7 cannot read itself. */

#include "netlink/rtnl.h"
#include "netlink/nlsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#define VNI_LIMIT (1u << 24)
/* A dump interrupted by concurrent changes is redone; give up after this many
 * tries rather than loop forever on a busy routing table. */
#define DUMP_TRIES 8

struct pg_rtnl {
	struct nl_sock *sk;
	int kerr;     /* negative errno of the last kernel error, or 0 */
	char *errmsg; /* its extended-ack text, or NULL */
};

static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
	case NLE_DUMP_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
	case NLE_ATTRSIZE:
	case NLE_MSG_TRUNC:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
	case NLE_SRCRT_NOSUPPORT:
	case NLE_MSGTYPE_NOSUPPORT:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
	case NLE_AF_MISMATCH:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_SEQ_MISMATCH:
	case NLE_PROTO_MISMATCH:
		return -EPROTO;
	case NLE_MSG_OVERFLOW:
		return -ENOBUFS;
	case NLE_MSG_TOOSHORT:
	case NLE_PARSE_ERR:
		return -EBADMSG;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_PERM:
	case NLE_IMMUTABLE:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_INVAL:
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:
	case NLE_OBJ_MISMATCH:
	case NLE_NOCACHE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Address bytes of a family we handle, 0 for any other. */
static size_t family_bytes(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

static int check_prefix(const struct pg_prefix *p)
{
	size_t n = family_bytes(p->family);

	if (!n)
		return -EAFNOSUPPORT;
	if (p->len > n * 8)
		return -EINVAL;
	return 0;
}

/* The nl_addr of p; with_len false gives the full-length host address. */
static int to_nl_addr(const struct pg_prefix *p, bool with_len, struct nl_addr **out)
{
	struct nl_addr *a;
	int r = check_prefix(p);

	if (r < 0)
		return r;
	a = nl_addr_build(p->family, p->bytes, family_bytes(p->family));
	if (!a)
		return -ENOMEM;
	nl_addr_set_prefixlen(a, with_len ? p->len : (int)family_bytes(p->family) * 8);
	*out = a;
	return 0;
}

static void from_nl_addr(const struct nl_addr *a, struct pg_prefix *out)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	n = family_bytes(nl_addr_get_family(a));
	if (!n || nl_addr_get_len(a) != n)
		return;
	out->family = nl_addr_get_family(a);
	out->len = nl_addr_get_prefixlen(a);
	memcpy(out->bytes, nl_addr_get_binary_addr(a), n);
}

/* Kept for the unit tests, which read ACKs through the rtnl API. */
int pg_rtnl_parse_ack(const struct nlmsghdr *nlh, int *error, const char **msg, size_t *msglen)
{
	return pg_nl_parse_ack(nlh, error, msg, msglen);
}

static void record_error(struct pg_rtnl *rt, const struct nlmsghdr *nlh)
{
	const char *msg;
	size_t len;
	int error;

	free(rt->errmsg);
	rt->errmsg = NULL;
	if (pg_nl_parse_ack(nlh, &error, &msg, &len) < 0) {
		rt->kerr = -EBADMSG;
		return;
	}
	/* The kernel sends negative errnos; accept either sign. */
	rt->kerr = error < 0 ? error : -error;
	rt->errmsg = pg_nl_ack_text(nlh);
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	/* libnl hands over nlmsg_data() of the NLMSG_ERROR it checked
	 * against the received length; step back to its header for the
	 * flags and the TLVs. */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);

	(void)nla;
	record_error(arg, nlh);
	return NL_STOP;
}

/* Only the kernel answers us, and only about our own port. */
static int on_msg_in(struct nl_msg *msg, void *arg)
{
	struct pg_rtnl *rt = arg;
	const struct sockaddr_nl *src = nlmsg_get_src(msg);

	if (!src || src->nl_pid != 0 ||
	    nlmsg_hdr(msg)->nlmsg_pid != nl_socket_get_local_port(rt->sk))
		return NL_SKIP;
	return NL_OK;
}

int pg_rtnl_open(struct pg_rtnl **out)
{
	struct pg_rtnl *rt;
	int fd = -1, r;

	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->sk = nl_socket_alloc();
	if (!rt->sk) {
		r = -ENOMEM;
		goto fail;
	}
	/* Our socket (netlink/nlsock.h), for libnl to speak through. */
	fd = pg_nl_open(NETLINK_ROUTE, NULL);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	r = nl_socket_set_fd(rt->sk, NETLINK_ROUTE, fd);
	if (r < 0) {
		close(fd);
		r = nle_to_errno(r);
		goto fail;
	}
	/* Size each read by peeking, so large dumps and echoed requests in
	 * error messages are never cut. */
	nl_socket_enable_msg_peek(rt->sk);
	r = nl_socket_modify_err_cb(rt->sk, NL_CB_CUSTOM, on_error, rt);
	if (r >= 0)
		r = nl_socket_modify_cb(rt->sk, NL_CB_MSG_IN, NL_CB_CUSTOM, on_msg_in, rt);
	if (r < 0) {
		r = nle_to_errno(r);
		goto fail;
	}
	*out = rt;
	return 0;

fail:
	pg_rtnl_close(rt);
	return r;
}

void pg_rtnl_close(struct pg_rtnl *rt)
{
	if (!rt)
		return;
	nl_socket_free(rt->sk);
	free(rt->errmsg);
	free(rt);
}

const char *pg_rtnl_errmsg(const struct pg_rtnl *rt)
{
	return rt && rt->errmsg ? rt->errmsg : "";
}

uint32_t pg_rtnl_portid(const struct pg_rtnl *rt)
{
	return rt ? nl_socket_get_local_port(rt->sk) : 0;
}

/* Called for each reply message; returns 0 or a negative errno. */
typedef int (*reply_fn)(struct nl_msg *msg, void *arg);

struct txn {
	struct pg_rtnl *rt;
	reply_fn fn;
	void *arg;
	int err; /* first error of fn or of the dump */
	bool done;
	bool intr;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	/* Keep reading after a failure: stopping inside a dump would leave
	 * its rest queued in front of the next request's answer. */
	if (t->fn && !t->err)
		t->err = t->fn(msg, t->arg);
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	record_error(t->rt, nlmsg_hdr(msg));
	if (t->rt->kerr && !t->err)
		t->err = t->rt->kerr;
	t->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	(void)msg;
	t->done = true;
	return NL_STOP;
}

static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	(void)msg;
	t->intr = true;
	return NL_OK;
}

/* Send msg (freed here) with NLM_F_ACK, feed the replies to fn and wait for
 * the ACK or the end of the dump. -EINTR: the dump was interrupted. */
static int request(struct pg_rtnl *rt, struct nl_msg *msg, reply_fn fn, void *arg)
{
	struct txn t = {.rt = rt, .fn = fn, .arg = arg};
	struct nl_cb *sk_cb = NULL, *cb = NULL;
	int r;

	rt->kerr = 0;
	free(rt->errmsg);
	rt->errmsg = NULL;

	sk_cb = nl_socket_get_cb(rt->sk);
	cb = sk_cb ? nl_cb_clone(sk_cb) : NULL;
	if (!cb) {
		r = -ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &t);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, &t);

	/* nl_send_auto sets NLM_F_REQUEST, NLM_F_ACK (auto-ack stays on),
	 * our port and the sequence number libnl then checks replies against. */
	r = nl_send_auto(rt->sk, msg);
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	while (!t.done) {
		r = nl_recvmsgs_report(rt->sk, cb);
		if (r < 0) {
			r = rt->kerr ? rt->kerr : nle_to_errno(r);
			goto out;
		}
		if (r == 0) {
			r = -EIO;
			goto out;
		}
	}
	r = t.err;
	if (!r && t.intr)
		r = -EINTR;

out:
	nl_cb_put(cb);
	nl_cb_put(sk_cb);
	nlmsg_free(msg);
	return r;
}

/* Links */

static void fill_link_info(struct rtnl_link *link, struct pg_link_info *out)
{
	struct nl_addr *mac = rtnl_link_get_addr(link);
	const char *name = rtnl_link_get_name(link);
	const char *kind = rtnl_link_get_type(link);

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(link);
	out->mtu = rtnl_link_get_mtu(link);
	out->up = rtnl_link_get_flags(link) & IFF_UP;
	out->rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
	if (mac && nl_addr_get_len(mac) == sizeof(out->mac))
		memcpy(out->mac, nl_addr_get_binary_addr(mac), sizeof(out->mac));
	if (name)
		snprintf(out->name, sizeof(out->name), "%s", name);
	if (kind)
		snprintf(out->kind, sizeof(out->kind), "%s", kind);
	if (kind && strcmp(kind, "vxlan") == 0) {
		uint32_t vni = 0, port = 0, underlay = 0;
		struct nl_addr *local = NULL;

		rtnl_link_vxlan_get_id(link, &vni);
		rtnl_link_vxlan_get_port(link, &port); /* libnl returns host order */
		rtnl_link_vxlan_get_link(link, &underlay);
		out->vxlan.vni = vni;
		out->vxlan.port = (uint16_t)port;
		out->vxlan.underlay_ifindex = (int)underlay;
		out->vxlan.learning = rtnl_link_vxlan_get_learning(link) == 1;
		/* A new reference (IPv4 or IPv6), or none when unset. */
		if (rtnl_link_vxlan_get_local(link, &local) == 0 && local) {
			from_nl_addr(local, &out->vxlan.local);
			nl_addr_put(local);
		}
	}
}

struct link_reply {
	struct pg_link_info *out;
	bool found;
};

static void link_parsed(struct nl_object *obj, void *arg)
{
	struct link_reply *lr = arg;

	if (strcmp(nl_object_get_type(obj), "route/link") != 0 || lr->found)
		return;
	fill_link_info((struct rtnl_link *)obj, lr->out);
	lr->found = true;
}

static int link_reply(struct nl_msg *msg, void *arg)
{
	int r = nl_msg_parse(msg, link_parsed, arg);

	return r < 0 ? nle_to_errno(r) : 0;
}

static int link_get(struct pg_rtnl *rt, int ifindex, const char *name, struct pg_link_info *out)
{
	struct link_reply lr = {.out = out};
	struct nl_msg *msg = NULL;
	int r;

	r = rtnl_link_build_get_request(ifindex, name, &msg);
	if (r < 0)
		return nle_to_errno(r);
	r = request(rt, msg, link_reply, &lr);
	if (r == 0 && !lr.found)
		r = -ENODEV;
	return r;
}

int pg_link_get(struct pg_rtnl *rt, const char *name, struct pg_link_info *out)
{
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	return link_get(rt, 0, name, out);
}

int pg_link_get_index(struct pg_rtnl *rt, int ifindex, struct pg_link_info *out)
{
	if (ifindex <= 0)
		return -EINVAL;
	return link_get(rt, ifindex, NULL, out);
}

/* libnl 3.7's vxlan writer returns success even when an attribute did not
 * fit, so check that the VNI made it. It also writes IFLA_VXLAN_PORT (a
 * big-endian u16) with NLA_PUT_U32: four bytes, which the kernel accepts
 * with an "invalid length" warning and which put the port in the wrong
 * half on big-endian hosts. Shrinking nla_len to a u16 keeps the aligned
 * size (8 bytes) and so every enclosing length; the value is rewritten
 * in network order. */
static int fix_vxlan_attrs(struct nl_msg *msg, uint16_t port)
{
	struct nlattr *info, *data, *a;
	uint16_t be = htons(port);

	info = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct ifinfomsg), IFLA_LINKINFO);
	data = info ? nla_find(nla_data(info), nla_len(info), IFLA_INFO_DATA) : NULL;
	if (!data || !nla_find(nla_data(data), nla_len(data), IFLA_VXLAN_ID))
		return -EMSGSIZE;
	if (!port)
		return 0;
	a = nla_find(nla_data(data), nla_len(data), IFLA_VXLAN_PORT);
	if (!a)
		return -EMSGSIZE;
	if (nla_len(a) == sizeof(uint32_t)) {
		memset(nla_data(a), 0, sizeof(uint32_t));
		a->nla_len = NLA_HDRLEN + sizeof(be);
	}
	if (nla_len(a) != sizeof(be))
		return -EPROTO;
	memcpy(nla_data(a), &be, sizeof(be));
	return 0;
}

int pg_rtnl_vxlan_request(const struct pg_vxlan *vx, struct nl_msg **out)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *local = NULL, *mac = NULL;
	int r;

	if (!vx->name || !*vx->name || strlen(vx->name) >= IF_NAMESIZE)
		return -EINVAL;
	if (vx->vni >= VNI_LIMIT)
		return -EINVAL;
	if (vx->underlay_ifindex < 0)
		return -EINVAL;
	if (vx->local.family) {
		r = to_nl_addr(&vx->local, false, &local);
		if (r < 0)
			return r;
	}

	link = rtnl_link_vxlan_alloc();
	if (!link) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(link, vx->name);
	if (vx->mtu)
		rtnl_link_set_mtu(link, vx->mtu);
	if (memcmp(vx->mac, (uint8_t[6]){0}, 6) != 0) {
		mac = nl_addr_build(AF_LLC, vx->mac, 6);
		if (!mac) {
			r = -ENOMEM;
			goto out;
		}
		rtnl_link_set_addr(link, mac);
	}
	r = rtnl_link_vxlan_set_id(link, vx->vni);
	/* Host order here; libnl stores htons(port). See fix_vxlan_attrs. */
	if (r >= 0 && vx->port)
		r = rtnl_link_vxlan_set_port(link, vx->port);
	if (r >= 0 && vx->underlay_ifindex)
		r = rtnl_link_vxlan_set_link(link, vx->underlay_ifindex);
	if (r >= 0 && local)
		r = rtnl_link_vxlan_set_local(link, local);
	if (r >= 0)
		r = rtnl_link_vxlan_set_learning(link, vx->learning);
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	r = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, out);
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	r = fix_vxlan_attrs(*out, vx->port);
	if (r < 0) {
		nlmsg_free(*out);
		*out = NULL;
	}

out:
	rtnl_link_put(link);
	nl_addr_put(local);
	nl_addr_put(mac);
	return r;
}

/* The kernel refuses IPv6 settings in the request that creates a link (it
 * has no inet6 state yet), so they follow in a request of their own. */
static int disable_ipv6_linklocal(struct pg_rtnl *rt, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	struct nlattr *spec, *inet6;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(spec = nla_nest_start(msg, IFLA_AF_SPEC)) ||
	    !(inet6 = nla_nest_start(msg, AF_INET6)) ||
	    nla_put_u8(msg, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, inet6);
	nla_nest_end(msg, spec);
	return request(rt, msg, NULL, NULL);
}

int pg_link_vxlan_create(struct pg_rtnl *rt, const struct pg_vxlan *vx, int *ifindex)
{
	struct pg_link_info info;
	struct nl_msg *msg = NULL;
	int r;

	r = pg_rtnl_vxlan_request(vx, &msg);
	if (r < 0)
		return r;
	r = request(rt, msg, NULL, NULL);
	if (r < 0)
		return r;
	r = pg_link_get(rt, vx->name, &info);
	if (r < 0)
		return r;
	if (vx->no_ipv6 && (r = disable_ipv6_linklocal(rt, info.ifindex)) < 0) {
		char *keep = rt->errmsg;

		/* Half a link is no link: remove it, keeping the first error. */
		rt->errmsg = NULL;
		pg_link_delete(rt, info.ifindex);
		free(rt->errmsg);
		rt->errmsg = keep;
		return r;
	}
	if (ifindex)
		*ifindex = info.ifindex;
	return 0;
}

int pg_link_delete(struct pg_rtnl *rt, int ifindex)
{
	struct rtnl_link *link;
	struct nl_msg *msg = NULL;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	r = rtnl_link_build_delete_request(link, &msg);
	rtnl_link_put(link);
	if (r < 0)
		return nle_to_errno(r);
	return request(rt, msg, NULL, NULL);
}

int pg_link_set_up(struct pg_rtnl *rt, int ifindex, bool up)
{
	struct rtnl_link *link;
	struct nl_msg *msg = NULL;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	/* Both set the bit in ifi_change, so only IFF_UP is touched. */
	if (up)
		rtnl_link_set_flags(link, IFF_UP);
	else
		rtnl_link_unset_flags(link, IFF_UP);
	/* RTM_NEWLINK without NLM_F_CREATE changes an existing link. */
	r = rtnl_link_build_add_request(link, 0, &msg);
	rtnl_link_put(link);
	if (r < 0)
		return nle_to_errno(r);
	return request(rt, msg, NULL, NULL);
}

/* Addresses */

static int addr_change(struct pg_rtnl *rt, bool add, int ifindex, const struct pg_prefix *p,
		       unsigned flags)
{
	struct rtnl_addr *addr = NULL;
	struct nl_addr *local = NULL;
	struct nl_msg *msg = NULL;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	r = to_nl_addr(p, true, &local);
	if (r < 0)
		return r;
	addr = rtnl_addr_alloc();
	if (!addr) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, p->family);
	/* Our IPv6 addresses live on vxlan links whose peers are told them:
	 * duplicate detection would only delay them (and chatter). */
	if (add && p->family == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	r = rtnl_addr_set_local(addr, local);
	if (r >= 0) {
		rtnl_addr_set_prefixlen(addr, p->len);
		if (flags)
			rtnl_addr_set_flags(addr, flags);
		r = add ? rtnl_addr_build_add_request(addr, NLM_F_CREATE | NLM_F_EXCL, &msg)
			: rtnl_addr_build_delete_request(addr, 0, &msg);
	}
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	r = request(rt, msg, NULL, NULL);

out:
	rtnl_addr_put(addr);
	nl_addr_put(local);
	return r;
}

int pg_addr_add(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr)
{
	return addr_change(rt, true, ifindex, addr, 0);
}

int pg_addr_add_flags(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr, unsigned flags)
{
	return addr_change(rt, true, ifindex, addr, flags);
}

int pg_addr_del(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr)
{
	return addr_change(rt, false, ifindex, addr, 0);
}

/* Routes */

int pg_rtnl_route_request(int cmd, const struct pg_route *r, int flags, struct nl_msg **out)
{
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	bool add = cmd == RTM_NEWROUTE;
	int err;

	if (cmd != RTM_NEWROUTE && cmd != RTM_DELROUTE)
		return -EINVAL;
	err = to_nl_addr(&r->dst, true, &dst);
	if (err < 0)
		return err;
	if (r->gw.family) {
		/* An IPv4 route via an IPv6 gateway needs RTA_VIA: not here. */
		err = r->gw.family == r->dst.family ? to_nl_addr(&r->gw, false, &gw) : -EINVAL;
		if (err < 0)
			goto out;
	}
	if (r->oif < 0 || (add && !gw && !r->oif)) {
		err = -EINVAL;
		goto out;
	}

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!route || !nh) {
		err = -ENOMEM;
		goto out;
	}
	rtnl_route_set_family(route, r->dst.family);
	err = rtnl_route_set_dst(route, dst);
	if (err < 0) {
		err = nle_to_errno(err);
		goto out;
	}
	rtnl_route_set_table(route, r->table ? r->table : RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_priority(route, r->priority);
	if (add) {
		rtnl_route_set_protocol(route, r->protocol ? r->protocol : RTPROT_STATIC);
		rtnl_route_set_scope(route, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	} else {
		/* The kernel treats protocol 0 and scope NOWHERE as wildcards
		 * when deleting. */
		rtnl_route_set_protocol(route, r->protocol);
		rtnl_route_set_scope(route, RT_SCOPE_NOWHERE);
	}
	if (r->oif)
		rtnl_route_nh_set_ifindex(nh, r->oif);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	if (r->oif || gw) {
		rtnl_route_add_nexthop(route, nh);
		nh = NULL; /* owned by route now */
	}
	err = cmd == RTM_NEWROUTE ? rtnl_route_build_add_request(route, flags, out)
				  : rtnl_route_build_del_request(route, flags, out);
	if (err < 0)
		err = nle_to_errno(err);

out:
	if (nh)
		rtnl_route_nh_free(nh);
	rtnl_route_put(route);
	nl_addr_put(dst);
	nl_addr_put(gw);
	return err;
}

int pg_route_add(struct pg_rtnl *rt, const struct pg_route *r, bool replace)
{
	struct nl_msg *msg = NULL;
	int err;

	err = pg_rtnl_route_request(RTM_NEWROUTE, r,
				    NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), &msg);
	if (err < 0)
		return err;
	return request(rt, msg, NULL, NULL);
}

int pg_route_del(struct pg_rtnl *rt, const struct pg_route *r)
{
	struct nl_msg *msg = NULL;
	int err;

	err = pg_rtnl_route_request(RTM_DELROUTE, r, 0, &msg);
	if (err < 0)
		return err;
	return request(rt, msg, NULL, NULL);
}

/* One pg_route per nexthop of route: dst, table, priority, protocol from
 * the route, gw and oif from the nexthop n (none when n is -1). */
static void fill_route(struct rtnl_route *route, int n, struct pg_route *out)
{
	struct rtnl_nexthop *nh = n >= 0 ? rtnl_route_nexthop_n(route, n) : NULL;

	memset(out, 0, sizeof(*out));
	from_nl_addr(rtnl_route_get_dst(route), &out->dst);
	if (!out->dst.family) {
		/* A default route may come without RTA_DST. */
		out->dst.family = rtnl_route_get_family(route);
		out->dst.len = 0;
	}
	out->table = rtnl_route_get_table(route);
	out->priority = rtnl_route_get_priority(route);
	out->protocol = rtnl_route_get_protocol(route);
	from_nl_addr(rtnl_route_get_pref_src(route), &out->prefsrc);
	if (out->prefsrc.family)
		out->prefsrc.len = family_bytes(out->prefsrc.family) * 8;
	if (nh) {
		from_nl_addr(rtnl_route_nh_get_gateway(nh), &out->gw);
		if (out->gw.family)
			out->gw.len = family_bytes(out->gw.family) * 8;
		out->oif = rtnl_route_nh_get_ifindex(nh);
	}
}

int pg_rtnl_lookup_request(const struct pg_prefix *dst, struct nl_msg **out)
{
	struct rtmsg rtm = {0};
	struct nl_msg *msg;
	int r = check_prefix(dst);

	if (r < 0)
		return r;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, 0);
	if (!msg)
		return -ENOMEM;
	rtm.rtm_family = dst->family;
	rtm.rtm_dst_len = family_bytes(dst->family) * 8;
	/* Report the table that matched, not the one the cache entry says. */
	rtm.rtm_flags = RTM_F_LOOKUP_TABLE;
	r = nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
	if (r >= 0)
		r = nla_put(msg, RTA_DST, family_bytes(dst->family), dst->bytes);
	if (r < 0) {
		nlmsg_free(msg);
		return nle_to_errno(r);
	}
	*out = msg;
	return 0;
}

struct lookup_reply {
	struct pg_route *out;
	bool found;
};

static int lookup_reply(struct nl_msg *msg, void *arg)
{
	struct lookup_reply *lr = arg;
	struct rtnl_route *route = NULL;
	int r;

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWROUTE || lr->found)
		return 0;
	r = rtnl_route_parse(nlmsg_hdr(msg), &route);
	if (r < 0)
		return nle_to_errno(r);
	fill_route(route, rtnl_route_get_nnexthops(route) > 0 ? 0 : -1, lr->out);
	lr->found = true;
	rtnl_route_put(route);
	return 0;
}

int pg_route_lookup(struct pg_rtnl *rt, const struct pg_prefix *dst, struct pg_route *out)
{
	struct lookup_reply lr = {.out = out};
	struct nl_msg *msg = NULL;
	int r;

	r = pg_rtnl_lookup_request(dst, &msg);
	if (r < 0)
		return r;
	r = request(rt, msg, lookup_reply, &lr);
	if (r == 0 && !lr.found)
		r = -ENOENT;
	return r;
}

struct defaults_reply {
	int family;
	struct pg_route *out;
	size_t max;
	size_t n;
};

static int defaults_reply(struct nl_msg *msg, void *arg)
{
	struct defaults_reply *d = arg;
	struct rtnl_route *route = NULL;
	struct nl_addr *dst;
	int nnh, r;

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWROUTE)
		return 0;
	r = rtnl_route_parse(nlmsg_hdr(msg), &route);
	if (r < 0)
		return nle_to_errno(r);
	dst = rtnl_route_get_dst(route);
	if (rtnl_route_get_family(route) != d->family ||
	    rtnl_route_get_table(route) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(route) != RTN_UNICAST ||
	    (rtnl_route_get_flags(route) & RTM_F_CLONED) || (dst && nl_addr_get_prefixlen(dst)))
		goto out;
	/* A multipath default route yields one entry per nexthop. */
	nnh = rtnl_route_get_nnexthops(route);
	for (int i = 0; i < (nnh ? nnh : 1); i++, d->n++)
		if (d->n < d->max)
			fill_route(route, nnh ? i : -1, &d->out[d->n]);

out:
	rtnl_route_put(route);
	return 0;
}

int pg_route_defaults(struct pg_rtnl *rt, int family, struct pg_route *out, size_t max, size_t *n)
{
	struct defaults_reply d = {.family = family, .out = out, .max = max};
	struct rtmsg rtm = {.rtm_family = family};
	int r = -EINTR;

	*n = 0;
	if (!family_bytes(family))
		return -EAFNOSUPPORT;
	if (max && !out)
		return -EINVAL;
	for (int tries = 0; tries < DUMP_TRIES && r == -EINTR; tries++) {
		struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);

		if (!msg)
			return -ENOMEM;
		if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0) {
			nlmsg_free(msg);
			return -ENOMEM;
		}
		d.n = 0;
		r = request(rt, msg, defaults_reply, &d);
	}
	if (r == -EINTR)
		return -EAGAIN;
	if (r < 0)
		return r;
	*n = d.n;
	return 0;
}

/* FDB and neighbours */

static bool is_zero_mac(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, sizeof(zero)) == 0;
}

int pg_rtnl_fdb_request(int cmd, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst,
			struct nl_msg **out)
{
	struct rtnl_neigh *neigh = NULL;
	struct nl_addr *ip = NULL, *ll = NULL;
	int r;

	if (cmd != RTM_NEWNEIGH && cmd != RTM_DELNEIGH)
		return -EINVAL;
	if (ifindex <= 0)
		return -EINVAL;
	r = to_nl_addr(dst, false, &ip);
	if (r < 0)
		return r;
	ll = nl_addr_build(AF_LLC, mac, 6);
	neigh = rtnl_neigh_alloc();
	if (!ll || !neigh) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_neigh_set_ifindex(neigh, ifindex);
	/* set_dst adopts the address family, so AF_BRIDGE comes after. */
	r = rtnl_neigh_set_dst(neigh, ip);
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	rtnl_neigh_set_family(neigh, AF_BRIDGE);
	rtnl_neigh_set_lladdr(neigh, ll);
	rtnl_neigh_set_flags(neigh, NTF_SELF);
	rtnl_neigh_set_state(neigh, NUD_PERMANENT);
	/* The all-zero MAC appends, like `bridge fdb append`: it may point at
	 * several remotes at once. A unicast MAC replaces, like `bridge fdb
	 * replace`: the vxlan driver ignores an append for an existing
	 * unicast entry, which would keep its old remote (a pod IP that may
	 * now be another pod's). */
	if (cmd == RTM_NEWNEIGH)
		r = rtnl_neigh_build_add_request(
		    neigh, NLM_F_CREATE | (is_zero_mac(mac) ? NLM_F_APPEND : NLM_F_REPLACE), out);
	else
		r = rtnl_neigh_build_delete_request(neigh, 0, out);
	if (r < 0)
		r = nle_to_errno(r);

out:
	rtnl_neigh_put(neigh);
	nl_addr_put(ip);
	nl_addr_put(ll);
	return r;
}

int pg_fdb_add(struct pg_rtnl *rt, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst)
{
	struct nl_msg *msg = NULL;
	int r;

	r = pg_rtnl_fdb_request(RTM_NEWNEIGH, ifindex, mac, dst, &msg);
	if (r < 0)
		return r;
	return request(rt, msg, NULL, NULL);
}

int pg_fdb_del(struct pg_rtnl *rt, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst)
{
	struct nl_msg *msg = NULL;
	int r;

	r = pg_rtnl_fdb_request(RTM_DELNEIGH, ifindex, mac, dst, &msg);
	if (r < 0)
		return r;
	return request(rt, msg, NULL, NULL);
}

static int neigh_change(struct pg_rtnl *rt, bool add, int ifindex, const struct pg_prefix *ip,
			const uint8_t mac[6])
{
	struct rtnl_neigh *neigh = NULL;
	struct nl_addr *dst = NULL, *ll = NULL;
	struct nl_msg *msg = NULL;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	r = to_nl_addr(ip, false, &dst);
	if (r < 0)
		return r;
	neigh = rtnl_neigh_alloc();
	if (add)
		ll = nl_addr_build(AF_LLC, mac, 6);
	if (!neigh || (add && !ll)) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_neigh_set_ifindex(neigh, ifindex);
	r = rtnl_neigh_set_dst(neigh, dst);
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	if (add) {
		rtnl_neigh_set_lladdr(neigh, ll);
		rtnl_neigh_set_state(neigh, NUD_PERMANENT);
		r = rtnl_neigh_build_add_request(neigh, NLM_F_CREATE | NLM_F_REPLACE, &msg);
	} else {
		r = rtnl_neigh_build_delete_request(neigh, 0, &msg);
	}
	if (r < 0) {
		r = nle_to_errno(r);
		goto out;
	}
	r = request(rt, msg, NULL, NULL);

out:
	rtnl_neigh_put(neigh);
	nl_addr_put(dst);
	nl_addr_put(ll);
	return r;
}

int pg_neigh_add(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip, const uint8_t mac[6])
{
	return neigh_change(rt, true, ifindex, ip, mac);
}

int pg_neigh_del(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip)
{
	return neigh_change(rt, false, ifindex, ip, NULL);
}

struct neigh_reply {
	uint8_t *mac;
	uint16_t *state;
	bool found;
};

static int neigh_reply(struct nl_msg *msg, void *arg)
{
	struct neigh_reply *nr = arg;
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg ndm;
	int r;

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWNEIGH || nr->found)
		return 0;
	r = nlmsg_parse(nlmsg_hdr(msg), sizeof(ndm), tb, NDA_MAX, NULL);
	if (r < 0)
		return nle_to_errno(r);
	memcpy(&ndm, nlmsg_data(nlmsg_hdr(msg)), sizeof(ndm));
	if (nr->mac) {
		memset(nr->mac, 0, 6);
		/* Incomplete and failed entries have no link-layer address. */
		if (tb[NDA_LLADDR] && nla_len(tb[NDA_LLADDR]) == 6)
			memcpy(nr->mac, nla_data(tb[NDA_LLADDR]), 6);
	}
	if (nr->state)
		*nr->state = ndm.ndm_state;
	nr->found = true;
	return 0;
}

int pg_neigh_get(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip, uint8_t mac[6],
		 uint16_t *state)
{
	struct neigh_reply nr = {.mac = mac, .state = state};
	struct ndmsg ndm = {.ndm_ifindex = ifindex};
	struct nl_msg *msg;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	r = check_prefix(ip);
	if (r < 0)
		return r;
	ndm.ndm_family = ip->family;
	/* A plain RTM_GETNEIGH (no dump) looks up one entry; the kernel
	 * answers -ENOENT itself when there is none. */
	msg = nlmsg_alloc_simple(RTM_GETNEIGH, 0);
	if (!msg)
		return -ENOMEM;
	r = nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO);
	if (r >= 0)
		r = nla_put(msg, NDA_DST, family_bytes(ip->family), ip->bytes);
	if (r < 0) {
		nlmsg_free(msg);
		return nle_to_errno(r);
	}
	r = request(rt, msg, neigh_reply, &nr);
	if (r == 0 && !nr.found)
		r = -ENOENT;
	return r;
}
