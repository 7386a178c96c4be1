#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The gateway routes for its clients only. Forwarding is on for both
# families, so a pod that takes the gateway's pod IP as its next hop (IPv4
# and IPv6, on the dual-stack lab) must not be routed through it un-NATed
# (in eth0, out eth0): its pings to the internet are dropped by the forward
# chain's last rule, while a crawler through the tunnel still gets out over
# both families.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

target=$LAB_INTERNET_IP
target6=$LAB_INTERNET_IP6
gw4=10.244.0.2
gw6=$(lab_ip6 $gw4)

lab_create_base
lab_add_gateway foo $gw4
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_add_pod crawler-foo-1 10.244.0.11
lab_start_clientd_run crawler-foo-1 foo 172.16.0.11 ||
	fail "clientd run did not become ready"
lab_add_pod transit 10.244.0.20

# Without a detour the pod reaches the internet (the lab's node routes
# it): what fails below fails because of the gateway.
t_ping_eventually transit "$target" 5 || fail "transit cannot reach $target through the node"
t_ping6_eventually transit "$target6" 5 || fail "transit cannot reach $target6 through the node"

drop_rule='^[[:space:]]*counter packets [0-9]+ bytes [0-9]+ drop'
before=$(t_nft_packets foo forward "$drop_rule")

lab_exec transit ip route replace default via $gw4 dev eth0
lab_exec transit ip -6 route replace default via "$gw6" dev eth0
if t_ping transit "$target" 2; then
	errors+=("transit reached $target with foo's pod IP $gw4 as its next hop (routed un-NATed)")
fi
if t_ping6 transit "$target6" 2; then
	errors+=("transit reached $target6 with foo's pod IP $gw6 as its next hop (routed un-NATed)")
fi
after=$(t_nft_packets foo forward "$drop_rule")
if [[ -z $before || -z $after ]]; then
	errors+=("foo's forward chain has no last rule 'counter drop': $(ip netns exec "$(lab_ns foo)" nft list chain inet podgw forward 2>&1 | tail -n 4 | tr -s '\t\n' ' ')")
else
	info "foo's forward chain dropped $((after - before)) packets of transit's (4 pings sent)"
	((after - before >= 4)) || errors+=("foo's last forward rule counted $((after - before)) packets, not the 4 pings")
fi

# The tunnel is untouched: both families still leave through foo.
t_ping crawler-foo-1 "$target" 2 || errors+=("crawler-foo-1 cannot reach $target through the tunnel")
t_ping6_eventually crawler-foo-1 "$target6" 5 || errors+=("crawler-foo-1 cannot reach $target6 through the tunnel")

t_report
pass "a pod routing via foo's pod IP was dropped (IPv4 and IPv6); the crawler's tunnel still works"
