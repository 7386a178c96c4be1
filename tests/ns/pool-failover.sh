#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Failover inside a gateway pool: foo runs three replicas and 30 crawlers
# (`clientd run`) spread over them. Every crawler runs a probe stream (ping
# every 50 ms, bounded) to the lab's internet while the replica with the
# most crawlers dies as a pod does (gatewayd SIGKILL, its network gone, its
# IP still in the name's answers). Then it comes back (a new pod, same IP
# and name) under a second probe stream.
# Asserted: the dead replica's crawlers are routed again through a sibling
# (their tunnel points at a live replica, their last probes are answered);
# every other crawler stays where it was and loses not one probe; when the
# replica comes back nobody moves and nobody loses a probe; no packet
# towards the internet leaves a crawler outside the tunnel (a capture on
# the node's bridge, shown to see a crawler's direct ping first; a frame is
# a crawler's by its source MAC).
# Two more crawlers: one with REPLICA_SELECTION=least-loaded starts on a
# replica with the fewest leases; one pinned (REPLICA_SELECTION=pin) to the
# replica that dies never moves, and is routed again once it is back.
# Printed, never asserted: each moved crawler's outage (longest time
# between two answers) and clientd's own "moved ... after N ms" (FIGURE).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pool-lib.sh
. "$(dirname "$0")/pool-lib.sh"
export LC_ALL=C

n=${PODGW_TEST_POOL_CRAWLERS:-30}
[[ $n =~ ^[1-9][0-9]?$ ]] || fail "PODGW_TEST_POOL_CRAWLERS must be 1..99, not '$n'"

pool_gateways
pool_crawler_pods "$n"
pool_leak_capture_start
# The capture sees a leak: a crawler before clientd has the node's route.
t_ping crawler-1 "$POOL_TARGET" 1 || fail "crawler-1 cannot reach $POOL_TARGET directly before clientd (lab broken?)"
sleep 0.5
control=$(pool_leaks)
((control > 0)) || fail "the capture missed crawler-1's direct ping: it would miss leaks"
info "control: crawler-1's direct ping before clientd is seen ($control packets)"
pool_sidecars "$n"
info "$n sidecars ready"

declare -A before=() after=() addr_before=() count=()
pods=()
while read -r pod ip; do
	pods+=("$pod")
	before[$pod]=$ip
	addr_before[$pod]=$(t_overlay_addr "$pod")
	count[$ip]=$((${count[$ip]:-0} + 1))
done < <(pool_where "$n")
victim=0
for i in "${!POOL_IPS[@]}"; do
	info "${POOL_REPLICAS[$i]} (${POOL_IPS[$i]}): ${count[${POOL_IPS[$i]}]:-0} crawlers"
	((${count[${POOL_IPS[$i]}]:-0} > ${count[${POOL_IPS[$victim]}]:-0})) && victim=$i
done
vip=${POOL_IPS[$victim]}
((${count[$vip]:-0} > 0)) || fail "no crawler on any replica"

# least-loaded: a replica with the fewest crawlers.
fewest=$n
for ip in "${POOL_IPS[@]}"; do
	((${count[$ip]:-0} < fewest)) && fewest=${count[$ip]:-0}
done
lab_add_pod crawler-least 10.244.0.91 || fail "cannot create crawler-least"
t_link_mac crawler-least eth0 >>"$LAB_STATE/crawler-macs"
lab_start_clientd_run crawler-least "$POOL_GW" - --replica-selection least-loaded \
	--state-file "$LAB_STATE/crawler-least.state" || fail "clientd run (least-loaded) did not become ready"
ip=$(pool_replica_ip crawler-least)
info "crawler-least: on $ip (${count[$ip]:-0} crawlers there, fewest $fewest)"
((${count[$ip]:-0} == fewest)) || err "crawler-least chose $ip with ${count[$ip]:-0} crawlers, not one with $fewest"
# pin: to the replica that will die.
lab_add_pod crawler-pin 10.244.0.90 || fail "cannot create crawler-pin"
t_link_mac crawler-pin eth0 >>"$LAB_STATE/crawler-macs"
lab_start_clientd_run crawler-pin "$POOL_GW" - --replica-selection pin --replica "${POOL_REPLICAS[$victim]}" \
	--state-file "$LAB_STATE/crawler-pin.state" || fail "clientd run (pinned) did not become ready"
