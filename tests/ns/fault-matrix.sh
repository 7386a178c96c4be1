#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fail-closed under faults. A crawler runs `clientd run` behind gateway foo;
# for every fault below, PODGW_TEST_FAULT_CYCLES times (3), a probe stream
# (ICMP echo to 203.0.113.10 every 20 ms, bounded) runs from before the fault
# until traffic is back, while two captures in the node namespace record every
# IPv4 packet towards 203.0.113.0/24 and every IPv6 packet towards
# 2001:db8::/32 that does not come from a gateway's pod IP (the lab's pod
# network is dual-stack): one on the pod network's bridge br0, one on all of
# the node's interfaces (bridge ports included, the crawler's eth0 peer
# among them, so also frames bridged from pod to pod). A second probe
# stream, ICMPv6 to 2001:db8::10 every 0.1 s, runs beside the first: the
# crawler's IPv6 goes through the tunnel when the gateway grants it and is
# blocked otherwise, never out of eth0 (its recovery is printed, not
# asserted). Tunnel
# traffic is addressed to a gateway's pod IP and a gateway's own egress comes
# from its pod IP, so a captured frame is traffic outside the tunnel; its
# source MAC names the pod that sent it. Sent by a crawler, it is a leak.
# Sent by a gateway pod, it is crawler traffic the gateway let out without
# masquerading it (seen while a gateway namespace is being deleted): printed
# as a warning, not asserted.
#
# Asserted, per fault and cycle: no leak (IPv4 or IPv6) in either capture; answers again
# within PODGW_TEST_RECOVERY_BOUND seconds (20) of the end of the fault (for a
# restart, of the restart); clientd and gatewayd still running unless killed
# on purpose; the guard table podgw_guard in the crawler. Printed, never
# asserted: the recovery time (fault to the first answered probe after the last
# lost one), the outage (first lost to that answer) and the lost probes.
#
# Faults (PODGW_TEST_FAULTS selects some, by name):
#   gw-kill            gatewayd SIGKILL, restarted at once (same pod IP, same leases file)
#   client-kill        clientd run SIGKILL, no clientd for 3 s, `clientd run` again
#   client-vxlan-del   crawler: ip link del vxlan0
#   client-addr-flush  crawler: ip addr flush dev vxlan0
#   client-route-del   crawler: ip route del default
#   client-guard-del   crawler: nft delete table inet podgw_guard (it must come back)
#   client-leak-route  crawler: ip route add 203.0.113.0/24 via the node on eth0 for 2 s,
#                      and 2001:db8::/32 likewise (foreign routes around the tunnel:
#                      only the guard stops them)
#   gw-nft-flush       gateway: nft flush table inet podgw
#   gw-vxlan-del       gateway: ip link del vxlan0
#   gw-replace         the gateway pod deleted, a new one with a new pod IP, the name
#                      re-pointed in the crawler's hosts file
#   resolve-late       a new crawler whose hosts file lacks the gateway's name runs
#                      `clientd init`; the name comes back 2 s later: init waits,
#                      succeeds, and nothing leaks meanwhile
#   replica-kill       foo as a pool (two sibling pods join it before the first
#                      replica fault; the name resolves to all three): the replica
#                      the crawler uses dies as a pod does (gatewayd SIGKILL, its
#                      network gone, its IP still in the name); the crawler moves to
#                      a sibling. The dead replica comes back after the cycle.
#   replica-back       the crawler's replica dies (untimed, the crawler moves), then
#                      comes back under the probes: asserted, the crawler stays
#                      on the sibling and loses not one probe
# A fault that does not recover is not repeated; the lab is reset (both daemons
# restarted) before the next one. After gw-replace the crawler's guard must
# allow the new gateway pod IP and no longer the old one.
# Settings: PODGW_TEST_FAULT_CYCLES (3), PODGW_TEST_RECOVERY_BOUND (20 s),
# PODGW_TEST_PROBE_INTERVAL (0.02 s), PODGW_TEST_FAULTS (all, in the order above),
# PODGW_TEST_HOLD (a file: a failed cycle waits until it is removed).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Decimal points in $EPOCHREALTIME and awk's numbers.
export LC_ALL=C
command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: python3 is not installed (the probe stream needs it)"
	exit 77
}

cycles=${PODGW_TEST_FAULT_CYCLES:-3}
bound=${PODGW_TEST_RECOVERY_BOUND:-20}
all_faults=(gw-kill client-kill client-vxlan-del client-addr-flush client-route-del
	client-guard-del client-leak-route gw-nft-flush gw-vxlan-del gw-replace resolve-late
	replica-kill replica-back)
read -r -a faults <<<"${PODGW_TEST_FAULTS:-${all_faults[*]}}"
[[ $cycles =~ ^[1-9]$ ]] || fail "PODGW_TEST_FAULT_CYCLES must be 1..9, not '$cycles'"
[[ $bound =~ ^[1-9][0-9]{0,2}$ ]] || fail "PODGW_TEST_RECOVERY_BOUND must be 1..999 seconds, not '$bound'"
[[ ${PODGW_TEST_PROBE_INTERVAL:-0.02} =~ ^0\.(0[1-9]|[1-9][0-9]?)$ ]] ||
	fail "PODGW_TEST_PROBE_INTERVAL must be 0.01..0.99 seconds, not '$PODGW_TEST_PROBE_INTERVAL'"
