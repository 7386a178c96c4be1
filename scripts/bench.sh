#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench.sh: podgw's benchmark runner. Run on demand, never a pass/fail test:
# it builds its own lab out of network namespaces (scripts/lab-lib.sh; prefix
# pgbench<pid>-, deleted on every exit path), measures, and prints a Markdown
# table with the targets next to the figures (reported, never asserted).
#
#   1. start-up: gatewayd exec -> ready file, `clientd init` exec -> exit 0
#   2. failover: gateway pod replaced (new netns, new IP, hosts re-pointed),
#      gatewayd SIGKILL + restart, SIGTERM + restart; a probe stream through
#      the tunnel measures fault -> first answer and ready -> first answer
#   3. memory: gatewayd idle and with many leases, `clientd run`
#   4. join rate: simulated clients (join-flood) against one gatewayd
#   5. data path: iperf3 TCP and ping from a crawler to the "internet", podgw
#      vs. the same kernel path built by hand (vxlan + masquerade) vs. no
#      tunnel; again with many admitted clients in the gateway's sets; IPv6
#      (to 2001:db8::10, through the same tunnel, and direct) beside IPv4
#   6. CPU time of gatewayd per 1,000 keepalives (join-flood and real sidecars)
#   7. explore: veth/vxlan settings (GRO, MTU, checksums) vs. throughput
#
# Usage: sudo scripts/bench.sh [--smoke] [--only SECTIONS] [-o FILE] [--docs] [--no-deps]
#   --smoke        tiny N, 1 s iperf3, < 60 s; what `meson test bench-smoke` runs
#   --only LIST    comma-separated: startup,failover,memory,datapath,cpu,explore
#                  (memory includes the join rate)
#   -o FILE        JSON results (default PODGW_BUILD/bench.json); the Markdown
#                  goes next to it (bench.md)
#   --docs         also write the table to docs/benchmarks.md
#   --no-deps      do not run scripts/deps.sh (the smoke mode never does)
# Environment: PODGW_BUILD (build dir, default SRC/build).
# Exit: 0 every figure produced, 1 some missing or the lab failed, 2 usage,
# 77 not root or (smoke) a tool missing.
# shellcheck disable=SC2317 # the sections and the trap are called indirectly
set -euo pipefail
export LC_ALL=C

B_NAME=bench
smoke=0
only=
out=
docs=0
deps=1

usage() {
	sed -n '/^# Usage:/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'
}

while (($# > 0)); do
	case $1 in
	--smoke) smoke=1 ;;
	--only)
		[[ $# -ge 2 ]] || {
			echo "$B_NAME: --only needs a value" >&2
			exit 2
		}
		only=$2
		shift
		;;
	-o)
		[[ $# -ge 2 ]] || {
			echo "$B_NAME: -o needs a file" >&2
			exit 2
		}
		out=$2
		shift
		;;
	--docs) docs=1 ;;
	--no-deps) deps=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "$B_NAME: unknown argument '$1' (--help)" >&2
		exit 2
		;;
	esac
	shift
done

all_sections=(startup failover memory datapath cpu explore)
sections=("${all_sections[@]}")
if [[ -n $only ]]; then
	IFS=, read -r -a sections <<<"$only"
	for s in "${sections[@]}"; do
		[[ " ${all_sections[*]} " == *" $s "* ]] || {
			echo "$B_NAME: --only: unknown section '$s' (${all_sections[*]})" >&2
			exit 2
		}
	done
fi
want() {
	[[ " ${sections[*]} " == *" $1 "* ]]
}

if ((EUID != 0)); then
	echo "SKIP: $B_NAME: needs root (network namespaces); try: sudo $0"
	exit 77
fi

PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PODGW_BUILD=$(realpath -m -- "${PODGW_BUILD:-$PODGW_SRC/build}")
export PODGW_SRC PODGW_BUILD
out=${out:-$PODGW_BUILD/bench.json}
md_out=${out%.json}.md
BENCHLIB=$PODGW_SRC/tests/bench/benchlib.py

if ((!smoke && deps)); then
	"$PODGW_SRC/scripts/deps.sh" iperf3 ethtool python3 >&2
fi
for tool in ip bridge nft ss ping iperf3 ethtool python3 timeout awk mkfifo; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $B_NAME: $tool is not installed (scripts/deps.sh iperf3 ethtool python3)"
		exit 77
	fi
done

# ---- parameters ----
if ((smoke)); then
	N_START=3 FAIL_REPS=1 CLIENTS=50 JOIN_REPS=1 RENEW_ROUNDS=1
	IPERF_S=1 IPERF_OMIT=0 IPERF_REPS=1 PING_COUNT=20 SIDECARS=2 SIDECAR_S=2 SIDECAR_WIN=2 EXPLORE_REPS=1
	EXPLORE=(gro)
	FAIL_KINDS=(replace kill term)
else
	N_START=50 FAIL_REPS=3 CLIENTS=1000 JOIN_REPS=3 RENEW_ROUNDS=3
	IPERF_S=4 IPERF_OMIT=0 IPERF_REPS=5 PING_COUNT=500 SIDECARS=10 SIDECAR_S=20 SIDECAR_WIN=10 EXPLORE_REPS=3
	EXPLORE=(base gro noudpcsum txcsumoff mtu9000 gro_mtu9000)
	# replace_Ns: the new gateway pod comes N seconds after the old one went.
	FAIL_KINDS=(replace replace_2s replace_5s kill term)
fi
PROBE_INTERVAL=0.02
# A /16 overlay: room for the simulated clients.
OVERLAY=172.16.0.0/16
# The simulated clients all come from one pod IP (join-flood): no per-pod-IP
# lease limit or JOIN quota for the benchmark's gateways.
GW_ARGS=(--vxlan-ip-network "$OVERLAY" --leases-per-pod-ip 0 --join-rate-per-pod-ip 0)
CL_ARGS=(--vxlan-ip-network "$OVERLAY")
TARGET=203.0.113.10
TARGET6=2001:db8::10
IPERF_PORT=5201

