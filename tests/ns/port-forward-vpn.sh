#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Port forwards through a VPN egress with the kill switch on (issue 6): the
# provider forwards its public ports (203.0.113.20) into the tunnel, as a
# VPN provider's port forwarding does; gateway foo forwards what arrives on
# tun0 to its crawler as nat.conf says.
#
#  1. From the internet, 203.0.113.20 TCP 8080 reaches the crawler's port 80
#     (a remap) and UDP 5353 its echo; the crawler sees the internet's own
#     address.
#  2. Meanwhile foo's eth0 carries nothing toward 203.0.113.0/24 outside the
#     tunnel: the replies leave through tun0 too.
#  3. The same ports sent to foo's pod IP (eth0, not the egress) are not
#     forwarded.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_need_packages openvpn=openvpn
[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

crawler="crawler-foo-1"
pub=$LAB_PROVIDER_PUBLIC_IP
err() {
	echo "$T_NAME: ERROR: $*" >&2
	errors+=("$*")
}

lab_create_base
lab_add_provider
lab_provider_forward tcp 8080 udp 5353
lab_start_openvpn_server || fail "the OpenVPN server did not start"
lab_add_gateway foo 10.244.0.2
lab_start_openvpn_client foo def1 || fail "the OpenVPN client in foo did not come up"
printf '%s\n' "$crawler 10 tcp:8080->80,udp:5353" >"$LAB_STATE/nat.conf"
lab_start_gatewayd foo --vpn-interface tun0 --vpn-traffic-port "$LAB_VPN_PORT" \
	--nat-conf-file "$LAB_STATE/nat.conf" || fail "gatewayd did not become ready"
lab_add_pod "$crawler" 10.244.0.11
lab_start_clientd_run "$crawler" foo - || fail "clientd run did not become ready"
t_tcp_serve "$crawler" 0.0.0.0 80
t_udp_serve "$crawler" 0.0.0.0 5353

# ---- 1. and 2. through the tunnel, nothing beside it ----
gw_pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start foo eth0 "$gw_pcap" 'not udp port 8472 and not udp port 1194'
if out=$(t_tcp_send internet "$pub" 8080 "" 10); then
	read -r _ _ peer _ <<<"$out"
	info "TCP $pub:8080 reached the crawler's port 80, from $peer"
	[[ $peer == "$LAB_INTERNET_IP" ]] || err "the crawler saw TCP 8080 from '$peer'"
else
	err "TCP $pub:8080 from the internet failed: $(tr '\n' ' ' <<<"$out")"
fi
if out=$(t_udp_send internet "$pub" 5353 10); then
	info "UDP $pub:5353 echoed by the crawler: $out"
	[[ $out == "$LAB_INTERNET_IP "* ]] || err "the crawler saw UDP 5353 as '$out'"
else
	err "UDP $pub:5353 from the internet got no echo: $out"
fi
t_capture_stop
if leaks=$(t_records "$gw_pcap" | grep -E ' > 203\.0\.113\.[0-9]+(\.[0-9]+)?: '); then
	err "forwarded traffic left foo's eth0 outside the tunnel: $(head -n 3 <<<"$leaks")"
fi
info "DNAT counters on foo: $(ip netns exec "$(lab_ns foo)" nft list chain inet podgw prerouting |
	grep -Eo 'dport [0-9]+ counter packets [0-9]+' | tr '\n' ';')"

# ---- 3. eth0 is not the egress: nothing forwarded from there ----
if t_tcp_send internet 10.244.0.2 8080 "" 2 >/dev/null 2>&1; then
	err "TCP 8080 to foo's pod IP (eth0) was forwarded; only tun0 is the egress"
fi
if t_udp_send internet 10.244.0.2 5353 2 >/dev/null 2>&1; then
	err "UDP 5353 to foo's pod IP (eth0) was forwarded; only tun0 is the egress"
fi

t_report
pass "forwards through tun0 reached the crawler from the internet with the kill switch on; nothing left beside the tunnel, nothing forwarded from eth0"
