#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The tunnel over an IPv6-only pod network (PODGW_LAB_FAMILY=ipv6: pods have
# only fd00:10:244::X, the gateway's name resolves to its IPv6 pod address).
# gatewayd picks the IPv6 underlay (its eth0 has no IPv4), clientd follows
# the name's family: membership over IPv6 (the requests carry POD_IP6), vxlan
# links with IPv6 local addresses and an all-zero FDB entry to foo's pod IPv6.
# A crawler's ping -6 and TCP to 2001:db8::10 go through VXLAN over IPv6 (VNI
# 42) and leave foo masqueraded to its pod IPv6, as tcpdump on foo's eth0
# shows; the metrics port answers on the pod IPv6.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=picture6.sh
. "$(dirname "$0")/picture6.sh"

target6=$LAB_INTERNET_IP6
gw6=$(lab_ip6 10.244.0.2)
cl6=$(lab_ip6 10.244.0.11)

PODGW_LAB_FAMILY=ipv6 lab_create_base
lab_add_gateway foo 10.244.0.2
[[ -z $(ip -n "$(lab_ns foo)" -4 -o addr show dev eth0) ]] || fail "the lab gave foo an IPv4 address in ipv6 mode"
grep -q "^$gw6	foo " "/etc/netns/$(lab_ns foo)/hosts" || fail "foo does not resolve to $gw6 in the lab's hosts files"
lab_start_gatewayd foo || fail "gatewayd did not become ready on an IPv6-only pod network"
lab_add_pod crawler-1 10.244.0.11
lab_clientd_init crawler-1 foo 172.16.0.11 || fail "clientd init exited with $? on an IPv6-only pod network"

# 1. The underlay is IPv6 on both ends.
gl=$(ip -n "$(lab_ns foo)" -d link show vxlan0 2>&1)
cl=$(lab_exec crawler-1 ip -d link show vxlan0 2>&1)
info "foo: $(grep -o 'vxlan id.*' <<<"$gl" | head -n 1)"
info "crawler-1: $(grep -o 'vxlan id.*' <<<"$cl" | head -n 1)"
grep -q "vxlan id 42 .*local $gw6 " <<<"$gl" || errors+=("foo's vxlan0 is not VNI 42 with local $gw6: $(grep -o 'vxlan id.*' <<<"$gl")")
grep -q "vxlan id 42 .*local $cl6 " <<<"$cl" || errors+=("crawler-1's vxlan0 is not VNI 42 with local $cl6: $(grep -o 'vxlan id.*' <<<"$cl")")
fdb=$(lab_exec crawler-1 bridge fdb show dev vxlan0)
grep -q "^00:00:00:00:00:00 dst $gw6 " <<<"$fdb" || errors+=("crawler-1 has no all-zero FDB entry to $gw6: $(tr '\n' '|' <<<"$fdb")")
gfdb=$(ip netns exec "$(lab_ns foo)" bridge fdb show dev vxlan0)
grep -q "$(t_link_mac crawler-1) dst $cl6 " <<<"$gfdb" || errors+=("foo has no FDB entry for crawler-1's MAC to $cl6: $(tr '\n' '|' <<<"$gfdb")")
o6=$(t_overlay_addr6 crawler-1)
[[ -n $o6 ]] || fail "crawler-1 got no overlay IPv6 (foo's egress is IPv6)"
[[ $(t_overlay_addr crawler-1) == 172.16.0.11 ]] || errors+=("crawler-1's overlay IPv4 is '$(t_overlay_addr crawler-1)', not 172.16.0.11")
mtu=$(lab_exec crawler-1 cat /sys/class/net/vxlan0/mtu)
emtu=$(lab_exec crawler-1 cat /sys/class/net/eth0/mtu)
((mtu <= emtu - 70)) || errors+=("crawler-1's vxlan0 MTU $mtu leaves less than IPv6's 70 bytes of overhead under eth0's $emtu")
t_report

# 2. ping -6 with tcpdump on foo's eth0: VXLAN over IPv6 in, masqueraded out.
pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start foo eth0 "$pcap" "udp port 8472 or (ip6 and host $target6)"
ping_rc=0
ping_out=$(lab_exec crawler-1 ping -6 -n -c 1 -W 2 "$target6" 2>&1) || ping_rc=$?
t_capture_stop
records=$(t_records "$pcap")
info "capture on foo's eth0:"
printf '%s\n' "$records" | sed 's/^/    /'
t_picture6 "$records" "$cl6" "$gw6" "$o6" "$gw6" "$target6"
grep -Eq "^[0-9.]+ IP6 .* $cl6\.[0-9]+ > $gw6\.8472: .*(VXLAN|OTV)" <<<"$records" ||
	errors+=("no VXLAN datagram over IPv6 ($cl6 > $gw6:8472)")
if ((ping_rc != 0)) || ! grep -q ' 1 received' <<<"$ping_out"; then
	errors+=("ping -6 from crawler-1 to $target6 got no reply (exit $ping_rc): $(tail -n 2 <<<"$ping_out" | tr '\n' ' ')")
fi

# 3. TCP over IPv6 through the IPv6 tunnel; the server sees foo's pod IPv6.
head -c 262144 /dev/urandom >"$LAB_STATE/blob"
t_tcp_serve internet "$target6" 5602 "$LAB_STATE/blob" || fail "the TCP server did not start in the internet"
out=$(t_tcp_send crawler-1 "$target6" 5602 "$LAB_STATE/blob" 30) || errors+=("TCP over IPv6 to [$target6]:5602 failed: $(tr '\n' ' ' <<<"$out")")
info "TCP over IPv6: $(tr '\n' ' ' <<<"$out")"
read -r _ _ peer <<<"$(head -n 1 <<<"$out")"
[[ $peer == "$gw6" ]] || errors+=("the internet saw the TCP connection from '$peer', not foo's pod IPv6 $gw6")
grep -q "^recv 262144 $(sha256sum "$LAB_STATE/blob" | awk '{ print $1 }')" <<<"$out" ||
	errors+=("the crawler did not get the 256 KiB back intact")

# 4. Membership and metrics on the pod IPv6.
code=$(ip netns exec "$(lab_ns foo)" curl -g -s -o /dev/null -w '%{http_code}' -m 5 "http://[$gw6]:9108/healthz" || true)
[[ $code == 200 ]] || errors+=("GET http://[$gw6]:9108/healthz answered '$code', not 200")
status=$(t_gw_status foo) || true
grep -q "$cl6" <<<"$status" || errors+=("gatewayd status does not list crawler-1's pod IPv6 $cl6: $(tr '\n' '|' <<<"$status")")

t_report
pass "the tunnel runs over IPv6: ping -6 and TCP left foo from $gw6, VXLAN (VNI 42) between $cl6 and $gw6"