# ---- build ----
BIN_FLOOD=$PODGW_BUILD/tests/bench/join-flood
BIN_TIME=$PODGW_BUILD/tests/bench/exec-time
if ((!smoke)) || [[ ! -x $BIN_FLOOD || ! -x $BIN_TIME ]]; then
	if [[ ! -f $PODGW_BUILD/build.ninja ]]; then
		meson setup "$PODGW_BUILD" "$PODGW_SRC" >&2 || {
			echo "$B_NAME: meson setup $PODGW_BUILD failed" >&2
			exit 1
		}
	fi
	meson compile -C "$PODGW_BUILD" gatewayd/gatewayd:executable clientd/clientd:executable \
		join-flood exec-time >&2 || {
		echo "$B_NAME: meson compile -C $PODGW_BUILD failed" >&2
		exit 1
	}
fi

# shellcheck source-path=SCRIPTDIR source=lab-lib.sh
. "$PODGW_SRC/scripts/lab-lib.sh"
B_PREFIX="pgbench$$-"
lab_init "$B_PREFIX"
for b in "$LAB_GATEWAYD" "$LAB_CLIENTD" "$BIN_FLOOD" "$BIN_TIME"; do
	[[ -x $b ]] || {
		echo "$B_NAME: $b is missing (meson compile -C $PODGW_BUILD)" >&2
		exit 1
	}
done

