#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reference design's tcpdump picture: a crawler's ping to the internet is
# seen on its gateway's eth0 twice, first inside VXLAN (UDP 8472, VNI 42) from
# the crawler's overlay address, then leaving from the gateway's own pod IP.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../picture.sh
. "$(dirname "$0")/../picture.sh"

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


t_picture "$records" 10.244.0.11 10.244.0.2 172.16.0.11 203.0.113.10

# 5. the ping got its reply
if ((ping_rc != 0)) || ! grep -q ' 1 received' <<<"$ping_out"; then
	errors+=("ping from crawler-foo-1 to 203.0.113.10 got no reply (exit $ping_rc): $(tail -n 2 <<<"$ping_out" | tr '\n' ' ')")
fi

t_report
pass "the ping went through the tunnel and left from 10.244.0.2"