for f in "${faults[@]}"; do
	[[ " ${all_faults[*]} " == *" $f "* ]] || fail "unknown fault '$f' (known: ${all_faults[*]})"
done

gw_name=foo
crawler=crawler
crawler_ip=10.244.0.11
# The gateway pods: foo, then one new pod per gw-replace cycle.
gw_pod=foo
gw_ip=10.244.0.2
gw_ips=("$gw_ip")
for ((i = 1; i <= cycles; i++)); do
	gw_ips+=("10.244.0.$((2 + i))")
done
target=203.0.113.10
target6=$LAB_INTERNET_IP6
# The siblings that make foo a pool for the replica faults (and whose egress
# is a gateway's, not a leak).
sib_pods=(foo-s1 foo-s2)
sib_ips=(10.244.0.60 10.244.0.61)
gw_ips+=("${sib_ips[@]}")
# Seconds between probes: 50 a second, so that outages of a few tens of
# milliseconds show.
probe_interval=${PODGW_TEST_PROBE_INTERVAL:-0.02}
# Every capture runs at most this long (the whole test fits in meson's 900 s).
capture_bound=1200

err() {
	errors+=("$*")
	echo "$T_NAME: ERROR: $*" >&2
}

# ---- time ----

now() {
	printf '%s\n' "$EPOCHREALTIME"
}

# secs A B: B - A with two decimals.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# sleep_until T: sleeps until the wall clock reaches T (if it has not).
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}

# ---- the leak captures ----

# cap_start NS_NAME IFACE FILE FILTER: tcpdump in the background, bounded;
# returns once it listens; prints its pid.
cap_start() {
	local name=$1 iface=$2 file=$3 filter=$4 i pid
	: >"$file.err"
	timeout -s INT "$capture_bound" ip netns exec "$(lab_ns "$name")" \
		tcpdump -Z root -U --immediate-mode -n -i "$iface" -w "$file" "$filter" \
		</dev/null >/dev/null 2>"$file.err" &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		if grep -q 'listening on' "$file.err"; then
			printf '%s\n' "$pid"
			return 0
		fi
		lab_pid_alive "$pid" || break
		sleep 0.1
	done
	cat "$file.err" >&2
	return 1
}

# add_pod NAME IP ROLE: lab_add_pod, and the pod's eth0 MAC noted with ROLE
# (crawler or gateway) so that a captured frame names its sender.
add_pod() {
	lab_add_pod "$1" "$2" || return 1
	note_mac "$1" "$3"
}

note_mac() {
	local mac
	mac=$(ip -n "$(lab_ns "$1")" -o link show eth0 | grep -Eo 'link/ether [0-9a-f:]+' | awk '{ print $2 }')
	printf '%s %s %s\n' "$mac" "$2" "$1" >>"$LAB_STATE/macs"
}

# frames FILE START END: the captured frames of the window that came from a
# pod, one a line: ROLE POD TCPDUMP-LINE. The sender is the frame's source
# MAC (br0 is Ethernet; on "any" only frames a device received count, so a
# frame is not counted again when the node sends it on). Unknown senders
# count as crawlers.
frames() {
	{ tcpdump -r "$1" -nn -e -tt 2>/dev/null || true; } |
		awk -v s="$2" -v e="$3" -v macs="$LAB_STATE/macs" '
			BEGIN { while ((getline l < macs) > 0) { split(l, f, " "); role[f[1]] = f[2]; pod[f[1]] = f[3] } }
			$1 + 0 < s + 0 || $1 + 0 >= e + 0 { next }
			{ mac = "" }
			$3 == ">" && length($2) == 17 { mac = $2 }
			$4 == "ifindex" { if ($3 == "Out") next; mac = $6 }
			{ r = (mac in role) ? role[mac] : "crawler"; p = (mac in pod) ? pod[mac] : "unknown:" mac
			  print r, p, $0 }'
}

# win_leaks START END: "CRAWLER_BR0 CRAWLER_NODE GATEWAY_BR0 GATEWAY_NODE":
# frames towards 203.0.113.0/24 outside the tunnel, sent by crawlers (leaks)
# and by gateway pods (crawler traffic the gateway let out without NAT).
win_leaks() {
	local cb ca gb ga
	cb=$(frames "$cap_br0" "$1" "$2" | grep -c '^crawler ' || true)
	ca=$(frames "$cap_any" "$1" "$2" | grep -c '^crawler ' || true)
	gb=$(frames "$cap_br0" "$1" "$2" | grep -c '^gateway ' || true)
	ga=$(frames "$cap_any" "$1" "$2" | grep -c '^gateway ' || true)
	printf '%s %s %s %s\n' "$cb" "$ca" "$gb" "$ga"
}

# leak_sample ROLE START END: the first frames of the window from ROLE.
leak_sample() {
	{
		frames "$cap_br0" "$2" "$3" | sed 's/^/br0: /'
		frames "$cap_any" "$2" "$3" | sed 's/^/node: /'
	} | awk -v r="$1" '$2 == r && n++ < 4 { $2 = ""; print }' | tr '\n' '|'
}

