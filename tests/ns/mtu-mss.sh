#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# MTU and MSS (issue 6): large TCP transfers through a VPN egress with MTU
# 1420 (OpenVPN tun0, no OpenVPN MSS fix), with a pod network (underlay) of
# MTU 1500 and then of 9000. Two crawlers on gateway foo: crawler-a with
# VPN_INTERFACE_MTU=1420, crawler-b without. For each underlay:
#  - vxlan0 MTUs: the gateway's underlay - 50; crawler-a min(underlay - 50,
#    1420) = 1420; crawler-b underlay - 50 (or 1420 when the gateway hands
#    out the VPN's MTU itself);
#  - per crawler, 20 MB up (crawler -> 203.0.113.10) and 20 MB down, each
#    bounded by a timeout, with byte count and sha256 checked at the far end;
#    throughput printed;
#  - every SYN that reaches the internet carries an MSS that fits tun0
#    (<= 1420 - 40): crawler-b's own SYN offers underlay - 90, so this is
#    the gateway's MSS clamping (OpenVPN's own --mssfix is off).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_need_packages openvpn=openvpn
[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

SIZE_MB=${PODGW_MTU_TEST_MB:-20}
VPN_MTU=1420
LAB_VPN_MTU=$VPN_MTU
mss_max=$((VPN_MTU - 40))
err() {
	echo "$T_NAME: ERROR: $*" >&2
	errors+=("$*")
}
summary=()

link_mtu() {
	ip -n "$(lab_ns "$1")" -o link show "$2" 2>/dev/null | grep -Eo ' mtu [0-9]+' | awk '{ print $2 }' || true
}

mbps() {
	awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b * 8 / s / 1e6; else print "?" }'
}

payload=$(mktemp /tmp/podgw-mtu-payload.XXXXXX)
# shellcheck disable=SC2154 # t_rc is set in the trap itself
trap 't_rc=$?; trap - ERR; rm -f "$payload"; (exit "$t_rc"); t_cleanup' EXIT

