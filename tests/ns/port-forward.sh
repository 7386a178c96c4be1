#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Port forwards from nat.conf (issue 6) on a VPN-less gateway (egress eth0),
# and their reload without a restart. nat.conf lives as a Kubernetes
# ConfigMap volume does: CONFIG/nat.conf -> ..data/nat.conf, ..data -> a
# timestamped folder that an update replaces by swapping the symlink.
#
#  0. A bad nat.conf at start (a forward of the gateway's own VXLAN port on
#     the underlay): exit 2 with one line naming file, line, field, value.
#  1. crawler-foo-1 joins without asking for an address and gets its
#     reservation (172.16.0.10). From the internet, through the gateway's
#     pod IP: TCP 8080 (pod-gateway's comma form) and UDP 5353 reach the
#     crawler's servers, TCP 9090 reaches its port 80 (a remap); the servers
#     see the internet's own address. An unforwarded port does not.
#  2. nat.conf edited in place and SIGHUP: the removed forward (TCP 8080)
#     stops, a new one (TCP 7070 -> 8080) works, the others still do.
#  3. A bad nat.conf and SIGHUP: one warning, the forwards stay.
#  4. A ConfigMap-style update (no signal: inotify): UDP 5353 goes, UDP
#     6363 -> 5353 comes.
#  5. The reservation moves to 172.16.0.12: the log says it applies at the
#     next join, and the crawler's live lease keeps 172.16.0.10.
# Throughout, the crawler pings the internet without a loss and gatewayd's
# pid stays the same.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

gw_ip=10.244.0.2
crawler="crawler-foo-1"
err() {
	echo "$T_NAME: ERROR: $*" >&2
	errors+=("$*")
}

# expect_tcp WHAT PORT: TCP from the internet to the gateway's PORT reaches
# the crawler and the server saw 203.0.113.10.
expect_tcp() {
	local what=$1 port=$2 out peer
	if ! out=$(t_tcp_send internet "$gw_ip" "$port" "" 5); then
		err "$what: TCP $gw_ip:$port from the internet failed: $(tr '\n' ' ' <<<"$out")"
		return
	fi
	read -r _ _ peer _ <<<"$out"
	[[ $peer == "$LAB_INTERNET_IP" ]] || err "$what: the crawler saw TCP $port from '$peer'"
}

expect_udp() {
	local what=$1 port=$2 out
	if ! out=$(t_udp_send internet "$gw_ip" "$port" 5); then
		err "$what: UDP $gw_ip:$port from the internet got no echo: $out"
		return
	fi
	[[ $out == "$LAB_INTERNET_IP "* ]] || err "$what: the crawler saw UDP $port as '$out'"
}

expect_no_tcp() {
	if t_tcp_send internet "$gw_ip" "$2" "" 2 >/dev/null 2>&1; then
		err "$1: TCP $gw_ip:$2 still reaches the crawler"
	fi
}

expect_no_udp() {
	if t_udp_send internet "$gw_ip" "$2" 2 >/dev/null 2>&1; then
		err "$1: UDP $gw_ip:$2 still reaches the crawler"
	fi
}

# wait_log PATTERN COUNT: until gatewayd's log has COUNT lines matching
# PATTERN (bounded: 5 s).
gw_log() {
	cat "$LAB_STATE/foo.gatewayd.log"
}
wait_log() {
	local pattern=$1 count=$2
	# shellcheck disable=SC2016 # expanded by that bash
	lab_wait_for 5 bash -c '(($(grep -cE -- "$1" "$2" || true) >= $3))' _ \
		"$pattern" "$LAB_STATE/foo.gatewayd.log" "$count"
}

# A ConfigMap volume: version N of nat.conf in folder ..vN, swapped in.
config=$LAB_STATE/config
configmap_publish() {
	local version=$1 text=$2
	mkdir -p "$config/..v$version"
	printf '%s\n' "$text" >"$config/..v$version/nat.conf"
	ln -sfn "..v$version" "$config/..data_tmp"
	mv -T "$config/..data_tmp" "$config/..data"
	[[ -e $config/nat.conf ]] || ln -s ..data/nat.conf "$config/nat.conf"
}

lab_create_base
lab_add_gateway foo "$gw_ip"
lab_add_pod "$crawler" 10.244.0.11
mkdir -p "$config"
configmap_publish 1 "# name index ports
$crawler 10 tcp:8080,udp:5353 tcp:9090->80"

# ---- 0. a bad file at start ----
printf '%s\n' "$crawler 10 tcp:8080" "other 11 udp:5353,udp:8472" >"$LAB_STATE/bad.conf"
rc=0
timeout 10 ip netns exec "$(lab_ns foo)" "$GATEWAYD" --leases-file "" \
	--nat-conf-file "$LAB_STATE/bad.conf" 2>"$LAB_STATE/bad.err" || rc=$?
