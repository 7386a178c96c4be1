# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# lab-lib.sh: the one-machine lab of podgw, out of network namespaces.
# Source it from bash; it defines functions only (no side effects on source).
#
#   node      namespace  bridge br0 10.244.0.1/24 and fd00:10:244::1/64 (the pod
#                        network), forwarding on for both families, inet0
#                        203.0.113.1/24 and 2001:db8::1/64 towards the "internet";
#                        no masquerade
#   internet  namespace  eth0 203.0.113.10/24 and 2001:db8::10/64, default routes
#                        via the node
#   pods      namespaces eth0 10.244.0.X/24 and fd00:10:244::X/64 (the same digits;
#                        veth, other end "vpX" on br0), lo up, default routes via
#                        the node's br0 (both families)
#
# The pod network is dual-stack (PODGW_LAB_FAMILY=dual, the default), as in a
# dual-stack cluster; gateway names resolve to IPv4 (such clusters use an IPv4
# underlay). PODGW_LAB_FAMILY=ipv6: an IPv6-only pod network (pods and br0 get
# only fd00:10:244::X, gateway names resolve to those); ipv4: no IPv6 on the pod
# network. Pods are still named by their 10.244.0.X "index" in every call
# (lab_add_pod NAME 10.244.0.X); lab_pod_addr NAME gives the address the pod
# really has for its underlay. The internet is dual-stack in every mode. The
# family is fixed by lab_create_base (kept in STATE/family).
#
# Every namespace is named PREFIX + role ("podgw-node", "pgt123-crawler-foo-1").
# Nothing is linked to the root namespace or to a real interface, and no route is
# added outside the lab's namespaces. Names resolve through /etc/netns/NS/hosts,
# which `ip netns exec` bind-mounts over /etc/hosts.
#
# Usage:
#   lab_init PREFIX                  # select the prefix (and the state dir)
#   lab_create_base                  # node + internet
#   lab_add_gateway NAME IP          # a pod, plus hosts entries NAME, pod-gateway-NAME
#                                    # (its gatewayd gets EVENTS_GATEWAY_NAME=NAME)
#   lab_add_replica GW POD IP REPLICA  # one replica of gateway GW: pod POD, and GW
#                                    # resolves to every replica's IP; its gatewayd
#                                    # gets REPLICA_NAME=REPLICA, EVENTS_GATEWAY_NAME=GW
#                                    # (replicas derive the same IPv6 overlay prefix)
#   lab_add_pod NAME IP              # a pod
#   lab_pod_addr NAME                # its underlay address (IPv6 in ipv6 mode)
#   lab_ip6 10.244.0.X               # fd00:10:244::X
#   lab_start_gatewayd NAME [ARGS]   # background, waits for --ready-file; sets LAB_PID
#                                    # (leases in STATE/NAME.leases unless ARGS say otherwise)
#   lab_clientd_init POD GW ADDR [ARGS]        # ADDR "-": none, the gateway assigns one
#   lab_start_clientd_run POD GW ADDR [ARGS]   # background, waits for ready; sets LAB_PID
#                                    # clientd's identity is the pod's name (--pod-name POD)
#   lab_stop_pid PID [SIGNAL [TIMEOUT]]         # sets LAB_RC to the exit code
#   lab_exec NAME CMD...             # run a command in PREFIX+NAME
#   lab_net_dump NAME                # links, addresses, routes, rules (for diffs)
#   lab_snapshot NAME                # the same plus nft ruleset and forwarding sysctls
#   lab_admission_dump GW            # the gateway's FDB, neighbours, peers and clients sets
#   lab_down PREFIX                  # kill, delete, forget: idempotent, crash-safe
#   lab_start_provisiond GATEWAYS    # CloudEvents -> crawlers (see its section)
#
# Settings (environment): PODGW_BUILD (build dir, default SRC/build),
# LAB_READY_TIMEOUT (seconds, 15), LAB_STATE_ROOT (/run/podgw-lab),
# PODGW_LAB_FAMILY (dual, ipv6 or ipv4; read by lab_create_base).

LAB_POD_NET_ROUTER=10.244.0.1
LAB_POD_NET_PLEN=24
LAB_INTERNET_IP=203.0.113.10
LAB_INTERNET_ROUTER=203.0.113.1
LAB_INTERNET_PLEN=24
LAB_POD_NET6=fd00:10:244::
LAB_POD_NET6_ROUTER=fd00:10:244::1
LAB_POD_NET6_PLEN=64
LAB_INTERNET_IP6=2001:db8::10
LAB_INTERNET_ROUTER6=2001:db8::1
LAB_INTERNET_PLEN6=64
LAB_STATE_ROOT=${LAB_STATE_ROOT:-/run/podgw-lab}
LAB_READY_TIMEOUT=${LAB_READY_TIMEOUT:-15}
# Results for the caller: the last daemon started, the last exit code collected.
# shellcheck disable=SC2034
LAB_PID=
# shellcheck disable=SC2034
LAB_RC=

lab_log() {
	printf 'lab: %s\n' "$*" >&2
}

# Prints an error; the caller returns 1 itself.
lab_err() {
	printf 'lab: error: %s\n' "$*" >&2
}

# A prefix is used in namespace names and in paths we delete: keep it tame.
lab_check_prefix() {
	local prefix=${1-}
	if [[ ! $prefix =~ ^[A-Za-z][A-Za-z0-9_.-]{0,23}$ ]]; then
		lab_err "bad namespace prefix '${prefix}' (letters, digits, _ . -; at most 24)"
		return 1
	fi
}

lab_src_dir() {
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	dirname "$here"
}

