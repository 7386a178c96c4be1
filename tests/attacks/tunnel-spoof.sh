#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): inner and outer not bound. A leased crawler sends VXLAN
# from its own pod IP carrying frames with another leased crawler's overlay
# address and MAC: they pass the (address, MAC) check, leave masqueraded,
# and the replies (and the byte counts) go to the victim; with DNS to the
# gateway's forwarder it is a ~150x reflection. An ARP request with a made-up
# sender teaches the gateway's neighbour table.
#
# Wanted: the gateway admits a VXLAN datagram only when its outer pod IP
# and its inner source MAC are one lease's, only IPv4 and ARP inside, and
# an ARP sender only as a leased (address, MAC) of that pod: the spoofed
# frames are dropped, the internet and the victim see nothing of them, and
# no neighbour entry is learned.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

PY=/usr/bin/python3
[[ -x $PY ]] || {
	echo "SKIP: $T_NAME: needs /usr/bin/python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/tunnelpkt.py
N=20

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_add_pod attacker 10.244.0.11
lab_add_pod victim 10.244.0.12
lab_clientd_init attacker foo 172.16.0.11 >/dev/null || fail "clientd init of attacker exited with $?"
lab_clientd_init victim foo 172.16.0.12 >/dev/null || fail "clientd init of victim exited with $?"
gw_mac=$(t_link_mac foo)
victim_mac=$(t_link_mac victim)
attacker_mac=$(t_link_mac attacker)

# send KIND ARGS...: N spoofed datagrams from the attacker's pod, sent by an
# unprivileged process (an ordinary UDP socket to the gateway's VXLAN port).
send() {
	lab_exec attacker setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" "$TOOL" vxlan --to 10.244.0.2 --count "$N" "$@" >/dev/null
}

inet_pcap=$LAB_STATE/internet.pcap
victim_pcap=$LAB_STATE/victim.pcap
t_capture_start internet eth0 "$inet_pcap" 'icmp or udp port 53'
pid_inet=$T_CAP_PID
# What the gateway sends it: its own vxlan0 may send an MLD report (from ::)
# when its IPv6 address comes, which is no reply.
t_capture_start victim eth0 "$victim_pcap" 'udp port 8472 and src host 10.244.0.2'
pid_victim=$T_CAP_PID

# 1. the victim's identity: echo requests to the internet, DNS queries to
#    the gateway's forwarder (whose answers would be reflected at the victim)
send --src-mac "$victim_mac" --dst-mac "$gw_mac" icmp --src-ip 172.16.0.12 --dst-ip 203.0.113.10
send --src-mac "$victim_mac" --dst-mac "$gw_mac" dns --src-ip 172.16.0.12 --dst-ip 172.16.0.1
# 2. the attacker's MAC with another lease's address inside an ARP request,
#    and a made-up address
send --src-mac "$attacker_mac" --dst-mac ff:ff:ff:ff:ff:ff arp --spa 172.16.0.12 --tpa 172.16.0.1
send --src-mac "$attacker_mac" --dst-mac ff:ff:ff:ff:ff:ff arp --spa 172.16.0.77 --tpa 172.16.0.1
# 3. the victim's MAC in an ARP request
send --src-mac "$victim_mac" --dst-mac ff:ff:ff:ff:ff:ff arp --spa 172.16.0.12 --tpa 172.16.0.1
sleep 1
T_CAP_PID=$pid_inet t_capture_stop
T_CAP_PID=$pid_victim t_capture_stop

inet_seen=$(tcpdump -r "$inet_pcap" -nn 'icmp[icmptype] == icmp-echo' 2>/dev/null | wc -l)
victim_seen=$(tcpdump -r "$victim_pcap" -nn 2>/dev/null | wc -l)
echo "FIGURE: spoofed_sent = $((5 * N)) datagrams"
echo "FIGURE: spoofed_echo_requests_at_internet = $inet_seen packets"
echo "FIGURE: datagrams_to_victim = $victim_seen packets"
dropped=$(t_nft_packets foo input 'peer_macs')
echo "FIGURE: inner_source_not_bound_dropped = ${dropped:-0} packets"
((inet_seen == 0)) || errors+=("$inet_seen spoofed echo requests reached the internet")
((victim_seen == 0)) || errors+=("the victim's pod got $victim_seen VXLAN datagrams (replies to what it never sent)")
# Refused where promised: the datagrams with the victim's MAC from the
# attacker's pod IP stopped at the outer/inner binding.
((${dropped:-0} >= N)) || errors+=("peer_macs dropped ${dropped:-0} datagrams, fewer than the $N sent with the victim's MAC")

neigh=$(ip -n "$(lab_ns foo)" neigh show dev vxlan0)
if grep -q '172.16.0.77 ' <<<"$neigh"; then
	errors+=("an ARP request taught foo a neighbour for 172.16.0.77: $(grep '172.16.0.77 ' <<<"$neigh")")
fi
if ! grep -q "172.16.0.12 lladdr $victim_mac PERMANENT" <<<"$neigh"; then
	errors+=("foo's neighbour for the victim changed: $(grep '172.16.0.12 ' <<<"$neigh" || echo none)")
fi

# The victim and the attacker still work as themselves.
t_ping victim 203.0.113.10 || errors+=("the victim cannot reach the internet")
t_ping attacker 203.0.113.10 || errors+=("the attacker cannot reach the internet as itself")

t_report
pass "spoofed inner sources dropped at the gateway; the internet and the victim saw none"