# ---- the probe stream ----

# The prober is the benchmark runner's (tests/bench/benchlib.py probe): ICMP
# echo every INTERVAL s, one "S/E/R SEQ TIME" line per event.
probe_py=$LAB_SRC/tests/bench/benchlib.py

PROBE_PID=
PROBE_OUT=
PROBE_STOP=
PROBE6_PID=
PROBE6_OUT=
# probe_start POD TAG: the probe stream from POD, in the background.
probe_start() {
	local pod=$1 tag=$2 i
	PROBE_OUT=$LAB_STATE/probe-$tag.txt
	PROBE_STOP=$LAB_STATE/probe-$tag.stop
	rm -f "$PROBE_STOP"
	: >"$PROBE_OUT"
	# At most bound + 60 s of probes, and the timeout as a last resort.
	timeout -s KILL $((bound + 90)) ip netns exec "$(lab_ns "$pod")" \
		python3 "$probe_py" probe "$target" "$probe_interval" $((bound + 60)) "$PROBE_STOP" \
		</dev/null >"$PROBE_OUT" 2>"$PROBE_OUT.err" &
	PROBE_PID=$!
	# The IPv6 stream: traffic that would leak if the guard let it.
	PROBE6_OUT=$LAB_STATE/probe6-$tag.txt
	: >"$PROBE6_OUT"
	timeout -s KILL $((bound + 90)) ip netns exec "$(lab_ns "$pod")" \
		python3 "$probe_py" probe "$target6" 0.1 $((bound + 60)) "$PROBE_STOP" \
		</dev/null >"$PROBE6_OUT" 2>"$PROBE6_OUT.err" &
	PROBE6_PID=$!
	for ((i = 0; i < 50; i++)); do
		[[ -s $PROBE_OUT && -s $PROBE6_OUT ]] && return 0
		sleep 0.1
	done
	cat "$PROBE_OUT.err" "$PROBE6_OUT.err" >&2
	fail "the probe streams did not start in $pod"
}

probe_stop() {
	local i
	touch "$PROBE_STOP"
	for ((i = 0; i < 30; i++)); do
		lab_pid_alive "$PROBE_PID" || lab_pid_alive "$PROBE6_PID" || break
		sleep 0.1
	done
	lab_stop_pid "$PROBE_PID" TERM 5 2>/dev/null || true
	lab_stop_pid "$PROBE6_PID" TERM 5 2>/dev/null || true
}

# probe6_counts: "SENT ANSWERED" of the IPv6 stream.
probe6_counts() {
	awk '$1 == "S" || $1 == "E" { n++ } $1 == "R" { r++ } END { printf "%d %d\n", n, r }' "$PROBE6_OUT"
}

# probe_stable SINCE: traffic flows since SINCE: SINCE is 1.5 s past, and of
# the probes sent between 1.5 s and 0.5 s ago (at least 5) every one was
# answered.
# shellcheck disable=SC2317 # called through lab_wait_for
probe_stable() {
	awk -v since="$1" -v now="$EPOCHREALTIME" '
		($1 == "S" || $1 == "E") && $3 + 0 >= now - 1.5 && $3 + 0 <= now - 0.5 { sent[++n] = $2 }
		$1 == "R" { ok[$2] = 1 }
		END {
			if (since + 0 > now - 1.5 || n < 5) exit 1
			for (i = 1; i <= n; i++) if (!(sent[i] in ok)) exit 1
			exit 0
		}' "$PROBE_OUT"
}

# probe_wait_stable SINCE SECONDS: probe_stable, polled, bounded.
probe_wait_stable() {
	local since=$1 seconds=$2 i
	for ((i = 0; i < seconds * 5; i++)); do
		probe_stable "$since" && return 0
		sleep 0.2
	done
	probe_stable "$since"
}

# probe_summary FAULT_TIME READY_TIME: one line of fields:
#   SENT LOST ERRORS RECOVERY OUTAGE AFTER_READY FIRST_OK
# RECOVERY: FAULT_TIME to the first answered probe after the last lost one
# (0 when none was lost); OUTAGE: the first lost probe to that answer;
# AFTER_READY: READY_TIME to that answer (0 if before); "-" when it never came.
# ERRORS: send errors by kind ("EPERM:3,ENETUNREACH:5") or "-".
probe_summary() {
	awk -v tf="$1" -v tr="$2" '
		($1 == "S" || $1 == "E") && $3 + 0 >= tf + 0 { ts[$2] = $3; seqs[++n] = $2 }
		$1 == "E" && $3 + 0 >= tf + 0 { e[$4]++ }
		$1 == "R" { ok[$2] = 1 }
		END {
			lost = 0; last = 0; first = 0
			for (i = 1; i <= n; i++) {
				s = seqs[i]
				if (!(s in ok)) { lost++; last = s; if (!first) first = s }
			}
			errs = ""
			for (k in e) errs = errs (errs == "" ? "" : ",") k ":" e[k]
			if (errs == "") errs = "-"
			if (lost == 0) { printf "%d 0 %s 0.00 0.00 0.00 %s\n", n, errs, tf; exit }
			okseq = 0
			for (i = 1; i <= n; i++) if (seqs[i] > last && (seqs[i] in ok)) { okseq = seqs[i]; break }
			if (!okseq) { printf "%d %d %s - - - -\n", n, lost, errs; exit }
			ar = ts[okseq] - tr; if (ar < 0) ar = 0
			printf "%d %d %s %.2f %.2f %.2f %s\n", n, lost, errs, ts[okseq] - tf,
				ts[okseq] - ts[first], ar, ts[okseq]
		}' "$PROBE_OUT"
}

