#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# keepalive.sh: what keeping N crawlers' tunnels alive costs the gateway.
# A benchmark, run on demand (never by `meson test`): it prints figures and
# ratios and asserts nothing about time.
#
# In a throwaway lab (namespaces pgk<pid>-*, deleted on every exit path): a
# gateway pod "foo" (gatewayd, LEASE_TIME 30 s, a /16 overlay, a membership
# key) and
#   1. calibration: two real `clientd run` sidecars, "busy" (pinging the lab
#      internet 20 times a second) and "idle", for -c seconds: nftables
#      counters in each crawler count the membership requests it sends
#      (UDP to the control port) and its echoes to the gateway's overlay
#      address (ICMP inside the tunnel), per second;
#   2. load: keepalive-load plays N crawlers from one pod (LEASES_PER_POD_IP
#      and JOIN_RATE_PER_POD_IP are set to 0, no limit, for that: one pod IP
#      stands for N), phases of -s seconds each:
#        baseline    nothing sent (gatewayd's own timers);
#        before      a RENEW every 250 ms per crawler, busy or idle (clientd
#                    before issue 17: the renewal was the keepalive);
#        after-busy  a RENEW every LEASE_TIME/3 = 10 s; a busy tunnel needs
#                    nothing else (its traffic proves the gateway alive);
#        after-idle  the same RENEWs, and an ICMP echo in VXLAN to the
#                    gateway's overlay address every 250 ms per crawler,
#                    answered by the gateway's kernel;
#      and prints gatewayd's CPU (utime+stime, /proc/PID/stat) per 1,000
#      crawlers (each phase after a 32 s warm-up at its own pace), the
#      before/after ratios, and the whole machine's busy CPU
#      and softirq time (the kernel's work for the echoes lands there;
#      the machine is shared, so that figure carries other load too, and it
#      includes the simulator's own CPU, printed beside it).
#
# Usage: tests/bench/keepalive.sh [-n CRAWLERS] [-s SECONDS] [-c SECONDS] [-r REPS]
# Environment: PODGW_BUILD (build dir, default SRC/build).
set -euo pipefail

B_NAME=keepalive-bench
crawlers=1000
phase_s=20
cal_s=10
reps=1
# gatewayd's replay cache keeps a nonce 30 s: a phase after a busier one
# pays for the cleanup until then. Each phase runs this long unmeasured.
warmup=32

b_die() {
	echo "$B_NAME: $*" >&2
	exit 1
}

