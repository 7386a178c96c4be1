#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab.sh: the reference design's cluster on one machine, out of network namespaces.
#
#   lab.sh up       scripts/deps.sh, build if needed; gateway foo with 3 replicas
#                   (pods foo 10.244.0.2, foo-1 .4, foo-2 .5; replicas foo-0..2) and
#                   bar (10.244.0.3) running gatewayd; crawler-foo-1 (10.244.0.11,
#                   overlay 172.16.0.11) and crawler-bar-1 (10.244.0.21, overlay
#                   172.16.0.21) set up by `clientd init`; internet 203.0.113.10
#                   and 2001:db8::10 behind the node (the pod network is dual-stack:
#                   pod 10.244.0.X is also fd00:10:244::X); provisiond
#                   (CloudEvents -> crawlers) on 127.0.0.1:8089,
#                   for senders presenting "Authorization: Bearer TOKEN", the token
#                   in /run/podgw-lab/PREFIX/provisiond.token (made at the first up)
#   lab.sh demo     (up if needed) the reference design's flow: a CloudEvent
#                   io.podgateway.client.pending for foo and one for bar sent with
#                   curl, provisiond's reply events, then a ping from each new
#                   crawler with tcpdump on both gateways' eth0, and a ping to
#                   2001:db8::10 (IPv6 through the tunnel when the gateway grants it)
#   lab.sh status   what exists
#   lab.sh exec NAME CMD...   run CMD in namespace PREFIX+NAME (e.g. crawler-foo-1)
#   lab.sh down     remove everything (safe after a crash, safe twice)
#
# Environment: PODGW_LAB_PREFIX (namespace prefix, "podgw-"), PODGW_BUILD (build
# directory, SRC/build), LAB_PROVISIOND_LISTEN (127.0.0.1:8089), PODGW_LAB_FAMILY
# (dual; ipv6: an IPv6-only pod network, the tunnel over IPv6). Needs root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lab-lib.sh
. "$here/lab-lib.sh"

PREFIX=${PODGW_LAB_PREFIX:-podgw-}

# pod pod-ip [gateway replica]: foo is a pool of three replicas, bar one pod
GATEWAYS=("foo 10.244.0.2 foo foo-0" "foo-1 10.244.0.4 foo foo-1" "foo-2 10.244.0.5 foo foo-2"
	"bar 10.244.0.3")
# name pod-ip gateway overlay-address
CRAWLERS=("crawler-foo-1 10.244.0.11 foo 172.16.0.11" "crawler-bar-1 10.244.0.21 bar 172.16.0.21")