W=
IPERF_PID=
PROBE_PID=
b_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[[ -z $PROBE_PID ]] || kill "$PROBE_PID" 2>/dev/null
	[[ -z $IPERF_PID ]] || kill "$IPERF_PID" 2>/dev/null
	if ((rc != 0 && rc != 77)) && [[ -d ${LAB_STATE-} ]]; then
		local f
		for f in "$LAB_STATE"/*.log; do
			[[ -s $f ]] || continue
			echo "---- $(basename "$f") (last lines) ----" >&2
			tail -n 20 "$f" >&2
		done
	fi
	lab_down "$B_PREFIX"
	if [[ -n $(lab_list_ns "$B_PREFIX") ]]; then
		echo "$B_NAME: namespaces left behind: $(lab_list_ns "$B_PREFIX" | tr '\n' ' ')" >&2
		rc=1
	fi
	[[ -z $W ]] || rm -rf -- "$W"
	exit "$rc"
}
trap b_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

W=$(mktemp -d /tmp/podgw-bench.XXXXXX)
: >"$W/samples"
: >"$W/notes"
T_START=$EPOCHREALTIME
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- helpers ----
say() {
	echo "$B_NAME: $*" >&2
}
rec() {
	[[ -n $2 && $2 != null && $2 != - ]] || return 0
	printf '%s %s\n' "$1" "$2" >>"$W/samples"
}
note() {
	printf '%s\n' "$*" >>"$W/notes"
	say "note: $*"
}
bl() {
	python3 "$BENCHLIB" "$@"
}
# ms A B: (B - A) in milliseconds, one decimal.
ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}
proc_kib() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null || true
}
# rec_mem PREFIX PID: VmRSS, VmHWM and the split of VmRSS (anonymous / file-backed);
# PSS (each shared page divided among the processes that map it) and its split.
rec_mem() {
	local f
	for f in VmRSS VmHWM RssAnon RssFile; do
		rec "$1_$(tr '[:upper:]' '[:lower:]' <<<"${f#Vm}")" "$(proc_kib "$2" "$f")"
	done
	for f in Pss Pss_Anon Pss_File; do
		rec "$1_$(tr -d _ <<<"${f,,}")" "$(rollup_kib "$2" "$f")"
	done
}
# rollup_kib PID FIELD: a field of /proc/PID/smaps_rollup in KiB.
rollup_kib() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || true
}
CLK_TCK=$(getconf CLK_TCK)
# proc_cpu PID: "CPU_MS RUN_NS": utime+stime and on-CPU time (schedstat).
proc_cpu() {
	local stat run
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	run=$(awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null) || return 1
	awk -v tck="$CLK_TCK" -v run="$run" '{
		sub(/^.*\) /, ""); printf "%.0f %s\n", ($12 + $13) * 1000 / tck, run }' <<<"$stat"
}
# flood OUT ARGS...: join-flood in the simulator pod, bounded.
flood() {
	local file=$1
	shift
	timeout -k 5 300 ip netns exec "$(lab_ns simulator)" "$BIN_FLOOD" --timeout 120 --json "$@" \
		>"$file" 2>"$file.err" || true
	[[ ! -s $file.err ]] || sed "s/^/$B_NAME: join-flood: /" "$file.err" >&2
}
ping_ok() {
	lab_exec "$1" ping -n -q -c 1 -W 1 "$TARGET" >/dev/null 2>&1
}
ping_eventually() {
	local i
	for ((i = 0; i < ${2:-10}; i++)); do
		ping_ok "$1" && return 0
	done
	return 1
}
set_elements() {
	ip netns exec "$(lab_ns "$1")" nft -j list set inet podgw "$2" 2>/dev/null | python3 -c '
import json, sys
try:
    for o in json.load(sys.stdin)["nftables"]:
        if "set" in o:
            print(len(o["set"].get("elem", [])))
            break
except ValueError:
    print("null")' || true
}

GSTART_IP=10.244.0.3
SIM_IP=10.244.0.10
lab_create_base
lab_add_gateway gstart "$GSTART_IP"
lab_add_pod simulator "$SIM_IP"

# ---- 1. start-up ----
sec_startup() {
	say "1. start-up: gatewayd exec -> ready and clientd init exec -> exit, N=$N_START"
	local ns sim i f ok v code ready=$LAB_STATE/gstart.gatewayd.ready
	ns=$(lab_ns gstart)
	sim=$(lab_ns simulator)
	for ((i = 1; i <= N_START; i++)); do
		f=$W/start-gw-$i.json
		rm -f "$LAB_STATE/gstart.leases"
		timeout -k 5 60 ip netns exec "$ns" "$BIN_TIME" --ready-file "$ready" --timeout-ms 15000 \
			--log "$LAB_STATE/gstart.gatewayd.log" \
			--then "exec timeout -k 2 10 ip netns exec $sim $BIN_FLOOD --gateway $GSTART_IP --clients 1 --timeout 5 --json >$W/first-join-$i.json 2>>$W/first-join.err" \
			--stop TERM -- "$LAB_GATEWAYD" --ready-file "$ready" \
			--leases-file "$LAB_STATE/gstart.leases" "${GW_ARGS[@]}" >"$f" || true
		read -r ok v < <(bl get "$f" ready ready_ms)
		if [[ $ok == true ]]; then
			rec startup.gw_ready_ms "$v"
		else
			note "gatewayd start $i: not ready: $(cat "$f") $(tail -n 2 "$LAB_STATE/gstart.gatewayd.log" | tr '\n' ' ')"
		fi
		read -r v code < <(bl get "$f" stop_ms exit_code)
		rec startup.gw_stop_ms "$v"
		[[ $code == 0 || $ok != true ]] || note "gatewayd start $i: exit code $code after SIGTERM"
		read -r ok v < <(bl get "$W/first-join-$i.json" join.ok phases.0.latency_ms.p50)
		if [[ $ok == 1 ]]; then
			rec startup.first_join_ms "$v"
		elif [[ -f $W/first-join-$i.json ]]; then
			note "gatewayd start $i: the first JOIN after ready was not granted"
		fi
	done

	rm -f "$LAB_STATE/gstart.leases"
	lab_start_gatewayd gstart "${GW_ARGS[@]}" || {
		note "gatewayd in gstart did not start for the clientd init runs"
		return 0
	}
	local gw_pid=$LAB_PID name
	for ((i = 1; i <= N_START; i++)); do
		name=init$i
		lab_add_pod "$name" "10.244.0.$((99 + i))" || {
			note "could not create pod $name"
			continue
		}
		f=$W/start-init-$i.json
		timeout -k 5 60 ip netns exec "$(lab_ns "$name")" "$BIN_TIME" --timeout-ms 30000 \
			--log "$LAB_STATE/init.clientd.log" -- "$LAB_CLIENTD" init --gateway gstart \
			--pod-name "$name" "${CL_ARGS[@]}" >"$f" || true
		read -r code v < <(bl get "$f" exit_code exit_ms)
		if [[ $code == 0 ]]; then
			rec startup.init_ms "$v"
		else
			rec startup.init_failed 1
			note "clientd init $i: exit code $code: $(tail -n 1 "$LAB_STATE/init.clientd.log")"
		fi
		lab_del_pod "$name"
	done
	lab_stop_pid "$gw_pid" TERM 10 || true

	# References: process creation, what `ip netns exec` adds, and what
	# one nftables commit costs a process that exits right after it (the
	# kernel waits for an RCU grace period when the netlink socket closes).
	printf 'add table inet pgbench_ref\ndelete table inet pgbench_ref\n' >"$W/nft-ref.nft"
	for ((i = 1; i <= N_START; i++)); do
		"$BIN_TIME" -- /bin/true >"$W/true.json" 2>/dev/null || true
		rec startup.true_ms "$(bl get "$W/true.json" exit_ms)"
		"$BIN_TIME" -- ip netns exec "$ns" /bin/true >"$W/nsexec.json" 2>/dev/null || true
		rec startup.netns_exec_ms "$(bl get "$W/nsexec.json" exit_ms)"
		ip netns exec "$sim" "$BIN_TIME" -- nft list tables >"$W/nft-list.json" 2>/dev/null || true
		rec startup.nft_list_ms "$(bl get "$W/nft-list.json" exit_ms)"
		ip netns exec "$sim" "$BIN_TIME" -- nft -f "$W/nft-ref.nft" >"$W/nft-commit.json" 2>/dev/null || true
		rec startup.nft_commit_ms "$(bl get "$W/nft-commit.json" exit_ms)"
	done
}

# ---- 3. + 4. memory and join rate; 6. CPU per 1,000 RENEWs ----
sec_memory() {
	say "3./4./6. memory, join rate and RENEW CPU: $CLIENTS simulated clients, $JOIN_REPS runs"
	local rep pid f v ok failed elapsed rate p99 cpu run
	for ((rep = 1; rep <= JOIN_REPS + 1; rep++)); do
		# The last run is the burst: every JOIN in flight at once.
		local window=64 burst=0
		if ((rep > JOIN_REPS)); then
			window=$CLIENTS burst=1
		fi
		rm -f "$LAB_STATE/gstart.leases"
		lab_start_gatewayd gstart "${GW_ARGS[@]}" --lease-time 600 || {
			note "gatewayd did not start for join run $rep"
			continue
		}
		pid=$LAB_PID
		if ((!burst)); then
			sleep 0.5
			rec_mem mem.gw_idle "$pid"
			# The floor of a dynamically linked process on this machine.
			ip netns exec "$(lab_ns gstart)" sleep 30 &
			local sleeper=$!
			sleep 0.2
			rec mem.sleep_rss "$(proc_kib "$sleeper" VmRSS)"
			rec mem.sleep_rssanon "$(proc_kib "$sleeper" RssAnon)"
			rec mem.sleep_pss "$(rollup_kib "$sleeper" Pss)"
			lab_stop_pid "$sleeper" TERM 5 || true
		fi
		f=$W/flood-$rep.json
		flood "$f" --gateway "$GSTART_IP" --clients "$CLIENTS" --window "$window" \
			--renew-rounds $((burst ? 0 : RENEW_ROUNDS)) --gateway-pid "$pid"
		read -r ok failed elapsed rate p99 < <(bl get "$f" join.ok join.failed join.elapsed_s \
			join.rate_per_s phases.0.latency_ms.p99)
		if [[ $ok == null ]]; then
			note "join-flood run $rep produced no report"
		elif ((burst)); then
			rec join.burst_elapsed_ms "$(awk -v e="$elapsed" 'BEGIN { print e * 1000 }')"
			rec join.burst_resent "$(bl get "$f" phases.0.resent)"
		else
			rec join.elapsed_ms "$(awk -v e="$elapsed" 'BEGIN { print e * 1000 }')"
			rec join.rate "$rate"
			rec join.p99_ms "$p99"
			rec join.failed "$failed"
			read -r cpu run < <(bl get "$f" renew.gateway_cpu_ms_per_1000 renew.gateway_run_ms_per_1000)
			rec cpu.flood_cpu "$cpu"
			rec cpu.flood_run "$run"
			sleep 0.2
			rec_mem mem.gw_leased "$pid"
		fi
		[[ $ok == "$CLIENTS" ]] || note "join run $rep (window $window): $ok of $CLIENTS joins granted"
		flood "$W/release-$rep.json" --gateway "$GSTART_IP" --clients "$CLIENTS" --no-join --release
		lab_stop_pid "$pid" TERM 20 || note "gatewayd did not stop within 20 s after join run $rep"
	done
}

# ---- 6. CPU per 1,000 keepalives of real sidecars; 3. clientd run memory ----
sec_cpu() {
	say "6. CPU: $SIDECARS real clientd run sidecars for $SIDECAR_S s"
	local gw_pid k ns a b pids=() cpu0 run0 cpu1 run1 n0 n1 keepalives cl0=0 cl1=0 c r p
	ns=$(lab_ns gstart)
	rm -f "$LAB_STATE/gstart.leases"
	lab_start_gatewayd gstart "${GW_ARGS[@]}" || {
		note "gatewayd did not start for the sidecar run"
		return 0
	}
	gw_pid=$LAB_PID
	# Our own counter of keepalives reaching the gateway (a table of ours,
	# podgw's is left alone): membership requests, and the sidecars' echoes
	# to the overlay address (answered by the kernel, not gatewayd).
	ip netns exec "$ns" nft -f - <<-EOF
		table inet pgbench {
			counter keepalives { }
			chain input {
				type filter hook input priority -10; policy accept;
				udp dport 8473 counter name keepalives
				iifname "vxlan0" icmp type echo-request counter name keepalives
			}
		}
	EOF
	# What gatewayd spends with no client at all (timers, monitors): the
	# net figure below subtracts it.
	local idle0 idle1 idle_s=$(((SIDECAR_S + 1) / 2))
	read -r c idle0 < <(proc_cpu "$gw_pid")
	sleep "$idle_s"
	read -r c idle1 < <(proc_cpu "$gw_pid")
	rec cpu.gw_idle_run_per_s "$(awk -v a="$idle0" -v b="$idle1" -v s="$idle_s" 'BEGIN { printf "%.3f", (b - a) / 1e6 / s }')"
	for ((k = 1; k <= SIDECARS; k++)); do
		lab_add_pod "sc$k" "10.244.0.$((19 + k))" || continue
		if lab_start_clientd_run "sc$k" gstart - "${CL_ARGS[@]}"; then
			pids+=("$LAB_PID")
		else
			note "sidecar sc$k did not become ready"
		fi
	done
	sleep 1.5
	counter() {
		ip netns exec "$ns" nft list counter inet pgbench keepalives |
			awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
	}
	# SIDECAR_S seconds in SIDECAR_WIN windows: one figure per window, so
	# the table shows a median and a spread rather than one sample.
	local w win_s total=0 cpu_start
	win_s=$(awk -v s="$SIDECAR_S" -v w="$SIDECAR_WIN" 'BEGIN { printf "%.3f", s / w }')
	read -r cpu0 run0 < <(proc_cpu "$gw_pid")
	n0=$(counter)
	cpu_start=$cpu0
	for ((w = 1; w <= SIDECAR_WIN; w++)); do
		cl0=0 cl1=0
		for p in "${pids[@]}"; do
			read -r c r < <(proc_cpu "$p") && cl0=$((cl0 + r))
		done
		sleep "$win_s"
		read -r cpu1 run1 < <(proc_cpu "$gw_pid")
		n1=$(counter)
		for p in "${pids[@]}"; do
			read -r c r < <(proc_cpu "$p") && cl1=$((cl1 + r))
			((w < SIDECAR_WIN)) || rec_mem mem.clientd "$p"
		done
		keepalives=$((n1 - n0))
		total=$((total + keepalives))
		rec cpu.sidecar_keepalives "$keepalives"
		if ((keepalives > 0)); then
			rec cpu.sidecar_gw_run "$(awk -v a="$run0" -v b="$run1" -v n="$keepalives" 'BEGIN { printf "%.3f", (b - a) / 1e6 * 1000 / n }')"
			rec cpu.sidecar_gw_net "$(awk -v a="$run0" -v b="$run1" -v n="$keepalives" -v i0="$idle0" -v i1="$idle1" -v is="$idle_s" -v s="$win_s" 'BEGIN { v = ((b - a) - (i1 - i0) / is * s) / 1e6 * 1000 / n; printf "%.3f", (v > 0 ? v : 0) }')"
			rec cpu.clientd_run "$(awk -v a="$cl0" -v b="$cl1" -v n="$keepalives" 'BEGIN { printf "%.3f", (b - a) / 1e6 * 1000 / n }')"
		fi
		cpu0=$cpu1 run0=$run1 n0=$n1
	done
	# utime+stime counts 10 ms ticks: over the whole span only.
	((total == 0)) ||
		rec cpu.sidecar_gw_cpu "$(awk -v a="$cpu_start" -v b="$cpu1" -v n="$total" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')"
	local expect
	expect=$(awk -v k="${#pids[@]}" -v s="$SIDECAR_S" 'BEGIN { printf "%d", k * s * 4 }')
	say "sidecars: $total keepalives counted in ${SIDECAR_S} s (${#pids[@]} sidecars, a renewal or a tunnel echo every 250 ms: ~$expect)"
	for p in "${pids[@]}"; do
		lab_stop_pid "$p" TERM 10 || true
	done
	lab_stop_pid "$gw_pid" TERM 10 || true
	for ((k = 1; k <= SIDECARS; k++)); do
		lab_del_pod "sc$k"
	done
}

# ---- 5. data path ----
# hand_setup GWPOD CLPOD [udpcsum|noudpcsum [nat|nonat]]: a gateway and a
# crawler on the same kernel path as podgw (vxlan VNI 42 port 8472
# nolearning, static FDB and neighbours, forwarding, masquerade) built with
# iproute2 and nft only. The crawler is 172.16.0.20 like podgw's first client.
hand_setup() {
	local gp=$1 cp=$2 csum=${3:-udpcsum} nat=${4:-nat} g c gip cip mtu ns
	local gmac=02:68:61:6e:64:01 cmac=02:68:61:6e:64:02
	g=$(lab_ns "$gp")
	c=$(lab_ns "$cp")
	gip=$(lab_pod_ip "$gp")
	cip=$(lab_pod_ip "$cp")
	for ns in "$g" "$c"; do
		ip -n "$ns" link del vxlan0 2>/dev/null || true
	done
	mtu=$(($(ip -n "$c" -o link show eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }') - 50))
	ip -n "$g" link add vxlan0 address "$gmac" mtu "$mtu" type vxlan id 42 dev eth0 \
		dstport 8472 nolearning "$csum"
	ip -n "$c" link add vxlan0 address "$cmac" mtu "$mtu" type vxlan id 42 dev eth0 \
		dstport 8472 nolearning "$csum"
	for ns in "$g" "$c"; do
		ip -n "$ns" link set vxlan0 addrgenmode none
	done
	ip -n "$g" addr add 172.16.0.1/16 dev vxlan0
	ip -n "$g" link set vxlan0 up
	ip netns exec "$g" bridge fdb append "$cmac" dev vxlan0 dst "$cip" self permanent
	ip -n "$g" neigh replace 172.16.0.20 lladdr "$cmac" dev vxlan0 nud permanent
	lab_sysctl "$g" net.ipv4.ip_forward 1
	if [[ $nat == nat ]]; then
		ip netns exec "$g" nft -f - <<-EOF
			table ip handnat
			delete table ip handnat
			table ip handnat {
				chain postrouting {
					type nat hook postrouting priority srcnat; policy accept;
					ip saddr 172.16.0.0/16 oifname "eth0" masquerade
				}
			}
		EOF
	fi
	ip -n "$c" addr add 172.16.0.20/16 dev vxlan0
	ip -n "$c" link set vxlan0 up
	ip netns exec "$c" bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst "$gip" self permanent
	ip -n "$c" neigh replace 172.16.0.1 lladdr "$gmac" dev vxlan0 nud permanent
	ip -n "$c" route replace "$gip" dev eth0 scope link
	ip -n "$c" route replace default via 172.16.0.1 dev vxlan0
}

# rules_copy: podgw's nftables tables (gateway foo: inet podgw and
# inet podgw_guard; crawler: inet podgw_guard), copied into hgwr/hclr with
# their addresses and MAC: the hand-built path plus podgw's per-packet rules.
rules_copy() {
	local pmac paddr gip cip f=$W/rules-gw.nft
	pmac=$(ip -n "$(lab_ns crawler)" -o link show vxlan0 | grep -Eo 'link/ether [0-9a-f:]+' | awk '{ print $2 }')
	paddr=$(ip -n "$(lab_ns crawler)" -4 -o addr show dev vxlan0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	gip=$(lab_pod_ip hgwr)
	cip=$(lab_pod_ip hclr)
	# Keys read from inside VXLAN are listed as integers (0x... , no
	# leading zeros): the MAC and the overlay address in that form too.
	local pmac_hex paddr_hex
	pmac_hex=$(printf '0x%x' "$((16#${pmac//:/}))")
	paddr_hex=$(IFS=. read -r a b c d <<<"$paddr" && printf '0x%x' $(((a << 24) | (b << 16) | (c << 8) | d)))
	{
		ip netns exec "$(lab_ns foo)" nft list table inet podgw
		ip netns exec "$(lab_ns foo)" nft list table inet podgw_guard
	} | sed -E -e "s/table inet podgw/table inet copy/" \
		-e "s/\b10\.244\.0\.11\b/$cip/g" -e "s/\b${paddr//./\\.}\b/172.16.0.20/g" \
		-e "s/$pmac/02:68:61:6e:64:02/g" -e "s/\b$pmac_hex\b/$(printf '0x%x' $((16#0268616e6402)))/g" \
		-e "s/\b$paddr_hex\b/0xac100014/g" >"$f"
	ip netns exec "$(lab_ns hgwr)" nft -f "$f" || {
		note "could not load podgw's gateway rules into hgwr"
		return 1
	}
	ip netns exec "$(lab_ns crawler)" nft list table inet podgw_guard |
		sed -E -e "s/table inet podgw_guard/table inet copy_guard/" \
			-e "s/\b10\.244\.0\.2\b/$gip/g" >"$W/rules-cl.nft"
	ip netns exec "$(lab_ns hclr)" nft -f "$W/rules-cl.nft" || {
		note "could not load podgw's crawler guard into hclr"
		return 1
	}
}

# vxlan_attrs POD: the vxlan0 attributes that shape the data path.
vxlan_attrs() {
	ip -n "$(lab_ns "$1")" -d link show vxlan0 2>/dev/null | awk '
		NR == 1 { for (i = 1; i < NF; i++) if ($i == "mtu") m = $(i + 1) }
		/vxlan id/ { sub(/^ +/, ""); sub(/ addrgenmode.*/, ""); v = $0 }
		END { print "mtu " m " " v }'
}