# lab_init PREFIX: selects the lab; sets LAB_PREFIX, LAB_STATE, LAB_GATEWAYD, LAB_CLIENTD.
lab_init() {
	local prefix=${1:?lab_init PREFIX}
	lab_check_prefix "$prefix" || return 1
	LAB_PREFIX=$prefix
	LAB_STATE=$LAB_STATE_ROOT/$prefix
	LAB_SRC=${PODGW_SRC:-$(lab_src_dir)}
	LAB_BUILD=$(realpath -m -- "${PODGW_BUILD:-$LAB_SRC/build}")
	LAB_GATEWAYD=${LAB_GATEWAYD:-$LAB_BUILD/gatewayd/gatewayd}
	LAB_CLIENTD=${LAB_CLIENTD:-$LAB_BUILD/clientd/clientd}
	export LAB_PREFIX LAB_STATE LAB_SRC LAB_BUILD LAB_GATEWAYD LAB_CLIENTD
}

lab_require_init() {
	if [[ -z ${LAB_PREFIX-} || -z ${LAB_STATE-} ]]; then
		lab_err "lab_init PREFIX first"
		return 1
	fi
}

lab_ns() {
	printf '%s%s\n' "$LAB_PREFIX" "$1"
}

lab_ns_exists() {
	[[ -e /run/netns/$1 ]]
}

# Namespaces whose name starts with PREFIX (one a line).
lab_list_ns() {
	local prefix=$1 ns _rest
	ip netns list 2>/dev/null | while read -r ns _rest; do
		if [[ -n $ns && $ns == "$prefix"* ]]; then
			printf '%s\n' "$ns"
		fi
	done
}

lab_exec() {
	local name=${1:?lab_exec NAME CMD...}
	shift
	ip netns exec "$(lab_ns "$name")" "$@"
}

# Bounded wait: lab_wait_for SECONDS CMD... (polls every 0.1 s)
lab_wait_for() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		if "$@"; then
			return 0
		fi
		sleep 0.1
	done
	"$@"
}

lab_sysctl() {
	local ns=$1 key=$2 value=$3
	ip netns exec "$ns" sysctl -qw "$key=$value" >/dev/null
}

lab_new_ns() {
	local ns=$1
	if lab_ns_exists "$ns"; then
		lab_err "namespace $ns exists already (run lab_down ${LAB_PREFIX} first)"
		return 1
	fi
	ip netns add "$ns"
	mkdir -p "/etc/netns/$ns"
	lab_write_hosts_file "$ns"
	ip -n "$ns" link set lo up
	# No duplicate address detection: addresses are usable at once, and
	# before/after dumps never catch a "tentative" flag.
	lab_sysctl "$ns" net.ipv6.conf.all.accept_dad 0
	lab_sysctl "$ns" net.ipv6.conf.default.accept_dad 0
}

lab_write_hosts_file() {
	local ns=$1 tmp
	[[ -d /etc/netns/$ns ]] || return 0
	tmp=/etc/netns/$ns/hosts.tmp
	{
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
		if [[ -f $LAB_STATE/hosts ]]; then
			cat "$LAB_STATE/hosts"
		fi
	} >"$tmp"
	# Keep the inode: a running `ip netns exec` has this very file bind-mounted.
	cat "$tmp" >"/etc/netns/$ns/hosts"
	rm -f "$tmp"
}

lab_write_hosts() {
	local ns
	while read -r ns; do
		lab_write_hosts_file "$ns"
	done < <(lab_list_ns "$LAB_PREFIX")
}

# lab_create_base: the node (pod network bridge, router) and the internet.
lab_create_base() {
	lab_require_init || return 1
	mkdir -p "$LAB_STATE"
	chmod 0755 "$LAB_STATE"
	: >"$LAB_STATE/hosts"
	local node inet
	node=$(lab_ns node)
	inet=$(lab_ns internet)
	local family=${PODGW_LAB_FAMILY:-dual}
	case $family in
	dual | ipv4 | ipv6) ;;
	*)
		lab_err "PODGW_LAB_FAMILY: '$family': not dual, ipv4 or ipv6"
		return 1
		;;
	esac
	printf '%s\n' "$family" >"$LAB_STATE/family"
	lab_new_ns "$node" || return 1
	lab_new_ns "$inet" || return 1

	# A bridge without an address of its own takes its ports' lowest MAC,
	# which changes as pods come and go and leaves the pods' ARP entries
	# for the router stale (CNI bridge plugins fix it the same way).
	# No multicast snooping: without an MLD querier it could starve the
	# pods' neighbour discovery.
	ip -n "$node" link add br0 address 02:6c:61:62:00:01 type bridge mcast_snooping 0
	if lab_has_ipv4; then
		ip -n "$node" addr add "$LAB_POD_NET_ROUTER/$LAB_POD_NET_PLEN" dev br0
	fi
	if lab_has_ipv6; then
		ip -n "$node" addr add "$LAB_POD_NET6_ROUTER/$LAB_POD_NET6_PLEN" dev br0 nodad
	fi
	ip -n "$node" link set br0 up
	lab_sysctl "$node" net.ipv4.ip_forward 1
	lab_sysctl "$node" net.ipv6.conf.all.forwarding 1

	ip -n "$node" link add inet0 type veth peer name eth0 netns "$inet"
	ip -n "$node" addr add "$LAB_INTERNET_ROUTER/$LAB_INTERNET_PLEN" dev inet0
	ip -n "$node" addr add "$LAB_INTERNET_ROUTER6/$LAB_INTERNET_PLEN6" dev inet0 nodad
	ip -n "$node" link set inet0 up
	ip -n "$inet" addr add "$LAB_INTERNET_IP/$LAB_INTERNET_PLEN" dev eth0
	ip -n "$inet" addr add "$LAB_INTERNET_IP6/$LAB_INTERNET_PLEN6" dev eth0 nodad
	ip -n "$inet" link set eth0 up
	ip -n "$inet" route add default via "$LAB_INTERNET_ROUTER"
	ip -n "$inet" -6 route add default via "$LAB_INTERNET_ROUTER6"
}

# lab_family: dual, ipv4 or ipv6, as lab_create_base fixed it.
lab_family() {
	local f
	if [[ -n ${LAB_STATE-} && -s $LAB_STATE/family ]]; then
		f=$(<"$LAB_STATE/family")
	else
		f=${PODGW_LAB_FAMILY:-dual}
	fi
	printf '%s\n' "$f"
}