# ---- the lab's moving parts ----

gw_pid=
client_pid=

start_gatewayd() {
	lab_start_gatewayd "$gw_pod" || return 1
	gw_pid=$LAB_PID
}

start_clientd() {
	lab_start_clientd_run "$crawler" "$gw_name" - || return 1
	client_pid=$LAB_PID
}

# point_name IP: the gateway's name resolves to IP in every pod of the lab.
point_name() {
	if ((${pool_up:-0})); then
		point_replicas
		return
	fi
	printf '%s\t%s pod-gateway-%s\n' "$1" "$gw_name" "$gw_name" >"$LAB_STATE/hosts"
	lab_write_hosts
}

guard_present() {
	ip netns exec "$(lab_ns "$1")" nft list table inet podgw_guard >/dev/null 2>&1
}

# guard_drops POD: the guard's drop counter in chain output (empty: no guard).
guard_drops() {
	ip netns exec "$(lab_ns "$1")" nft list chain inet podgw_guard output 2>/dev/null |
		awk '/drop/ && match($0, /counter packets [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), f, " "); print f[3]; exit }' || true
}

# guard_allows_only POD IP: the guard's output chain lets UDP to IP out and
# names no other gateway pod IP of the test.
# shellcheck disable=SC2317 # called through lab_wait_for
guard_allows_only() {
	local chain ip
	chain=$(ip netns exec "$(lab_ns "$1")" nft list chain inet podgw_guard output 2>/dev/null) || return 1
	grep -q "ip daddr $2 udp dport" <<<"$chain" || return 1
	for ip in "${gw_ips[@]}"; do
		[[ $ip == "$2" ]] && continue
		if grep -q "ip daddr $ip " <<<"$chain"; then
			return 1
		fi
	done
}

# state_dump POD: what a failed cycle left in the pod, on stderr.
state_dump() {
	{
		echo "---- $1 after the failed cycle ----"
		lab_snapshot "$1" 2>&1 || true
		echo "## bridge fdb show dev vxlan0"
		ip netns exec "$(lab_ns "$1")" bridge fdb show dev vxlan0 2>&1 || true
		echo "## ip neigh"
		ip -n "$(lab_ns "$1")" neigh show 2>&1 || true
	} | sed 's/^/    /' >&2
}

# reset_lab: both daemons restarted, and the crawler through the tunnel.
reset_lab() {
	info "resetting the lab: restarting gatewayd in $gw_pod and clientd run in $crawler"
	revive_replica || true
	if lab_pid_alive "$client_pid"; then
		lab_stop_pid "$client_pid" TERM 10 || true
	fi
	if lab_pid_alive "$gw_pid"; then
		lab_stop_pid "$gw_pid" TERM 10 || true
	fi
	start_gatewayd || return 1
	start_clientd || return 1
	t_ping_eventually "$crawler" "$target" 10
}

# ---- the faults: each injects one and returns when it is over ----

FAULT_NOTE=
fault_gw_kill() {
	lab_stop_pid "$gw_pid" KILL 5 2>/dev/null || true
	start_gatewayd || err "gw-kill: gatewayd did not become ready again after SIGKILL"
}

fault_client_kill() {
	lab_stop_pid "$client_pid" KILL 5 2>/dev/null || true
	sleep 3
	start_clientd || err "client-kill: clientd run did not become ready again after SIGKILL"
}

fault_client_vxlan_del() {
	lab_exec "$crawler" ip link del vxlan0 || FAULT_NOTE="no vxlan0 to delete"
}

fault_client_addr_flush() {
	lab_exec "$crawler" ip addr flush dev vxlan0 || FAULT_NOTE="no vxlan0 to flush"
}

fault_client_route_del() {
	lab_exec "$crawler" ip route del default || FAULT_NOTE="no default route to delete"
}

fault_client_guard_del() {
	if ! lab_exec "$crawler" nft delete table inet podgw_guard 2>/dev/null; then
		FAULT_NOTE="no guard table to delete"
	fi
}

