# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by the gateway pool tests: gateway foo as three replicas (pods
# foo-0..2 at 10.244.0.2..4, each its own gatewayd with REPLICA_NAME
# foo-0..2; foo resolves to all three in every pod's hosts file) and
# crawlers crawler-K at 10.244.0.(100+K), each running `clientd run`.
# Source after lib.sh.

POOL_GW=foo
POOL_REPLICAS=(foo-0 foo-1 foo-2)
POOL_IPS=(10.244.0.2 10.244.0.3 10.244.0.4)
POOL_TARGET=203.0.113.10

# pool_gateways: the base lab and the three replicas, gatewayd running.
pool_gateways() {
	local i
	lab_create_base
	for i in "${!POOL_REPLICAS[@]}"; do
		lab_add_replica "$POOL_GW" "${POOL_REPLICAS[$i]}" "${POOL_IPS[$i]}" "${POOL_REPLICAS[$i]}" ||
			fail "cannot create replica pod ${POOL_REPLICAS[$i]}"
		lab_start_gatewayd "${POOL_REPLICAS[$i]}" ||
			fail "gatewayd in ${POOL_REPLICAS[$i]} did not become ready"
	done
}

pool_crawler() {
	printf 'crawler-%s\n' "$1"
}

# pool_crawlers N [ARGS...]: N crawlers, their pods made one after another
# (pool_crawler_pods), their sidecars started together, then waited for
# (bounded; pool_sidecars): clientd run with --state-file STATE/POD.state
# and ARGS.
pool_crawlers() {
	pool_crawler_pods "$1"
	pool_sidecars "$@"
}

pool_crawler_pods() {
	local k pod
	for ((k = 1; k <= $1; k++)); do
		pod=$(pool_crawler "$k")
		lab_add_pod "$pod" "10.244.0.$((100 + k))" || fail "cannot create crawler $k"
		# Its eth0 MAC: a captured frame from it is a crawler's.
		ip -n "$(lab_ns "$pod")" -o link show eth0 | grep -Eo 'link/ether [0-9a-f:]+' |
			awk '{ print $2 }' >>"$LAB_STATE/crawler-macs"
	done
}

pool_sidecars() {
	local n=$1 k pod ns ready i left
	shift
	for ((k = 1; k <= n; k++)); do
		pod=$(pool_crawler "$k")
		ns=$(lab_ns "$pod")
		ready=$LAB_STATE/$pod.clientd.ready
		rm -f "$ready"
		ip netns exec "$ns" env --default-signal=INT,QUIT "$LAB_CLIENTD" run --gateway "$POOL_GW" \
			--pod-name "$pod" --ready-file "$ready" --state-file "$LAB_STATE/$pod.state" "$@" \
			</dev/null >>"$LAB_STATE/$pod.clientd.log" 2>&1 &
		echo "$!" >"$LAB_STATE/$pod.clientd.pid"
	done
	for ((i = 0; i < 600; i++)); do
		left=0
		for ((k = 1; k <= n; k++)); do
			[[ -e $LAB_STATE/$(pool_crawler "$k").clientd.ready ]] || left=$((left + 1))
		done
		((left == 0)) && return 0
		sleep 0.1
	done
	fail "$left of $n sidecars not ready after 60 s"
}

# pool_replica_ip POD: the pod IP the crawler's tunnel points at (its FDB).
pool_replica_ip() {
	ip netns exec "$(lab_ns "$1")" bridge fdb show dev vxlan0 2>/dev/null |
		awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") { print $(i + 1); exit } }'
}

# pool_where N: "POD IP" for crawlers 1..N.
pool_where() {
	local k
	for ((k = 1; k <= $1; k++)); do
		printf '%s %s\n' "$(pool_crawler "$k")" "$(pool_replica_ip "$(pool_crawler "$k")")"
	done
}

# pool_kill_replica I: replica I dies as a pod does: gatewayd SIGKILL, its
# network gone (the pod's veth deleted). Its IP stays in the hosts files, as
# a dead pod stays in a headless Service's answers until its readiness fails.
pool_kill_replica() {
	local pod=${POOL_REPLICAS[$1]} ip=${POOL_IPS[$1]}
	# The network first: a namespace being deleted forwards what is in
	# flight after its nftables table is gone (not masqueraded), which no
	# dead pod does.
	ip -n "$(lab_ns node)" link del "vp${ip##*.}"
	lab_stop_pid "$(<"$LAB_STATE/$pod.gatewayd.pid")" KILL 5 2>/dev/null || true
	lab_del_pod "$pod"
}

