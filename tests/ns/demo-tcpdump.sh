#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reference design's tcpdump picture: a crawler's ping to the internet is
# seen on its gateway's eth0 twice, first inside VXLAN (UDP 8472, VNI 42) from
# the crawler's overlay address, then leaving from the gateway's own pod IP.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_add_pod crawler-foo-1 10.244.0.11
lab_clientd_init crawler-foo-1 foo 172.16.0.11 || fail "clientd init exited with $?"

pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start foo eth0 "$pcap" 'udp port 8472 or icmp'
ping_rc=0
ping_out=$(lab_exec crawler-foo-1 ping -n -c 1 -W 2 203.0.113.10 2>&1) || ping_rc=$?
t_capture_stop

records=$(t_records "$pcap")
info "capture on foo's eth0:"
printf '%s\n' "$records" | sed 's/^/    /'


vxlan_hdr='(OTV, flags \[I\] \(0x08\), overlay 0, instance 42|VXLAN, flags \[I\] \(0x08\), vni 42)'

# 1. crawler -> gateway, inside VXLAN: the overlay request
re="10\.244\.0\.11\.[0-9]+ > 10\.244\.0\.2\.8472: .*$vxlan_hdr.* 172\.16\.0\.11 > 203\.0\.113\.10: ICMP echo request"
grep -Eq "$re" <<<"$records" ||
	errors+=("no VXLAN packet 10.244.0.11 > 10.244.0.2:8472 (VNI 42) carrying ICMP echo request 172.16.0.11 > 203.0.113.10")

# 2. gateway -> internet, outside VXLAN, from the gateway's pod IP
grep -v '8472' <<<"$records" | grep -Eq ' 10\.244\.0\.2 > 203\.0\.113\.10: ICMP echo request' ||
	errors+=("no ICMP echo request 10.244.0.2 > 203.0.113.10 outside VXLAN (not masqueraded?)")

# 3. the reply, both ways
grep -v '8472' <<<"$records" | grep -Eq ' 203\.0\.113\.10 > 10\.244\.0\.2: ICMP echo reply' ||
	errors+=("no ICMP echo reply 203.0.113.10 > 10.244.0.2 on the gateway's eth0")
re="10\.244\.0\.2\.[0-9]+ > 10\.244\.0\.11\.8472: .*$vxlan_hdr.* 203\.0\.113\.10 > 172\.16\.0\.11: ICMP echo reply"
grep -Eq "$re" <<<"$records" ||
	errors+=("no VXLAN packet 10.244.0.2 > 10.244.0.11:8472 carrying ICMP echo reply 203.0.113.10 > 172.16.0.11")

# 4. nothing from the crawler's own pod IP or overlay address leaves unencapsulated
if grep -v '8472' <<<"$records" | grep -Eq " (10\.244\.0\.11|172\.16\.0\.11) > 203\.0\.113\.10:"; then
	errors+=("the crawler's own address reached eth0 outside the tunnel")
fi

# 5. the ping got its reply
if ((ping_rc != 0)) || ! grep -q ' 1 received' <<<"$ping_out"; then
	errors+=("ping from crawler-foo-1 to 203.0.113.10 got no reply (exit $ping_rc): $(tail -n 2 <<<"$ping_out" | tr '\n' ' ')")
fi

t_report
pass "the ping went through the tunnel and left from 10.244.0.2"
