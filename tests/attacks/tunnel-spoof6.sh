#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 18): tunnel-spoof for IPv6. A leased crawler (the attacker)
# sends VXLAN from its own pod IP carrying IPv6 with another lease's overlay
# IPv6 (the victim's) or a made-up one, under the victim's MAC or its own,
# and neighbour discovery claiming the victim's IPv6 or a made-up address.
#
# Wanted: as for IPv4, only the leased (IPv6 address, MAC) pairs of the pod
# the datagram comes from get through: the spoofed echo requests never reach
# the internet, the victim sees nothing of them, no neighbour entry is
# learned or changed. Control: the same tool with the attacker's own pair
# does get through (the crafted packets are well formed, so the test can
# tell a drop from garbage). Both underlays: the dual-stack lab (VXLAN over
# IPv4) and an IPv6-only pod network (VXLAN over IPv6), each a lab of its own.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

PY=/usr/bin/python3
[[ -x $PY ]] || {
	echo "SKIP: $T_NAME: needs /usr/bin/python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/tunnelpkt.py
N=20
target6=$LAB_INTERNET_IP6

# peer_macs_dropped: the drops counted by foo's outer/inner binding rules
# (each underlay family may have its own).
peer_macs_dropped() {
	ip netns exec "$(lab_ns foo)" nft list chain inet podgw input 2>/dev/null |
		awk '/peer_macs/ && / drop/ && match($0, /counter packets [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), f, " "); n += f[3] } END { print n + 0 }' || true
}

# send KIND ARGS...: N datagrams from the attacker's pod, sent by an
# unprivileged process (an ordinary UDP socket to the gateway's VXLAN port,
# gw_addr: its pod address on the underlay).
send() {
	lab_exec attacker setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" "$TOOL" vxlan --to "$gw_addr" --count "$N" "$@" >/dev/null
}

# attack FAMILY: the whole attack on a lab of PODGW_LAB_FAMILY=FAMILY.
attack() {
	PODGW_LAB_FAMILY=$1 lab_create_base
	lab_add_gateway foo 10.244.0.2
	gw_addr=$(lab_pod_addr foo)
	lab_start_gatewayd foo || fail "$1: gatewayd did not become ready"
	lab_add_pod attacker 10.244.0.11
	lab_add_pod victim 10.244.0.12
	lab_clientd_init attacker foo 172.16.0.11 >/dev/null || fail "$1: clientd init of attacker exited with $?"
	lab_clientd_init victim foo 172.16.0.12 >/dev/null || fail "$1: clientd init of victim exited with $?"
	gw_mac=$(t_link_mac foo)
	victim_mac=$(t_link_mac victim)
	attacker_mac=$(t_link_mac attacker)
	attacker6=$(t_overlay_addr6 attacker)
	victim6=$(t_overlay_addr6 victim)
	gw_o6=$(t_overlay_addr6 foo)
	[[ -n $attacker6 && -n $victim6 && -n $gw_o6 ]] ||
		fail "$1: no overlay IPv6 (gateway '$gw_o6', attacker '$attacker6', victim '$victim6'): foo grants none"
	made_up=${gw_o6%::1}::77

	inet_pcap=$LAB_STATE/internet.pcap
	victim_pcap=$LAB_STATE/victim.pcap
	t_capture_start internet eth0 "$inet_pcap" 'icmp6 and ip6[40] == 128'
	pid_inet=$T_CAP_PID
	# Only what comes to the victim (its own clientd's chatter goes out).
	t_capture_start victim eth0 "$victim_pcap" "udp port 8472 and dst host $(lab_pod_addr victim)"
	pid_victim=$T_CAP_PID

	# 0. control: the attacker's own pair, crafted the same way (sequence
	#    numbers 0..N-1; every spoofed stream has its own from 1000 on: the
	#    gateway masquerades whatever it forwards, so the internet tells them
	#    apart by those alone)
	send --src-mac "$attacker_mac" --dst-mac "$gw_mac" icmp6 --src-ip "$attacker6" --dst-ip "$target6"
	# 1. the victim's pair (and the victim's MAC with a made-up address)
	send --src-mac "$victim_mac" --dst-mac "$gw_mac" icmp6 --src-ip "$victim6" --dst-ip "$target6" --seq-base 1000
	send --src-mac "$victim_mac" --dst-mac "$gw_mac" icmp6 --src-ip "$made_up" --dst-ip "$target6" --seq-base 2000
	# 2. the attacker's MAC with the victim's address, a made-up one and a
	#    link-local one
	send --src-mac "$attacker_mac" --dst-mac "$gw_mac" icmp6 --src-ip "$victim6" --dst-ip "$target6" --seq-base 3000
	send --src-mac "$attacker_mac" --dst-mac "$gw_mac" icmp6 --src-ip "$made_up" --dst-ip "$target6" --seq-base 4000
	send --src-mac "$attacker_mac" --dst-mac "$gw_mac" icmp6 --src-ip fe80::1:2:3:4 --dst-ip "$target6" --seq-base 5000
	# 3. neighbour discovery: the victim's address advertised with the
	#    attacker's MAC; solicitations from the victim's and a made-up address
	send --src-mac "$attacker_mac" --dst-mac ff:ff:ff:ff:ff:ff na --target "$victim6"
	send --src-mac "$attacker_mac" --dst-mac ff:ff:ff:ff:ff:ff ns --src-ip "$made_up" --target "$gw_o6"
	send --src-mac "$attacker_mac" --dst-mac ff:ff:ff:ff:ff:ff ns --src-ip "$victim6" --target "$gw_o6"
	sleep 1
	T_CAP_PID=$pid_inet t_capture_stop
	T_CAP_PID=$pid_victim t_capture_stop

	seqs=$(tcpdump -r "$inet_pcap" -nn 2>/dev/null | grep -Eo 'echo request, id [0-9]+, seq [0-9]+' | awk '{ print $NF }')
	control=$(awk '$1 < 1000' <<<"$seqs" | grep -c . || true)
	spoofed=$(awk '$1 >= 1000' <<<"$seqs" | grep -c . || true)
	unmasq=$(tcpdump -r "$inet_pcap" -nn "not src host $(lab_ip6 10.244.0.2)" 2>/dev/null | wc -l)
	victim_seen=$(tcpdump -r "$victim_pcap" -nn 2>/dev/null | wc -l)
	echo "FIGURE: $1: spoofed_sent = $((8 * N)) datagrams (and $N with the attacker's own pair)"
	echo "FIGURE: $1: own_pair_echo_requests_at_internet = $control of $N"
	echo "FIGURE: $1: spoofed_echo_requests_at_internet = $spoofed packets"
	echo "FIGURE: $1: datagrams_to_victim = $victim_seen packets"
	dropped=$(peer_macs_dropped)
	echo "FIGURE: $1: inner_source_not_bound_dropped = ${dropped:-0} packets"
	((control >= N / 2)) || errors+=("$1: the control (the attacker's own pair) reached the internet $control times of $N: the crafted packets or IPv6 forwarding are broken, the test proves nothing")
	((spoofed == 0)) || errors+=("$1: $spoofed spoofed echo requests reached the internet (sequence numbers: $(awk '$1 >= 1000' <<<"$seqs" | sort -n | uniq | head -n 5 | tr '\n' ' '))")
	((unmasq == 0)) || errors+=("$1: $unmasq echo requests reached the internet from a source other than foo's pod IPv6")
	((victim_seen == 0)) || errors+=("$1: the victim's pod got $victim_seen VXLAN datagrams (replies to what it never sent): $(t_records "$victim_pcap" | head -n 4 | tr '\n' '|')")
	((${dropped:-0} >= 2 * N)) || errors+=("$1: peer_macs dropped ${dropped:-0} datagrams, fewer than the $((2 * N)) sent with the victim's MAC")

	neigh=$(ip -n "$(lab_ns foo)" -6 neigh show dev vxlan0)
	info "foo's IPv6 neighbours on vxlan0: $(tr '\n' '|' <<<"$neigh")"
	if grep -q "^$made_up " <<<"$neigh"; then
		errors+=("$1: neighbour discovery taught foo a neighbour for $made_up: $(grep "^$made_up " <<<"$neigh")")
	fi
	if ! grep -q "^$victim6 lladdr $victim_mac PERMANENT" <<<"$neigh"; then
		errors+=("$1: foo's neighbour for the victim $victim6 is not its MAC, permanent: $(grep "^$victim6 " <<<"$neigh" || echo none)")
	fi

	# The victim and the attacker still work as themselves.
	t_ping6 victim "$target6" || errors+=("$1: the victim cannot reach $target6")
	t_ping6 attacker "$target6" || errors+=("$1: the attacker cannot reach $target6 as itself")
	lab_down "$LAB_PREFIX"
}

attack dual
attack ipv6
t_report
pass "spoofed IPv6 sources and neighbour discovery dropped at the gateway; only the attacker's own pair got out"