usage() {
	sed -n '4,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

need_root() {
	if ((EUID != 0)); then
		echo "lab.sh: needs root (network namespaces); try: sudo $0 $*" >&2
		exit 1
	fi
}

# What the lab needs (meson, the libraries, tcpdump, curl, ...), as
# scripts/test.sh does: a fresh Debian 12 machine gets it from Debian's
# archive; quick when everything is there.
DEPS_DONE=0
deps() {
	((DEPS_DONE)) && return 0
	"$LAB_SRC/scripts/deps.sh"
	DEPS_DONE=1
}

build() {
	if [[ ! -d $LAB_BUILD ]]; then
		echo "lab.sh: building in $LAB_BUILD" >&2
		(cd "$LAB_SRC" && meson setup "$LAB_BUILD" >&2 && meson compile -C "$LAB_BUILD" >&2)
	elif [[ ! -x $LAB_GATEWAYD || ! -x $LAB_CLIENTD || ! -x $LAB_BUILD/provisiond/provisiond ]]; then
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
	[[ -f $LAB_STATE/provisiond.pid ]] && lab_pid_alive "$(<"$LAB_STATE/provisiond.pid")"
}

cmd_up() {
	need_root up
	deps
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
	local entry name ip gw addr replica
	for entry in "${GATEWAYS[@]}"; do
		read -r name ip gw replica <<<"$entry"
		if [[ -n $replica ]]; then
			lab_add_replica "$gw" "$name" "$ip" "$replica"
			lab_start_gatewayd "$name"
			echo "lab.sh: gateway $gw replica $replica (pod $name, $ip) up, gatewayd pid $LAB_PID" >&2
		else
			lab_add_gateway "$name" "$ip"
			lab_start_gatewayd "$name"
			echo "lab.sh: gateway $name ($ip) up, gatewayd pid $LAB_PID" >&2
		fi
	done
	for entry in "${CRAWLERS[@]}"; do
		read -r name ip gw addr <<<"$entry"
		lab_add_pod "$name" "$ip"
		# The sidecar: it joins, and its renewals keep the lease alive.
		lab_start_clientd_run "$name" "$gw" "$addr"
		echo "lab.sh: crawler $name ($ip, overlay $addr) routed through $gw, clientd run pid $LAB_PID" >&2
	done
	# Crawlers on demand: --reply-when routed answers once the tunnel is up.
	lab_start_provisiond "$(lab_gateway_names)" --reply-when routed
	echo "lab.sh: provisiond on http://$LAB_PROVISIOND_LISTEN/ (CloudEvents), pid $LAB_PID;" \
		"senders present -H \"Authorization: Bearer \$(cat $LAB_STATE/provisiond.token)\"" >&2
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
		ip -n "$ns" -o addr show scope global | awk '$2 != "lo" {printf " %s:%s", $2, $4}'
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
	if [[ -f $LAB_STATE/provisiond.pid ]]; then
		pid=$(<"$LAB_STATE/provisiond.pid")
		state=dead
		lab_pid_alive "$pid" && state=running
		printf '%-20s pid %s %s, CloudEvents on http://%s/ (token: %s)\n' provisiond "$pid" \
			"$state" "$LAB_PROVISIOND_LISTEN" "$LAB_STATE/provisiond.token"
	fi
}

lab_gateway_names() {
	local entry name gw names=()
	for entry in "${GATEWAYS[@]}"; do
		read -r name _ gw _ <<<"$entry"
		gw=${gw:-$name}
		[[ " ${names[*]} " == *" $gw "* ]] || names+=("$gw")
	done
	(IFS=,; echo "${names[*]}")
}

# demo_event GATEWAY: the reference design's event, sent with curl in binary
# mode; prints the command and the reply event; the reply's data in
# STATE/demo-GATEWAY.json. The id is fixed: running the demo again is a
# redelivery and gets the same crawler.
demo_event() {
	local gw=$1
	local out=$LAB_STATE/demo-$gw.json
	local -a req=(curl -sS -m 60 -D "$out.h" -o "$out" "http://$LAB_PROVISIOND_LISTEN/"
		-H "$(lab_provisiond_auth)" -H "Ce-Id: demo-$gw-1" -H "Ce-Specversion: 1.0"
		-H "Ce-Type: io.podgateway.client.pending" -H "Ce-Source: /podgw/lab/demo"
		-H "Content-Type: application/json" -d "{\"gateway_name\":\"$gw\"}")
	# shellcheck disable=SC2016 # the command as a user types it
	printf '$ curl http://%s/ -H "Authorization: Bearer $(cat %s)" \\\n' \
		"$LAB_PROVISIOND_LISTEN" "$LAB_STATE/provisiond.token"
	printf '    -H "Ce-Id: demo-%s-1" -H "Ce-Specversion: 1.0" \\\n' "$gw"
	printf '    -H "Ce-Type: io.podgateway.client.pending" -H "Ce-Source: /podgw/lab/demo" \\\n'
	printf "    -H \"Content-Type: application/json\" -d '{\"gateway_name\":\"%s\"}'\n" "$gw"
	"${req[@]}" || return 1
	echo "reply event:"
	grep -i -e '^HTTP/' -e '^ce-' -e '^content-type' "$out.h" | tr -d '\r' | sed 's/^/    /'
	printf '    %s\n' "$(cat "$out")"
}

# demo_pod_gw GATEWAY: the gateway pod (namespace) the demo crawler for
# GATEWAY is tunnelled to: its FDB entry's pod IP, one of the replicas.
demo_pod_gw() {
	local gw=$1 dst name
	dst=$(lab_exec "$(demo_field "$gw" pod_name)" bridge fdb show dev vxlan0 2>/dev/null |
		awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") print $(i + 1) }' | head -n 1)
	if [[ -n $dst ]] && name=$(lab_pod_name "$dst"); then
		printf '%s\n' "$name"
	else
		printf '%s\n' "$gw"
	fi
}

demo_field() { # GATEWAY KEY
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$LAB_STATE/demo-$1.json" "$2"
}

cmd_demo() {
	need_root demo
	deps
	is_up || cmd_up
	local gw pod rc=0 i
	local -A tpid=() gwpod=()
	echo "# 1. events: io.podgateway.client.pending for foo and for bar (provisiond, netns backend)"
	for gw in foo bar; do
		demo_event "$gw" || return 1
		[[ -n $(demo_field "$gw" pod_name) ]] || {
			echo "lab.sh: no crawler for $gw" >&2
			return 1
		}
	done
	echo
	echo "# 2. tcpdump -i eth0 -nv on both gateways (filter: udp port 8472 or icmp); a ping from each crawler"
	for gw in foo bar; do
		gwpod[$gw]=$(demo_pod_gw "$gw")
		: >"$LAB_STATE/demo-$gw.tcpdump"
		: >"$LAB_STATE/demo-$gw.err"
		timeout 15 ip netns exec "$(lab_ns "${gwpod[$gw]}")" tcpdump --immediate-mode -i eth0 -n -v -l \
			-c 4 'udp port 8472 or icmp' >"$LAB_STATE/demo-$gw.tcpdump" 2>"$LAB_STATE/demo-$gw.err" &
		tpid[$gw]=$!
	done
	for gw in foo bar; do
		for ((i = 0; i < 50; i++)); do
			grep -q 'listening on' "$LAB_STATE/demo-$gw.err" && break
			sleep 0.1
		done
	done
	for gw in foo bar; do
		pod=$(demo_field "$gw" pod_name)
		echo "\$ ping -c1 203.0.113.10   (in $pod: pod IP $(demo_field "$gw" pod_ip), overlay $(demo_field "$gw" overlay_address), gateway $gw)"
		lab_exec "$pod" ping -c 1 -W 2 203.0.113.10 | sed 's/^/    /' || rc=1
	done
	for gw in foo bar; do
		for ((i = 0; i < 30; i++)); do
			lab_pid_alive "${tpid[$gw]}" || break
			sleep 0.1
		done
		lab_pid_alive "${tpid[$gw]}" && kill -s INT "${tpid[$gw]}" 2>/dev/null
		wait "${tpid[$gw]}" 2>/dev/null || true
	done
	echo
	for gw in foo bar; do
		echo "# 3. tcpdump on gateway $gw's eth0 ($(lab_ns "${gwpod[$gw]}")): $(demo_field "$gw" pod_name)'s ping inside VXLAN, then leaving from $gw's own pod IP"
		cat "$LAB_STATE/demo-$gw.tcpdump"
	done
	echo
	echo "# 4. IPv6: a ping to 2001:db8::10 from each crawler (through the tunnel when the gateway grants IPv6)"
	for gw in foo bar; do
		demo_ping6 "$(demo_field "$gw" pod_name)" || rc=1
	done
	return "$rc"
}

# demo_ping6 POD: ping 2001:db8::10; with an IPv6 address on vxlan0 (granted)
# it must answer, without one IPv6 is blocked and must not.
demo_ping6() {
	local pod=$1 addr6 out prc=0
	addr6=$(lab_exec "$pod" ip -6 -o addr show dev vxlan0 scope global 2>/dev/null | awk '{ print $4; exit }')
	echo "\$ ping -6 -c1 2001:db8::10   (in $pod: overlay ${addr6:-none: IPv6 not granted})"
	out=$(lab_exec "$pod" ping -6 -n -c 1 -W 2 2001:db8::10 2>&1) || prc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	if [[ -n $addr6 ]] && ((prc != 0)); then
		echo "lab.sh: $pod has $addr6 but no answer over IPv6" >&2
		return 1
	fi
	if [[ -z $addr6 ]] && ((prc == 0)); then
		echo "lab.sh: $pod reached 2001:db8::10 without an IPv6 grant: a leak" >&2
		return 1
	fi
	[[ -n $addr6 ]] || echo "    (blocked, as it must be without an IPv6 grant)"
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
