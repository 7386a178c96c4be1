#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Admission is enforced by the gateway's kernel, not by clientd's good manners:
#  - a rogue pod that never joined builds its own vxlan link toward the
#    gateway (VNI 42, UDP 8472, 172.16.0.66/24, default via 172.16.0.1 with
#    the gateway's vxlan MAC) and pings 203.0.113.10: its VXLAN datagrams reach
#    the gateway's eth0, the input rule for non-peers counts and drops them,
#    and the internet sees no packet at all;
#  - a leased crawler that adds an address it does not hold (172.16.0.99) and
#    pings from it gets nothing out (the forward rule for unleased
#    address/MAC pairs counts and drops them), while its leased address still
#    gets through.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --lease-time 600 || fail "gatewayd in foo did not become ready"
lab_add_pod crawler-1 10.244.0.11
lab_add_pod rogue 10.244.0.66
lab_clientd_init crawler-1 foo - || fail "clientd init in crawler-1 exited with $?"
a1=$(t_overlay_addr crawler-1)
[[ -n $a1 ]] || fail "crawler-1 has no address on vxlan0 after clientd init"
info "crawler-1 joined as $a1"

# The rogue's tunnel, made with iproute2 alone.
gw_mac=$(t_link_mac foo)
[[ -n $gw_mac ]] || fail "cannot read the MAC of foo's vxlan0"
r=$(lab_ns rogue)
ip -n "$r" link add vxlan0 type vxlan id 42 dstport 8472 remote 10.244.0.2 dev eth0
ip -n "$r" addr add 172.16.0.66/24 dev vxlan0
ip -n "$r" link set vxlan0 up
ip -n "$r" neigh replace 172.16.0.1 lladdr "$gw_mac" dev vxlan0 nud permanent
ip -n "$r" route replace default via 172.16.0.1 dev vxlan0
via=$(ip -n "$r" route get 203.0.113.10 2>&1 | head -n 1) || true
[[ $via == *" dev vxlan0 "* ]] || fail "the rogue's route to 203.0.113.10 is not its vxlan0: $via"
info "rogue: vxlan0 172.16.0.66/24 toward 10.244.0.2, 172.16.0.1 at $gw_mac"

# ipv4_records FILE: the IPv4 packets of a capture, one a line.
ipv4_records() {
	t_records "$1" | grep -v '^$' || true
}

# 1. The rogue.
peers0=$(t_nft_packets foo input '@peers')
[[ -n $peers0 ]] || fail "no counter on a rule matching @peers in foo's input chain: $(ip netns exec "$(lab_ns foo)" nft list chain inet podgw input | tr '\n' ' ')"
gw_pcap=$LAB_STATE/foo-eth0-rogue.pcap
inet_pcap=$LAB_STATE/internet-rogue.pcap
t_capture_start foo eth0 "$gw_pcap" 'udp port 8472 and src host 10.244.0.66'
gw_cap=$T_CAP_PID
t_capture_start internet eth0 "$inet_pcap" ip
rc=0
lab_exec rogue ping -n -q -c 3 -i 0.3 -W 1 203.0.113.10 >/dev/null 2>&1 || rc=$?
t_capture_stop
T_CAP_PID=$gw_cap
t_capture_stop
peers1=$(t_nft_packets foo input '@peers')
[[ -n $peers1 ]] || fail "the @peers rule of foo's input chain is gone"
rogue_vxlan=$(ipv4_records "$gw_pcap" | grep -c . || true)
inet_seen=$(ipv4_records "$inet_pcap")
inet_count=$(grep -c . <<<"$inet_seen" || true)
info "rogue: ping exit $rc; $rogue_vxlan VXLAN datagrams from it on foo's eth0; input @peers counter $peers0 -> $peers1; $inet_count IPv4 packets on the internet"
((rc != 0)) || errors+=("the rogue's ping to 203.0.113.10 got an answer")
((rogue_vxlan >= 3)) || errors+=("only $rogue_vxlan VXLAN datagrams from the rogue reached foo's eth0, not 3: the rogue's tunnel did not send")
((peers1 - peers0 >= 3)) || errors+=("foo's input counter for non-peers grew by $((peers1 - peers0)), not at least 3")
((inet_count == 0)) || errors+=("the internet saw $inet_count IPv4 packets while the rogue pinged: $(tr '\n' '|' <<<"$inet_seen")")

# 2. A leased crawler with an address it does not hold.
ip -n "$(lab_ns crawler-1)" addr add 172.16.0.99/24 dev vxlan0
spoof0=$(t_nft_packets foo forward '@clients')
[[ -n $spoof0 ]] || fail "no counter on a rule matching @clients in foo's forward chain"
inet_pcap=$LAB_STATE/internet-spoof.pcap
t_capture_start internet eth0 "$inet_pcap" ip
rc=0
lab_exec crawler-1 ping -n -q -c 3 -i 0.3 -W 1 -I 172.16.0.99 203.0.113.10 >/dev/null 2>&1 || rc=$?
t_capture_stop
spoof1=$(t_nft_packets foo forward '@clients')
[[ -n $spoof1 ]] || fail "the @clients rule of foo's forward chain is gone"
inet_seen=$(ipv4_records "$inet_pcap")
inet_count=$(grep -c . <<<"$inet_seen" || true)
info "crawler-1 from 172.16.0.99: ping exit $rc; forward @clients counter $spoof0 -> $spoof1; $inet_count IPv4 packets on the internet"
((rc != 0)) || errors+=("crawler-1's ping from the unleased 172.16.0.99 got an answer")
((spoof1 - spoof0 >= 3)) || errors+=("foo's forward counter for unleased pairs grew by $((spoof1 - spoof0)), not at least 3")
((inet_count == 0)) || errors+=("the internet saw $inet_count IPv4 packets while crawler-1 pinged from 172.16.0.99: $(tr '\n' '|' <<<"$inet_seen")")

# 3. Its leased address still works, and the internet capture does see it.
inet_pcap=$LAB_STATE/internet-leased.pcap
t_capture_start internet eth0 "$inet_pcap" ip
rc=0
lab_exec crawler-1 ping -n -q -c 2 -i 0.3 -W 1 -I "$a1" 203.0.113.10 >/dev/null 2>&1 || rc=$?
t_capture_stop
requests=$(ipv4_records "$inet_pcap" | grep -c ' 10\.244\.0\.2 > 203\.0\.113\.10: ICMP echo request' || true)
info "crawler-1 from $a1: ping exit $rc; the internet saw $requests echo requests from 10.244.0.2"
((rc == 0)) || errors+=("crawler-1's ping from its leased $a1 got no answer")
((requests >= 2)) || errors+=("the internet saw $requests echo requests from 10.244.0.2 for crawler-1's leased address, not 2")

t_report
pass "a rogue tunnel and an unleased source address get nothing out; the leased address does"
