#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# SIGTERM to `clientd run` releases its lease: clientd exits 0 and the gateway
# removes the crawler's FDB entry, its neighbour entry and its elements of the
# peers and clients sets (bounded wait). The crawler stays fail-closed: no
# default route outside the tunnel appears, 203.0.113.10 still routes through
# vxlan0 (or nowhere, never eth0), and its pings no longer reach the internet.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd in foo did not become ready"
lab_add_pod crawler-1 10.244.0.11
lab_start_clientd_run crawler-1 foo - || fail "clientd run in crawler-1 did not become ready"
run_pid=$LAB_PID
addr=$(t_overlay_addr crawler-1)
mac=$(t_link_mac crawler-1)
[[ -n $addr && -n $mac ]] || fail "crawler-1 has no vxlan0 address or MAC after clientd run is ready"
info "crawler-1 joined as $addr (vxlan MAC $mac)"
gw=$(lab_ns foo)
cl=$(lab_ns crawler-1)

# What the gateway holds for crawler-1, one line each (absent: empty).
has_fdb() { ip netns exec "$gw" bridge fdb show dev vxlan0 | grep -i "^$mac " | grep ' dst 10\.244\.0\.11 ' || true; }
has_neigh() { ip -n "$gw" neigh show dev vxlan0 | grep -i "^${addr//./\\.} lladdr $mac " || true; }
has_peer() { ip netns exec "$gw" nft list set inet podgw peers | grep -E '(^|[ {,])10\.244\.0\.11([ },]|$)' || true; }
has_client() { ip netns exec "$gw" nft list set inet podgw clients | grep -Ei "${addr//./\\.} \. $mac" || true; }
# shellcheck disable=SC2317 # called through lab_wait_for
all_gone() { [[ -z $(has_fdb)$(has_neigh)$(has_peer)$(has_client) ]]; }

[[ -n $(has_fdb) ]] || errors+=("no FDB entry $mac dst 10.244.0.11 on foo's vxlan0 while joined: $(ip netns exec "$gw" bridge fdb show dev vxlan0 | tr '\n' '|')")
[[ -n $(has_neigh) ]] || errors+=("no neighbour $addr lladdr $mac on foo's vxlan0 while joined: $(ip -n "$gw" neigh show dev vxlan0 | tr '\n' '|')")
grep -Eiq "^${addr//./\\.} .*PERMANENT" <<<"$(ip -n "$gw" neigh show dev vxlan0)" ||
	errors+=("foo's neighbour entry for $addr is not permanent")
[[ -n $(has_peer) ]] || errors+=("10.244.0.11 is not in foo's peers set while joined")
[[ -n $(has_client) ]] || errors+=("$addr . $mac is not in foo's clients set while joined: $(ip netns exec "$gw" nft list set inet podgw clients | tr '\n' ' ')")
t_ping crawler-1 203.0.113.10 2 || errors+=("crawler-1 gets no answer from 203.0.113.10 while joined")
t_report

lab_stop_pid "$run_pid" TERM 10 || fail "clientd run did not exit within 10 s of SIGTERM"
((LAB_RC == 0)) || errors+=("clientd run exited with $LAB_RC on SIGTERM, not 0")
start=$EPOCHREALTIME
if lab_wait_for 5 all_gone; then
	info "foo removed crawler-1's entries $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s after clientd exited"
else
	[[ -z $(has_fdb) ]] || errors+=("foo still has the FDB entry 5 s after the release: $(has_fdb)")
	[[ -z $(has_neigh) ]] || errors+=("foo still has the neighbour entry 5 s after the release: $(has_neigh)")
	[[ -z $(has_peer) ]] || errors+=("10.244.0.11 is still in foo's peers set 5 s after the release")
	[[ -z $(has_client) ]] || errors+=("$addr . $mac is still in foo's clients set 5 s after the release")
fi
grep -q "released default/crawler-1: $addr " "$LAB_STATE/foo.gatewayd.log" ||
	errors+=("foo's log has no 'released default/crawler-1: $addr' line")

# Fail-closed after clientd is gone.
defaults=$(ip -n "$cl" -4 route show default; ip -n "$cl" -6 route show default)
if grep -q ' dev eth0' <<<"$defaults"; then
	errors+=("crawler-1 has a default route on eth0 after the release: $(tr '\n' '|' <<<"$defaults")")
fi
via=$(ip -n "$cl" route get 203.0.113.10 2>&1 | head -n 1) || true
info "crawler-1 after the release: ip route get 203.0.113.10: $via"
if [[ $via == *" dev eth0"* ]] || [[ $via != *" dev vxlan0 "* && $via != *nreachable* ]]; then
	errors+=("crawler-1 routes 203.0.113.10 outside the tunnel after the release: $via")
fi
pcap=$LAB_STATE/internet.pcap
t_capture_start internet eth0 "$pcap" ip
rc=0
lab_exec crawler-1 ping -n -q -c 2 -i 0.3 -W 1 203.0.113.10 >/dev/null 2>&1 || rc=$?
t_capture_stop
seen=$(t_records "$pcap")
n=$(grep -c . <<<"$seen" || true)
((rc != 0)) || errors+=("crawler-1 still gets answers from 203.0.113.10 after its release")
((n == 0)) || errors+=("the internet saw $n IPv4 packets from crawler-1's pings after its release: $(tr '\n' '|' <<<"$seen")")

t_report
pass "SIGTERM released the lease: FDB, neighbour and set elements gone, the crawler stays fail-closed"