run_underlay() {
	local underlay=$1 pod expect_a expect_b got
	info "=== underlay MTU $underlay, VPN (tun0) MTU $VPN_MTU ==="
	lab_create_base
	lab_add_provider
	lab_add_gateway foo 10.244.0.2
	lab_add_pod crawler-a 10.244.0.11
	lab_add_pod crawler-b 10.244.0.12
	lab_set_pod_net_mtu "$underlay"
	lab_start_openvpn_server || fail "the OpenVPN server did not start"
	lab_start_openvpn_client foo def1 || fail "the OpenVPN client in foo did not come up"
	[[ $(link_mtu foo tun0) == "$VPN_MTU" ]] || err "underlay $underlay: foo's tun0 has MTU $(link_mtu foo tun0), not $VPN_MTU"
	lab_start_gatewayd foo --vpn-interface tun0 --vpn-traffic-port "$LAB_VPN_PORT" ||
		fail "gatewayd did not become ready (underlay $underlay)"
	lab_start_clientd_run crawler-a foo 172.16.0.11 --vpn-interface-mtu "$VPN_MTU" ||
		fail "clientd run in crawler-a did not become ready (underlay $underlay)"
	lab_start_clientd_run crawler-b foo 172.16.0.12 ||
		fail "clientd run in crawler-b did not become ready (underlay $underlay)"

	# MTUs
	got=$(link_mtu foo vxlan0)
	info "underlay $underlay: foo's eth0 $(link_mtu foo eth0), vxlan0 $got, tun0 $(link_mtu foo tun0)"
	[[ $got == $((underlay - 50)) ]] || err "underlay $underlay: foo's vxlan0 MTU is $got, not $((underlay - 50))"
	expect_a=$((underlay - 50 < VPN_MTU ? underlay - 50 : VPN_MTU))
	expect_b=$((underlay - 50))
	got=$(link_mtu crawler-a vxlan0)
	info "underlay $underlay: crawler-a (VPN_INTERFACE_MTU=$VPN_MTU): eth0 $(link_mtu crawler-a eth0), vxlan0 $got"
	[[ $got == "$expect_a" ]] || err "underlay $underlay: crawler-a's vxlan0 MTU is $got, not min($((underlay - 50)), $VPN_MTU) = $expect_a"
	local mtu_a=$got
	got=$(link_mtu crawler-b vxlan0)
	info "underlay $underlay: crawler-b (no VPN_INTERFACE_MTU): eth0 $(link_mtu crawler-b eth0), vxlan0 $got"
	if [[ $got != "$expect_b" && $got != "$expect_a" ]]; then
		err "underlay $underlay: crawler-b's vxlan0 MTU is $got, not $expect_b (underlay - 50) nor $expect_a (capped by the VPN's)"
	fi
	local mtu_b=$got

	t_tcp_serve internet 203.0.113.10 8080
	t_tcp_serve internet 203.0.113.10 8081 "$payload"
	local pcap=$LAB_STATE/internet-syn.pcap
	t_capture_start internet prov0 "$pcap" 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0'
	local out secs rb rsha
	for pod in crawler-a crawler-b; do
		# up: the server checks count and sha256 (tcptool exits 1 on a mismatch)
		if out=$(t_tcp_send "$pod" 203.0.113.10 8080 "$payload" 60); then
			secs=$(awk '$1 == "secs" { print $2 }' <<<"$out")
			info "underlay $underlay: $pod up:   $SIZE_MB MB in $secs s ($(mbps "$bytes_total" "$secs") Mbit/s), sha256 ok, seen from $(awk 'NR == 1 { print $3 }' <<<"$out")"
			summary+=("underlay $underlay $pod (vxlan0 $([[ $pod == crawler-a ]] && echo "$mtu_a" || echo "$mtu_b")) up $(mbps "$bytes_total" "$secs") Mbit/s")
		else
			err "underlay $underlay: $pod: $SIZE_MB MB upload failed or arrived changed: $(tr '\n' ' ' <<<"$out")"
		fi
		# down: our side checks what arrived after the answer line
		if out=$(t_tcp_send "$pod" 203.0.113.10 8081 "" 60); then
			read -r _ rb rsha < <(grep '^recv ' <<<"$out") || true
			secs=$(awk '$1 == "secs" { print $2 }' <<<"$out")
			if [[ $rb == "$bytes_total" && $rsha == "$sha_total" ]]; then
				info "underlay $underlay: $pod down: $SIZE_MB MB in $secs s ($(mbps "$bytes_total" "$secs") Mbit/s), sha256 ok"
				summary+=("underlay $underlay $pod down $(mbps "$bytes_total" "$secs") Mbit/s")
			else
				err "underlay $underlay: $pod: download got $rb bytes sha256 $rsha, not $bytes_total $sha_total"
			fi
		else
			err "underlay $underlay: $pod: $SIZE_MB MB download failed: $(tr '\n' ' ' <<<"$out")"
		fi
	done
	t_capture_stop
	local mss_seen
	mss_seen=$(t_records "$pcap" | grep -Eo 'mss [0-9]+' | awk '{ print $2 }' | sort -n | uniq | tr '\n' ' ')
	info "underlay $underlay: MSS of the SYNs reaching the internet: ${mss_seen:-none} (crawler-a offers $((mtu_a - 40)), crawler-b $((mtu_b - 40)); tun0 fits $mss_max)"
	[[ -n $mss_seen ]] || err "underlay $underlay: no SYN reached the internet"
	local m
	for m in $mss_seen; do
		((m <= mss_max)) || err "underlay $underlay: a SYN reached the internet with MSS $m > $mss_max (no MSS clamping to tun0's MTU on the gateway)"
	done
	summary+=("underlay $underlay: vxlan0 foo $(link_mtu foo vxlan0) crawler-a $mtu_a crawler-b $mtu_b; SYN MSS at the internet: ${mss_seen:-none}")
	lab_down "$T_PREFIX"
	lab_init "$T_PREFIX"
}

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$payload"
bytes_total=$(stat -c %s "$payload")
sha_total=$(sha256sum "$payload" | awk '{ print $1 }')

run_underlay 1500
run_underlay 9000

info "summary:"
printf '    %s\n' "${summary[@]}"
t_report
pass "$SIZE_MB MB up and down intact through tun0 MTU $VPN_MTU with underlays 1500 and 9000; SYN MSS <= $mss_max"