lab_has_ipv4() {
	[[ $(lab_family) != ipv6 ]]
}

lab_has_ipv6() {
	[[ $(lab_family) != ipv4 ]]
}

# lab_ip6 10.244.0.X: the pod's IPv6 address, fd00:10:244::X (the same digits).
lab_ip6() {
	local ip=${1:?lab_ip6 IP}
	printf '%s%s\n' "$LAB_POD_NET6" "${ip##*.}"
}

# lab_underlay_ip 10.244.0.X: the pod's address for the underlay (the
# hosts files, VXLAN): IPv6 in ipv6 mode, else IPv4.
lab_underlay_ip() {
	if lab_has_ipv4; then
		printf '%s\n' "$1"
	else
		lab_ip6 "$1"
	fi
}

# lab_add_pod NAME IP: namespace PREFIX+NAME, eth0 IP/24 on the node's bridge.
lab_add_pod() {
	lab_require_init || return 1
	local name=${1:?lab_add_pod NAME IP} ip=${2:?lab_add_pod NAME IP}
	local ns node port
	ns=$(lab_ns "$name")
	node=$(lab_ns node)
	if [[ ! $ip =~ ^10\.244\.0\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] < 2 || BASH_REMATCH[1] > 254)); then
		lab_err "pod IP '$ip' is not a host of 10.244.0.0/24 (2..254)"
		return 1
	fi
	port=vp${BASH_REMATCH[1]}
	if ip -n "$node" link show "$port" >/dev/null 2>&1; then
		lab_err "pod IP $ip is taken (bridge port $port exists)"
		return 1
	fi
	lab_new_ns "$ns" || return 1
	ip -n "$node" link add "$port" type veth peer name eth0 netns "$ns"
	ip -n "$node" link set "$port" master br0 up
	if lab_has_ipv4; then
		ip -n "$ns" addr add "$ip/$LAB_POD_NET_PLEN" dev eth0
	fi
	if lab_has_ipv6; then
		ip -n "$ns" addr add "$(lab_ip6 "$ip")/$LAB_POD_NET6_PLEN" dev eth0 nodad
	fi
	ip -n "$ns" link set eth0 up
	if lab_has_ipv4; then
		ip -n "$ns" route add default via "$LAB_POD_NET_ROUTER"
	fi
	if lab_has_ipv6; then
		ip -n "$ns" -6 route add default via "$LAB_POD_NET6_ROUTER" dev eth0
	fi
	printf '%s %s\n' "$name" "$ip" >>"$LAB_STATE/pods"
}

# lab_add_gateway NAME IP: a pod whose name resolves everywhere in the lab as
# NAME and pod-gateway-NAME.
lab_add_gateway() {
	local name=${1:?lab_add_gateway NAME IP} ip=${2:?lab_add_gateway NAME IP}
	lab_add_pod "$name" "$ip" || return 1
	printf '%s\t%s pod-gateway-%s\n' "$(lab_underlay_ip "$ip")" "$name" "$name" >>"$LAB_STATE/hosts"
	printf '%s %s\n' "$name" "$name" >>"$LAB_STATE/gateways"
	lab_write_hosts
}

# lab_add_replica GATEWAY POD IP REPLICA: pod POD is one replica of GATEWAY,
# as a headless Service's ready pods are: one hosts line per replica for
# the same names, so GATEWAY resolves to all of them. The replica's gatewayd
# (lab_start_gatewayd POD) answers with REPLICA_NAME=REPLICA.
lab_add_replica() {
	local gw=${1:?lab_add_replica GATEWAY POD IP REPLICA} pod=${2:?pod} ip=${3:?ip} replica=${4:?replica}
	lab_add_pod "$pod" "$ip" || return 1
	printf '%s\t%s pod-gateway-%s\n' "$(lab_underlay_ip "$ip")" "$gw" "$gw" >>"$LAB_STATE/hosts"
	printf '%s %s\n' "$pod" "$replica" >>"$LAB_STATE/replicas"
	printf '%s %s\n' "$pod" "$gw" >>"$LAB_STATE/gateways"
	lab_write_hosts
}

# lab_replica_name POD: the replica name lab_add_replica gave POD.
lab_replica_name() {
	lab_state_value replicas 1 "$1" 2
}

# lab_gateway_of POD: the gateway POD serves (lab_add_gateway, lab_add_replica,
# lab_set_gateway_of).
lab_gateway_of() {
	lab_state_value gateways 1 "$1" 2
}

# lab_set_gateway_of POD GATEWAY: POD (made with lab_add_pod) is a pod of
# GATEWAY: its gatewayd gets EVENTS_GATEWAY_NAME=GATEWAY.
lab_set_gateway_of() {
	printf '%s %s\n' "${1:?POD}" "${2:?GATEWAY}" >>"$LAB_STATE/gateways"
}

# lab_state_value FILE KEYCOL KEY VALCOL: from the lab's state file FILE
# (lines of "A B"), column VALCOL of the first line whose column KEYCOL is
# KEY; 1 when there is none.
lab_state_value() {
	local file=$LAB_STATE/$1 kcol=$2 key=$3 vcol=$4
	local -a f
	[[ -f $file ]] || return 1
	while read -r -a f; do
		if [[ ${f[kcol - 1]-} == "$key" ]]; then
			printf '%s\n' "${f[vcol - 1]-}"
			return 0
		fi
	done <"$file"
	return 1
}

# lab_pod_ip NAME: the pod's 10.244.0.X index (its IPv4 address unless ipv6 mode).
lab_pod_ip() {
	lab_state_value pods 1 "$1" 2
}

# lab_pod_addr NAME: the pod's underlay address (IPv6 in ipv6 mode).
lab_pod_addr() {
	local ip
	ip=$(lab_pod_ip "$1") || return 1
	lab_underlay_ip "$ip"
}