iperf_server_start() {
	local i bound=$((smoke ? 600 : 3600))
	timeout -k 5 "$bound" ip netns exec "$(lab_ns internet)" iperf3 -s -p "$IPERF_PORT" \
		</dev/null >"$LAB_STATE/internet.iperf3.log" 2>&1 &
	IPERF_PID=$!
	for ((i = 0; i < 50; i++)); do
		if [[ -n $(ip netns exec "$(lab_ns internet)" ss -ltnH "sport = :$IPERF_PORT" 2>/dev/null) ]]; then
			return 0
		fi
		sleep 0.1
	done
	note "iperf3 server did not listen"
	return 1
}

# Client and server on CPUs of their own when there are two: fewer
# migrations, less spread between runs.
IPERF_AFFINITY=()
if (($(nproc) >= 2)); then
	IPERF_AFFINITY=(-A "0,1")
fi

# iperf_run POD up|down FILE [TARGET]: prints "MBIT_S RETRANSMITS CPU_MS_PER_GB" (nulls on failure).
iperf_run() {
	local pod=$1 dir=$2 file=$3 target=${4:-$TARGET}
	local -a rev=()
	[[ $dir == up ]] || rev=(-R)
	timeout -k 5 $((IPERF_S + IPERF_OMIT + 30)) ip netns exec "$(lab_ns "$pod")" iperf3 -c "$target" \
		-p "$IPERF_PORT" -t "$IPERF_S" -O "$IPERF_OMIT" "${IPERF_AFFINITY[@]}" \
		--connect-timeout 3000 "${rev[@]}" -J \
		</dev/null >"$file" 2>&1 || true
	bl iperf "$file"
}

