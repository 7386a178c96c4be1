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
#    ~40), the busy one needs no echoes (its traffic's answers prove foo
#    alive), the idle one sends them;
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
	busy) ((echoes <= 4)) || errors+=("busy sent $echoes echoes to foo while its tunnel carried traffic") ;;
	idle) ((echoes >= window)) || errors+=("idle sent $echoes echoes to foo in ${window} s: its liveness went unchecked") ;;
	esac
	[[ -e ${ready[$c]} ]] || errors+=("$c counted foo lost while it was alive")
done
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