fault_client_leak_route() {
	local before after
	before=$(guard_drops "$crawler")
	lab_exec "$crawler" ip route add 203.0.113.0/24 via "$LAB_POD_NET_ROUTER" dev eth0 ||
		FAULT_NOTE="could not add the route"
	lab_exec "$crawler" ip -6 route add 2001:db8::/32 via "$LAB_POD_NET6_ROUTER" dev eth0 ||
		FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }could not add the IPv6 route"
	sleep 2
	lab_exec "$crawler" ip route del 203.0.113.0/24 via "$LAB_POD_NET_ROUTER" dev eth0 2>/dev/null ||
		FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }the route was gone after 2 s"
	lab_exec "$crawler" ip -6 route del 2001:db8::/32 via "$LAB_POD_NET6_ROUTER" dev eth0 2>/dev/null ||
		FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }the IPv6 route was gone after 2 s"
	after=$(guard_drops "$crawler")
	if [[ -n $before && -n $after ]]; then
		FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }guard dropped $((after - before))"
	else
		FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }no guard"
	fi
}

fault_gw_nft_flush() {
	lab_exec "$gw_pod" nft flush table inet podgw || FAULT_NOTE="no table inet podgw to flush"
}

fault_gw_vxlan_del() {
	lab_exec "$gw_pod" ip link del vxlan0 || FAULT_NOTE="no vxlan0 to delete"
}

replaced=0
fault_gw_replace() {
	local old=$gw_pod
	replaced=$((replaced + 1))
	lab_stop_pid "$gw_pid" KILL 5 2>/dev/null || true
	lab_del_pod "$old"
	gw_pod=$gw_name-r$replaced
	gw_ip=${gw_ips[$replaced]}
	add_pod "$gw_pod" "$gw_ip" gateway || fail "gw-replace: cannot create the new gateway pod"
	lab_set_gateway_of "$gw_pod" "$gw_name"
	start_gatewayd || err "gw-replace: gatewayd in the new pod $gw_pod did not become ready"
	point_name "$gw_ip"
	FAULT_NOTE="$old -> $gw_pod ($gw_ip)"
}

# ---- gateway pools ----

pool_up=0
dead_replica=
# replicas_up: foo's two siblings, once; the name resolves to all three.
replicas_up() {
	local i
	((pool_up)) && return 0
	for i in "${!sib_pods[@]}"; do
		add_pod "${sib_pods[$i]}" "${sib_ips[$i]}" gateway || return 1
		printf '%s %s\n' "${sib_pods[$i]}" "${sib_pods[$i]}" >>"$LAB_STATE/replicas"
		lab_set_gateway_of "${sib_pods[$i]}" "$gw_name"
		lab_start_gatewayd "${sib_pods[$i]}" || return 1
	done
	pool_up=1
	point_replicas
}

# point_replicas: the name resolves to the gateway pod and both siblings.
point_replicas() {
	local ip
	for ip in "$gw_ip" "${sib_ips[@]}"; do
		printf '%s\t%s pod-gateway-%s\n' "$ip" "$gw_name" "$gw_name"
	done >"$LAB_STATE/hosts"
	lab_write_hosts
}

# replica_in_use: "POD IP" of the replica the crawler's tunnel points at.
replica_in_use() {
	local ip i
	ip=$(lab_exec "$crawler" bridge fdb show dev vxlan0 2>/dev/null |
		awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") { print $(i + 1); exit } }')
	[[ $ip == "$gw_ip" ]] && printf '%s %s\n' "$gw_pod" "$ip" && return 0
	for i in "${!sib_ips[@]}"; do
		[[ $ip == "${sib_ips[$i]}" ]] && printf '%s %s\n' "${sib_pods[$i]}" "$ip" && return 0
	done
	printf '? %s\n' "${ip:-none}"
}

# kill_replica_in_use: as a dead pod: gatewayd SIGKILL, the pod's network gone.
kill_replica_in_use() {
	local pod ip
	read -r pod ip < <(replica_in_use)
	[[ $pod != "?" ]] || return 1
	lab_stop_pid "$(<"$LAB_STATE/$pod.gatewayd.pid")" KILL 5 2>/dev/null || true
	lab_del_pod "$pod"
	dead_replica=$pod
	FAULT_NOTE="killed $pod ($ip)"
}

# revive_replica: the dead replica as a new pod (same IP, no leases).
revive_replica() {
	local pod=$dead_replica ip=$gw_ip i
	[[ -n $pod ]] || return 0
	for i in "${!sib_pods[@]}"; do
		[[ $pod == "${sib_pods[$i]}" ]] && ip=${sib_ips[$i]}
	done
	rm -f "$LAB_STATE/$pod.leases"
	add_pod "$pod" "$ip" gateway || return 1
	if [[ $pod == "$gw_pod" ]]; then
		start_gatewayd || return 1
	else
		lab_start_gatewayd "$pod" || return 1
	fi
	dead_replica=
}

fault_replica_kill() {
	kill_replica_in_use || FAULT_NOTE="the crawler's tunnel points at no replica"
}

# replica-back: the move happened before the probes (prepare_replica_back);
# the fault is the replica's return.
back_from=
prepare_replica_back() {
	local i
	kill_replica_in_use || return 1
	# A namespace being deleted may still forward for a moment, so a ping
	# can pass before the crawler moved: wait for the move (at most 10 s).
	for ((i = 0; i < 100; i++)); do
		[[ $(replica_in_use) == "$dead_replica "* ]] || break
		sleep 0.1
	done
	t_ping_eventually "$crawler" "$target" 10 || return 1
	back_from=$(replica_in_use)
}

fault_replica_back() {
	FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }back: $dead_replica"
	revive_replica || FAULT_NOTE="$FAULT_NOTE (did not start)"
}