declare -A PATH_POD=([podgw]=crawler [hand]=hcl [rules]=hclr [direct]=direct
	[podgw6]=crawler [direct6]=direct)
# The IPv6 paths: the same pods to the internet's IPv6 address (the lab's
# pod network is dual-stack; the gateway grants IPv6 beside IPv4).
declare -A PATH_TARGET=([podgw6]=$TARGET6 [direct6]=$TARGET6)
DP_PATHS_0=(podgw hand rules direct podgw6 direct6)
# With many clients, what the flatness needs (smoke) or all of them.
DP_PATHS_N=(podgw hand rules direct)
if ((smoke)); then
	DP_PATHS_N=(podgw hand)
fi

# dp_round CLIENTS: throughput both ways and RTT on the three paths.
dp_round() {
	local c=$1 rep path d i mbps retr cpu n k
	local -a paths=("${DP_PATHS_0[@]}")
	((c == 0)) || paths=("${DP_PATHS_N[@]}")
	k=${#paths[@]}
	for ((rep = 1; rep <= IPERF_REPS; rep++)); do
		# Rotate the order, so that a drift of the machine favours no path.
		for ((i = 0; i < k; i++)); do
			path=${paths[(i + rep - 1) % k]}
			for d in up down; do
				read -r mbps retr cpu < <(iperf_run "${PATH_POD[$path]}" "$d" "$W/iperf-$c-$path-$d-$rep.json" \
					"${PATH_TARGET[$path]:-$TARGET}")
				if [[ $mbps == null ]]; then
					note "iperf3 $d on $path ($c clients, run $rep) failed: $(head -c 300 "$W/iperf-$c-$path-$d-$rep.json" | tr '\n' ' ')"
				fi
				rec "dp.$c.$path.${d}_mbps" "$mbps"
				rec "dp.$c.$path.${d}_retrans" "$retr"
				rec "dp.$c.$path.${d}_cpu" "$cpu"
			done
			n=$(((PING_COUNT + IPERF_REPS - 1) / IPERF_REPS))
			timeout -k 2 $((n / 50 + 15)) ip netns exec "$(lab_ns "${PATH_POD[$path]}")" \
				ping -n -c "$n" -i 0.02 -W 1 "${PATH_TARGET[$path]:-$TARGET}" >"$W/ping-$c-$path-$rep.txt" 2>&1 || true
			while read -r v; do
				rec "dp.$c.$path.rtt_ms" "$v"
			done < <(bl ping "$W/ping-$c-$path-$rep.txt")
		done
	done
}

FOO_PID=
CRAWLER_PID=
sec_datapath() {
	say "5. data path: podgw vs. hand-built vs. direct; iperf3 ${IPERF_S} s x $IPERF_REPS, 0 and $CLIENTS clients"
	lab_add_gateway foo 10.244.0.2
	lab_add_pod crawler 10.244.0.11
	lab_add_pod hgw 10.244.0.4
	lab_add_pod hcl 10.244.0.12
	lab_add_pod hgwr 10.244.0.6
	lab_add_pod hclr 10.244.0.15
	lab_add_pod direct 10.244.0.13
	rm -f "$LAB_STATE/foo.leases"
	lab_start_gatewayd foo "${GW_ARGS[@]}" --lease-time 3600 || {
		note "gatewayd foo did not start: no data path figures"
		return 0
	}
	FOO_PID=$LAB_PID
	lab_start_clientd_run crawler foo - "${CL_ARGS[@]}" || {
		note "clientd run in crawler did not become ready: no data path figures"
		return 0
	}
	CRAWLER_PID=$LAB_PID
	hand_setup hgw hcl udpcsum nat
	hand_setup hgwr hclr udpcsum nonat
	rules_copy || true
	local pod
	for pod in crawler hcl hclr direct; do
		ping_eventually "$pod" 10 || note "$pod cannot reach $TARGET before the data path runs"
	done
	for pod in crawler direct; do
		lab_exec "$pod" ping -n -q -c 3 -i 0.3 -W 1 "$TARGET6" >/dev/null 2>&1 ||
			note "$pod cannot reach $TARGET6 before the data path runs (IPv6 not granted?)"
	done
	local a b
	a=$(vxlan_attrs crawler)
	b=$(vxlan_attrs hcl)
	if [[ $a != "$b" ]]; then
		note "vxlan0 differs: podgw crawler '$a', hand-built '$b'"
	fi
	iperf_server_start || return 0
	dp_round 0
	say "5. admitting $CLIENTS simulated clients to foo"
	flood "$W/dp-flood.json" --gateway 10.244.0.2 --clients "$CLIENTS" --window 64
	rec dp.set_clients "$(set_elements foo clients)"
	ping_eventually crawler 5 || note "crawler cannot reach $TARGET after the $CLIENTS joins"
	dp_round "$CLIENTS"
}

# ---- 7. explore ----
# veth_all ACTION...: runs `ethtool -K IFACE ACTION...` (or `ip link set
# IFACE ACTION...` when ACTION is mtu) on every veth end of the lab.
veth_all() {
	local ns dev
	while read -r ns; do
		while read -r dev; do
			if [[ $1 == mtu ]]; then
				ip -n "$ns" link set dev "$dev" mtu "$2"
			else
				ip netns exec "$ns" ethtool -K "$dev" "$@" >/dev/null 2>&1 ||
					note "ethtool -K $dev $* failed in $ns"
			fi
		done < <(ip -n "$ns" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
	done < <(lab_list_ns "$B_PREFIX")
}

# podgw_restart: both daemons again (they size vxlan0 from the underlay at setup).
podgw_restart() {
	lab_stop_pid "$CRAWLER_PID" TERM 10 || true
	lab_stop_pid "$FOO_PID" TERM 20 || true
	lab_start_gatewayd foo "${GW_ARGS[@]}" --lease-time 3600 || return 1
	FOO_PID=$LAB_PID
	lab_start_clientd_run crawler foo - "${CL_ARGS[@]}" || return 1
	CRAWLER_PID=$LAB_PID
	ping_eventually crawler 10
}

explore_apply() {
	case $1 in
	base) ;;
	gro) veth_all gro on ;;
	noudpcsum) hand_setup hgw hcl noudpcsum nat ;;
	txcsumoff) veth_all tx off ;;
	mtu9000)
		veth_all mtu 9000
		hand_setup hgw hcl udpcsum nat
		podgw_restart || note "podgw did not come back after the MTU change"
		;;
	gro_mtu9000)
		veth_all gro on
		veth_all mtu 9000
		hand_setup hgw hcl udpcsum nat
		podgw_restart || note "podgw did not come back after the MTU change"
		;;
	esac
}

