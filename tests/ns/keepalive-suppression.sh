#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Keepalives cost the gateway nothing while the tunnel proves it alive:
#  - two crawlers run `clientd run` against foo (leases of
#    PODGW_TEST_LEASE_TIME seconds, 9: a renewal every 3 s); crawler "busy"
#    pings the lab internet 20 times a second (bounded), "idle" sends nothing;
#  - over PODGW_TEST_WINDOW seconds (10) a capture on foo's eth0 counts what
#    each sent: the membership requests (RENEW, JOIN) gatewayd had to answer,
#    and the ICMP echoes to foo's overlay address inside the tunnel (answered
#    by foo's kernel). Asserted: neither sends more than one renewal per
#    LEASE_TIME / 3 (+2 for the window's edges; before, one every 250 ms:
#    ~40), the busy one needs no echo for its own sake (its traffic's
#    answers prove foo alive) and sends one a second (so that foo sees its
#    lease in use) and one with each renewal, the idle one sends one every
#    interval (four a second);
#  - a rogue pod sends 200 VXLAN datagrams forged as foo's to "idle": the
#    guard drops them before the vxlan driver counts them (only the gateway
#    can prove itself alive);
#  - foo dies as a pod dies (gatewayd SIGKILL, its namespace deleted): both
#    crawlers count it lost (ready file removed). The detection times are
#    printed (FIGURE lines), never asserted: the machine is shared.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lease_time=${PODGW_TEST_LEASE_TIME:-9}
window=${PODGW_TEST_WINDOW:-10}
crawlers=(busy idle)
declare -A pod_ip=([busy]=10.244.0.11 [idle]=10.244.0.12) overlay=() ready=()

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --lease-time "$lease_time" || fail "gatewayd in foo did not become ready"
gw_pid=$LAB_PID
for c in "${crawlers[@]}"; do
	lab_add_pod "$c" "${pod_ip[$c]}"
	lab_start_clientd_run "$c" foo - || fail "clientd run in $c did not become ready"
	overlay[$c]=$(t_overlay_addr "$c")
	ready[$c]=$LAB_STATE/$c.clientd.ready
done
t_ping busy "$LAB_INTERNET_IP" 1 || fail "busy cannot reach $LAB_INTERNET_IP through foo"

# ---- what each crawler sends while the tunnel proves foo alive ----
pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start foo eth0 "$pcap" 'udp port 8473 or udp port 8472'
# Bounded: 20 a second for the window and a second more, 1 s deadline each.
lab_exec busy timeout $((window + 5)) ping -n -q -i 0.05 -c $((20 * (window + 1))) -W 1 \
	"$LAB_INTERNET_IP" >"$LAB_STATE/busy-ping.out" 2>&1 &
ping_pid=$!
sleep "$window"
t_capture_stop
wait "$ping_pid" || errors+=("busy's ping of $LAB_INTERNET_IP failed: $(tail -n 2 "$LAB_STATE/busy-ping.out" | tr '\n' '|')")

msgs=$(t_pg_messages "$pcap") || fail "cannot decode the capture of foo's control port"
records=$(t_records "$pcap" 'udp port 8472')
max_requests=$((window / (lease_time / 3) + 2))
for c in "${crawlers[@]}"; do
	requests=$(awk -v ip="${pod_ip[$c]}" '$2 ~ "^" ip ":" && ($5 == "RENEW" || $5 == "JOIN")' <<<"$msgs" | wc -l)
	echoes=$(grep -cF "${overlay[$c]} > 172.16.0.1: ICMP echo request" <<<"$records" || true)
	echo "FIGURE: keepalive_${c}_membership_requests = $requests in ${window} s"
	echo "FIGURE: keepalive_${c}_tunnel_echoes = $echoes in ${window} s"
	((requests <= max_requests)) ||
		errors+=("$c sent $requests membership requests in ${window} s, more than $max_requests (one renewal per LEASE_TIME/3 = $((lease_time / 3)) s)")
	((requests >= 1)) || errors+=("$c renewed nothing in ${window} s (LEASE_TIME $lease_time s)")
	case $c in
	# One echo a second, and one with each renewal (STATE_FILE's round trip).
	busy) ((echoes <= window + requests + 2)) || errors+=("busy sent $echoes echoes to foo in ${window} s while its tunnel carried traffic ($requests renewals)") ;;
	idle) ((echoes >= 3 * window)) || errors+=("idle sent $echoes echoes to foo in ${window} s: its liveness went unchecked") ;;
	esac
	[[ -e ${ready[$c]} ]] || errors+=("$c counted foo lost while it was alive")