# lab_pod_name IP: the pod that has IP (10.244.0.X or fd00:10:244::X).
lab_pod_name() {
	local want=$1
	if [[ $want == "$LAB_POD_NET6"* ]]; then
		want=10.244.0.${want#"$LAB_POD_NET6"}
	fi
	lab_state_value pods 2 "$want" 1
}

lab_pid_alive() {
	kill -0 "$1" 2>/dev/null
}

# lab_start_daemon NAME TAG READYFILE CMD...: runs CMD in PREFIX+NAME in the
# background (stdin /dev/null, output to STATE/NAME.TAG.log), pid in
# STATE/NAME.TAG.pid and LAB_PID, then waits (bounded) for READYFILE.
# SIGINT/SIGQUIT are reset to default: a non-interactive shell would have the
# background job ignore them.
lab_start_daemon() {
	local name=$1 tag=$2 ready=$3
	shift 3
	local ns log pidfile pid
	ns=$(lab_ns "$name")
	log=$LAB_STATE/$name.$tag.log
	pidfile=$LAB_STATE/$name.$tag.pid
	rm -f "$ready"
	ip netns exec "$ns" env --default-signal=INT,QUIT "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	# shellcheck disable=SC2034
	LAB_PID=$pid
	local i
	for ((i = 0; i < LAB_READY_TIMEOUT * 10; i++)); do
		if [[ -e $ready ]]; then
			return 0
		fi
		if ! lab_pid_alive "$pid"; then
			local rc=0
			wait "$pid" 2>/dev/null || rc=$?
			LAB_RC=$rc
			lab_err "$tag in $ns exited with code $rc before it was ready; its log:"
			sed 's/^/    /' "$log" >&2
			return 1
		fi
		sleep 0.1
	done
	lab_err "$tag in $ns not ready after ${LAB_READY_TIMEOUT}s (no $ready); its log:"
	sed 's/^/    /' "$log" >&2
	return 1
}

# lab_start_gatewayd NAME [ARGS...]: gatewayd in gateway pod NAME. Its leases
# persist in STATE/NAME.leases and its status socket is STATE/NAME.status.sock
# (never the system's default paths); ARGS come later and win (--leases-file
# "" for none).
lab_start_gatewayd() {
	lab_require_init || return 1
	local name=${1:?lab_start_gatewayd NAME [ARGS]}
	shift
	local ready=$LAB_STATE/$name.gatewayd.ready replica gw
	local -a envs=(env)
	# In the environment, as a Deployment's pod would have it (POD_NAME).
	if replica=$(lab_replica_name "$name"); then
		envs+=("REPLICA_NAME=$replica")
	fi
	# The Deployment names its gateway: replicas derive one IPv6 overlay
	# prefix from it (namespaces share the machine's hostname).
	if gw=$(lab_gateway_of "$name"); then
		envs+=("EVENTS_GATEWAY_NAME=$gw")
	fi
	lab_start_daemon "$name" gatewayd "$ready" "${envs[@]}" \
		"$LAB_GATEWAYD" --ready-file "$ready" --leases-file "$LAB_STATE/$name.leases" \
		--status-socket "$LAB_STATE/$name.status.sock" "$@"
}

# lab_clientd_args POD GATEWAY ADDRESS: the arguments every clientd of the lab
# gets, one a line: the gateway, the pod's name as its identity (namespaces
# share the machine's hostname, clientd's default), and --address ADDRESS
# unless ADDRESS is "-" (the gateway assigns one). Later ARGS win.
lab_clientd_args() {
	local name=$1 gw=$2 addr=$3
	printf '%s\n' --gateway "$gw" --pod-name "$name"
	if [[ $addr != - ]]; then
		printf '%s\n' --address "$addr"
	fi
}

# lab_clientd_init POD GATEWAY ADDRESS [ARGS...]: `clientd init` in the pod,
# in the foreground, bounded by LAB_INIT_TIMEOUT seconds (120); its output goes
# to the caller. ADDRESS "-": none, the gateway assigns one. Returns clientd's
# exit code (124 on timeout).
lab_clientd_init() {
	lab_require_init || return 1
	local name=${1:?lab_clientd_init POD GATEWAY ADDRESS} gw=${2:?gateway} addr=${3:?address}
	shift 3
	local rc=0
	local -a base
	mapfile -t base < <(lab_clientd_args "$name" "$gw" "$addr")
	timeout --kill-after=5 "${LAB_INIT_TIMEOUT:-120}" ip netns exec "$(lab_ns "$name")" \
		"$LAB_CLIENTD" init "${base[@]}" "$@" </dev/null || rc=$?
	return "$rc"
}

# lab_start_clientd_run POD GATEWAY ADDRESS [ARGS...]: the sidecar, in the
# background; waits for its ready file; sets LAB_PID. ADDRESS "-": none.
lab_start_clientd_run() {
	lab_require_init || return 1
	local name=${1:?lab_start_clientd_run POD GATEWAY ADDRESS} gw=${2:?gateway} addr=${3:?address}
	shift 3
	local ready=$LAB_STATE/$name.clientd.ready
	local -a base
	mapfile -t base < <(lab_clientd_args "$name" "$gw" "$addr")
	lab_start_daemon "$name" clientd "$ready" \
		"$LAB_CLIENTD" run "${base[@]}" --ready-file "$ready" "$@"
}

# lab_stop_pid PID [SIGNAL [TIMEOUT]]: signals a daemon of the lab and waits
# (bounded) for it; LAB_RC is its exit code (128+n when killed by n) when it
# is a child of this shell.
# Returns 1 when it did not exit in time (it is then killed with SIGKILL).
lab_stop_pid() {
	local pid=${1:?lab_stop_pid PID} sig=${2:-TERM} seconds=${3:-10} i
	LAB_RC=
	kill -s "$sig" "$pid" 2>/dev/null || true
	# Polled every 20 ms: the benchmarks time restarts that include it.
	for ((i = 0; i < seconds * 50; i++)); do
		lab_pid_alive "$pid" || break
		# A zombie child is "alive" for kill -0 until reaped: check its state.
		if [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) == Z ]]; then
			break
		fi
		sleep 0.02
	done
	if lab_pid_alive "$pid" && [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) != Z ]]; then
		kill -s KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		LAB_RC=timeout
		return 1
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	# shellcheck disable=SC2034
	LAB_RC=$rc
	return 0
}

