#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gatewayd removes what it created when it is told to stop: after SIGTERM (and
# after SIGINT) it exits 0 and the vxlan link, its address and the `inet podgw`
# table are gone.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_add_pod crawler-foo-1 10.244.0.11
ns=$(lab_ns foo)

for sig in TERM INT; do
	lab_start_gatewayd foo || fail "SIG$sig round: gatewayd did not become ready"
	pid=$LAB_PID
	ip -n "$ns" link show vxlan0 >/dev/null 2>&1 || fail "SIG$sig round: no vxlan0 once ready"
	ip -n "$ns" -4 addr show dev vxlan0 | grep -q 'inet 172\.16\.0\.1/24' ||
		fail "SIG$sig round: vxlan0 has no 172.16.0.1/24 once ready"
	ip netns exec "$ns" nft list table inet podgw >/dev/null 2>&1 ||
		fail "SIG$sig round: no nftables table inet podgw once ready"
	# The first round has a client, so that there is more state to remove.
	if [[ $sig == TERM ]]; then
		lab_clientd_init crawler-foo-1 foo 172.16.0.11 || fail "clientd init exited with $?"
		t_ping crawler-foo-1 203.0.113.10 || fail "crawler-foo-1 cannot ping 203.0.113.10 through foo"
	fi

	lab_stop_pid "$pid" "$sig" 10 || fail "SIG$sig: gatewayd still running 10 s later (killed)"
	[[ $LAB_RC == 0 ]] || fail "SIG$sig: gatewayd exited with $LAB_RC, not 0"

	left=()
	ip -n "$ns" link show vxlan0 >/dev/null 2>&1 && left+=("vxlan0")
	[[ -z $(ip -n "$ns" -o link show type vxlan) ]] || left+=("a vxlan link")
	ip -n "$ns" -4 addr show | grep -q '172\.16\.0\.' && left+=("an address in 172.16.0.0/24")
	ip -n "$ns" -4 route show table all | grep -q '172\.16\.0\.' && left+=("a route to 172.16.0.0/24")
	ip netns exec "$ns" nft list table inet podgw >/dev/null 2>&1 && left+=("table inet podgw")
	[[ -z $(ip netns exec "$ns" nft list tables) ]] || left+=("nftables tables: $(ip netns exec "$ns" nft list tables | tr '\n' ' ')")
	((${#left[@]} == 0)) || fail "after SIG$sig: left behind: ${left[*]}"
	info "SIG$sig: exit 0, nothing left behind"
done
pass "SIGTERM and SIGINT: exit 0, link, address and table removed"
