#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# membership.sh: how gatewayd's membership service copes with many clients.
# A benchmark, run on demand (never by `meson test`): it prints figures and
# ratios and asserts nothing about time.
#
# In a throwaway lab (namespaces pgb<pid>-*, deleted on every exit path): a
# gateway pod "foo" (gatewayd --lease-time 600, a /16 overlay, leases in the
# lab's state directory) and one pod "simulator" running join-flood, which
# plays N clients from one socket. Per repetition, with a fresh gatewayd:
#   - gatewayd's VmRSS/VmHWM idle (/proc/PID/status);
#   - N joins (joins/s), then 3 rounds of RENEW for all (renewals/s, and the
#     CPU time gatewayd spent: utime+stime from /proc/PID/stat around them);
#   - VmRSS/VmHWM with N leases; FDB entries, neighbours and set elements on
#     the gateway (each should be about N);
#   - RELEASE of all (releases/s), and what is left in the kernel after it.
# Once without a key and once with one (MEMBERSHIP_KEY_FILE: every message
# tagged and checked, replay cache on), each repeated (median of -r runs);
# then one "burst" run with every join in flight at once (window N).
#
# Usage: tests/bench/membership.sh [-n CLIENTS] [-r REPS] [-w WINDOW]
#                                   [-b BURST_WINDOW] [-t TIMEOUT] [-o FILE]
# Environment: PODGW_BUILD (build dir, default SRC/build).
set -euo pipefail

B_NAME=membership-bench
clients=1000
reps=3
window=64
burst=
timeout_s=60
out=

b_usage() {
	sed -n '/^# Usage:/,/^# Environment:/p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
  -n CLIENTS       simulated clients (default 1000; at most 65000 in the /16)
  -r REPS          repetitions per mode, medians reported (default 3)
  -w WINDOW        requests in flight (default 64)
  -b BURST_WINDOW  window of the burst run (default: CLIENTS; 0: no burst run)
  -t TIMEOUT       seconds each join-flood run may take at most (default 60)
  -o FILE          JSON results (default PODGW_BUILD/bench-membership.json)
EOF
}

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

