#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The daemons under the security context that k8s/ gives them: user 0 with
# capabilities dropped to NET_ADMIN alone (bounding set included),
# no_new_privs (allowPrivilegeEscalation: false) and a read-only /proc/sys
# as in every unprivileged container.
# - gatewayd with net.ipv4.ip_forward=0 exits 1 naming the pod setting and
#   the kubelet flag; once the "pod" sets it, gatewayd gets ready.
# - clientd without CAP_NET_RAW: with net.ipv4.ping_group_range closed it
#   names that sysctl; with it open (as k8s/ sets it) `clientd run` gets
#   ready over an unprivileged ICMP socket and the crawler pings out.
# - `clientd check` without any capability (an exec probe) exits 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is not installed"
command -v unshare >/dev/null 2>&1 || fail "unshare (util-linux) is not installed"

# container_cmd CAPS: sets CT to the command prefix that runs a command as a
# container would: /proc/sys read-only, only CAPS (+net_admin, or "" for
# none), no_new_privs.
container_cmd() {
	CT=(unshare --mount --propagation private -- sh -c
		'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"'
		sh setpriv --no-new-privs --bounding-set "-all${1:+,$1}" --inh-caps -all
		--ambient-caps -all)
}
container_cmd +net_admin
net_admin=("${CT[@]}")
container_cmd ""
no_caps=("${CT[@]}")

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_add_pod crawler-foo-1 10.244.0.11
gw_ns=$(lab_ns foo)
cl_ns=$(lab_ns crawler-foo-1)

# Privileged ports stay privileged (not every runtime opens them): the DNS
# forwarder listens on an unprivileged port that the table redirects 53 to.
lab_sysctl "$gw_ns" net.ipv4.ip_unprivileged_port_start 1024

# gatewayd without the forwarding sysctl.
lab_sysctl "$gw_ns" net.ipv4.ip_forward 0
ready=$LAB_STATE/foo.gatewayd.ready
log=$LAB_STATE/foo.gatewayd.log
if lab_start_daemon foo gatewayd "$ready" "${net_admin[@]}" "$GATEWAYD" \
	--ready-file "$ready" --leases-file "" --status-socket "$LAB_STATE/foo.status.sock" 2>/dev/null; then
	fail "gatewayd started although net.ipv4.ip_forward is 0 and /proc/sys read-only"
fi
[[ ${LAB_RC:-} == 1 ]] || errors+=("gatewayd without ip_forward: exit ${LAB_RC:-?}, not 1")
# (logfmt escapes the quotes inside msg)
grep -Eq 'spec.securityContext.sysctls: \[\{name: net.ipv4.ip_forward, value: \\?"1\\?"\}\]' "$log" ||
	errors+=("gatewayd's error does not name the pod's securityContext.sysctls")
grep -q -- '--allowed-unsafe-sysctls=net.ipv4.ip_forward' "$log" ||
	errors+=("gatewayd's error does not name the kubelet's --allowed-unsafe-sysctls")
info "without the sysctl: $(grep level=error "$log" | tail -n 1)"
: >"$log"

# The pod's securityContext.sysctls set it before the container starts.
lab_sysctl "$gw_ns" net.ipv4.ip_forward 1
lab_start_daemon foo gatewayd "$ready" "${net_admin[@]}" "$GATEWAYD" \
	--ready-file "$ready" --leases-file "" --status-socket "$LAB_STATE/foo.status.sock" ||
	fail "gatewayd did not become ready with NET_ADMIN only and the sysctl set by the pod"

# clientd with ping_group_range closed (a new namespace's default "1 0").
lab_sysctl "$cl_ns" net.ipv4.ping_group_range "1 0"
out=$(timeout 60 ip netns exec "$cl_ns" "${net_admin[@]}" "$CLIENTD" init --gateway foo --pod-name crawler-foo-1 --gateway-check-timeout 2 2>&1) &&
	fail "clientd init succeeded without CAP_NET_RAW and without ping_group_range"
grep -q 'net.ipv4.ping_group_range' <<<"$out" ||
	errors+=("clientd's error does not name net.ipv4.ping_group_range: $out")
info "without ping_group_range: $(tail -n 1 <<<"$out")"

# Opened, as k8s/ does in the pod's securityContext.sysctls.
lab_sysctl "$cl_ns" net.ipv4.ping_group_range "0 2147483647"
cl_ready=$LAB_STATE/crawler-foo-1.clientd.ready
lab_start_daemon crawler-foo-1 clientd "$cl_ready" "${net_admin[@]}" "$CLIENTD" run \
	--gateway foo --pod-name crawler-foo-1 --ready-file "$cl_ready" ||
	fail "clientd run did not become ready with NET_ADMIN only"
t_ping crawler-foo-1 203.0.113.10 2 || errors+=("crawler-foo-1 cannot ping 203.0.113.10 through foo")

# The readiness/liveness probe: no capability at all.
ip netns exec "$cl_ns" "${no_caps[@]}" "$CLIENTD" check --gateway foo --ready-file "$cl_ready" ||
	errors+=("clientd check failed without capabilities")

t_report
pass "gatewayd and clientd work with NET_ADMIN only, no_new_privs and a read-only /proc/sys"
