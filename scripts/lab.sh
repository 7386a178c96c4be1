#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab.sh: the reference design's cluster on one machine, out of network namespaces.
#
#   lab.sh up       build if needed; gateways foo (10.244.0.2) and bar (10.244.0.3)
#                   running gatewayd; crawler-foo-1 (10.244.0.11, overlay 172.16.0.11)
#                   and crawler-bar-1 (10.244.0.21, overlay 172.16.0.21) set up by
#                   `clientd init`; internet 203.0.113.10 behind the node
#   lab.sh demo     (up if needed) tcpdump on foo's eth0 while crawler-foo-1 pings
#                   203.0.113.10: the reference design's picture
#   lab.sh status   what exists
#   lab.sh exec NAME CMD...   run CMD in namespace PREFIX+NAME (e.g. crawler-foo-1)
#   lab.sh down     remove everything (safe after a crash, safe twice)
#
# Environment: PODGW_LAB_PREFIX (namespace prefix, "podgw-"), PODGW_BUILD (build
# directory, SRC/build). Needs root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lab-lib.sh
. "$here/lab-lib.sh"

PREFIX=${PODGW_LAB_PREFIX:-podgw-}

GATEWAYS=("foo 10.244.0.2" "bar 10.244.0.3")
# name pod-ip gateway overlay-address
CRAWLERS=("crawler-foo-1 10.244.0.11 foo 172.16.0.11" "crawler-bar-1 10.244.0.21 bar 172.16.0.21")

usage() {
	sed -n '4,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

need_root() {
	if ((EUID != 0)); then
		echo "lab.sh: needs root (network namespaces); try: sudo $0 $*" >&2
		exit 1
	fi
}

build() {
	if [[ ! -d $LAB_BUILD ]]; then
		echo "lab.sh: building in $LAB_BUILD" >&2
		(cd "$LAB_SRC" && meson setup "$LAB_BUILD" >&2 && meson compile -C "$LAB_BUILD" >&2)
	elif [[ ! -x $LAB_GATEWAYD || ! -x $LAB_CLIENTD ]]; then
		meson compile -C "$LAB_BUILD" >&2
	fi
	[[ -x $LAB_GATEWAYD && -x $LAB_CLIENTD ]] || {
		echo "lab.sh: no $LAB_GATEWAYD or $LAB_CLIENTD after the build" >&2
		exit 1
	}
}

# Up and healthy: every gateway's gatewayd alive.
is_up() {
	local entry name pid
	lab_ns_exists "$(lab_ns node)" || return 1
	for entry in "${GATEWAYS[@]}"; do
		read -r name _ <<<"$entry"
		[[ -f $LAB_STATE/$name.gatewayd.pid ]] || return 1
		pid=$(<"$LAB_STATE/$name.gatewayd.pid")
		lab_pid_alive "$pid" || return 1
	done
}

cmd_up() {
	need_root up
	build
	if is_up; then
		echo "lab.sh: already up (prefix $PREFIX)" >&2
		return 0
	fi
	lab_down "$PREFIX"
	UP_DONE=0
	trap 'if ((UP_DONE == 0)); then echo "lab.sh: up failed, removing the partial lab" >&2; lab_down "$PREFIX"; fi' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	lab_create_base
	local entry name ip gw addr
	for entry in "${GATEWAYS[@]}"; do
		read -r name ip <<<"$entry"
		lab_add_gateway "$name" "$ip"
		lab_start_gatewayd "$name"
		echo "lab.sh: gateway $name ($ip) up, gatewayd pid $LAB_PID" >&2
	done
	for entry in "${CRAWLERS[@]}"; do
		read -r name ip gw addr <<<"$entry"
		lab_add_pod "$name" "$ip"
		# The sidecar: it joins, and its renewals keep the lease alive.
		lab_start_clientd_run "$name" "$gw" "$addr"
		echo "lab.sh: crawler $name ($ip, overlay $addr) routed through $gw, clientd run pid $LAB_PID" >&2
	done
	# shellcheck disable=SC2034 # read by the EXIT trap
	UP_DONE=1
	trap - INT TERM
	echo "lab.sh: up; try: $0 demo   or   $0 exec crawler-foo-1 ping -c 1 203.0.113.10" >&2
}

cmd_down() {
	need_root down
	lab_down "$PREFIX"
	echo "lab.sh: down (prefix $PREFIX)" >&2
}

cmd_status() {
	local ns name pidf pid state
	local -a namespaces
	mapfile -t namespaces < <(lab_list_ns "$PREFIX")
	if ((${#namespaces[@]} == 0)); then
		echo "lab is down (no namespace with prefix $PREFIX)"
		return 0
	fi
	for ns in "${namespaces[@]}"; do
		name=${ns#"$PREFIX"}
		printf '%-20s' "$ns"
		ip -n "$ns" -4 -o addr show | awk '$2 != "lo" {printf " %s:%s", $2, $4}'
		echo
		for pidf in "$LAB_STATE/$name".*.pid; do
			[[ -f $pidf ]] || continue
			pid=$(<"$pidf")
			state=dead
			lab_pid_alive "$pid" && state=running
			printf '%20s %s pid %s %s\n' "" "$(basename "$pidf" .pid | cut -d. -f2)" "$pid" "$state"
		done
		if [[ $name == crawler-* ]]; then
			printf '%20s %s\n' "" "$(ip -n "$ns" route get 203.0.113.10 2>&1 | head -n 1)"
		fi
	done
}

cmd_demo() {
	need_root demo
	is_up || cmd_up
	local gw_ns out err tpid rc=0 i
	gw_ns=$(lab_ns foo)
	out=$LAB_STATE/demo.txt
	err=$LAB_STATE/demo.err
	: >"$out"
	: >"$err"
	echo "\$ tcpdump -i eth0 -nv  (in pod-gateway-foo = $gw_ns; filter: udp port 8472 or icmp)"
	timeout 15 ip netns exec "$gw_ns" tcpdump --immediate-mode -i eth0 -n -v -l -c 4 'udp port 8472 or icmp' \
		>"$out" 2>"$err" &
	tpid=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && break
		sleep 0.1
	done
	echo "\$ ping -c1 203.0.113.10   (in crawler-foo-1)"
	lab_exec crawler-foo-1 ping -c 1 -W 2 203.0.113.10 || rc=$?
	for ((i = 0; i < 30; i++)); do
		lab_pid_alive "$tpid" || break
		sleep 0.1
	done
	lab_pid_alive "$tpid" && kill -s INT "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null || true
	echo "\$ tcpdump output:"
	grep 'listening on' "$err" || true
	cat "$out"
	grep -v -e 'listening on' -e '^$' "$err" || true
	return "$rc"
}

cmd_exec() {
	need_root exec
	local name=${1:?lab.sh exec NAME CMD...}
	shift
	(($# > 0)) || set -- bash
	name=${name#"$PREFIX"}
	exec ip netns exec "$PREFIX$name" "$@"
}

main() {
	local cmd=${1:-}
	(($# > 0)) && shift
	lab_init "$PREFIX"
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	demo) cmd_demo ;;
	exec) cmd_exec "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