[[ $(pool_replica_ip crawler-pin) == "$vip" ]] || err "crawler-pin is on $(pool_replica_ip crawler-pin), not its pinned $vip"

# ---- 1. the replica dies ----
pool_probe_start kill "${pods[@]}"
sleep 2
info "killing ${POOL_REPLICAS[$victim]} ($vip), ${count[$vip]} crawlers on it"
pool_kill_replica "$victim"
pool_probe_wait

moved=0
outages=()
while read -r pod ip; do
	after[$pod]=$ip
	read -r lost outage tail < <(pool_probe_summary kill "$pod")
	if [[ ${before[$pod]} == "$vip" ]]; then
		moved=$((moved + 1))
		outages+=("$outage")
		said=$(grep -o 'moved from replica .* after [0-9]* ms' "$LAB_STATE/$pod.clientd.log" | tail -n 1 || true)
		echo "FIGURE pool-failover $pod: outage $outage ms, $lost probes lost; clientd: ${said:-no move logged}"
		if [[ -z $ip || $ip == "$vip" || " ${POOL_IPS[*]} " != *" $ip "* ]]; then
			err "$pod: not moved to a live replica (tunnel toward '${ip:-none}')"
		fi
		((tail == 1)) || err "$pod: its last probes were not all answered after the move"
		[[ $(t_overlay_addr "$pod") == "${addr_before[$pod]}" ]] && kept=$((${kept:-0} + 1))
	else
		[[ $ip == "${before[$pod]}" ]] || err "$pod: moved from ${before[$pod]} to $ip although its replica lived"
		((lost == 0)) || err "$pod: lost $lost probes although its replica lived"
	fi
done < <(pool_where "$n")
sorted=$(printf '%s\n' "${outages[@]}" | sort -n)
median=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' <<<"$sorted")
worst=$(tail -n 1 <<<"$sorted")
[[ $(pool_replica_ip crawler-pin) == "$vip" ]] || err "crawler-pin moved to $(pool_replica_ip crawler-pin) although pinned to ${POOL_REPLICAS[$victim]}"
t_ping crawler-pin "$POOL_TARGET" 1 && err "crawler-pin reached $POOL_TARGET while its pinned replica was dead"
echo "FIGURE pool-failover moved $moved of $n crawlers; outage median $median ms, max $worst ms; kept their address: ${kept:-0} of $moved"

# ---- 2. the replica comes back: nobody moves ----
pool_probe_start back "${pods[@]}"
sleep 1
info "bringing ${POOL_REPLICAS[$victim]} ($vip) back"
pool_revive_replica "$victim"
pool_probe_wait
unmoved=0
while read -r pod ip; do
	read -r lost _ _ < <(pool_probe_summary back "$pod")
	if [[ $ip != "${after[$pod]}" ]]; then
		err "$pod: moved from ${after[$pod]} to $ip when ${POOL_REPLICAS[$victim]} came back"
	else
		unmoved=$((unmoved + 1))
	fi
	((lost == 0)) || err "$pod: lost $lost probes when ${POOL_REPLICAS[$victim]} came back"
done < <(pool_where "$n")
echo "FIGURE pool-failover replica back: $unmoved of $n crawlers stayed where they were"
t_ping_eventually crawler-pin "$POOL_TARGET" 10 || err "crawler-pin not routed again after its replica came back"

sleep 0.5
lab_stop_pid "$POOL_CAP_PID" INT 10 || true
leaks=$(($(pool_leaks) - control))
unnat=$(pool_frames other | wc -l)
echo "FIGURE pool-failover leaks: $leaks packets from crawlers outside the tunnel; $unnat un-NATed from gateway pods"
((leaks == 0)) || err "$leaks packets towards the internet left crawlers outside the tunnel: $(pool_frames crawler | tail -n 3 | tr '\n' '|')"
((unnat == 0)) || info "WARNING: gateway pods let $unnat crawler packets out without NAT: $(pool_frames other | head -n 3 | tr '\n' '|')"

t_report
pass "$moved crawlers moved to siblings (outage median $median ms, max $worst ms), the others untouched, nobody moved back, 0 leaks"