info "a bad nat.conf at start: exit $rc: $(grep NAT_CONF_FILE "$LAB_STATE/bad.err" || true)"
((rc == 2)) || err "a bad nat.conf at start: exit $rc, not 2"
grep -qF "bad.conf':2: port 'udp:8472': is the gateway's VXLAN_PORT" "$LAB_STATE/bad.err" ||
	err "a bad nat.conf at start: no line naming the file, line, field and value"
[[ -z $(ip -n "$(lab_ns foo)" -o link show type vxlan) ]] || err "a bad nat.conf at start left a vxlan link"

lab_start_gatewayd foo --nat-conf-file "$config/nat.conf" || fail "gatewayd did not become ready"
gw_pid=$LAB_PID
lab_start_clientd_run "$crawler" foo - || fail "clientd run did not become ready"
addr=$(t_overlay_addr "$crawler")
[[ $addr == 172.16.0.10 ]] || fail "$crawler got $addr, not its reservation 172.16.0.10"
for port in 8080 80; do
	t_tcp_serve "$crawler" 0.0.0.0 "$port"
done
t_udp_serve "$crawler" 0.0.0.0 5353

# The crawler's own traffic keeps flowing through every reload.
ping_out=$LAB_STATE/crawler-ping.out
ip netns exec "$(lab_ns "$crawler")" timeout -s INT 120 ping -n -i 0.2 -W 1 "$LAB_INTERNET_IP" \
	>"$ping_out" 2>&1 &
ping_pid=$!
t_ping_eventually "$crawler" "$LAB_INTERNET_IP" 5 || fail "$crawler cannot ping the internet"

# ---- 1. the forwards of nat.conf ----
expect_tcp "start" 8080
expect_tcp "start, remapped 9090->80" 9090
expect_udp "start" 5353
expect_no_tcp "start, a port not in nat.conf" 8081
info "start: DNAT rules: $(ip netns exec "$(lab_ns foo)" nft list chain inet podgw prerouting |
	grep -c dnat) in inet podgw prerouting"

# ---- 2. edited in place, SIGHUP ----
printf '%s\n' "$crawler 10 udp:5353 tcp:9090->80 tcp:7070->8080" >"$config/nat.conf"
kill -HUP "$gw_pid"
wait_log 'NAT_CONF_FILE reloaded \(SIGHUP\)' 1 || err "SIGHUP: no reload in gatewayd's log"
expect_no_tcp "after SIGHUP, removed" 8080
expect_tcp "after SIGHUP, new 7070->8080" 7070
expect_tcp "after SIGHUP, kept 9090->80" 9090
expect_udp "after SIGHUP, kept" 5353
gw_log | grep -E 'NAT_CONF_FILE: (no longer )?forwarding' | sed 's/^/    /'

# ---- 3. a bad file changes nothing ----
printf '%s\n' "$crawler 10 tcp:70000" >"$config/nat.conf"
kill -HUP "$gw_pid"
wait_log "nat.conf':1: port 'tcp:70000': .*; keeping the previous one" 1 ||
	err "bad nat.conf: no one-line warning naming line and field"
gw_log | grep -F "tcp:70000" | sed 's/^/    /'
expect_tcp "after a bad file" 7070
expect_udp "after a bad file" 5353

# ---- 4. a ConfigMap update, seen by inotify ----
configmap_publish 2 "$crawler 10 tcp:9090->80 tcp:7070->8080 udp:6363->5353"
rm -rf "$config/..v1"
wait_log 'NAT_CONF_FILE reloaded \(the file changed\)' 1 ||
	err "ConfigMap update: no reload in gatewayd's log"
expect_no_udp "after the ConfigMap update, removed" 5353
expect_udp "after the ConfigMap update, new 6363->5353" 6363
expect_tcp "after the ConfigMap update, kept" 7070

# ---- 5. a moved reservation leaves the live lease alone ----
configmap_publish 3 "$crawler 12 tcp:9090->80"
wait_log "reservation moved from 172.16.0.10 to 172.16.0.12: it applies when $crawler next joins" 1 ||
	err "moved reservation: no log line saying it applies at the next join"
sleep 2 # eight keepalives
addr=$(t_overlay_addr "$crawler")
[[ $addr == 172.16.0.10 ]] || err "moved reservation: the live lease moved to '$addr'"

# ---- throughout ----
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
read -r sent got < <(awk '/packets transmitted/ { print $1, $4 }' "$ping_out")
info "the crawler's pings during the reloads: $got of $sent answered"
((${sent:-0} >= 10 && ${got:-0} == ${sent:-0})) ||
	err "the crawler's pings to the internet were lost during the reloads: ${got:-0} of ${sent:-0}"
lab_pid_alive "$gw_pid" || err "gatewayd (pid $gw_pid) is gone"
[[ $(<"$LAB_STATE/foo.gatewayd.pid") == "$gw_pid" ]] || err "gatewayd's pid changed"

t_report
pass "forwards (TCP, UDP, remapped) from the internet reached the crawler; SIGHUP and a ConfigMap update changed them without a restart or a lost ping"