# inject FAULT: the fault, by name.
inject() {
	case $1 in
	gw-kill) fault_gw_kill ;;
	client-kill) fault_client_kill ;;
	client-vxlan-del) fault_client_vxlan_del ;;
	client-addr-flush) fault_client_addr_flush ;;
	client-route-del) fault_client_route_del ;;
	client-guard-del) fault_client_guard_del ;;
	client-leak-route) fault_client_leak_route ;;
	gw-nft-flush) fault_gw_nft_flush ;;
	gw-vxlan-del) fault_gw_vxlan_del ;;
	gw-replace) fault_gw_replace ;;
	replica-kill) fault_replica_kill ;;
	replica-back) fault_replica_back ;;
	*) fail "no such fault: $1" ;;
	esac
}

# ---- running them ----

declare -A res_rec=() res_leak=() res_unnat=() res_status=() res_note=()
t_begin=

# record FAULT CYCLE START END SUMMARY...: checks and prints one cycle; returns
# 1 when traffic did not come back.
record() {
	local fault=$1 cycle=$2 start=$3 end=$4
	shift 4
	local sent=$1 lost=$2 errs=$3 rec=$4 outage=$5 after=$6
	local cb ca gb ga rc=0
	sleep 0.3 # let the captures write the window's last packets
	read -r cb ca gb ga < <(win_leaks "$start" "$end")
	local s6 r6
	read -r s6 r6 < <(probe6_counts)
	info "$fault #$cycle: $sent probes, $lost lost (send errors $errs), recovery ${rec} s," \
		"outage ${outage} s, ${after} s after the fault ended; IPv6 probes $r6 of $s6 answered;" \
		"leaks br0=$cb node=$ca${FAULT_NOTE:+ ($FAULT_NOTE)}"
	res_rec[$fault]+="$rec "
	res_leak[$fault]=$((${res_leak[$fault]:-0} + cb + ca))
	res_unnat[$fault]=$((${res_unnat[$fault]:-0} + gb + ga))
	if [[ -n $FAULT_NOTE ]]; then
		res_note[$fault]+="#$cycle: $FAULT_NOTE; "
	fi
	if ((cb + ca > 0)); then
		err "$fault #$cycle: crawler frames to 203.0.113.0/24 or 2001:db8::/32 outside the tunnel: $cb on br0, $ca on the node's interfaces: $(leak_sample crawler "$start" "$end")"
		res_status[$fault]=FAIL
	fi
	if ((gb + ga > 0)); then
		info "$fault #$cycle: WARNING: a gateway pod sent $gb (br0) / $ga (node) frames to 203.0.113.0/24 from a source other than its pod IP (not masqueraded): $(leak_sample gateway "$start" "$end")"
	fi
	if [[ $rec == - ]] || awk -v a="$after" -v b="$bound" 'BEGIN { exit !(a > b) }'; then
		err "$fault #$cycle: no stable answers from $target within $bound s after the fault ended"
		res_status[$fault]=FAIL
		rc=1
	fi
	return "$rc"
}

# run_fault FAULT CYCLE: one cycle of a crawler fault.
run_fault() {
	local fault=$1 cycle=$2 start t_fault t_ready summary rc=0
	FAULT_NOTE=
	if [[ $fault == replica-back ]] && ! prepare_replica_back; then
		err "$fault #$cycle: the crawler did not move to a sibling when its replica died"
		res_status[$fault]=FAIL
		revive_replica || true
		return 1
	fi
	start=$(now)
	probe_start "$crawler" "$fault-$cycle"
	sleep 1
	t_fault=$(now)
	inject "$fault"
	t_ready=$(now)
	probe_wait_stable "$t_ready" "$bound" || true
	sleep 0.5
	probe_stop
	summary=$(probe_summary "$t_fault" "$t_ready")
	# shellcheck disable=SC2086 # fields
	if ! record "$fault" "$cycle" "$start" "$(now)" $summary; then
		rc=1
		state_dump "$crawler"
		state_dump "$gw_pod"
		hold_if_asked
	fi
	if [[ $fault == replica-kill ]]; then
		read -r pod_now _ < <(replica_in_use)
		if [[ $pod_now == "?" || $pod_now == "$dead_replica" ]]; then
			err "$fault #$cycle: the crawler's tunnel does not point at a live sibling ($(replica_in_use))"
			res_status[$fault]=FAIL
		fi
		revive_replica || err "$fault #$cycle: the dead replica did not come back"
	fi
	if [[ $fault == replica-back ]]; then
		read -r _ lost _ <<<"$summary"
		if [[ $(replica_in_use) != "$back_from" ]]; then
			err "$fault #$cycle: the crawler moved from $back_from to $(replica_in_use) when a replica came back"
			res_status[$fault]=FAIL
		fi
		if [[ $lost != 0 ]]; then
			err "$fault #$cycle: $lost probes lost when a replica came back"
			res_status[$fault]=FAIL
		fi
	fi
	if [[ $fault != client-kill ]] && ! lab_pid_alive "$client_pid"; then
		err "$fault #$cycle: clientd run (pid $client_pid) is gone"
		res_status[$fault]=FAIL
		rc=1
	fi
	if [[ $fault == client-kill ]] && ! lab_pid_alive "$client_pid"; then
		err "$fault #$cycle: the restarted clientd run (pid $client_pid) is gone"
		res_status[$fault]=FAIL
		rc=1
	fi
	if [[ $fault != gw-kill && $fault != gw-replace && $fault != replica-* ]] && ! lab_pid_alive "$gw_pid"; then
		err "$fault #$cycle: gatewayd (pid $gw_pid) is gone"
		res_status[$fault]=FAIL
		rc=1
	fi
	if [[ $fault == gw-replace ]]; then
		if lab_wait_for 5 guard_allows_only "$crawler" "$gw_ip"; then
			info "$fault #$cycle: the guard allows $gw_ip and no other gateway IP"
		else
			err "$fault #$cycle: the crawler's guard does not allow exactly the new gateway $gw_ip: $(lab_exec "$crawler" nft list chain inet podgw_guard output 2>&1 | grep -E 'dport|daddr 10\.' | tr '\n' '|')"
			res_status[$fault]=FAIL
		fi
	fi
	if [[ $fault == client-guard-del ]]; then
		if lab_wait_for 5 guard_present "$crawler"; then
			info "$fault #$cycle: the guard table is back"
		else
			err "$fault #$cycle: no table inet podgw_guard in the crawler 5 s after it was deleted"
			res_status[$fault]=FAIL
		fi
	fi
	return "$rc"
}