b_number() {
	local opt=$1 val=$2 min=$3 max=$4
	if [[ ! $val =~ ^[0-9]+$ ]] || ((10#$val < min || 10#$val > max)); then
		echo "$B_NAME: -$opt: '$val': not a number in $min..$max" >&2
		exit 2
	fi
}

while getopts ':n:s:c:r:h' opt; do
	case $opt in
	n) b_number n "$OPTARG" 1 60000 && crawlers=$((10#$OPTARG)) ;;
	s) b_number s "$OPTARG" 2 25 && phase_s=$((10#$OPTARG)) ;;
	c) b_number c "$OPTARG" 0 60 && cal_s=$((10#$OPTARG)) ;;
	r) b_number r "$OPTARG" 1 10 && reps=$((10#$OPTARG)) ;;
	h)
		sed -n '/^# Usage:/,/^# Environment:/p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	:)
		echo "$B_NAME: -$OPTARG needs a value (-h for help)" >&2
		exit 2
		;;
	*)
		echo "$B_NAME: unknown option -$OPTARG (-h for help)" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || {
	echo "$B_NAME: unexpected argument '$1' (-h for help)" >&2
	exit 2
}
if ((EUID != 0)); then
	echo "$B_NAME: needs root (network namespaces)" >&2
	exit 77
fi
for tool in ip nft ping meson timeout awk; do
	command -v "$tool" >/dev/null 2>&1 || b_die "$tool is not installed"
done

PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODGW_BUILD=$(realpath -m -- "${PODGW_BUILD:-$PODGW_SRC/build}")
export PODGW_SRC PODGW_BUILD
if [[ ! -f $PODGW_BUILD/build.ninja ]]; then
	meson setup "$PODGW_BUILD" "$PODGW_SRC" >/dev/null || b_die "meson setup $PODGW_BUILD failed"
fi
meson compile -C "$PODGW_BUILD" gatewayd/gatewayd:executable clientd/clientd:executable \
	keepalive-load >/dev/null ||
	b_die "meson compile -C $PODGW_BUILD gatewayd clientd keepalive-load failed"
LOAD=$PODGW_BUILD/tests/bench/keepalive-load
[[ -x $LOAD ]] || b_die "$LOAD is missing after the build"

# shellcheck source-path=SCRIPTDIR source=../../scripts/lab-lib.sh
. "$PODGW_SRC/scripts/lab-lib.sh"
B_PREFIX="pgk$$-"
lab_init "$B_PREFIX"

b_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	lab_down "$B_PREFIX"
	if [[ -n $(lab_list_ns "$B_PREFIX") ]]; then
		echo "$B_NAME: namespaces left behind: $(lab_list_ns "$B_PREFIX" | tr '\n' ' ')" >&2
		rc=1
	fi
	exit "$rc"
}
trap b_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() {
	echo "$B_NAME: $*"
}

GW_IP=10.244.0.2
SIM_IP=10.244.0.10
OVERLAY=172.16.0.0/16
LEASE_TIME=30
KEY=$LAB_STATE/membership.key

lab_create_base
mkdir -p "$LAB_STATE"
head -c 32 /dev/urandom | base64 >"$KEY"
chmod 600 "$KEY"
lab_add_gateway foo "$GW_IP"
lab_start_gatewayd foo --lease-time "$LEASE_TIME" --vxlan-ip-network "$OVERLAY" \
	--membership-key-file "$KEY" --leases-per-pod-ip 0 --join-rate-per-pod-ip 0 ||
	b_die "gatewayd did not become ready"
gw_pid=$LAB_PID

# ---- 1. calibration: what real sidecars send ----
# nft_count POD COUNTER: packets of one of our counters in the pod.
nft_count() {
	ip netns exec "$(lab_ns "$1")" nft list counter inet pgbench "$2" |
		awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
per_s() {
	awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.2f", (b - a) / s }'
}
if ((cal_s > 0)); then
	declare -A ip=([busy]=10.244.0.21 [idle]=10.244.0.22) req0=() echo0=()
	for c in busy idle; do
		lab_add_pod "$c" "${ip[$c]}"
		lab_start_clientd_run "$c" foo - --membership-key-file "$KEY" --vxlan-ip-network "$OVERLAY" ||
			b_die "clientd run in $c did not become ready"
		# Our own table (clientd's guard is left alone).
		ip netns exec "$(lab_ns "$c")" nft -f - <<-EOF
			table inet pgbench {
				counter requests { }
				counter echoes { }
				chain out {
					type filter hook output priority -10; policy accept;
					oifname "eth0" udp dport 8473 counter name requests
					oifname "vxlan0" ip daddr 172.16.0.1 icmp type echo-request counter name echoes
				}
			}
		EOF
	done
	sleep 1
	lab_exec busy timeout $((cal_s + 5)) ping -n -q -i 0.05 -c $((20 * (cal_s + 1))) -W 1 \
		"$LAB_INTERNET_IP" >/dev/null 2>&1 &
	ping_pid=$!
	sleep 0.5 # the first answers are in: busy from here on
	for c in busy idle; do
		req0[$c]=$(nft_count "$c" requests)
		echo0[$c]=$(nft_count "$c" echoes)
	done
	t0=$EPOCHREALTIME
	sleep "$cal_s"
	elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	for c in busy idle; do
		say "real sidecar $c: $(per_s "${req0[$c]}" "$(nft_count "$c" requests)" "$elapsed") membership requests/s, $(per_s "${echo0[$c]}" "$(nft_count "$c" echoes)" "$elapsed") tunnel echoes/s (over $elapsed s)"
	done
	wait "$ping_pid" || say "busy's ping of $LAB_INTERNET_IP lost packets"
	say "simulated crawler: before 4 RENEW/s; after busy $(awk -v l=$LEASE_TIME 'BEGIN { printf "%.2f", 3 / l }') RENEW/s; after idle the same and 4 echoes/s"
	for c in busy idle; do
		lab_del_pod "$c"
	done
fi

# ---- 2. load ----
lab_add_pod simulator "$SIM_IP"
renew_after=$((LEASE_TIME * 1000 / 3))
# The baseline renews nothing: once, right after the joins, without a
# long warm-up (3 s) and at most 10 s, so that no lease (30 s) expires in it.
args=(--phase "baseline:0:0:$((phase_s < 10 ? phase_s : 10)):3")
for ((r = 1; r <= reps; r++)); do
	args+=(--phase "before:250:0:$phase_s" --phase "after-busy:$renew_after:0:$phase_s"
		--phase "after-idle:$renew_after:250:$phase_s")
done
say "load: $crawlers simulated crawlers, phases of ${phase_s} s after ${warmup} s of warm-up, $reps run(s)"
out=$LAB_STATE/load.out
timeout --kill-after=5 $((reps * 3 * (phase_s + warmup + 1) + phase_s + 180)) ip netns exec "$(lab_ns simulator)" \
	"$LOAD" --gateway "$GW_IP" --clients "$crawlers" --key "$KEY" --gateway-pid "$gw_pid" --warmup "$warmup" \
	"${args[@]}" >"$out" || b_die "keepalive-load failed: $(tail -n 3 "$out")"
lab_pid_alive "$gw_pid" || b_die "gatewayd died under the load: $(tail -n 5 "$LAB_STATE/foo.gatewayd.log")"

# Medians over the runs. gatewayd: % of one core, scaled to 1,000
# crawlers. Machine: % of one core over all CPUs, not scaled (it holds other
# load of this shared machine), minus the simulator's own CPU.
awk -v n="$crawlers" -v name="$B_NAME" '
	function field(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
	function median(list,   a, m, i, j, t) {
		m = split(list, a, " ")
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	/^phase=/ {
		p = field("phase"); s = field("seconds")
		gw[p] = gw[p] " " field("gw_cpu_ms") / (s * 10) * 1000 / n
		run[p] = run[p] " " field("gw_run_ms") / (s * 10) * 1000 / n
		mach[p] = mach[p] " " (field("machine_busy_ms") - field("self_cpu_ms")) / (s * 10)
		# /proc/stat moved less than this process alone: not to be trusted
		# here (seen on this VM), said rather than printed as a figure.
		if (field("machine_busy_ms") + 0 < field("self_cpu_ms") + 0) bad_machine = 1
		sirq[p] = sirq[p] " " field("machine_softirq_ms") / (s * 10)
		self[p] = self[p] " " field("self_cpu_ms") / (s * 10)
		printf "%s: %s\n", name, $0
		if (field("echo_ms") > 0 && field("echo_replies") < field("echo_sent") * 0.9)
			printf "%s: note: only %s of %s echoes answered in phase %s\n", name, field("echo_replies"), field("echo_sent"), p
		if (field("renew_granted") < field("renew_sent") * 0.9)
			printf "%s: note: only %s of %s renewals granted in phase %s\n", name, field("renew_granted"), field("renew_sent"), p
	}
	END {
		for (p in gw) { g[p] = median(gw[p]); o[p] = median(run[p]); m[p] = median(mach[p]); q[p] = median(sirq[p]); sf[p] = median(self[p]) }
		printf "%s: gatewayd per 1,000 crawlers and the machine (%% of one core, medians):\n", name
		printf "%s:   %-11s %12s %12s %12s %12s %12s %12s\n", name, "phase", "gw utime+st", "gw on-CPU", "gw-baseline", "machine*", "softirq", "simulator"
		split("baseline before after-busy after-idle", order, " ")
		for (i = 1; i <= 4; i++) { p = order[i]; if (!(p in g)) continue
			printf "%s:   %-11s %11.2f%% %11.2f%% %11.2f%% %11.1f%% %11.1f%% %11.1f%%\n", name, p, g[p], o[p], g[p] - g["baseline"], m[p], q[p], sf[p] }
		printf "%s:   * every CPU busy minus the simulator, for %d crawlers, not scaled; shared machine: other load included\n", name, n
		ratio("after-busy"); ratio("after-idle")
	}
	function ratio(p,   a, b) {
		a = g["before"] - g["baseline"]; b = g[p] - g["baseline"]
		printf "FIGURE: keepalive_gatewayd_cpu_pct_per_1000_%s = %.2f %% (before %.2f %%, baseline %.2f %%)\n", p, g[p], g["before"], g["baseline"]
		if (g[p] > 0) printf "FIGURE: keepalive_gatewayd_cpu_ratio_%s = %.1fx lower\n", p, g["before"] / g[p]
		else printf "FIGURE: keepalive_gatewayd_cpu_ratio_%s = inf (no CPU tick measured)\n", p
		if (b > 0) printf "FIGURE: keepalive_gatewayd_cpu_ratio_net_of_baseline_%s = %.1fx lower\n", p, a / b
		else printf "FIGURE: keepalive_gatewayd_cpu_ratio_net_of_baseline_%s = inf (at or below the baseline)\n", p
		printf "FIGURE: keepalive_gatewayd_oncpu_pct_per_1000_%s = %.2f %% (before %.2f %%, baseline %.2f %%)\n", p, o[p], o["before"], o["baseline"]
		if (o[p] > 0) printf "FIGURE: keepalive_gatewayd_oncpu_ratio_%s = %.1fx lower\n", p, o["before"] / o[p]
		if (bad_machine) printf "FIGURE: keepalive_machine_cpu_pct_%s = n/a (/proc/stat counted less than the simulator alone in some phase)\n", p
		else printf "FIGURE: keepalive_machine_cpu_pct_%s = %.1f %% (before %.1f %%, baseline %.1f %%; %d crawlers)\n", p, m[p], m["before"], m["baseline"], n
		# The system calls of the simulator carry the kernel work of both ends
		# (its sends run the receive, answer and encapsulation of the gateway
		# side in softirq on its CPU): with gatewayd, what the keepalives cost.
		printf "FIGURE: keepalive_simulator_plus_gatewayd_pct_%s = %.1f %% (before %.1f %%; %d crawlers)\n", p, sf[p] + o[p] * n / 1000, sf["before"] + o["before"] * n / 1000, n
	}' "$out"
lab_stop_pid "$gw_pid" TERM 20 || true
