#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Leases survive a gatewayd restart (--leases-file), and a corrupt leases file
# costs one renewal, not the crawlers:
#  - two crawlers run `clientd run`; gatewayd gets SIGTERM (it removes its link
#    and table) and starts again: it logs the restored leases and, without
#    touching the clientd processes, both crawlers get through again within
#    PODGW_TEST_RESTART_WINDOW seconds (20); the time is printed;
#  - the leases file is overwritten with garbage and gatewayd restarted: it
#    starts, warns, sets the file aside as .corrupt, the crawlers' renewals get
#    NO_LEASE (seen on the wire), they join again asking for their addresses
#    (JOIN with the wanted address), get them back and get through again.
# crawler-1 joins where it would not without a wish: crawler-0 first learns
# crawler-1's preferred address (a hash of its identity, the same in every
# gatewayd) by joining under its name, then holds that address while
# crawler-1 joins, and releases it: a rejoin that ignored the wish would get
# the preferred address, not crawler-1's.
# Leases last PODGW_TEST_LEASE_TIME seconds (12): clientd renews every third.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

window=${PODGW_TEST_RESTART_WINDOW:-20}
lease_time=${PODGW_TEST_LEASE_TIME:-12}
leases=$LAB_STATE/foo.leases
gwlog=$LAB_STATE/foo.gatewayd.log
gw_args=(--lease-time "$lease_time" --leases-file "$leases")
crawlers=(crawler-1 crawler-2)

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo "${gw_args[@]}" || fail "gatewayd in foo did not become ready"
gw_pid=$LAB_PID
declare -A run_pid=() addr=() mac=() pod_ip=([crawler-1]=10.244.0.11 [crawler-2]=10.244.0.12)
lab_add_pod crawler-0 10.244.0.10
lab_add_pod crawler-1 10.244.0.11
lab_add_pod crawler-2 10.244.0.12
lab_start_clientd_run crawler-0 foo - --pod-name crawler-1 ||
	fail "clientd run in crawler-0 (as crawler-1) did not become ready"
preferred=$(t_overlay_addr crawler-0)
lab_stop_pid "$LAB_PID" TERM 10 || fail "clientd run in crawler-0 did not exit within 10 s of SIGTERM"
[[ -n $preferred ]] || fail "crawler-0 (as crawler-1) had no address"
lab_start_clientd_run crawler-0 foo "$preferred" || fail "clientd run in crawler-0 (asking for $preferred) did not become ready"
holder_pid=$LAB_PID
info "crawler-1's preferred address is $preferred; crawler-0 holds it while crawler-1 joins"
for c in "${crawlers[@]}"; do
	lab_start_clientd_run "$c" foo - || fail "clientd run in $c did not become ready"
	run_pid[$c]=$LAB_PID
	addr[$c]=$(t_overlay_addr "$c")
	mac[$c]=$(t_link_mac "$c")
	[[ -n ${addr[$c]} && -n ${mac[$c]} ]] || fail "$c has no vxlan0 address or MAC after clientd run is ready"
	info "$c joined as ${addr[$c]} (vxlan MAC ${mac[$c]}), clientd run pid ${run_pid[$c]}"
done
[[ ${addr[crawler-1]} != "$preferred" ]] || fail "crawler-1 got $preferred, which crawler-0 held"
lab_stop_pid "$holder_pid" TERM 10 || fail "clientd run in crawler-0 did not exit within 10 s of SIGTERM"
t_ping_all 10 "${crawlers[@]}" || fail "no answer from 203.0.113.10 before any restart for: $T_MISSING"

