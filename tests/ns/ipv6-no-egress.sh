#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A gateway whose egress has no IPv6 (no IPv6 default route in foo's pod)
# grants no IPv6: the crawler's IPv6 stays blocked (no address on vxlan0, no
# IPv6 default route, nothing reaches the internet's 2001:db8::10, not even
# through eth0) and clientd says so once, however often it renews:
#   IPv6: the gateway grants none (its egress has no IPv6): IPv6 stays blocked
# IPv4 works as usual. Then foo's egress gains IPv6: the next renewal (every
# LEASE_TIME/3) brings the grant and IPv6 works through the tunnel; and it
# loses it again: the next renewal takes the grant back and IPv6 is blocked.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

target6=$LAB_INTERNET_IP6
lease=9 # renewals every 3 s
line='IPv6: the gateway grants none (its egress has no IPv6): IPv6 stays blocked'

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_exec foo ip -6 route del default
lab_start_gatewayd foo --lease-time "$lease" || fail "gatewayd did not become ready"
lab_add_pod crawler-1 10.244.0.11
lab_start_clientd_run crawler-1 foo 172.16.0.11 --state-file "$LAB_STATE/crawler-1.state" ||
	fail "clientd run did not become ready"

# 1. Blocked: no grant, no route, no answer, nothing on the internet.
status=$(t_gw_status foo) || true
grep -Eq '^ipv6: fd[0-9a-f:]+::/64 \(egress: no\)' <<<"$status" ||
	errors+=("gatewayd status has no line 'ipv6: PREFIX (egress: no)': $(grep -i ipv6 <<<"$status" || echo none)")
m=$(t_metric foo podgw_ipv6_egress)
[[ $m == 0 ]] || errors+=("podgw_ipv6_egress is '${m:-missing}', not 0")
o6=$(t_overlay_addr6 crawler-1)
[[ -z $o6 ]] || errors+=("crawler-1 has IPv6 $o6 on vxlan0 from a gateway without IPv6 egress")
route6=$(lab_exec crawler-1 ip -6 route show default)
[[ -z $route6 ]] || errors+=("crawler-1 has an IPv6 default route: $route6")
pcap=$LAB_STATE/internet.pcap
# Everything IPv6 but link-local and unspecified sources (the links' own
# neighbour, router and listener discovery): a leak has a routable source.
t_capture_start internet eth0 "$pcap" 'ip6 and not src net fe80::/10 and not src host ::'
for src in "" eth0; do
	if lab_exec crawler-1 ping -6 -n -q -c 1 -W 1 ${src:+-I "$src"} "$target6" >/dev/null 2>&1; then
		errors+=("crawler-1 reached $target6 over IPv6${src:+ bound to $src}")
	fi
done
if t_tcp_send crawler-1 "$target6" 5601 "" 2 >/dev/null 2>&1; then
	errors+=("crawler-1 opened TCP to [$target6]:5601")
fi
t_capture_stop
seen=$(t_records "$pcap")
n=$(grep -c . <<<"$seen" || true)
echo "FIGURE: ipv6_packets_at_internet = $n packets"
((n == 0)) || errors+=("the internet saw $n IPv6 packets: $(head -n 3 <<<"$seen" | tr '\n' '|')")
t_ping crawler-1 203.0.113.10 || errors+=("crawler-1 cannot reach 203.0.113.10 over IPv4")
verbose=$(lab_exec crawler-1 "$CLIENTD" check --verbose --gateway foo --state-file "$LAB_STATE/crawler-1.state" 2>&1) || true
grep -q '^ipv6: blocked (not granted)' <<<"$verbose" ||
	errors+=("clientd check --verbose has no line 'ipv6: blocked (not granted)': $(grep -i ipv6 <<<"$verbose" || echo none)")

# 2. Said once, over several renewals (the log counts the GRANTs it got).
sleep $((lease + 1))
said=$(grep -cF -- "$line" "$LAB_STATE/crawler-1.clientd.log" || true)
echo "FIGURE: grants_without_ipv6_logged = $said lines over $((lease + 1)) s of renewals every $((lease / 3)) s"
((said == 1)) || errors+=("clientd logged '$line' $said times, not once: $(grep -i ipv6 "$LAB_STATE/crawler-1.clientd.log" | head -n 3 | tr '\n' '|')")
t_report

# 3. foo's egress gains IPv6: the next renewal grants it.
lab_exec foo ip -6 route add default via "$LAB_POD_NET6_ROUTER" dev eth0
# shellcheck disable=SC2317 # called through lab_wait_for
granted() { [[ -n $(t_overlay_addr6 crawler-1) ]]; }
lab_wait_for $((lease + 5)) granted || errors+=("crawler-1 got no IPv6 within $((lease + 5)) s of foo's egress gaining IPv6")
if granted; then
	info "egress gained IPv6: crawler-1 has $(t_overlay_addr6 crawler-1)"
	t_ping6_eventually crawler-1 "$target6" 5 || errors+=("crawler-1 cannot reach $target6 after the grant")
fi
t_report

# 4. ... and loses it: the next renewal takes the grant back, IPv6 is blocked.
lab_exec foo ip -6 route del default
# shellcheck disable=SC2317 # called through lab_wait_for
revoked() { [[ -z $(t_overlay_addr6 crawler-1) ]]; }
lab_wait_for $((lease + 5)) revoked ||
	errors+=("crawler-1 still has IPv6 $(t_overlay_addr6 crawler-1) $((lease + 5)) s after foo's egress lost it")
if t_ping6 crawler-1 "$target6" 2; then
	errors+=("crawler-1 still reaches $target6 after the grant was taken back")
fi
t_ping crawler-1 203.0.113.10 || errors+=("crawler-1 cannot reach 203.0.113.10 over IPv4 at the end")

t_report
pass "without IPv6 egress the crawler's IPv6 stays blocked and clientd says so once; the grant follows the egress"
