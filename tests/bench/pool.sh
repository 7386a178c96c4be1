#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pool.sh: a gateway pool's spread and its sibling failover time. A
# benchmark, run on demand (never by `meson test`): it prints figures and
# asserts nothing about time.
#
# In a throwaway lab (tests/ns/pool-lib.sh: namespaces pgt<pid>-*, deleted on
# every exit path): gateway foo as three replicas, CRAWLERS crawlers running
# `clientd run` (REPLICA_SELECTION=spread). Figures:
#   - spread: crawlers per replica, max and min;
#   - failover, over KILLS kills (the replicas in turn; each dies as a pod
#     does, then comes back as a new pod): for every crawler that moved,
#     clientd's own time from its first unanswered keepalive to the sibling's
#     grant ("moved ... after N ms"), and the outage its probe stream saw
#     (the longest time between two answers, ping every 50 ms); median and
#     p99 of each.
#
# Usage: sudo tests/bench/pool.sh [-n CRAWLERS] [-k KILLS]
#   -n CRAWLERS  1..99 (default 30)
#   -k KILLS     1..30 (default 10)
# Environment: PODGW_BUILD (build dir, default SRC/build).
T_BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$T_BENCH_DIR/../ns/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../ns/pool-lib.sh
. "$T_BENCH_DIR/../ns/pool-lib.sh"
export LC_ALL=C

n=30
kills=10
while getopts ':n:k:h' opt; do
	case $opt in
	n) n=$OPTARG ;;
	k) kills=$OPTARG ;;
	h)
		sed -n '/^# Usage:/,/^# Environment:/p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "pool-bench: bad option (-h for help)" >&2
		exit 2
		;;
	esac
done
[[ $n =~ ^[1-9][0-9]?$ ]] || {
	echo "pool-bench: -n: '$n': not a number in 1..99" >&2
	exit 2
}
[[ $kills =~ ^[1-9]$|^[12][0-9]$|^30$ ]] || {
	echo "pool-bench: -k: '$kills': not a number in 1..30" >&2
	exit 2
}

# stats: "median p99 max" of the numbers on stdin.
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- - -"; exit }
		p = int(NR * 0.99 + 0.999); if (p > NR) p = NR
		printf "%d %d %d\n", v[int((NR + 1) / 2)], v[p], v[NR] }'
}

pool_gateways
pool_crawlers "$n"

declare -A count=()
while read -r _ ip; do
	count[$ip]=$((${count[$ip]:-0} + 1))
done < <(pool_where "$n")
max=0
min=$n
for ip in "${POOL_IPS[@]}"; do
	c=${count[$ip]:-0}
	((c > max)) && max=$c
	((c < min)) && min=$c
done
echo "FIGURE spread: $n crawlers over ${#POOL_IPS[@]} replicas: max $max min $min"

said=$LAB_STATE/bench-said.txt
seen=$LAB_STATE/bench-outage.txt
: >"$said"
: >"$seen"
for ((k = 0; k < kills; k++)); do
	v=$((k % ${#POOL_IPS[@]}))
	vip=${POOL_IPS[$v]}
	victims=()
	while read -r pod ip; do
		[[ $ip == "$vip" ]] && victims+=("$pod")
	done < <(pool_where "$n")
	if ((${#victims[@]} == 0)); then
		echo "kill $((k + 1)): ${POOL_REPLICAS[$v]} has no crawler, skipped"
		continue
	fi
	declare -A lines=()
	for pod in "${victims[@]}"; do
		lines[$pod]=$(grep -c 'moved from replica' "$LAB_STATE/$pod.clientd.log" || true)
	done
	POOL_PROBES=80 pool_probe_start "k$k" "${victims[@]}"
	sleep 1
	pool_kill_replica "$v"
	pool_probe_wait
	for pod in "${victims[@]}"; do
		read -r _ outage _ < <(POOL_PROBES=80 pool_probe_summary "k$k" "$pod")
		echo "$outage" >>"$seen"
		grep 'moved from replica' "$LAB_STATE/$pod.clientd.log" | tail -n +"$((${lines[$pod]} + 1))" |
			grep -o 'after [0-9]* ms' | awk '{ print $2 }' >>"$said"
	done
	echo "kill $((k + 1)): ${POOL_REPLICAS[$v]} with ${#victims[@]} crawlers"
	unset lines
	pool_revive_replica "$v"
done

read -r m99 p99 mx < <(stats <"$said")
echo "FIGURE failover (clientd: first missed keepalive -> sibling's grant), $(wc -l <"$said") moves: median $m99 ms, p99 $p99 ms, max $mx ms"
read -r m99 p99 mx < <(stats <"$seen")
echo "FIGURE failover (probe outage, ping every 50 ms), $(wc -l <"$seen") crawlers: median $m99 ms, p99 $p99 ms, max $mx ms"
pass "pool benchmark done"
