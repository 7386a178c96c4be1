#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# IPv6 out of a VPN egress, and the kill switch for IPv6, through a real
# OpenVPN tunnel carrying both families (LAB_VPN_IPV6=1: the client's tun0
# gets fd00:8::2 and 2000::/3 through the tunnel, as a VPN's routes that
# leave the pod network's IPv6 default in place; the provider masquerades
# to 2001:db8:20::20). gatewayd sees IPv6 egress from the route the
# internet's IPv6 takes, not from a default route on tun0.
#  1. VPN up: gatewayd grants IPv6 (its VPN interface has an IPv6 default
#     route); a crawler's ping -6 and TCP reach 2001:db8::10 from the
#     provider's 2001:db8:20::20 only, and foo's eth0 carries no IPv6 toward
#     2001:db8::/32 (the crawler's traffic is inside VXLAN and OpenVPN).
#  2. OpenVPN killed: while the crawler keeps probing (bounded), foo's eth0
#     carries not one IPv6 packet toward 2001:db8::/32, and the probes fail.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_need_packages openvpn=openvpn
[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

target6=$LAB_INTERNET_IP6
pub6=$LAB_PROVIDER_PUBLIC_IP6
export LAB_VPN_IPV6=1 LAB_VPN_IPV6_ROUTE=2000::/3
lab_create_base
lab_add_provider
lab_start_openvpn_server || fail "the OpenVPN server did not start"
lab_add_gateway foo 10.244.0.2
lab_start_openvpn_client foo def1 || fail "the OpenVPN client in foo did not come up"
route6=$(ip -n "$(lab_ns foo)" -6 route get "$target6" 2>&1)
info "foo's IPv6 route to $target6 with the VPN up: $route6"
grep -q "dev tun0" <<<"$route6" || fail "foo's IPv6 route to $target6 is not through tun0: $route6"

lab_start_gatewayd foo --vpn-interface tun0 --vpn-traffic-port "$LAB_VPN_PORT" ||
	fail "gatewayd did not become ready"
lab_add_pod crawler 10.244.0.11
lab_start_clientd_run crawler foo - || fail "clientd run did not become ready"
o6=$(t_overlay_addr6 crawler)
[[ -n $o6 ]] || fail "the crawler got no IPv6 overlay address with IPv6 through the VPN: $(t_gw_status foo | grep -i ipv6)"

# ---- 1. VPN up ----
head -c 262144 /dev/urandom >"$LAB_STATE/blob"
t_tcp_serve internet "$target6" 5602 "$LAB_STATE/blob" || fail "the TCP server did not start in the internet"
gw_pcap=$LAB_STATE/foo-eth0-up.pcap
t_capture_start foo eth0 "$gw_pcap" "ip6 and net 2001:db8::/32"
cap_gw=$T_CAP_PID
t_ping6_eventually crawler "$target6" 10 || errors+=("VPN up: the crawler cannot ping -6 $target6")
out=$(t_tcp_send crawler "$target6" 5602 "$LAB_STATE/blob" 30) ||
	errors+=("VPN up: TCP over IPv6 to [$target6]:5602 failed: $(tr '\n' ' ' <<<"$out")")
read -r _ _ peer <<<"$(head -n 1 <<<"$out")"
info "VPN up: the internet saw the crawler's IPv6 connection from ${peer:-nothing}"
[[ ${peer-} == "$pub6" ]] || errors+=("VPN up: the internet saw the crawler from '${peer-}', not from the provider's $pub6")
T_CAP_PID=$cap_gw t_capture_stop
n=$(tcpdump -r "$gw_pcap" -nn 2>/dev/null | grep -c . || true)
((n == 0)) || errors+=("VPN up: $n IPv6 packets toward 2001:db8::/32 on foo's eth0 (outside the VPN)")
t_report

# ---- 2. OpenVPN killed: the kill switch holds for IPv6 ----
lab_stop_openvpn foo KILL || fail "tun0 did not go away"
gw_pcap=$LAB_STATE/foo-eth0-down.pcap
t_capture_start foo eth0 "$gw_pcap" "ip6 and net 2001:db8::/32"
cap_gw=$T_CAP_PID
answered=0
for ((i = 0; i < 10; i++)); do
	if t_ping6 crawler "$target6" 1; then
		answered=$((answered + 1))
	fi
done
T_CAP_PID=$cap_gw t_capture_stop
n=$(tcpdump -r "$gw_pcap" -nn 2>/dev/null | grep -c . || true)
info "VPN down: $answered of 10 pings answered, $n IPv6 packets toward 2001:db8::/32 on foo's eth0"
((answered == 0)) || errors+=("VPN down: $answered of 10 ping -6 answered without the VPN")
((n == 0)) || errors+=("VPN down: $n IPv6 packets toward 2001:db8::/32 left foo's eth0 (the kill switch let them out)")
t_report
pass "IPv6 left through the VPN from $pub6 only, and nothing left foo's eth0 with the VPN down"