# hold_if_asked: with PODGW_TEST_HOLD=FILE a failed cycle's lab stays up
# until FILE is removed, to be looked at by hand.
hold_if_asked() {
	[[ -n ${PODGW_TEST_HOLD:-} ]] || return 0
	touch "$PODGW_TEST_HOLD"
	echo "holding: lab $LAB_PREFIX (state $LAB_STATE); remove $PODGW_TEST_HOLD to go on" >&2
	while [[ -e $PODGW_TEST_HOLD ]]; do sleep 1; done
}

# run_resolve_late CYCLE: a new crawler, its gateway name missing for 2 s.
run_resolve_late() {
	local cycle=$1 pod=fresh-$1 ip=10.244.0.$((100 + $1)) ns start t_fault t_ready t_done
	local rcfile guard_seen=no i summary rc=0 init_rc log
	FAULT_NOTE=
	add_pod "$pod" "$ip" crawler || fail "resolve-late: cannot create pod $pod"
	ns=$(lab_ns "$pod")
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"/etc/netns/$ns/hosts"
	rcfile=$LAB_STATE/$pod.init.rc
	log=$LAB_STATE/$pod.init.log
	rm -f "$rcfile"
	start=$(now)
	t_fault=$start
	(
		r=0
		lab_clientd_init "$pod" "$gw_name" - --gateway-resolve-timeout 30 >"$log" 2>&1 || r=$?
		echo "$r" >"$rcfile"
	) &
	# The probes start once the guard is there (an init container runs
	# before the pod's other containers), at the latest after 1 s.
	for ((i = 0; i < 10; i++)); do
		if guard_present "$pod"; then
			guard_seen=yes
			break
		fi
		sleep 0.1
	done
	probe_start "$pod" "resolve-late-$cycle"
	sleep_until "$(awk -v a="$t_fault" 'BEGIN { printf "%.6f", a + 2 }')"
	sleep 1
	[[ $guard_seen == yes ]] || ! guard_present "$pod" || guard_seen=late
	if [[ -e $rcfile ]]; then
		err "resolve-late #$cycle: clientd init exited ($(<"$rcfile")) before the name could be resolved: $(tr '\n' '|' <"$log")"
		res_status[resolve-late]=FAIL
	fi
	lab_write_hosts_file "$ns"
	t_ready=$(now)
	i=0
	while [[ ! -e $rcfile ]] && ((i++ < 400)); do
		sleep 0.1
	done
	t_done=$(now)
	init_rc=$(cat "$rcfile" 2>/dev/null || echo "still running")
	FAULT_NOTE="guard during the wait: $guard_seen; init exit $init_rc $(secs "$t_ready" "$t_done") s after the name came back"
	if [[ $init_rc != 0 ]]; then
		err "resolve-late #$cycle: clientd init did not succeed after the name came back (exit $init_rc): $(tr '\n' '|' <"$log")"
		res_status[resolve-late]=FAIL
		rc=1
	fi
	[[ $guard_seen != no ]] || err "resolve-late #$cycle: no table inet podgw_guard in $pod while clientd init waited for the name"
	probe_wait_stable "$t_ready" "$bound" || true
	sleep 0.5
	probe_stop
	summary=$(probe_summary "$t_fault" "$t_ready")
	# shellcheck disable=SC2086 # fields
	if ! record resolve-late "$cycle" "$start" "$(now)" $summary; then
		rc=1
		state_dump "$pod"
		hold_if_asked
	fi
	lab_del_pod "$pod"
	return "$rc"
}

# ---- the lab ----

