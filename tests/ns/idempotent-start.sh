#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Starting over existing state replaces it, never duplicates it:
#  - gatewayd killed with SIGKILL leaves its link, address and table behind; the
#    next gatewayd takes them over: one vxlan0, one address, one `inet podgw`
#    table with the same ruleset as the first start, and the crawler that was
#    set up before gets through again;
#  - `clientd init` twice in the same crawler: one vxlan0, one default route,
#    still routed through the tunnel.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# The ruleset without what legitimately changes (set element timeouts).
nft_table() {
	ip netns exec "$(lab_ns foo)" nft list table inet podgw |
		sed -E 's/ expires [0-9a-z.]+//g; s/counter packets [0-9]+ bytes [0-9]+/counter/g'
}

gw_mac() {
	ip -n "$(lab_ns foo)" -o link show vxlan0 | grep -Eo 'link/ether [0-9a-f:]+' | awk '{print $2}'
}

gw_state() {
	local ns
	ns=$(lab_ns foo)
	echo "vxlan links: $(ip -n "$ns" -o link show type vxlan | awk -F': ' '{print $2}' | tr '\n' ' ')"
	echo "vxlan0 IPv4: $(ip -n "$ns" -4 -o addr show dev vxlan0 | awk '{print $4}' | tr '\n' ' ')"
	echo "tables: $(ip netns exec "$ns" nft list tables | tr '\n' ' ')"
}

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_add_pod crawler-foo-1 10.244.0.11

lab_start_gatewayd foo || fail "first gatewayd did not become ready"
pid1=$LAB_PID
lab_clientd_init crawler-foo-1 foo 172.16.0.11 || fail "clientd init exited with $?"
t_ping crawler-foo-1 203.0.113.10 || fail "crawler-foo-1 cannot ping 203.0.113.10 through foo"
# Taken with the lease granted: the restart must bring back its set elements.
table1=$(nft_table) || fail "no table inet podgw after the first start"
state1=$(gw_state)
info "after the first start: $(tr '\n' ';' <<<"$state1")"
mac1=$(gw_mac)

# A crash: nothing gets cleaned up.
kill -s KILL "$pid1"
lab_stop_pid "$pid1" KILL 5 || true
ip -n "$(lab_ns foo)" link show vxlan0 >/dev/null 2>&1 ||
	fail "vxlan0 vanished with the SIGKILLed gatewayd: nothing to test the restart against"
info "after SIGKILL: $(gw_state | tr '\n' ';')"

lab_start_gatewayd foo || fail "gatewayd did not become ready over the leftovers of a crash"
state2=$(gw_state)
table2=$(nft_table) || fail "no table inet podgw after the restart"
info "after the restart: $(tr '\n' ';' <<<"$state2")"
grep -q "adopting leftover vxlan0" "$LAB_STATE/foo.gatewayd.log" ||
	fail "the restarted gatewayd did not adopt the matching leftover vxlan0"

[[ $(t_vxlan_count foo) == 1 ]] || errors+=("$(t_vxlan_count foo) vxlan links after the restart, not 1")
n=$(ip -n "$(lab_ns foo)" -4 -o addr show dev vxlan0 | grep -c 'inet ' || true)
[[ $n == 1 ]] || errors+=("vxlan0 has $n IPv4 addresses after the restart, not 1")
ip -n "$(lab_ns foo)" -4 -o addr show dev vxlan0 | grep -q ' 172\.16\.0\.1/24 ' ||
	errors+=("vxlan0 lost 172.16.0.1/24")
[[ $state2 == "$state1" ]] || errors+=("state differs from the first start: was [$state1] now [$state2]")
if [[ $table2 != "$table1" ]]; then
	errors+=("table inet podgw differs from the first start's: $(diff <(echo "$table1") <(echo "$table2") | grep '^[<>]' | tr '\n' ' ' || true)")
fi
# The crawler set up before the crash gets through again, within a bounded
# time (PODGW_TEST_RESTART_WINDOW seconds, 15).
window=${PODGW_TEST_RESTART_WINDOW:-15}
start=$SECONDS
if t_ping_eventually crawler-foo-1 203.0.113.10 "$window"; then
	info "crawler-foo-1 got through again $((SECONDS - start)) s after the restart"
else
	mac2=$(gw_mac)
	neigh=$(ip -n "$(lab_ns crawler-foo-1)" neigh show 172.16.0.1 | tr '\n' ' ')
	errors+=("crawler-foo-1 does not get through foo within $window s of the restart (gateway vxlan0 MAC before $mac1, after $mac2; crawler's neighbour entry: $neigh)")
fi

# clientd init twice.
cl=$(lab_ns crawler-foo-1)
routes1=$(ip -n "$cl" -4 route show table all)
lab_clientd_init crawler-foo-1 foo 172.16.0.11 || errors+=("the second clientd init exited with $?")
routes2=$(ip -n "$cl" -4 route show table all)
n=$(t_vxlan_count crawler-foo-1)
[[ $n == 1 ]] || errors+=("crawler: $n vxlan links after clientd init twice, not 1")
n=$(ip -n "$cl" -4 -o addr show dev vxlan0 2>/dev/null | grep -c 'inet ' || true)
[[ $n == 1 ]] || errors+=("crawler: vxlan0 has $n IPv4 addresses after clientd init twice, not 1")
n=$(grep -c '^default' <<<"$routes2" || true)
[[ $n == 1 ]] || errors+=("crawler: $n IPv4 default routes after clientd init twice, not 1: $(grep '^default' <<<"$routes2" | tr '\n' ';')")
[[ $routes2 == "$routes1" ]] ||
	errors+=("crawler: routes changed by the second init: $(diff <(echo "$routes1") <(echo "$routes2") | grep '^[<>]' | tr '\n' ' ' || true)")
ip -n "$cl" route get 203.0.113.10 | grep -q ' dev vxlan0 ' ||
	errors+=("crawler: 203.0.113.10 is not routed through vxlan0: $(ip -n "$cl" route get 203.0.113.10 | head -n 1)")
t_ping crawler-foo-1 203.0.113.10 2 || errors+=("crawler: no ping through foo after clientd init twice")

# A leftover whose settings differ (another VNI) is replaced, not adopted.
lab_stop_pid "$LAB_PID" KILL 5 || true
ip -n "$(lab_ns foo)" link del vxlan0
ip -n "$(lab_ns foo)" link add vxlan0 type vxlan id 7 dstport 8472 dev eth0
lab_start_gatewayd foo || errors+=("gatewayd did not become ready over a mismatching leftover")
grep -q "replacing leftover vxlan0" "$LAB_STATE/foo.gatewayd.log" ||
	errors+=("a leftover vxlan0 with VNI 7 was not replaced")
ip -n "$(lab_ns foo)" -d link show vxlan0 | grep -q "vxlan id 42 " ||
	errors+=("vxlan0 does not have VNI 42 after replacing the leftover")

t_report
pass "restart over a crash and init twice replace state, never duplicate it"
