#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A VPN egress with its kill switch (issue 6), through a real OpenVPN tunnel:
# gateway foo's tun0 (client) to the provider (server, 10.244.0.250:1194 on
# the pod network), which forwards to the internet from 203.0.113.20. The
# client takes the provider's routes as redirect-gateway def1 would (0/1 and
# 128/1 via tun0); the gateway's own default route stays on eth0.
#
#  1. VPN up: a crawler's pings and TCP reach 203.0.113.10 from 203.0.113.20
#     only (never from the gateway's pod IP, the crawler, the overlay or the
#     tunnel address); on foo's eth0 no crawler traffic leaves outside VXLAN
#     but as OpenVPN (UDP 1194).
#  2. VPN_LOCAL_CIDRS (192.168.50.0/24, a "lan" namespace behind the node):
#     the gateway and the crawler (masqueraded) reach it over eth0 via the
#     pod network's router while the VPN is up (the VPN's 0/1 and 128/1
#     routes would otherwise take it).
#  3. OpenVPN killed: while the crawler keeps probing (bounded), foo's eth0
#     carries not one packet toward 203.0.113.0/24 (neither masqueraded nor
#     raw), the probes fail, and the gateway's own output to the internet
#     over eth0 is blocked too (VPN_BLOCK_OTHER_TRAFFIC, default on).
#  4. OpenVPN back: traffic flows again, from 203.0.113.20.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_need_packages openvpn=openvpn
[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

err() {
	echo "$T_NAME: ERROR: $*" >&2
	errors+=("$*")
}

pub=$LAB_PROVIDER_PUBLIC_IP
lab_create_base
lab_add_provider
lab_add_lan lan
lab_start_openvpn_server || fail "the OpenVPN server did not start"
lab_add_gateway foo 10.244.0.2
lab_start_openvpn_client foo def1 || fail "the OpenVPN client in foo did not come up"
info "foo's routes with the VPN up: $(ip -n "$(lab_ns foo)" -4 route show | tr '\n' ';')"

# The kill switch is the default with a VPN interface: not set here.
lab_start_gatewayd foo --vpn-interface tun0 --vpn-traffic-port "$LAB_VPN_PORT" \
	--vpn-local-cidrs 192.168.50.0/24 || fail "gatewayd did not become ready"
lab_add_pod crawler-foo-1 10.244.0.11
lab_start_clientd_run crawler-foo-1 foo 172.16.0.11 || fail "clientd run did not become ready"

t_tcp_serve internet 203.0.113.10 8080
t_tcp_serve lan "$LAB_LAN_IP" 8080

# ---- 1. VPN up: the crawler leaves from the provider's address ----
inet_pcap=$LAB_STATE/internet-up.pcap
gw_pcap=$LAB_STATE/foo-eth0-up.pcap
t_capture_start internet any "$inet_pcap" 'icmp or tcp port 8080'
cap_inet=$T_CAP_PID
t_capture_start foo eth0 "$gw_pcap" 'not udp port 8472'
cap_gw=$T_CAP_PID
if ! t_ping_eventually crawler-foo-1 203.0.113.10 10; then
	err "VPN up: crawler-foo-1 cannot ping 203.0.113.10"
fi
lab_exec crawler-foo-1 ping -n -q -c 3 -i 0.2 -W 1 203.0.113.10 >/dev/null 2>&1 ||
	err "VPN up: pings from crawler-foo-1 to 203.0.113.10 were lost"
head -c 1000000 /dev/urandom >"$LAB_STATE/payload"
out=$(t_tcp_send crawler-foo-1 203.0.113.10 8080 "$LAB_STATE/payload" 20) ||
	err "VPN up: TCP transfer crawler-foo-1 -> 203.0.113.10:8080 failed: $(tr '\n' ' ' <<<"$out")"
read -r _ _ peer _ <<<"$out"
info "VPN up: the internet's server saw the crawler's connection from ${peer:-nothing}"
[[ ${peer-} == "$pub" ]] || err "VPN up: the internet saw the crawler from '${peer-}', not from $pub"
T_CAP_PID=$cap_inet t_capture_stop
T_CAP_PID=$cap_gw t_capture_stop

inet_records=$(t_records "$inet_pcap")
info "VPN up: capture in the internet namespace (first lines):"
head -n 12 <<<"$inet_records" | sed 's/^/    /'
n_pub=$(grep -Ec " $pub(\.[0-9]+)? > 203\.0\.113\.10(\.[0-9]+)?: " <<<"$inet_records" || true)
((n_pub > 0)) || err "VPN up: nothing from $pub reached 203.0.113.10"
if bad=$(grep -E ' > 203\.0\.113\.10(\.[0-9]+)?: ' <<<"$inet_records" | grep -Ev " $pub(\.[0-9]+)? > "); then
	err "VPN up: the internet saw crawler traffic from another address: $(head -n 3 <<<"$bad")"
fi
gw_records=$(t_records "$gw_pcap")
if bad=$(grep -E ' > 203\.0\.113\.[0-9]+(\.[0-9]+)?: ' <<<"$gw_records"); then
	err "VPN up: crawler traffic left foo's eth0 outside the VPN: $(head -n 3 <<<"$bad")"
fi
n_vpn=$(grep -Ec " 10\.244\.0\.2\.[0-9]+ > $LAB_PROVIDER_IP\.$LAB_VPN_PORT: UDP" <<<"$gw_records" || true)
info "VPN up: $n_pub packets from $pub at the internet; $n_vpn OpenVPN datagrams on foo's eth0"
((n_vpn > 0)) || err "VPN up: no OpenVPN datagram 10.244.0.2 > $LAB_PROVIDER_IP:$LAB_VPN_PORT on foo's eth0"

# ---- 2. VPN_LOCAL_CIDRS: stay on eth0 ----
info "foo's route to the local CIDR: $(ip -n "$(lab_ns foo)" -4 route get "$LAB_LAN_IP" 2>&1 | head -n 1)"
lan_pcap=$LAB_STATE/foo-eth0-lan.pcap
t_capture_start foo eth0 "$lan_pcap" "host $LAB_LAN_IP"
out=$(t_tcp_send foo "$LAB_LAN_IP" 8080 "" 5) ||
	err "VPN_LOCAL_CIDRS: gateway foo cannot reach $LAB_LAN_IP:8080 (a local CIDR) while the VPN is up: $(tr '\n' ' ' <<<"$out")"
t_capture_stop
if ! t_records "$lan_pcap" | grep -Eq " 10\.244\.0\.2\.[0-9]+ > ${LAB_LAN_IP//./\\.}\.8080: "; then
	err "VPN_LOCAL_CIDRS: foo's connection to $LAB_LAN_IP did not leave through eth0"
fi
# A deleted local-CIDR route is put back (gatewayd watches its routes).
foo_ns=$(lab_ns foo)
lan_route() { ip -n "$foo_ns" -4 route show 192.168.50.0/24 | grep -q .; }
ip -n "$foo_ns" route del 192.168.50.0/24
if lab_wait_for 2 lan_route; then
	info "VPN_LOCAL_CIDRS: the deleted route is back: $(ip -n "$foo_ns" -4 route show 192.168.50.0/24)"
else
	err "VPN_LOCAL_CIDRS: the route to 192.168.50.0/24 deleted from foo is not back within 2 s"
fi
# A crawler's traffic to a local CIDR leaves the gateway through eth0 too
# (masqueraded to the gateway's pod IP), not through the VPN.
lan_pcap=$LAB_STATE/foo-eth0-lan-crawler.pcap
t_capture_start foo eth0 "$lan_pcap" "host $LAB_LAN_IP"
if out=$(t_tcp_send crawler-foo-1 "$LAB_LAN_IP" 8080 "" 5); then
	read -r _ _ peer _ <<<"$out"
	info "VPN_LOCAL_CIDRS: the local service saw crawler-foo-1 from $peer"
	[[ $peer == 10.244.0.2 ]] || err "VPN_LOCAL_CIDRS: the local service saw crawler-foo-1 from $peer, not from foo's pod IP"
else
	err "VPN_LOCAL_CIDRS: crawler-foo-1 cannot reach $LAB_LAN_IP:8080 (a local CIDR) while the VPN is up: $(tr '\n' ' ' <<<"$out")"
fi
t_capture_stop
if ! t_records "$lan_pcap" | grep -Eq " 10\.244\.0\.2\.[0-9]+ > ${LAB_LAN_IP//./\\.}\.8080: "; then
	err "VPN_LOCAL_CIDRS: crawler-foo-1's connection to $LAB_LAN_IP did not leave foo's eth0 masqueraded"
fi

# ---- 3. VPN down: not one crawler packet leaves eth0 ----
lab_stop_openvpn foo KILL || fail "could not stop openvpn in foo"
info "foo's routes with the VPN down: $(ip -n "$(lab_ns foo)" -4 route show | tr '\n' ';')"
down_pcap=$LAB_STATE/foo-eth0-down.pcap
inet_down_pcap=$LAB_STATE/internet-down.pcap
t_capture_start foo eth0 "$down_pcap" 'not udp port 8472'
cap_gw=$T_CAP_PID
t_capture_start internet any "$inet_down_pcap" 'icmp or tcp port 8080'
cap_inet=$T_CAP_PID
ok_probes=0
probes=0
start=$SECONDS
for ((i = 0; i < 8 && SECONDS - start < 30; i++)); do
	probes=$((probes + 1))
	t_ping crawler-foo-1 203.0.113.10 1 && ok_probes=$((ok_probes + 1))
	probes=$((probes + 1))
	t_tcp_send crawler-foo-1 203.0.113.10 8080 "" 1 >/dev/null 2>&1 && ok_probes=$((ok_probes + 1))
done
T_CAP_PID=$cap_gw t_capture_stop
lab_pid_alive "$(<"$LAB_STATE/crawler-foo-1.clientd.pid")" || err "VPN down: clientd run in crawler-foo-1 died"
info "VPN down: $ok_probes of $probes crawler probes got through (ping and TCP, $((SECONDS - start)) s)"
((ok_probes == 0)) || err "VPN down: $ok_probes of $probes crawler probes to 203.0.113.10 got an answer"
down_records=$(t_records "$down_pcap")
info "VPN down: foo's eth0 saw $(grep -c . <<<"$down_records" || true) packets outside VXLAN while the crawler probed"
# The gateway itself sends nothing toward the internet meanwhile: every such
# packet is a crawler's, masqueraded (from 10.244.0.2) or raw.
if leaks=$(grep -E ' > 203\.0\.113\.[0-9]+(\.[0-9]+)?: ' <<<"$down_records"); then
	err "VPN down: $(grep -c . <<<"$leaks") crawler packets toward 203.0.113.0/24 left foo's eth0: $(head -n 3 <<<"$leaks")"
fi

# The gateway's own output (kill switch: eth0 only toward VPN_LOCAL_CIDRS
# and the VPN endpoint port).
own_pcap=$LAB_STATE/foo-eth0-own.pcap
t_capture_start foo eth0 "$own_pcap" 'net 203.0.113.0/24'
own_ok=0
t_ping foo 203.0.113.10 1 && own_ok=$((own_ok + 1))
t_tcp_send foo 203.0.113.10 8080 "" 1 >/dev/null 2>&1 && own_ok=$((own_ok + 1))
t_capture_stop
T_CAP_PID=$cap_inet t_capture_stop
((own_ok == 0)) || err "VPN down: the gateway's own ping/TCP to 203.0.113.10 got through eth0 ($own_ok of 2; kill switch)"
if own=$(t_records "$own_pcap" | grep -E ' 10\.244\.0\.2(\.[0-9]+)? > 203\.0\.113\.'); then
	err "VPN down: the gateway's own packets toward 203.0.113.0/24 left eth0 (kill switch): $(head -n 2 <<<"$own")"
fi
inet_down=$(t_records "$inet_down_pcap")
[[ -z $inet_down ]] || err "VPN down: the internet saw traffic: $(head -n 2 <<<"$inet_down")"

# ---- 4. VPN back: traffic flows again ----
lab_start_openvpn_client foo def1 || fail "the OpenVPN client in foo did not come back"
start=$EPOCHREALTIME
if t_ping_eventually crawler-foo-1 203.0.113.10 20; then
	info "VPN back: crawler-foo-1 pinged 203.0.113.10 after $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
else
	err "VPN back: crawler-foo-1 cannot ping 203.0.113.10 within 20 s"
fi
out=$(t_tcp_send crawler-foo-1 203.0.113.10 8080 "$LAB_STATE/payload" 20) ||
	err "VPN back: TCP transfer failed: $(tr '\n' ' ' <<<"$out")"
read -r _ _ peer _ <<<"$out"
[[ ${peer-} == "$pub" ]] || err "VPN back: the internet saw the crawler from '${peer-}', not from $pub"

t_report
pass "crawler traffic left through the VPN from $pub only; with openvpn killed nothing left foo's eth0; back after restart"