# pool_revive_replica I: replica I again (a new pod, same IP and name).
pool_revive_replica() {
	local pod=${POOL_REPLICAS[$1]}
	lab_add_pod "$pod" "${POOL_IPS[$1]}" || fail "cannot recreate replica pod $pod"
	lab_start_gatewayd "$pod" --leases-file "" || fail "gatewayd in the new $pod did not become ready"
}

# pool_probe_start TAG POD...: in each POD a bounded probe stream to the
# internet (ping every 50 ms, POOL_PROBES of them), output in
# STATE/probe-TAG-POD.out.
POOL_PROBES=${POOL_PROBES:-200}
POOL_PROBE_PIDS=()
pool_probe_start() {
	local tag=$1 pod
	shift
	POOL_PROBE_PIDS=()
	for pod in "$@"; do
		ip netns exec "$(lab_ns "$pod")" timeout 60 ping -n -D -i 0.05 -W 1 -c "$POOL_PROBES" \
			"$POOL_TARGET" >"$LAB_STATE/probe-$tag-$pod.out" 2>&1 &
		POOL_PROBE_PIDS+=("$!")
	done
}

pool_probe_wait() {
	local pid
	for pid in "${POOL_PROBE_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}

# pool_probe_summary TAG POD: "LOST OUTAGE_MS TAIL_OK": probes without an
# answer, the longest time between two answers (ms), and whether the last
# 20 were all answered.
pool_probe_summary() {
	awk -v n="$POOL_PROBES" '
		/bytes from/ && match($0, /icmp_seq=[0-9]+/) {
			seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
			ts = substr($1, 2, length($1) - 2) + 0
			if (!(seq in got)) { got[seq] = ts; k++ }
		}
		END {
			gap = 0; prev = -1; tail = 1
			for (s = 1; s <= n; s++) {
				if (s in got) { if (prev >= 0 && got[s] - prev > gap) gap = got[s] - prev; prev = got[s] }
				else if (s > n - 20) tail = 0
			}
			printf "%d %d %d\n", n - k, gap * 1000, tail
		}' "$LAB_STATE/probe-$1-$2.out"
}

# pool_leak_capture_start: on the node's bridge, every IPv4 packet towards
# 203.0.113.0/24 that does not come from a replica's pod IP: tunnel traffic
# goes to a replica and egress leaves from one, so anything else left a
# crawler outside the tunnel. Sets POOL_CAP_PID; file STATE/leaks.pcap.
pool_leak_capture_start() {
	local not_gw="" ip i
	for ip in "${POOL_IPS[@]}"; do
		not_gw+=" and not src host $ip"
	done
	: >"$LAB_STATE/leaks.err"
	timeout -s INT 300 ip netns exec "$(lab_ns node)" tcpdump -Z root -U --immediate-mode -n -i br0 \
		-w "$LAB_STATE/leaks.pcap" "ip and dst net 203.0.113.0/24 and not src net 203.0.113.0/24$not_gw" \
		2>"$LAB_STATE/leaks.err" &
	# shellcheck disable=SC2034 # read by the tests
	POOL_CAP_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$LAB_STATE/leaks.err" && return 0
		sleep 0.1
	done
	fail "tcpdump did not start on the node's br0"
}

# pool_frames WHO: the captured frames sent by crawlers (WHO=crawler, by
# their eth0 MAC: leaks) or by anyone else (WHO=other: a gateway pod letting
# crawler traffic out without NAT), one a line.
pool_frames() {
	{ tcpdump -r "$LAB_STATE/leaks.pcap" -nn -e 2>/dev/null || true; } |
		awk -v who="$1" -v macs="$LAB_STATE/crawler-macs" '
			BEGIN { while ((getline l < macs) > 0) crawler[l] = 1 }
			{ c = ($2 in crawler) }
			(who == "crawler") == c { print }'
}

# pool_leaks: frames from crawlers captured so far.
pool_leaks() {
	pool_frames crawler | wc -l
}

# err WHY: a failed check; the test goes on and t_report fails with all.
err() {
	errors+=("$*")
	echo "$T_NAME: error: $*" >&2
}
