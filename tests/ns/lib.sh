# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by the namespace tests: root check (exit 77), a unique namespace
# prefix, cleanup on every exit path, pass/fail helpers, tcpdump helpers.
# Environment (set by tests/ns/meson.build): PODGW_SRC, PODGW_BUILD.
set -euo pipefail

T_NAME=$(basename "$0" .sh)

if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root (network namespaces)"
	exit 77
fi
for t_tool in ip nft tcpdump ping timeout sysctl awk; do
	if ! command -v "$t_tool" >/dev/null 2>&1; then
		echo "SKIP: $T_NAME: $t_tool is not installed (scripts/deps.sh installs it)"
		exit 77
	fi
done
unset t_tool

PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODGW_BUILD=${PODGW_BUILD:-$PODGW_SRC/build}
export PODGW_SRC PODGW_BUILD
# shellcheck source-path=SCRIPTDIR source=../../scripts/lab-lib.sh
. "$PODGW_SRC/scripts/lab-lib.sh"

T_PREFIX="pgt$$-"
lab_init "$T_PREFIX"
GATEWAYD=$LAB_GATEWAYD
CLIENTD=$LAB_CLIENTD

t_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if ((rc == 130 || rc == 143)); then
		echo "FAIL: $T_NAME: interrupted" >&2
	fi
	if ((rc != 0 && rc != 77)) && [[ -d $LAB_STATE ]]; then
		local f
		for f in "$LAB_STATE"/*.log; do
			[[ -s $f ]] || continue
			echo "---- $(basename "$f") ----" >&2
			cat "$f" >&2
		done
	fi
	lab_down "$T_PREFIX"
	if [[ -n $(lab_list_ns "$T_PREFIX") ]]; then
		echo "FAIL: $T_NAME: namespaces left behind: $(lab_list_ns "$T_PREFIX" | tr '\n' ' ')" >&2
		rc=1
	fi
	exit "$rc"
}
trap t_cleanup EXIT
# An unexpected failure (set -e) says where it happened.
set -o errtrace
t_on_err() {
	local rc=$?
	echo "$T_NAME: line ${BASH_LINENO[0]}: \"$BASH_COMMAND\" failed with $rc" >&2
}
trap t_on_err ERR
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $T_NAME: $*" >&2
	exit 1
}

pass() {
	echo "PASS: $T_NAME${1:+: $1}"
	exit 0
}

info() {
	echo "$T_NAME: $*"
}

for t_bin in "$GATEWAYD" "$CLIENTD"; do
	[[ -x $t_bin ]] || fail "$t_bin is missing (build first: meson compile -C $PODGW_BUILD)"
done
unset t_bin

# t_ping POD DEST [COUNT]: COUNT (1) pings, 1 s each; true when all came back.
t_ping() {
	local pod=$1 dest=$2 count=${3:-1}
	lab_exec "$pod" ping -n -q -c "$count" -W 1 "$dest" >/dev/null 2>&1
}

# t_ping_eventually POD DEST SECONDS: one ping a second until one answers.
t_ping_eventually() {
	local pod=$1 dest=$2 seconds=$3 i
	for ((i = 0; i < seconds; i++)); do
		t_ping "$pod" "$dest" 1 && return 0
	done
	return 1
}

# t_capture_start POD IFACE FILE FILTER...: tcpdump -w FILE in the background
# (bounded by 60 s), returns once it listens. Sets T_CAP_PID.
t_capture_start() {
	local pod=$1 iface=$2 file=$3 i
	shift 3
	local err=$file.err
	: >"$err"
	timeout -s INT 60 ip netns exec "$(lab_ns "$pod")" \
		tcpdump -Z root -U --immediate-mode -n -i "$iface" -w "$file" "$@" 2>"$err" &
	T_CAP_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && return 0
		lab_pid_alive "$T_CAP_PID" || break
		sleep 0.1
	done
	cat "$err" >&2
	fail "tcpdump did not start on $iface in $pod"
}

# t_capture_stop: lets tcpdump write what it has and waits for it (bounded).
t_capture_stop() {
	sleep 0.5
	lab_stop_pid "$T_CAP_PID" INT 10 || true
}

# t_records FILE [TCPDUMP OPTIONS]: one line per packet from `tcpdump -r -nn -v -tt`
# (the inner packet of a tunnel is printed on the packet's own lines).
t_records() {
	local file=$1
	shift
	tcpdump -r "$file" -nn -v -tt "$@" 2>/dev/null | awk '
		/^[0-9]+\.[0-9]+ / { if (rec != "") print rec; rec = $0; next }
		{ sub(/^[ \t]+/, " "); rec = rec " " $0 }
		END { if (rec != "") print rec }'
}

# t_vxlan_count POD: vxlan links in the pod.
t_vxlan_count() {
	ip -n "$(lab_ns "$1")" -o link show type vxlan | wc -l
}