# lab_net_dump NAME: links, addresses, routes and rules of pod NAME (for diffs).
lab_net_dump() {
	local ns
	ns=$(lab_ns "${1:?lab_net_dump NAME}")
	echo "## ip -d link"
	# Without the counters the kernel changes on its own.
	ip -n "$ns" -d link show | sed -E 's/ (promiscuity|allmulti) [0-9]+//g'
	echo "## ip addr"
	ip -n "$ns" addr show
	echo "## ip -4 route"
	ip -n "$ns" -4 route show table all
	echo "## ip -6 route"
	ip -n "$ns" -6 route show table all
	echo "## ip -4 rule"
	ip -n "$ns" -4 rule show
	echo "## ip -6 rule"
	ip -n "$ns" -6 rule show
}

# lab_snapshot NAME: lab_net_dump plus the nftables ruleset and forwarding.
lab_snapshot() {
	local ns
	ns=$(lab_ns "${1:?lab_snapshot NAME}")
	lab_net_dump "$1"
	echo "## nft list ruleset"
	ip netns exec "$ns" nft list ruleset
	echo "## sysctl"
	ip netns exec "$ns" sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
}

# lab_admission_dump GW [IFACE]: what membership programmed on gateway GW's
# vxlan link (vxlan0): static FDB entries, neighbours, and the elements of
# the `inet podgw` sets peers and clients (without expiry times). For diffs.
lab_admission_dump() {
	local ns dev=${2:-vxlan0} set
	ns=$(lab_ns "${1:?lab_admission_dump GW [IFACE]}")
	echo "## bridge fdb show dev $dev"
	ip netns exec "$ns" bridge fdb show dev "$dev" 2>&1 || true
	echo "## ip neigh show dev $dev"
	ip -n "$ns" neigh show dev "$dev" 2>&1 || true
	for set in peers clients; do
		echo "## nft list set inet podgw $set"
		{ ip netns exec "$ns" nft list set inet podgw "$set" 2>&1 || true; } |
			sed -E 's/ expires [0-9a-z.]+//g'
	done
}

# lab_kill_ns_processes NS: every process inside the namespace (they are the
# lab's: only the lab enters these namespaces), TERM then KILL, bounded.
lab_kill_ns_processes() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	[[ -n $pids ]] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill -s TERM $pids 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[[ -n $pids ]] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -s KILL $pids 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[[ -n $pids ]] || return 0
		sleep 0.1
	done
}

# lab_del_pod NAME: the pod's processes, namespace and hosts folder go (a pod
# that crashed or was replaced; lab_down removes whole labs).
lab_del_pod() {
	local ns
	ns=$(lab_ns "${1:?lab_del_pod NAME}")
	lab_kill_ns_processes "$ns"
	ip netns delete "$ns" 2>/dev/null || true
	rm -rf -- "/etc/netns/$ns"
}