explore_revert() {
	case $1 in
	base) ;;
	gro) veth_all gro off ;;
	noudpcsum) hand_setup hgw hcl udpcsum nat ;;
	txcsumoff) veth_all tx on ;;
	mtu9000 | gro_mtu9000)
		[[ $1 == mtu9000 ]] || veth_all gro off
		veth_all mtu 1500
		hand_setup hgw hcl udpcsum nat
		podgw_restart || note "podgw did not come back after the MTU change"
		;;
	esac
}

declare -A EXPLORE_TEXT=(
	[base]="defaults (veth GRO off, MTU 1500, vxlan udpcsum)"
	[gro]="GRO on every veth"
	[noudpcsum]="vxlan noudpcsum (hand-built only)"
	[txcsumoff]="tx checksum offload off on every veth"
	[mtu9000]="MTU 9000 on every veth (vxlan 8950; podgw daemons restarted)"
	[gro_mtu9000]="GRO on + MTU 9000"
)

sec_explore() {
	say "7. explore: ${EXPLORE[*]} (download, iperf3 ${IPERF_S} s x $EXPLORE_REPS)"
	if [[ -z $FOO_PID ]] || ! lab_pid_alive "$FOO_PID"; then
		note "explore needs the data path lab (section datapath): skipped"
		return 0
	fi
	local name rep path mbps retr cpu i
	local -a order=(hand podgw direct)
	for name in "${EXPLORE[@]}"; do
		explore_apply "$name"
		for pod in crawler hcl direct; do
			ping_eventually "$pod" 5 || note "explore $name: $pod cannot reach $TARGET"
		done
		for ((rep = 1; rep <= EXPLORE_REPS; rep++)); do
			for ((i = 0; i < 3; i++)); do
				path=${order[(i + rep - 1) % 3]}
				[[ $name != noudpcsum || $path != podgw ]] || continue
				read -r mbps retr cpu < <(iperf_run "${PATH_POD[$path]}" down "$W/ex-$name-$path-$rep.json")
				[[ $mbps != null ]] || note "explore $name: iperf3 on $path failed"
				rec "ex.$name.$path.down_mbps" "$mbps"
				rec "ex.$name.$path.down_cpu" "$cpu"
			done
		done
		if [[ $name == mtu9000 ]]; then
			note "explore mtu9000: vxlan0 podgw crawler: $(vxlan_attrs crawler | cut -d' ' -f1-2), hand-built: $(vxlan_attrs hcl | cut -d' ' -f1-2)"
		fi
		explore_revert "$name"
	done
}

