#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): crawlers accepted VXLAN from any pod (clientd's guard
# filtered output and forward only). A pod that is no gateway sent VXLAN to
# a crawler's pod IP carrying echo requests "from the gateway", and the
# crawler answered them.
#
# Wanted: the crawler admits VXLAN only from its gateway's pod IP; the
# tunnel through the gateway keeps working.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

PY=/usr/bin/python3
[[ -x $PY ]] || {
	echo "SKIP: $T_NAME: needs /usr/bin/python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/tunnelpkt.py
N=20

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_add_pod crawler-11 10.244.0.11
lab_add_pod rogue 10.244.0.66
lab_clientd_init crawler-11 foo 172.16.0.11 >/dev/null || fail "clientd init exited with $?"
gw_mac=$(t_link_mac foo)
crawler_mac=$(t_link_mac crawler-11)

in_echos() {
	lab_exec crawler-11 cat /proc/net/snmp |
		awk '/^Icmp:/ { if (++n == 1) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else { print $c; exit } }'
}

before=$(in_echos)
lab_exec rogue "$PY" "$TOOL" vxlan --to 10.244.0.11 --count "$N" --src-mac "$gw_mac" \
	--dst-mac "$crawler_mac" icmp --src-ip 172.16.0.1 --dst-ip 172.16.0.11 >/dev/null
sleep 0.5
answered=$(($(in_echos) - before))
echo "FIGURE: injected = $N datagrams"
echo "FIGURE: injected_echo_requests_seen_by_crawler = $answered packets"
dropped=$(ip netns exec "$(lab_ns crawler-11)" nft list chain inet podgw_guard input 2>/dev/null |
	awk 'match($0, /counter packets [0-9]+/) { split(substr($0, RSTART, RLENGTH), f, " "); print f[3]; exit }' || true)
echo "FIGURE: crawler_guard_vxlan_dropped = ${dropped:-0} packets"
((answered == 0)) || errors+=("crawler-11 took $answered of $N echo requests a non-gateway pod sent over VXLAN")
# Not lost on the way: the guard saw them and dropped them.
((${dropped:-0} >= N)) || errors+=("the guard's input chain dropped ${dropped:-0} of $N injected datagrams")

t_ping crawler-11 203.0.113.10 || errors+=("crawler-11 cannot reach the internet through its gateway")
t_ping crawler-11 172.16.0.1 || errors+=("crawler-11 cannot ping its gateway's overlay address")

t_report
pass "VXLAN from a non-gateway pod dropped by the crawler's guard; the tunnel works"