# lab_down PREFIX: removes everything a lab with that prefix made. Safe to run
# any number of times, after a crash, and when nothing exists.
lab_down() {
	local prefix=${1:-${LAB_PREFIX-}}
	lab_check_prefix "$prefix" || return 1
	local state=$LAB_STATE_ROOT/$prefix ns f pid pidns
	local -a namespaces=()
	mapfile -t namespaces < <(lab_list_ns "$prefix")

	# First the provisioner (outside the namespaces), so it makes no more.
	lab_stop_provisiond "$prefix"
	# Daemons from pid files, when they still live in one of our namespaces
	# (a recycled pid elsewhere is left alone).
	if [[ -d $state ]]; then
		for f in "$state"/*.pid; do
			[[ -f $f ]] || continue
			pid=$(<"$f")
			if [[ $pid =~ ^[0-9]+$ ]] && lab_pid_alive "$pid"; then
				pidns=$(ip netns identify "$pid" 2>/dev/null || true)
				if [[ -n $pidns && $pidns == "$prefix"* ]]; then
					kill -s TERM "$pid" 2>/dev/null || true
				fi
			fi
		done
	fi
	for ns in "${namespaces[@]}"; do
		lab_kill_ns_processes "$ns"
	done
	for ns in "${namespaces[@]}"; do
		ip netns delete "$ns" 2>/dev/null || true
	done
	for f in /etc/netns/"$prefix"*; do
		[[ -d $f ]] || continue
		rm -rf -- "$f"
	done
	rm -rf -- "$state"
	rmdir /etc/netns 2>/dev/null || true
	rmdir "$LAB_STATE_ROOT" 2>/dev/null || true
	return 0
}

# ---------------------------------------------------------------------------
# VPN egress: a "provider" namespace (the VPN server side) and OpenVPN.
#
#   provider  namespace  eth0 10.244.0.250/24 on the node's bridge (the VPN
#                        endpoint the gateways reach over the pod network),
#                        pub0 203.0.113.20/32 on a veth into the internet
#                        namespace (peer "prov0" there, host route only),
#                        default via the internet; forwards tun0 -> pub0 and
#                        masquerades to 203.0.113.20, nothing else.
#   OpenVPN   static-key point-to-point over UDP (LAB_VPN_PORT, 1194): server
#             10.8.0.1 in the provider, client 10.8.0.2 as tun0 in a gateway,
#             tun MTU LAB_VPN_MTU (1420), no OpenVPN MSS fix (the gateway's
#             clamping is what the tests look at). The key is generated into
#             the state dir at run time. Needs the Debian package `openvpn`.
#
#   lab_add_provider                    # the provider namespace and its links
#   lab_provider_forward PROTO PORT...  # the provider's public PORTs DNATed into
#                                       # the tunnel, to the VPN client 10.8.0.2
#   lab_start_openvpn_server            # background; sets LAB_PID
#   lab_start_openvpn_client GW [CIDR...]  # tun0 in gateway GW with routes
#                                       # CIDR via the tunnel (default: the
#                                       # internet, 203.0.113.0/24; "def1":
#                                       # 0.0.0.0/1 and 128.0.0.0/1, as a
#                                       # provider's redirect-gateway def1);
#                                       # the endpoint stays on eth0
#   lab_stop_openvpn GW [SIGNAL]        # stops the client in GW (TERM; KILL
#                                       # for a crash), waits until tun0 is gone
#   lab_add_lan [NAME]                  # a "local network" namespace behind
#                                       # the node: eth0 192.168.50.10/24 and
#                                       # 192.168.51.10/24, router on the node
#   lab_set_pod_net_mtu MTU             # bridge, pod veths (both ends) and the
#                                       # provider's eth0 to MTU (call before
#                                       # the daemons start)
# All of it lives in the lab's namespaces and state dir: lab_down removes it.

LAB_PROVIDER_IP=10.244.0.250
LAB_PROVIDER_PUBLIC_IP=203.0.113.20
LAB_VPN_PORT=${LAB_VPN_PORT:-1194}
LAB_VPN_MTU=${LAB_VPN_MTU:-1420}
LAB_VPN_SERVER_ADDR=10.8.0.1
LAB_VPN_CLIENT_ADDR=10.8.0.2
# IPv6 through the VPN (LAB_VPN_IPV6=1 for the server and the client): the
# tunnel's own ULA pair, and the provider's public IPv6 on a link of its own
# to the internet.
LAB_VPN_SERVER_ADDR6=fd00:8::1
LAB_VPN_CLIENT_ADDR6=fd00:8::2
LAB_PROVIDER_PUBLIC_IP6=2001:db8:20::20
LAB_PROVIDER_LINK6_PEER=2001:db8:20::1
LAB_LAN_ROUTER=192.168.50.1
LAB_LAN_IP=192.168.50.10
LAB_LAN_ROUTER2=192.168.51.1
LAB_LAN_IP2=192.168.51.10

lab_add_provider() {
	lab_require_init || return 1
	local ns inet
	ns=$(lab_ns provider)
	inet=$(lab_ns internet)
	lab_add_pod provider "$LAB_PROVIDER_IP" || return 1
	ip -n "$ns" link add pub0 type veth peer name prov0 netns "$inet"
	ip -n "$ns" addr add "$LAB_PROVIDER_PUBLIC_IP/32" dev pub0
	ip -n "$ns" link set pub0 up
	ip -n "$inet" link set prov0 up
	# The internet reaches the provider's public address over prov0 (a host
	# route beats its /24 on eth0), the provider the internet over pub0.
	ip -n "$inet" route add "$LAB_PROVIDER_PUBLIC_IP/32" dev prov0 src "$LAB_INTERNET_IP"
	ip -n "$ns" route add "$LAB_INTERNET_IP/32" dev pub0 src "$LAB_PROVIDER_PUBLIC_IP"
	ip -n "$ns" route replace default via "$LAB_INTERNET_IP" dev pub0 onlink \
		src "$LAB_PROVIDER_PUBLIC_IP"
	lab_sysctl "$ns" net.ipv4.ip_forward 1
	# Forward only what comes out of the tunnel (and its replies), masqueraded.
	ip netns exec "$ns" nft -f - <<-'NFT'
		table ip labprovider {
			chain forward {
				type filter hook forward priority 0; policy drop;
				iifname "tun0" oifname "pub0" accept
				iifname "pub0" oifname "tun0" ct state established,related accept
			}
			chain postrouting {
				type nat hook postrouting priority 100; policy accept;
				iifname "tun0" oifname "pub0" masquerade
			}
		}
	NFT
	if lab_has_ipv6; then
		ip -n "$inet" addr add "$LAB_PROVIDER_LINK6_PEER/64" dev prov0 nodad
		ip -n "$ns" addr add "$LAB_PROVIDER_PUBLIC_IP6/64" dev pub0 nodad
		ip -n "$ns" -6 route replace default via "$LAB_PROVIDER_LINK6_PEER" dev pub0
		lab_sysctl "$ns" net.ipv6.conf.all.forwarding 1
		ip netns exec "$ns" nft -f - <<-'NFT'
			table ip6 labprovider6 {
				chain forward {
					type filter hook forward priority 0; policy drop;
					iifname "tun0" oifname "pub0" accept
					iifname "pub0" oifname "tun0" ct state established,related accept
				}
				chain postrouting {
					type nat hook postrouting priority 100; policy accept;
					iifname "tun0" oifname "pub0" masquerade
				}
			}
		NFT
	fi
	printf '%s\tprovider vpn-provider\n' "$LAB_PROVIDER_IP" >>"$LAB_STATE/hosts"
	lab_write_hosts
}

# lab_provider_forward PROTO PORT [PROTO PORT...]: the provider forwards its
# public address's PORT into the tunnel, to the VPN client (10.8.0.2) at the
# same port, as a VPN provider's port forwarding does. After lab_add_provider.
lab_provider_forward() {
	lab_require_init || return 1
	local ns rules=
	ns=$(lab_ns provider)
	while (($# >= 2)); do
		rules+="iifname \"pub0\" $1 dport $2 dnat to $LAB_VPN_CLIENT_ADDR"$'\n'
		shift 2
	done
	ip netns exec "$ns" nft -f - <<-NFT
		table ip labprovider {
			chain prerouting {
				type nat hook prerouting priority -100; policy accept;
				$rules
			}
			chain forward {
				iifname "pub0" oifname "tun0" ct status dnat accept
			}
		}
	NFT
}

lab_openvpn_key() {
	local key=$LAB_STATE/openvpn.key
	if [[ ! -s $key ]]; then
		(umask 077 && openvpn --genkey secret "$key" >/dev/null) || {
			lab_err "openvpn --genkey failed (is the package openvpn installed?)"
			return 1
		}
	fi
	printf '%s\n' "$key"
}

# The options both ends share.
lab_openvpn_common() {
	printf '%s\n' --dev tun0 --dev-type tun --proto udp \
		--secret "$1" --cipher AES-256-CBC --auth SHA256 \
		--tun-mtu "$LAB_VPN_MTU" --mssfix 0 --verb 3 \
		--script-security 2 --route-up "$2"
}

# lab_openvpn_ready_script FILE READY: a --route-up script writing READY.
lab_openvpn_ready_script() {
	printf '#!/bin/sh\n: >"%s"\n' "$2" >"$1"
	chmod 0755 "$1"
}

lab_start_openvpn_server() {
	lab_require_init || return 1
	command -v openvpn >/dev/null 2>&1 || {
		lab_err "openvpn is not installed (scripts/deps.sh openvpn)"
		return 1
	}
	local key ready=$LAB_STATE/provider.openvpn.ready script=$LAB_STATE/provider.openvpn.up
	local -a common
	key=$(lab_openvpn_key) || return 1
	lab_openvpn_ready_script "$script" "$ready"
	mapfile -t common < <(lab_openvpn_common "$key" "$script")
	# The server takes its peer from the first authenticated packet and
	# follows it to a new port (--float): a restarted client is a new peer.
	# No pings: it never tears its tun0 down while a client is away.
	local -a v6
	mapfile -t v6 < <(lab_openvpn_ipv6 "$LAB_VPN_SERVER_ADDR6" "$LAB_VPN_CLIENT_ADDR6")
	lab_start_daemon provider openvpn "$ready" openvpn "${common[@]}" \
		--local "$LAB_PROVIDER_IP" --lport "$LAB_VPN_PORT" --float \
		--ifconfig "$LAB_VPN_SERVER_ADDR" "$LAB_VPN_CLIENT_ADDR" "${v6[@]}"
}

# lab_openvpn_ipv6 LOCAL REMOTE [ROUTE]: with LAB_VPN_IPV6=1, the tunnel's
# IPv6 pair (and ROUTE through it, preferred to the pod network's default;
# the client's is LAB_VPN_IPV6_ROUTE, ::/0 unless set).
lab_openvpn_ipv6() {
	[[ ${LAB_VPN_IPV6:-0} == 1 ]] || return 0
	printf '%s\n' --ifconfig-ipv6 "$1/64" "$2"
	if [[ -n ${3-} ]]; then
		printf '%s\n' --route-ipv6 "$3" "$2" 1
	fi
}

# lab_start_openvpn_client GATEWAY [CIDR...]
lab_start_openvpn_client() {
	lab_require_init || return 1
	local gw=${1:?lab_start_openvpn_client GATEWAY [CIDR...]}
	shift
	local -a cidrs=("$@") routes=() common
	((${#cidrs[@]} > 0)) || cidrs=(203.0.113.0/24)
	local c addr plen mask
	for c in "${cidrs[@]}"; do
		if [[ $c == def1 ]]; then
			routes+=(--route 0.0.0.0 128.0.0.0 --route 128.0.0.0 128.0.0.0)
			continue
		fi
		addr=${c%/*}
		plen=${c#*/}
		[[ $c == */* ]] || plen=32
		mask=$(awk -v p="$plen" 'BEGIN { for (i = 0; i < 4; i++) { b = (p >= 8) ? 8 : (p > 0 ? p : 0);
			p -= b; printf "%s%d", (i ? "." : ""), 256 - 2 ^ (8 - b) } }')
		routes+=(--route "$addr" "$mask")
	done
	local key ready=$LAB_STATE/$gw.openvpn.ready script=$LAB_STATE/$gw.openvpn.up
	key=$(lab_openvpn_key) || return 1
	lab_openvpn_ready_script "$script" "$ready"
	mapfile -t common < <(lab_openvpn_common "$key" "$script")
	local -a v6
	mapfile -t v6 < <(lab_openvpn_ipv6 "$LAB_VPN_CLIENT_ADDR6" "$LAB_VPN_SERVER_ADDR6" "${LAB_VPN_IPV6_ROUTE:-::/0}")
	lab_start_daemon "$gw" openvpn "$ready" openvpn "${common[@]}" \
		--remote "$LAB_PROVIDER_IP" "$LAB_VPN_PORT" --nobind \
		--ifconfig "$LAB_VPN_CLIENT_ADDR" "$LAB_VPN_SERVER_ADDR" \
		--ping 1 --ping-restart 10 "${routes[@]}" "${v6[@]}" || return 1
	local pid=$LAB_PID
	# Up when the server answers through the tunnel (bounded).
	if ! lab_wait_for "$LAB_READY_TIMEOUT" \
		ip netns exec "$(lab_ns "$gw")" ping -n -q -c 1 -W 1 "$LAB_VPN_SERVER_ADDR" >/dev/null 2>&1; then
		lab_err "openvpn in $gw: no answer from $LAB_VPN_SERVER_ADDR through tun0; its log:"
		sed 's/^/    /' "$LAB_STATE/$gw.openvpn.log" >&2
		return 1
	fi
	# shellcheck disable=SC2034
	LAB_PID=$pid
}

# lab_stop_openvpn GATEWAY [SIGNAL]: stops the client (TERM: orderly; KILL:
# a crash) and waits (bounded) until tun0 is gone.
lab_stop_openvpn() {
	lab_require_init || return 1
	local gw=${1:?lab_stop_openvpn GATEWAY [SIGNAL]} sig=${2:-TERM}
	local pidfile=$LAB_STATE/$gw.openvpn.pid pid ns
	ns=$(lab_ns "$gw")
	rm -f "$LAB_STATE/$gw.openvpn.ready"
	if [[ -f $pidfile ]]; then
		pid=$(<"$pidfile")
		if [[ $pid =~ ^[0-9]+$ ]] && lab_pid_alive "$pid" &&
			[[ $(ip netns identify "$pid" 2>/dev/null) == "$ns" ]]; then
			lab_stop_pid "$pid" "$sig" 10 || true
		fi
		rm -f "$pidfile"
	fi
	# shellcheck disable=SC2016 # expanded by that bash
	lab_wait_for 5 bash -c '! ip -n "$1" link show tun0 >/dev/null 2>&1' _ "$ns" || {
		lab_err "tun0 still exists in $ns"
		return 1
	}
}

# lab_add_lan [NAME]: a namespace behind the node standing for a local
# network (VPN_LOCAL_CIDRS): 192.168.50.10/24 and 192.168.51.10/24.
lab_add_lan() {
	lab_require_init || return 1
	local name=${1:-lan} ns node
	ns=$(lab_ns "$name")
	node=$(lab_ns node)
	lab_new_ns "$ns" || return 1
	ip -n "$node" link add lan0 type veth peer name eth0 netns "$ns"
	ip -n "$node" addr add "$LAB_LAN_ROUTER/24" dev lan0
	ip -n "$node" addr add "$LAB_LAN_ROUTER2/24" dev lan0
	ip -n "$node" link set lan0 up
	ip -n "$ns" addr add "$LAB_LAN_IP/24" dev eth0
	ip -n "$ns" addr add "$LAB_LAN_IP2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$LAB_LAN_ROUTER"
}

# lab_set_pod_net_mtu MTU: the pod network's MTU: every bridge port and its
# pod end (eth0), then the bridge. Before the daemons start.
lab_set_pod_net_mtu() {
	lab_require_init || return 1
	local mtu=${1:?lab_set_pod_net_mtu MTU} node name ip port
	node=$(lab_ns node)
	while read -r name ip; do
		port=vp${ip##*.}
		ip -n "$node" link set "$port" mtu "$mtu"
		ip -n "$(lab_ns "$name")" link set eth0 mtu "$mtu"
	done <"$LAB_STATE/pods"
	ip -n "$node" link set br0 mtu "$mtu"
}

# ---------------------------------------------------------------------------
# provisiond: CloudEvents in, crawlers bound to gateways out (provisiond/,
# its netns backend: provisiond/netns-crawler.sh makes each crawler with
# lab_add_pod and `clientd run`, like the lab's own crawlers).
#
#   lab_start_provisiond GATEWAYS [ARGS...]   # GATEWAYS "foo,bar"; sets LAB_PID
#       runs in the root namespace (it creates namespaces, which a process
#       inside `ip netns exec` cannot do) and listens on loopback only,
#       LAB_PROVISIOND_LISTEN (127.0.0.1:8089). Crawlers get pod IPs
#       10.244.0.100-249 and namespaces PREFIX+crawler-GATEWAY-HASH.
#       Event senders present the lab's token, made once per lab in
#       STATE/provisiond.token (mode 0600): lab_provisiond_auth prints the
#       header, "Authorization: Bearer TOKEN".
#   lab_stop_provisiond [PREFIX]              # lab_down calls it
# Log, pid and ready file: STATE/provisiond.{log,pid,ready}.

LAB_PROVISIOND_LISTEN=${LAB_PROVISIOND_LISTEN:-127.0.0.1:8089}

lab_start_provisiond() {
	lab_require_init || return 1
	local gateways=${1:?lab_start_provisiond GATEWAYS [ARGS]} i pid
	shift
	local bin=$LAB_BUILD/provisiond/provisiond ready=$LAB_STATE/provisiond.ready
	[[ -x $bin ]] || {
		lab_err "no $bin (meson compile -C $LAB_BUILD)"
		return 1
	}
	rm -f "$ready"
	lab_provisiond_token || return 1
	LAB_STATE_ROOT=$LAB_STATE_ROOT env --default-signal=INT,QUIT "$bin" \
		--listen "$LAB_PROVISIOND_LISTEN" --gateways "$gateways" --backend netns \
		--token-file "$LAB_STATE/provisiond.token" \
		--lab-prefix "$LAB_PREFIX" --netns-helper "$LAB_SRC/provisiond/netns-crawler.sh" \
		--ready-file "$ready" "$@" </dev/null >>"$LAB_STATE/provisiond.log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$LAB_STATE/provisiond.pid"
	# shellcheck disable=SC2034
	LAB_PID=$pid
	for ((i = 0; i < LAB_READY_TIMEOUT * 10; i++)); do
		[[ -e $ready ]] && return 0
		if ! lab_pid_alive "$pid"; then
			lab_err "provisiond exited before it was ready; its log:"
			sed 's/^/    /' "$LAB_STATE/provisiond.log" >&2
			return 1
		fi
		sleep 0.1
	done
	lab_err "provisiond not ready after ${LAB_READY_TIMEOUT}s; its log:"
	sed 's/^/    /' "$LAB_STATE/provisiond.log" >&2
	return 1
}

# lab_provisiond_token: the lab's event token, made when missing (random,
# only root may read it).
lab_provisiond_token() {
	local f=$LAB_STATE/provisiond.token
	[[ -s $f ]] && return 0
	(umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$f.tmp") &&
		mv -f "$f.tmp" "$f"
}

# lab_provisiond_auth: the header that authenticates an event sender.
lab_provisiond_auth() {
	printf 'Authorization: Bearer %s\n' "$(<"$LAB_STATE/provisiond.token")"
}

# Only the provisiond this lab started: its pid file, and its command line
# naming this lab's prefix (a recycled pid is left alone).
lab_stop_provisiond() {
	local prefix=${1:-${LAB_PREFIX-}}
	local pidf=$LAB_STATE_ROOT/$prefix/provisiond.pid pid
	[[ -f $pidf ]] || return 0
	pid=$(<"$pidf")
	if [[ $pid =~ ^[0-9]+$ ]] && lab_pid_alive "$pid" &&
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$prefix"; then
		lab_stop_pid "$pid" TERM 10 >/dev/null 2>&1 || true
	fi
	rm -f "$pidf"
}
