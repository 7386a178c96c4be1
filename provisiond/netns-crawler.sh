#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# netns-crawler.sh: provisiond's netns backend, the lab's "kubelet". It reuses
# the lab's own functions (scripts/lab-lib.sh), so a provisioned crawler is
# made exactly like the lab's own: a namespace on the pod network bridge with
# `clientd run` bound to its gateway.
#
#   netns-crawler.sh create PREFIX NAME IP GATEWAY WAIT
#       WAIT 0: return once the namespace exists and clientd was started;
#       WAIT N: also wait up to N seconds for clientd's ready file (tunnel up).
#       Prints key=value lines (netns, pod_ip, existed; with WAIT, also
#       overlay_address and, from clientd's STATE_FILE, replica,
#       replica_pod_ip and gateway_pod_ip). Exit 0 ok,
#       3 the pod IP is taken (provisiond tries another), 1 anything else,
#       with one line on stderr; a failure removes what it made.
#   netns-crawler.sh delete PREFIX NAME
#
# Runs only inside namespaces with PREFIX (the lab's); never touches others.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lab-lib.sh
. "${PODGW_SRC:-$(dirname "$here")}/scripts/lab-lib.sh"

# die MESSAGE [CODE]
die() {
	printf 'netns-crawler: %s\n' "$1" >&2
	exit "${2:-1}"
}

# The pods file is appended by lab_add_pod and rewritten by delete: one lock.
# lab_add_pod runs under it, so 100 crawlers at once queue behind each other:
# on a loaded machine that took more than 30 s. 50 s stays inside the 60 s
# provisiond gives the helper beyond ROUTED_TIMEOUT.
pods_lock() {
	exec {PODS_LOCK_FD}>>"$LAB_STATE/pods.lock"
	flock -w 50 "$PODS_LOCK_FD" || die "timed out waiting for $LAB_STATE/pods.lock"
}

pods_unlock() {
	exec {PODS_LOCK_FD}>&-
}

overlay_address() {
	ip -n "$1" -4 -o addr show dev vxlan0 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}

# clientd's last word (for the failed event).
clientd_said() {
	local line
	line=$(tail -n 1 "$LAB_STATE/$1.clientd.log" 2>/dev/null || true)
	printf '%s\n' "${line:-clientd logged nothing}"
}

# wait_routed NAME SECONDS: clientd's ready file, or its death, or the time.
wait_routed() {
	local name=$1 seconds=$2 ready pid i
	ready=$LAB_STATE/$name.clientd.ready
	pid=$(<"$LAB_STATE/$name.clientd.pid")
	for ((i = 0; i < seconds * 10; i++)); do
		[[ -e $ready ]] && return 0
		lab_pid_alive "$pid" || die "clientd in $name exited before the tunnel was up: $(clientd_said "$name")"
		sleep 0.1
	done
	die "clientd in $name not routed after ${seconds}s: $(clientd_said "$name")"
}

# The replica clientd went through, from its STATE_FILE (written when it
# becomes routed, with the replica's name unless clientd or the gateway is
# older): its lines as they are, provisiond checks the values.
print_replica() {
	local state=$LAB_STATE/$1.clientd.state i
	for ((i = 0; i < 20; i++)); do
		grep -q '^state=routed' "$state" 2>/dev/null && break
		sleep 0.1
	done
	grep -E '^(replica|replica_pod_ip|gateway_pod_ip)=' "$state" 2>/dev/null || true
}

start_clientd() {
	local name=$1 gw=$2 ns log
	ns=$(lab_ns "$name")
	log=$LAB_STATE/$name.clientd.log
	rm -f "$LAB_STATE/$name.clientd.ready"
	# setsid: clientd outlives this script and provisiond's process group.
	setsid ip netns exec "$ns" env --default-signal=INT,QUIT "$LAB_CLIENTD" run \
		--gateway "$gw" --pod-name "$name" --ready-file "$LAB_STATE/$name.clientd.ready" \
		--state-file "$LAB_STATE/$name.clientd.state" </dev/null >>"$log" 2>&1 &
	printf '%s\n' "$!" >"$LAB_STATE/$name.clientd.pid"
}

cmd_delete() {
	local name=$1 ns pidf pid
	ns=$(lab_ns "$name")
	pidf=$LAB_STATE/$name.clientd.pid
	if [[ -f $pidf ]]; then
		pid=$(<"$pidf")
		lab_stop_pid "$pid" TERM 5 >/dev/null 2>&1 || true
	fi
	if lab_ns_exists "$ns"; then
		lab_kill_ns_processes "$ns"
		ip netns delete "$ns" 2>/dev/null || true
	fi
	rm -rf -- "/etc/netns/$ns"
	rm -f -- "$LAB_STATE/$name".clientd.*
	pods_lock
	if [[ -f $LAB_STATE/pods ]]; then
		awk -v n="$name" '$1 != n' "$LAB_STATE/pods" >"$LAB_STATE/pods.tmp"
		mv -f "$LAB_STATE/pods.tmp" "$LAB_STATE/pods"
	fi
	pods_unlock
}

cmd_create() {
	local name=$1 ip=$2 gw=$3 wait=$4 ns node
	ns=$(lab_ns "$name")
	node=$(lab_ns node)
	lab_ns_exists "$node" || die "the lab is not up (no namespace $node)"
	[[ -x $LAB_CLIENTD ]] || die "no clientd at $LAB_CLIENTD"
	printf 'netns=%s\n' "$ns"
	if lab_ns_exists "$ns"; then
		# An earlier delivery (perhaps before provisiond restarted) made it.
		printf 'existed=1\n'
		printf 'pod_ip=%s\n' "$(lab_pod_ip "$name" || true)"
	else
		printf 'pod_ip=%s\n' "$ip"
		ip -n "$node" link show "vp${ip##*.}" >/dev/null 2>&1 && die "pod IP $ip is taken" 3
		trap 'rc=$?; if ((rc != 0)); then cmd_delete "$name" >/dev/null 2>&1; fi' EXIT
		pods_lock
		lab_add_pod "$name" "$ip" >/dev/null || die "could not add pod $name ($ip)"
		pods_unlock
		start_clientd "$name" "$gw"
	fi
	if ((wait > 0)); then
		wait_routed "$name" "$wait"
		printf 'overlay_address=%s\n' "$(overlay_address "$ns")"
		print_replica "$name"
	fi
	trap - EXIT
}

main() {
	local cmd=${1:-} prefix=${2:-}
	[[ -n $prefix ]] || die "usage: $0 create PREFIX NAME IP GATEWAY WAIT | delete PREFIX NAME" 2
	lab_init "$prefix" || exit 2
	case $cmd in
	create)
		(($# == 6)) || die "create PREFIX NAME IP GATEWAY WAIT" 2
		[[ $6 =~ ^[0-9]+$ ]] || die "WAIT: '$6': not a number" 2
		cmd_create "$3" "$4" "$5" "$6"
		;;
	delete)
		(($# == 3)) || die "delete PREFIX NAME" 2
		cmd_delete "$3"
		;;
	*) die "unknown command '$cmd'" 2 ;;
	esac
}

main "$@"