new_log_lines() {
	tail -n "+$(($1 + 1))" "$gwlog"
}
# saved_both: the leases file has both crawlers' leases at their addresses.
# shellcheck disable=SC2317 # called through lab_wait_for
saved_both() {
	local c
	for c in "${crawlers[@]}"; do
		grep -Eq "^default/$c ${addr[$c]//./\\.} " "$leases" 2>/dev/null || return 1
	done
}
# gw_holds C: the gateway's neighbour entry and clients element for crawler C.
gw_holds() {
	local c=$1 a=${addr[$1]//./\\.} m=${mac[$1]}
	local neigh clients
	neigh=$(ip -n "$(lab_ns foo)" neigh show dev vxlan0 2>&1 || true)
	clients=$(ip netns exec "$(lab_ns foo)" nft list set inet podgw clients 2>&1 || true)
	grep -Eqi "^$a lladdr $m PERMANENT" <<<"$neigh" && grep -Eqi "$a \. $m" <<<"$clients"
}
# stop_gatewayd WHY: SIGTERM, exit 0, link and table gone.
stop_gatewayd() {
	lab_stop_pid "$gw_pid" TERM 10 || fail "gatewayd did not exit within 10 s of SIGTERM ($1)"
	((LAB_RC == 0)) || errors+=("gatewayd exited with $LAB_RC on SIGTERM ($1), not 0")
	[[ $(t_vxlan_count foo) == 0 ]] || errors+=("gatewayd left its vxlan link after SIGTERM ($1)")
	if grep -q podgw <<<"$(ip netns exec "$(lab_ns foo)" nft list tables)"; then
		errors+=("gatewayd left table inet podgw after SIGTERM ($1)")
	fi
}
# clients_untouched WHEN: the clientd processes are the same, alive, and the
# crawlers kept their addresses.
clients_untouched() {
	local c
	for c in "${crawlers[@]}"; do
		lab_pid_alive "${run_pid[$c]}" || errors+=("clientd run in $c (pid ${run_pid[$c]}) is gone $1")
		[[ $(t_overlay_addr "$c") == "${addr[$c]}" ]] ||
			errors+=("$c has '$(t_overlay_addr "$c")' on vxlan0 $1, '${addr[$c]}' before")
	done
}
# recover WHEN: times how long until both crawlers get through again.
recover() {
	local c
	if t_ping_all "$window" "${crawlers[@]}"; then
		for c in "${crawlers[@]}"; do
			info "$1: $c got through again ${T_FIRST[$c]} s after gatewayd was ready"
		done
	else
		errors+=("$1: no answer from 203.0.113.10 within $window s for: $T_MISSING")
	fi
}

lab_wait_for 5 saved_both || fail "the leases file does not hold both leases: $(tr '\n' '|' <"$leases" 2>/dev/null || true)"

# 1. A plain restart. The capture starts first: tcpdump takes up to half a
# second to listen, which must not lengthen the outage the crawlers see
# (they count the gateway lost after 1 s and would then join again).
pcap=$LAB_STATE/foo-control-restart.pcap
t_capture_start foo eth0 "$pcap" 'udp port 8473'
stop_gatewayd "restart"
saved_both || errors+=("the leases file lost a lease at shutdown: $(tr '\n' '|' <"$leases")")
log_from=$(wc -l <"$gwlog")
lab_start_gatewayd foo "${gw_args[@]}" || fail "gatewayd did not become ready again over its leases file"
gw_pid=$LAB_PID
restored=$(new_log_lines "$log_from" | grep 'restored .* leases from' || true)
if [[ $restored == *"restored 2 leases from"* ]]; then
	info "gatewayd: ${restored#*: }"
else
	errors+=("the restarted gatewayd did not log 'restored 2 leases from': $(new_log_lines "$log_from" | tr '\n' '|')")
fi
for c in "${crawlers[@]}"; do
	gw_holds "$c" || errors+=("the restarted gatewayd has no neighbour/clients entry for $c (${addr[$c]} ${mac[$c]}): $(lab_admission_dump foo | tr '\n' '|')")
done
recover "restart"
t_capture_stop
# Restored means restored: nobody had to join again to get through.
msgs=$(t_pg_messages "$pcap") || fail "cannot decode the capture of foo's control port"
if grep -Eq ' (JOIN|ERROR) ' <<<"$msgs"; then
	errors+=("after the plain restart crawlers got errors or joined again: $(grep -E ' (JOIN|ERROR) ' <<<"$msgs" | tr '\n' '|')")
fi
clients_untouched "after the restart"
t_report

# 2. A corrupt leases file (the capture first again: the crawlers must still
# renew when gatewayd is back, not count it lost).
pcap=$LAB_STATE/foo-control.pcap
t_capture_start foo eth0 "$pcap" 'udp port 8473'
stop_gatewayd "before the corruption"
printf 'podgw-leases 999\nthis is \001 not a lease\n' >"$leases"
garbage=$(md5sum <"$leases")
rm -f "$leases.corrupt"
log_from=$(wc -l <"$gwlog")
lab_start_gatewayd foo "${gw_args[@]}" || fail "gatewayd did not start over a corrupt leases file"
gw_pid=$LAB_PID
warning=$(new_log_lines "$log_from" | grep -i 'warning.*LEASES_FILE.*corrupt' || true)
if [[ -n $warning ]]; then
	info "gatewayd: ${warning#*: }"
else
	errors+=("gatewayd did not warn about the corrupt leases file: $(new_log_lines "$log_from" | tr '\n' '|')")
fi
if [[ ! -f $leases.corrupt ]]; then
	errors+=("the corrupt leases file was not set aside as $leases.corrupt")
elif [[ $(md5sum <"$leases.corrupt") != "$garbage" ]]; then
	errors+=("$leases.corrupt does not hold the corrupt file")
fi
recover "corrupt leases file"
t_capture_stop
msgs=$(t_pg_messages "$pcap") || fail "cannot decode the capture of foo's control port"
info "membership messages on foo's eth0 after the corrupt restart:"
printf '%s\n' "$msgs" | sed 's/^/    /'
for c in "${crawlers[@]}"; do
	no_lease=$(awk -v ip="${pod_ip[$c]}" '$4 ~ "^" ip ":" && $5 == "ERROR" && / error=7( |$)/ { print $1; exit }' <<<"$msgs")
	rejoin=
	if [[ -z $no_lease ]]; then
		errors+=("no NO_LEASE error (code 7) to $c (${pod_ip[$c]}) after the corrupt restart")
	else
		rejoin=$(awk -v ip="${pod_ip[$c]}" -v n="$no_lease" -v want="wanted=${addr[$c]}" '
			$1 > n && $2 ~ "^" ip ":" && $5 == "JOIN" { for (i = 6; i <= NF; i++) if ($i == want) { print $1; exit } }' <<<"$msgs")
		[[ -n $rejoin ]] || errors+=("$c did not JOIN asking for ${addr[$c]} after its NO_LEASE")
	fi
	grep -q "granted default/$c: ${addr[$c]} " <(new_log_lines "$log_from") ||
		errors+=("gatewayd did not grant $c its previous address ${addr[$c]} after the corrupt file: $(new_log_lines "$log_from" | grep "default/$c" | tr '\n' '|')")
	gw_holds "$c" || errors+=("after the corrupt file, gatewayd has no neighbour/clients entry for $c (${addr[$c]} ${mac[$c]}): $(lab_admission_dump foo | tr '\n' '|')")
done
clients_untouched "after the corrupt leases file"
lab_wait_for 5 saved_both || errors+=("the new leases file does not hold both leases again: $(tr '\n' '|' <"$leases" 2>/dev/null || true)")

t_report
pass "restored leases after a restart, rejoined at the same addresses after a corrupt leases file"