while getopts ':n:r:w:b:t:o:h' opt; do
	case $opt in
	n) b_number n "$OPTARG" 1 65000 && clients=$((10#$OPTARG)) ;;
	r) b_number r "$OPTARG" 1 25 && reps=$((10#$OPTARG)) ;;
	w) b_number w "$OPTARG" 1 65536 && window=$((10#$OPTARG)) ;;
	b) b_number b "$OPTARG" 0 65536 && burst=$((10#$OPTARG)) ;;
	t) b_number t "$OPTARG" 1 3600 && timeout_s=$((10#$OPTARG)) ;;
	o) out=$OPTARG ;;
	h)
		b_usage
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
if (($# > 0)); then
	echo "$B_NAME: unexpected argument '$1' (-h for help)" >&2
	exit 2
fi
burst=${burst:-$clients}

if ((EUID != 0)); then
	echo "$B_NAME: needs root (network namespaces)" >&2
	exit 77
fi
for tool in ip bridge nft ss meson python3 timeout awk; do
	command -v "$tool" >/dev/null 2>&1 || b_die "$tool is not installed"
done

PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODGW_BUILD=$(realpath -m -- "${PODGW_BUILD:-$PODGW_SRC/build}")
export PODGW_SRC PODGW_BUILD
out=${out:-$PODGW_BUILD/bench-membership.json}

# Build what we run (a no-op when it is up to date).
if [[ ! -f $PODGW_BUILD/build.ninja ]]; then
	meson setup "$PODGW_BUILD" "$PODGW_SRC" >/dev/null || b_die "meson setup $PODGW_BUILD failed"
fi
meson compile -C "$PODGW_BUILD" gatewayd join-flood >/dev/null ||
	b_die "meson compile -C $PODGW_BUILD gatewayd join-flood failed"
FLOOD=$PODGW_BUILD/tests/bench/join-flood
[[ -x $FLOOD ]] || b_die "$FLOOD is missing after the build"

# shellcheck source-path=SCRIPTDIR source=../../scripts/lab-lib.sh
. "$PODGW_SRC/scripts/lab-lib.sh"
B_PREFIX="pgb$$-"
lab_init "$B_PREFIX"
[[ -x $LAB_GATEWAYD ]] || b_die "$LAB_GATEWAYD is missing after the build"

b_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	lab_down "$B_PREFIX"
	if [[ -n $(lab_list_ns "$B_PREFIX") ]]; then
		echo "$B_NAME: namespaces left behind: $(lab_list_ns "$B_PREFIX" | tr '\n' ' ')" >&2
		rc=1
	fi
	[[ -z ${B_WORK-} ]] || rm -rf -- "$B_WORK"
	exit "$rc"
}
trap b_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

B_WORK=$(mktemp -d /tmp/podgw-bench.XXXXXX)
GW_IP=10.244.0.2
SIM_IP=10.244.0.10
OVERLAY=172.16.0.0/16

lab_create_base
lab_add_gateway foo "$GW_IP"
lab_add_pod simulator "$SIM_IP"
GW_NS=$(lab_ns foo)
LEASES=$LAB_STATE/foo.leases
KEY=$LAB_STATE/membership.key
head -c 32 /dev/urandom | base64 >"$KEY"
chmod 600 "$KEY"

# proc_kib PID FIELD: a "VmRSS:"-style line of /proc/PID/status, in KiB.
proc_kib() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"
}

# kernel_counts: JSON object of what admission programmed on foo.
kernel_counts() {
	local fdb fdb_sim neigh clients peers leases
	fdb=$(ip netns exec "$GW_NS" bridge fdb show dev vxlan0 | wc -l)
	# The simulated clients' MACs all start 0a:62:66 (join-flood).
	fdb_sim=$(ip netns exec "$GW_NS" bridge fdb show dev vxlan0 | grep -c '^0a:62:66:' || true)
	neigh=$(ip -n "$GW_NS" neigh show dev vxlan0 | wc -l)
	clients=$(set_elements clients)
	peers=$(set_elements peers)
	leases=0
	# One line a lease after the "podgw-leases 1" header.
	[[ ! -f $LEASES ]] || leases=$(grep -cv -e '^#' -e '^podgw-leases ' "$LEASES" || true)
	printf '{"fdb":%s,"fdb_clients":%s,"neigh":%s,"set_clients":%s,"set_peers":%s,"leases_file":%s}' \
		"$fdb" "$fdb_sim" "$neigh" "$clients" "$peers" "$leases"
}

set_elements() {
	ip netns exec "$GW_NS" nft -j list set inet podgw "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "set" in o:
        print(len(o["set"].get("elem", [])))
        break
else:
    print(-1)'
}

# flood OUTFILE ARGS...: join-flood in the simulator pod, bounded in time.
# Its JSON goes to OUTFILE, its exit code (0 all answered, 1 some not) to B_RC.
flood() {
	local file=$1
	shift
	B_RC=0
	timeout --kill-after=5 $((timeout_s + 30)) ip netns exec "$(lab_ns simulator)" \
		"$FLOOD" --gateway "$GW_IP" --clients "$clients" --timeout "$timeout_s" --json "$@" \
		>"$file" 2>"$file.err" || B_RC=$?
	if [[ -s $file.err ]]; then
		sed "s/^/$B_NAME: join-flood: /" "$file.err" >&2
	fi
	if ((B_RC > 1)) || [[ ! -s $file ]]; then
		b_die "join-flood exited with $B_RC and no report (args: $*)"
	fi
}

# run_once MODE REP WINDOW: a fresh gatewayd, the whole sequence, one JSON
# record in $B_WORK/MODE-REP.json.
run_once() {
	local mode=$1 rep=$2 win=$3 pid rss hwm before after stop_rc
	# join-flood's clients share one pod IP: no per-pod-IP limits here.
	local -a gw_args=(--lease-time 600 --leases-file "$LEASES" --vxlan-ip-network "$OVERLAY"
		--leases-per-pod-ip 0 --join-rate-per-pod-ip 0)
	local -a fl_args=(--window "$win")
	if [[ $mode == auth ]]; then
		gw_args+=(--membership-key-file "$KEY")
		fl_args+=(--key "$KEY")
	fi
	rm -f "$LEASES"
	lab_start_gatewayd foo "${gw_args[@]}" || b_die "gatewayd did not become ready ($mode, run $rep)"
	pid=$LAB_PID
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == gatewayd ]] ||
		b_die "pid $pid is not gatewayd ($(cat "/proc/$pid/comm" 2>/dev/null || echo gone))"
	sleep 0.5
	# The control socket's receive buffer (bytes): what a burst must fit in.
	local rcvbuf
	rcvbuf=$(ip netns exec "$GW_NS" ss -uamnH "sport = :8473" |
		grep -o 'rb[0-9]*' | head -n 1 | tr -d rb) || true
	rss=$(proc_kib "$pid" VmRSS)
	hwm=$(proc_kib "$pid" VmHWM)
	before=$(kernel_counts)

	flood "$B_WORK/$mode-$rep.flood.json" "${fl_args[@]}" --renew-rounds 3 --gateway-pid "$pid"
	local flood_rc=$B_RC
	lab_pid_alive "$pid" || b_die "gatewayd died during the joins ($mode, run $rep); log: $(tail -n 5 "$LAB_STATE/foo.gatewayd.log")"
	local rss_l hwm_l
	rss_l=$(proc_kib "$pid" VmRSS)
	hwm_l=$(proc_kib "$pid" VmHWM)
	after=$(kernel_counts)

	flood "$B_WORK/$mode-$rep.release.json" "${fl_args[@]}" --no-join --release --gateway-pid "$pid"
	local release_rc=$B_RC
	local released
	released=$(kernel_counts)

	local t0=$EPOCHREALTIME
	lab_stop_pid "$pid" TERM 20 || true
	stop_rc=$LAB_RC
	local stop_ms
	stop_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	local log_lines
	log_lines=$(wc -l <"$LAB_STATE/foo.gatewayd.log")
	cp "$LAB_STATE/foo.gatewayd.log" "$B_WORK/$mode-$rep.gatewayd.log"
	: >"$LAB_STATE/foo.gatewayd.log"

	{
		printf '{"mode":"%s","rep":%s,"window":%s,"control_rcvbuf":%s,' \
			"$mode" "$rep" "$win" "${rcvbuf:-null}"
		printf '"idle":{"vmrss_kib":%s,"vmhwm_kib":%s},"kernel_idle":%s,' "$rss" "$hwm" "$before"
		printf '"leased":{"vmrss_kib":%s,"vmhwm_kib":%s},"kernel_leased":%s,' \
			"$rss_l" "$hwm_l" "$after"
		printf '"kernel_released":%s,"flood_rc":%s,"release_rc":%s,' \
			"$released" "$flood_rc" "$release_rc"
		printf '"stop_rc":"%s","stop_ms":%s,"gatewayd_log_lines":%s,' \
			"$stop_rc" "$stop_ms" "$log_lines"
		printf '"flood":%s,"release":%s}\n' "$(cat "$B_WORK/$mode-$rep.flood.json")" \
			"$(cat "$B_WORK/$mode-$rep.release.json")"
	} >"$B_WORK/$mode-$rep.json"
	echo "$B_NAME: $mode run $rep: join-flood exit $flood_rc, release exit $release_rc, gatewayd exit $stop_rc" >&2
}

# Modes alternate, so that a drift of the machine does not favour one.
for ((rep = 1; rep <= reps; rep++)); do
	for mode in plain auth; do
		run_once "$mode" "$rep" "$window"
	done
done
if ((burst > 0)); then
	run_once burst 1 "$burst"
fi

mkdir -p "$(dirname "$out")"
python3 - "$B_WORK" "$out" "$clients" "$reps" "$window" "$burst" <<'PY'
import glob
import json
import os
import statistics
import sys

work, out, clients, reps, window, burst = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
runs = {}
for path in sorted(glob.glob(os.path.join(work, "*-*.json"))):
    if path.endswith((".flood.json", ".release.json")):
        continue
    with open(path) as f:
        r = json.load(f)
    runs.setdefault(r["mode"], []).append(r)


def phases(run, name, which="flood"):
    return [p for p in run[which]["phases"] if p["phase"] == name]


def cpu(p):
    a, b = p["gateway_after"], p["gateway_before"]
    if not a or not b:
        return None
    return a["utime_ms"] + a["stime_ms"] - b["utime_ms"] - b["stime_ms"]


def split(ps, key):
    vals = [p["gateway_after"][key] - p["gateway_before"][key] for p in ps
            if p["gateway_after"] and p["gateway_before"]]
    return sum(vals) if vals else None


def drops(ps):
    return split(ps, "udp_rcvbuf_errors")


def metrics(run):
    m = {}
    j = run["flood"]["join"]
    rn = run["flood"]["renew"]
    rl = run["release"]["release"]
    jp, rp, lp = phases(run, "join"), phases(run, "renew"), phases(run, "release", "release")
    m["idle_rss"] = run["idle"]["vmrss_kib"]
    m["idle_hwm"] = run["idle"]["vmhwm_kib"]
    m["joins_ok"] = j["ok"]
    m["joins_failed"] = j["failed"]
    m["joins_s"] = j["rate_per_s"]
    m["join_p50"] = jp[0]["latency_ms"]["p50"] if jp else None
    m["join_p99"] = jp[0]["latency_ms"]["p99"] if jp else None
    m["join_max"] = jp[0]["latency_ms"]["max"] if jp else None
    m["join_resent"] = sum(p["resent"] for p in jp)
    m["join_drops"] = drops(jp)
    m["rcvbuf"] = run["control_rcvbuf"]
    m["join_cpu_1000"] = j["gateway_cpu_ms_per_1000"]
    m["join_run_1000"] = j["gateway_run_ms_per_1000"]
    m["leased_rss"] = run["leased"]["vmrss_kib"]
    m["leased_hwm"] = run["leased"]["vmhwm_kib"]
    m["renew_ok"] = rn["ok"]
    m["renew_failed"] = rn["failed"]
    m["renew_s"] = rn["rate_per_s"]
    m["renew_p99"] = max((p["latency_ms"]["p99"] for p in rp), default=None)
    m["renew_resent"] = sum(p["resent"] for p in rp)
    m["renew_drops"] = drops(rp)
    m["renew_cpu_1000"] = rn["gateway_cpu_ms_per_1000"]
    m["renew_user_1000"] = (split(rp, "utime_ms") or 0) * 1000 / rn["ok"] if rn["ok"] else None
    m["renew_sys_1000"] = (split(rp, "stime_ms") or 0) * 1000 / rn["ok"] if rn["ok"] else None
    m["renew_run_1000"] = rn["gateway_run_ms_per_1000"]
    m["addr_changed"] = sum(p["addr_changed"] for p in rp)
    k = run["kernel_leased"]
    for key in ("fdb", "fdb_clients", "neigh", "set_clients", "set_peers", "leases_file"):
        m["k_" + key] = k[key]
    m["release_ok"] = rl["ok"]
    m["release_s"] = rl["rate_per_s"]
    m["release_cpu_1000"] = rl["gateway_cpu_ms_per_1000"]
    k = run["kernel_released"]
    for key in ("fdb_clients", "neigh", "set_clients", "set_peers", "leases_file"):
        m["r_" + key] = k[key]
    m["stop_rc"] = run["stop_rc"]
    m["stop_ms"] = run["stop_ms"]
    m["log_lines"] = run["gatewayd_log_lines"]
    return m


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


summary = {}
for mode, rs in runs.items():
    ms = [metrics(r) for r in rs]
    summary[mode] = {
        "runs": len(ms),
        "median": {k: median([m[k] for m in ms]) for k in ms[0] if k != "stop_rc"},
        "min": {k: min((m[k] for m in ms if isinstance(m[k], (int, float))), default=None)
                for k in ms[0] if k != "stop_rc"},
        "max": {k: max((m[k] for m in ms if isinstance(m[k], (int, float))), default=None)
                for k in ms[0] if k != "stop_rc"},
        "stop_rc": [m["stop_rc"] for m in ms],
        "per_run": ms,
    }


def fmt(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}"
    return f"{round(v):,}"


def cell(mode, key, digits=0, spread=False):
    s = summary.get(mode)
    if not s:
        return "–"
    text = fmt(s["median"][key], digits)
    if spread and s["runs"] > 1 and s["min"][key] is not None:
        text += f" ({fmt(s['min'][key], digits)}–{fmt(s['max'][key], digits)})"
    return text


def ratio(key):
    a = summary.get("auth", {}).get("median", {}).get(key)
    p = summary.get("plain", {}).get("median", {}).get(key)
    if not a or not p:
        return ""
    return f"{a / p:.2f}×"


rows = [
    ("gatewayd VmRSS idle (KiB)", "idle_rss", 0, False, True),
    ("gatewayd VmHWM idle (KiB)", "idle_hwm", 0, False, True),
    (f"joins completed (of {clients})", "joins_ok", 0, False, False),
    ("joins failed (errors + unanswered)", "joins_failed", 0, False, False),
    ("**joins/s**", "joins_s", 0, True, True),
    ("join latency p50 / p99 / max (ms)", None, None, None, False),
    ("join resends (250 ms)", "join_resent", 0, False, False),
    ("gateway UDP receive-buffer drops during joins", "join_drops", 0, False, False),
    ("gatewayd CPU per 1,000 joins, utime+stime (ms)", "join_cpu_1000", 0, True, True),
    ("gatewayd on-CPU per 1,000 joins, schedstat (ms)", "join_run_1000", 1, True, True),
    ("gatewayd control socket receive buffer (bytes)", "rcvbuf", 0, False, False),
    (f"gatewayd VmRSS with {clients} leases (KiB)", "leased_rss", 0, False, True),
    (f"gatewayd VmHWM with {clients} leases (KiB)", "leased_hwm", 0, False, True),
    (f"renewals completed (3 rounds, of {3 * clients})", "renew_ok", 0, False, False),
    ("**renewals/s**", "renew_s", 0, True, True),
    ("renew latency p99, worst round (ms)", "renew_p99", 2, False, False),
    ("renew resends / receive-buffer drops", None, None, None, False),
    ("gatewayd CPU per 1,000 renewals, utime+stime (ms)", "renew_cpu_1000", 1, True, True),
    ("  of which user / sys (ms)", None, None, None, False),
    ("gatewayd on-CPU per 1,000 renewals, schedstat (ms)", "renew_run_1000", 1, True, True),
    ("FDB entries on vxlan0 (all / client MACs)", None, None, None, False),
    ("neighbours on vxlan0", "k_neigh", 0, False, False),
    ("set elements: clients / peers", None, None, None, False),
    ("leases in LEASES_FILE", "k_leases_file", 0, False, False),
    ("**releases/s**", "release_s", 0, True, True),
    ("left after release: FDB / neigh / clients / peers / leases", None, None, None, False),
    ("gatewayd stop (SIGTERM → exit, ms)", "stop_ms", 0, False, False),
]
modes = [m for m in ("plain", "auth", "burst") if m in summary]
titles = {"plain": "no key", "auth": "with key", "burst": f"burst, window {burst}, no key"}
header = ["figure"] + [titles[m] + (f" (median of {summary[m]['runs']})" if summary[m]["runs"] > 1 else "")
                       for m in modes] + ["key / no key"]
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]


def composite(mode, label):
    s = summary.get(mode)
    if not s:
        return "–"
    md = s["median"]
    if label.startswith("join latency"):
        return f"{fmt(md['join_p50'], 2)} / {fmt(md['join_p99'], 2)} / {fmt(md['join_max'], 2)}"
    if label.startswith("renew resends"):
        return f"{fmt(md['renew_resent'])} / {fmt(md['renew_drops'])}"
    if label.startswith("  of which"):
        return f"{fmt(md['renew_user_1000'], 1)} / {fmt(md['renew_sys_1000'], 1)}"
    if label.startswith("FDB"):
        return f"{fmt(md['k_fdb'])} / {fmt(md['k_fdb_clients'])}"
    if label.startswith("set elements"):
        return f"{fmt(md['k_set_clients'])} / {fmt(md['k_set_peers'])}"
    if label.startswith("left after"):
        return " / ".join(fmt(md[k]) for k in ("r_fdb_clients", "r_neigh", "r_set_clients",
                                               "r_set_peers", "r_leases_file"))
    return "?"


for label, key, digits, spread, with_ratio in rows:
    cells = [composite(m, label) if key is None else cell(m, key, digits, spread) for m in modes]
    lines.append("| " + " | ".join([label] + cells + [ratio(key) if with_ratio and key else ""]) + " |")
table = "\n".join(lines)
print(table)
print()
print(f"{clients} simulated clients from one pod IP, window {window}; medians, (min–max) of the runs "
      "where shown. gatewayd exit codes: " +
      ", ".join(f"{m}: {summary[m]['stop_rc']}" for m in modes))
with open(out, "w") as f:
    json.dump({"clients": clients, "reps": reps, "window": window, "burst_window": burst,
               "summary": summary, "runs": runs, "table_markdown": table}, f, indent=1)
print(f"JSON: {out}")
PY