lab_create_base
# The internet's own frames (its neighbour discovery towards the node, from
# a link-local source) are neither a crawler's nor a gateway's.
printf '%s infra internet\n' "$(ip -n "$(lab_ns internet)" -o link show eth0 |
	grep -Eo 'link/ether [0-9a-f:]+' | awk '{ print $2 }')" >>"$LAB_STATE/macs"
lab_add_gateway "$gw_name" "$gw_ip"
note_mac "$gw_pod" gateway
start_gatewayd || fail "gatewayd in $gw_pod did not become ready"
add_pod "$crawler" "$crawler_ip" crawler

# Un-encapsulated traffic towards the internet that no gateway sent, both
# families.
not_gw='' not_gw6=''
for ip in "${gw_ips[@]}"; do
	not_gw+=" and not src host $ip"
	not_gw6+=" and not src host $(lab_ip6 "$ip")"
done
filter="(ip and dst net 203.0.113.0/24 and not src net 203.0.113.0/24$not_gw)"
filter+=" or (ip6 and dst net 2001:db8::/32 and not src net 2001:db8::/32$not_gw6)"
cap_br0=$LAB_STATE/leaks-br0.pcap
cap_any=$LAB_STATE/leaks-node.pcap
cap_br0_pid=$(cap_start node br0 "$cap_br0" "$filter") || fail "tcpdump did not start on br0"
cap_any_pid=$(cap_start node any "$cap_any" "$filter") || fail "tcpdump did not start on the node's interfaces"

# The captures see a leak: the crawler before clientd has the node's routes.
start=$(now)
t_ping "$crawler" "$target" 1 || fail "the crawler cannot reach $target directly before clientd (lab broken?)"
t_ping6 "$crawler" "$target6" 1 || fail "the crawler cannot reach $target6 directly before clientd (lab broken?)"
sleep 0.5
read -r cb ca _ _ < <(win_leaks "$start" "$(now)")
c6b=$(frames "$cap_br0" "$start" "$(now)" | grep -c '^crawler .*ethertype IPv6' || true)
c6a=$(frames "$cap_any" "$start" "$(now)" | grep -c '^crawler .*ethertype IPv6' || true)
((cb > c6b && ca > c6a)) || fail "the captures missed the crawler's direct ping (br0 $cb, node $ca): they would miss leaks"
((c6b > 0 && c6a > 0)) || fail "the captures missed the crawler's direct ping -6 (br0 $c6b, node $c6a): they would miss IPv6 leaks"
info "control: the crawler's direct pings before clientd are seen (br0 $cb, node $ca frames; IPv6 among them: $c6b, $c6a)"

t_begin=$(now)
start_clientd || fail "clientd run in $crawler did not become ready"
t_ping_eventually "$crawler" "$target" 10 || fail "no answer from $target through the tunnel after clientd run is ready"
if guard_present "$crawler"; then
	info "the crawler's guard:"
	lab_exec "$crawler" nft list table inet podgw_guard | sed 's/^/    /'
else
	err "no table inet podgw_guard in the crawler after clientd run is ready"
fi

for fault in "${faults[@]}"; do
	res_status[$fault]=ok
	if [[ $fault == replica-* ]]; then
		replicas_up || fail "the siblings of $gw_name did not start"
	fi
	if [[ $fault != resolve-late ]] && ! t_ping_eventually "$crawler" "$target" 5; then
		reset_lab || fail "no traffic before $fault, even after a reset"
	fi
	for ((c = 1; c <= cycles; c++)); do
		if [[ $fault == resolve-late ]]; then
			run_resolve_late "$c" && continue
		else
			run_fault "$fault" "$c" && continue
		fi
		if ((c < cycles)); then
			info "$fault: not repeated after a failed cycle"
		fi
		reset_lab || fail "no traffic after $fault, even after a reset"
		break
	done
done

t_end=$(now)
sleep 0.5
read -r cb ca gb ga < <(win_leaks "$t_begin" "$(now)")
lab_stop_pid "$cap_br0_pid" INT 10 || true
lab_stop_pid "$cap_any_pid" INT 10 || true
guard_present "$crawler" || err "no table inet podgw_guard in the crawler at the end"
if ((cb + ca > 0)); then
	err "over the whole run ($(secs "$t_begin" "$t_end") s), crawlers sent $cb frames outside the tunnel seen on br0, $ca on the node's interfaces: $(leak_sample crawler "$t_begin" "$t_end")"
fi

echo
echo "fault               status  recovery s (per cycle)      leaks  un-NATed  notes"
for fault in "${faults[@]}"; do
	printf '%-19s %-7s %-27s %-6s %-9s %s\n' "$fault" "${res_status[$fault]:-not run}" \
		"${res_rec[$fault]:--}" "${res_leak[$fault]:-0}" "${res_unnat[$fault]:-0}" "${res_note[$fault]:-}"
done
echo "whole run: crawler frames outside the tunnel: $cb on br0, $ca on the node's interfaces;" \
	"un-NATed frames from gateway pods: $gb on br0, $ga on the node's interfaces"

t_report
pass "no leak under ${#faults[@]} faults x $cycles cycles; traffic back within $bound s each time"
