#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: answers without limits. Every unauthenticated request used to be
# answered, at any rate, and with more bytes than it came with (32 B in,
# 145 B out: 4.5x), so the control port was an amplifier for spoofed
# sources. Now: answers to requests that do not authenticate (another
# version, a bad tag, a stale time, a foreign POD_IP) go out at most 20 a
# second in all, never longer than the request (without their text, or not
# at all), and the ones not sent are counted
# (podgw_membership_answers_suppressed_total).
# The flood, bounded: 50,000 datagrams of 32 bytes (bytes 0-31 of a version
# 9 JOIN) and 20,000 JOINs with a bad tag, each as fast as one socket sends
# (at most 30 s each). Asserted: no answer longer than its request, answers
# within the rate (20 a second plus a burst of 20), the suppressed ones
# counted, a crawler still joins. Printed: answers a second, gatewayd's CPU
# time per 50,000 junk datagrams (never asserted).
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600
lab_add_pod attacker 10.244.0.66
lab_add_pod crawler-1 10.244.0.11
tick=$(getconf CLK_TCK)
# cpu_ms PID: utime + stime so far, in ms.
cpu_ms() {
	awk -v t="$tick" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1000 / t) }' "/proc/$1/stat"
}

# flood KIND COUNT: sets FLOOD (pgwire's JSON) and FLOOD_CPU_MS.
flood() {
	local before after
	before=$(cpu_ms "$GW_PID")
	FLOOD=$(pgwire attacker junk --to 10.244.0.2 --kind "$1" --count "$2" --seconds 30)
	after=$(cpu_ms "$GW_PID")
	FLOOD_CPU_MS=$((after - before))
}

for kind in version auth; do
	count=50000
	[[ $kind == auth ]] && count=20000
	flood "$kind" "$count"
	res=$FLOOD
	info "$kind junk: $res; gatewayd CPU ${FLOOD_CPU_MS} ms"
	sent=$(jget "$res" sent)
	answers=$(jget "$res" answers)
	secs=$(jget "$res" seconds)
	req=$(jget "$res" request_bytes)
	largest=$(jget "$res" largest_answer)
	rate=$(awk -v a="$answers" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? a / s : a) }')
	figure "junk_${kind}_answers_per_s" "$rate" "answers/s ($answers to $sent datagrams of $req B in $secs s)"
	figure "junk_${kind}_largest_answer" "$largest" "B (request $req B)"
	figure "gatewayd_cpu_per_50k_junk_${kind}" "$(awk -v c="$FLOOD_CPU_MS" -v n="$sent" 'BEGIN { printf "%.0f", (n > 0 ? c * 50000 / n : 0) }')" "ms"
	((sent > 0)) || errors+=("$kind: the flood sent nothing")
	((largest <= req)) || errors+=("$kind: an answer of $largest bytes to a request of $req bytes")
	# 20 a second, a burst of 20, and a second of slack for the drain
	bound=$(awk -v s="$secs" 'BEGIN { printf "%d", 20 + 20 * (s + 2) }')
	((answers <= bound)) || errors+=("$kind: $answers answers in $secs s, more than $bound")
done
suppressed=$(metric podgw_membership_answers_suppressed_total)
info "podgw_membership_answers_suppressed_total = ${suppressed:-none}"
((${suppressed:-0} > 0)) || errors+=("/metrics counts no suppressed answer")

rc=0
lab_clientd_init crawler-1 foo - --membership-key-file "$KEY" || rc=$?
((rc == 0)) || errors+=("a crawler could not join after the flood (clientd init exit $rc)")
t_report
pass "junk answered within the rate, never with more bytes than it came with"