done
t_report

# ---- only foo moves the counter: forged VXLAN from another pod is dropped
# by the guard before the vxlan driver counts it ----
rx_packets() {
	ip -n "$(lab_ns "$1")" -s -j link show vxlan0 |
		"$T_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}
# The packets of the guard's VXLAN drop rule in the pod.
guard_drops() {
	ip netns exec "$(lab_ns "$1")" nft list chain inet podgw_guard input |
		awk '/udp dport 8472 counter/ && match($0, /packets [0-9]+/) { print substr($0, RSTART + 8, RLENGTH - 8); exit }'
}
lab_add_pod rogue 10.244.0.50
rx0=$(rx_packets idle)
drops0=$(guard_drops idle)
sent=$(lab_exec rogue timeout 10 "$T_PYTHON" "$PODGW_SRC/tests/attacks/tunnelpkt.py" vxlan \
	--to "${pod_ip[idle]}" --vni 42 --src-mac "$(t_link_mac foo)" --dst-mac "$(t_link_mac idle)" \
	icmp --src-ip 172.16.0.1 --dst-ip "${overlay[idle]}" --count 200) || true
rx1=$(rx_packets idle)
drops1=$(guard_drops idle)
echo "FIGURE: keepalive_forged_vxlan_counted = $((rx1 - rx0)) of 200 (${sent:-nothing sent}; guard drops $((${drops1:-0} - ${drops0:-0})); foo's echo replies count too)"
[[ $sent == "sent 200" ]] || errors+=("the rogue pod could not send its forged VXLAN: '$sent'")
((${drops1:-0} - ${drops0:-0} >= 200)) || errors+=("idle's guard dropped $((${drops1:-0} - ${drops0:-0})) VXLAN datagrams of the rogue's 200")
((rx1 - rx0 < 50)) || errors+=("idle's vxlan0 counted $((rx1 - rx0)) packets while a rogue pod sent 200 forged ones: the guard let them in")
t_report

# ---- foo dies as a pod does: nothing of it answers any more ----
t0=$EPOCHREALTIME
kill -KILL "$gw_pid" 2>/dev/null || true
ip netns delete "$(lab_ns foo)"
declare -A lost_after=()
for ((i = 0; i < 200 && ${#lost_after[@]} < ${#crawlers[@]}; i++)); do
	for c in "${crawlers[@]}"; do
		if [[ -z ${lost_after[$c]-} && ! -e ${ready[$c]} ]]; then
			lost_after[$c]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
		fi
	done
	sleep 0.05
done
for c in "${crawlers[@]}"; do
	if [[ -n ${lost_after[$c]-} ]]; then
		echo "FIGURE: keepalive_${c}_loss_detected_s = ${lost_after[$c]} s"
	else
		errors+=("$c still counts foo alive 10 s after it died (ready file ${ready[$c]} is there)")
	fi
done
for c in "${crawlers[@]}"; do
	grep -q 'gateway foo lost' "$LAB_STATE/$c.clientd.log" ||
		errors+=("$c logged no loss of foo: $(tail -n 3 "$LAB_STATE/$c.clientd.log" | tr '\n' '|')")
done
t_report
pass "renewals every LEASE_TIME/3, echoes only on a quiet tunnel, loss still detected"