# ---- 2. failover ----
FO_POD=
FO_IP=
FO_PID=
FO_READY=
# fo_start_gw: gatewayd in FO_POD, timed by exec-time (which stays its
# parent): returns once it is ready; FO_PID, FO_READY (wall clock).
fo_start_gw() {
	local ns fifo=$W/fo.fifo line ready=$LAB_STATE/fo.gatewayd.ready
	ns=$(lab_ns "$FO_POD")
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout -k 5 900 ip netns exec "$ns" "$BIN_TIME" --ready-file "$ready" --timeout-ms 15000 \
		--stay --log "$LAB_STATE/$FO_POD.gatewayd.log" -- "$LAB_GATEWAYD" --ready-file "$ready" \
		--leases-file "$LAB_STATE/$FO_POD.leases" "${GW_ARGS[@]}" >"$fifo" &
	line=
	read -r -t 20 line <"$fifo" || true
	FO_PID=
	FO_READY=
	if [[ $line =~ \"pid\":([0-9]+) ]]; then
		FO_PID=${BASH_REMATCH[1]}
		printf '%s\n' "$FO_PID" >"$LAB_STATE/$FO_POD.gatewayd.pid"
	fi
	if [[ $line =~ \"ready_realtime\":([0-9.]+) ]]; then
		FO_READY=${BASH_REMATCH[1]}
		return 0
	fi
	note "gatewayd in $FO_POD did not become ready: $line $(tail -n 2 "$LAB_STATE/$FO_POD.gatewayd.log" | tr '\n' ' ')"
	return 1
}

PROBE_OUT=
PROBE_STOP=
probe_start() {
	local i
	PROBE_OUT=$W/probe-$1.txt
	PROBE_STOP=$W/probe-$1.stop
	rm -f "$PROBE_STOP"
	: >"$PROBE_OUT"
	timeout -k 2 90 ip netns exec "$(lab_ns fcrawler)" python3 "$BENCHLIB" probe "$TARGET" \
		"$PROBE_INTERVAL" 60 "$PROBE_STOP" </dev/null >"$PROBE_OUT" 2>"$PROBE_OUT.err" &
	PROBE_PID=$!
	for ((i = 0; i < 50; i++)); do
		[[ -s $PROBE_OUT ]] && return 0
		sleep 0.1
	done
	note "the probe stream did not start: $(cat "$PROBE_OUT.err")"
	return 1
}
probe_stop() {
	touch "$PROBE_STOP"
	lab_stop_pid "$PROBE_PID" TERM 5 >/dev/null 2>&1 || true
	local i
	for ((i = 0; i < 100; i++)); do
		lab_pid_alive "$PROBE_PID" || break
		sleep 0.05
	done
	PROBE_PID=
}
# probe_wait_stable SINCE SECONDS
probe_wait_stable() {
	local since=$1 seconds=$2 i
	for ((i = 0; i < seconds * 5; i++)); do
		bl probe-stable "$PROBE_OUT" "$since" && return 0
		sleep 0.2
	done
	return 1
}

# fo_repoint: the gateway's name resolves to FO_IP in every pod, written in
# place (`ip netns exec` bind-mounts the hosts file: a rename is not seen).
fo_repoint() {
	sed -i -E "s/^[0-9.]+\tfo pod-gateway-fo$/$FO_IP\tfo pod-gateway-fo/" "$LAB_STATE/hosts"
	lab_write_hosts
}

sec_failover() {
	say "2. failover: ${FAIL_KINDS[*]}; $FAIL_REPS each, probe every ${PROBE_INTERVAL} s"
	FO_POD=fo
	FO_IP=10.244.0.5
	lab_add_gateway fo "$FO_IP"
	lab_add_pod fcrawler 10.244.0.14
	rm -f "$LAB_STATE/fo.leases"
	fo_start_gw || return 0
	lab_start_clientd_run fcrawler fo - "${CL_ARGS[@]}" || {
		note "clientd run in fcrawler did not become ready: no failover figures"
		return 0
	}
	local client_pid=$LAB_PID kind rep t0 t_fault t_repoint sent lost recov after_ready after_repoint outage
	local replaced=0
	ping_eventually fcrawler 10 || note "fcrawler cannot reach $TARGET before the faults"
	for kind in "${FAIL_KINDS[@]}"; do
		for ((rep = 1; rep <= FAIL_REPS; rep++)); do
			probe_start "$kind-$rep" || return 0
			t0=$EPOCHREALTIME
			if ! probe_wait_stable "$t0" 10; then
				note "failover $kind $rep: no steady traffic before the fault; skipped"
				probe_stop
				continue
			fi
			t_repoint=-
			t_fault=$EPOCHREALTIME
			case $kind in
			kill)
				lab_stop_pid "$FO_PID" KILL 5 || true
				fo_start_gw || true
				;;
			term)
				lab_stop_pid "$FO_PID" TERM 10 || true
				fo_start_gw || true
				;;
			replace | replace_*s)
				lab_stop_pid "$FO_PID" KILL 5 || true
				lab_del_pod "$FO_POD"
				# A real replacement pod takes a while: the client has
				# declared the gateway lost long before it is ready.
				if [[ $kind =~ ^replace_([0-9]+)s$ ]]; then
					sleep "${BASH_REMATCH[1]}"
				fi
				replaced=$((replaced + 1))
				FO_POD=fo-r$replaced
				FO_IP=10.244.0.$((49 + replaced))
				lab_add_pod "$FO_POD" "$FO_IP"
				fo_start_gw || true
				fo_repoint
				t_repoint=$EPOCHREALTIME
				;;
			esac
			if [[ -z $FO_READY ]]; then
				probe_stop
				note "failover $kind $rep: no gatewayd: stopping the failover runs"
				return 0
			fi
			probe_wait_stable "$FO_READY" 20 || note "failover $kind $rep: traffic not steady 20 s after the restart"
			probe_stop
			read -r sent lost recov after_ready after_repoint outage < <(bl probe-summary "$PROBE_OUT" \
				"$t_fault" "$FO_READY" "$t_repoint")
			if [[ $recov == - ]]; then
				note "failover $kind $rep: the probes never got through again ($lost of $sent lost)"
			fi
			rec "fo.$kind.recovery_ms" "$recov"
			rec "fo.$kind.after_ready_ms" "$after_ready"
			rec "fo.$kind.after_repoint_ms" "$after_repoint"
			rec "fo.$kind.lost" "$lost"
			rec "fo.$kind.ready_ms" "$(ms "$t_fault" "$FO_READY")"
			say "failover $kind $rep: $lost of $sent probes lost, fault -> answer ${recov} ms, ready -> answer ${after_ready} ms, outage ${outage} ms"
			lab_pid_alive "$client_pid" || {
				note "failover $kind $rep: clientd run in fcrawler died: $(tail -n 3 "$LAB_STATE/fcrawler.clientd.log" | tr '\n' ' ')"
				return 0
			}
		done
	done
	grep -E 'error|warning' "$LAB_STATE/fcrawler.clientd.log" | sort | uniq -c | sort -rn | head -n 5 |
		while read -r line; do say "fcrawler clientd log: $line"; done || true
}

# ---- run ----
# Order: start-up, memory/join, sidecars, data path, explore (needs the data
# path lab), failover last (it moves a gateway).
SECTION_TIMES=()
# run_section NAME FUNCTION: runs it and notes how long it took.
run_section() {
	local t0=$EPOCHREALTIME
	"$2"
	SECTION_TIMES+=("$1 $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s")
	say "$1: done in ${SECTION_TIMES[-1]#* }"
}
want startup && run_section startup sec_startup
want memory && run_section memory sec_memory
want cpu && run_section cpu sec_cpu
if want datapath || want explore; then
	run_section datapath sec_datapath
	want explore && run_section explore sec_explore
fi
want failover && run_section failover sec_failover

# ---- report ----
{
	echo "smoke $smoke"
	echo "sections ${sections[*]}"
	echo "n_start $N_START"
	echo "fail_reps $FAIL_REPS"
	echo "clients $CLIENTS"
	echo "join_reps $JOIN_REPS"
	echo "renew_rounds $RENEW_ROUNDS"
	echo "iperf_s $IPERF_S"
	echo "iperf_reps $IPERF_REPS"
	echo "iperf_omit $IPERF_OMIT"
	echo "dp_paths_0 ${DP_PATHS_0[*]}"
	echo "dp_paths_n ${DP_PATHS_N[*]}"
	echo "ping_count $PING_COUNT"
	echo "sidecars $SIDECARS"
	echo "sidecar_s $SIDECAR_S"
	echo "sidecar_win $SIDECAR_WIN"
	echo "explore_reps $EXPLORE_REPS"
	echo "fail_kinds ${FAIL_KINDS[*]}"
	echo "probe_ms $(awk -v i="$PROBE_INTERVAL" 'BEGIN { print i * 1000 }')"
	for name in "${EXPLORE[@]}"; do
		echo "explore $name ${EXPLORE_TEXT[$name]}"
	done
	echo "explore_no_podgw noudpcsum"
	echo "iperf3 $(iperf3 --version | head -n 1 | awk '{ print $1, $2 }')"
	echo "started $(date -u -d "@${T_START%.*}" '+%Y-%m-%d %H:%M UTC')"
	echo "elapsed_s $(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
	echo "load_before $LOAD_BEFORE"
	echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'section_times'
	printf ' %s,' "${SECTION_TIMES[@]}" | sed 's/,$//'
	echo
} >"$W/params"
mkdir -p "$(dirname "$out")" "$(dirname "$md_out")"
report_args=("$W/samples" "$W/params" "$W/notes" "$out" "$md_out")
((!docs)) || report_args+=(--docs "$PODGW_SRC/docs/benchmarks.md")
rc=0
bl report "${report_args[@]}" || rc=1
say "JSON: $out; Markdown: $md_out"
exit "$rc"
