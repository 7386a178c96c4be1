#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# IPv6 through the tunnel on the dual-stack lab (IPv4 underlay): gateway foo
# grants an IPv6 overlay address beside the IPv4 one (its egress has an IPv6
# default route), and a crawler's ping and TCP to the IPv6 internet
# (2001:db8::10) go through VXLAN (VNI 42) and leave foo masqueraded to its
# pod IPv6 (fd00:10:244::2), as tcpdump on foo's eth0 shows. The crawler's
# address is foo's prefix plus the IPv4 lease's host index (172.16.0.11 ->
# PREFIX::b), foo's is PREFIX::1; the status, metrics and clientd check say so.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=picture6.sh
. "$(dirname "$0")/picture6.sh"

target6=$LAB_INTERNET_IP6
gw6=$(lab_ip6 10.244.0.2)

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_add_pod crawler-foo-1 10.244.0.11
lab_start_clientd_run crawler-foo-1 foo 172.16.0.11 --state-file "$LAB_STATE/crawler-foo-1.state" ||
	fail "clientd run did not become ready"

# 1. The addresses: foo's prefix on its vxlan0, the crawler's derived from it.
gwo6=$(t_overlay_addr6 foo)
o6=$(t_overlay_addr6 crawler-foo-1)
info "foo's vxlan0: ${gwo6:-no IPv6}; crawler-foo-1's vxlan0: ${o6:-no IPv6}"
[[ -n $gwo6 ]] || fail "foo's vxlan0 has no global IPv6 address: $(ip -n "$(lab_ns foo)" -6 -o addr show dev vxlan0 2>&1 | tr '\n' '|')"
[[ -n $o6 ]] || fail "crawler-foo-1's vxlan0 has no global IPv6 address (not granted?): $(lab_exec crawler-foo-1 ip -6 -o addr show dev vxlan0 2>&1 | tr '\n' '|')"
prefix=${gwo6%::1}
[[ $gwo6 == *::1 && $prefix == fd* ]] || errors+=("foo's overlay IPv6 $gwo6 is not PREFIX::1 of a ULA prefix")
[[ $o6 == "$prefix::b" ]] || errors+=("crawler-foo-1's overlay IPv6 is $o6, not $prefix::b (172.16.0.11's host index)")
plen=$(lab_exec crawler-foo-1 ip -6 -o addr show dev vxlan0 scope global | awk '{ print $4; exit }')
[[ $plen == */64 ]] || errors+=("crawler-foo-1's overlay IPv6 is $plen, not a /64")
route6=$(lab_exec crawler-foo-1 ip -6 route show default)
info "crawler-foo-1: ip -6 route show default: $route6"
grep -q "via $gwo6 dev vxlan0" <<<"$route6" || errors+=("crawler-foo-1's IPv6 default route is not via $gwo6 dev vxlan0: $route6")
if grep -q 'dev eth0' <<<"$route6"; then
	errors+=("crawler-foo-1 kept an IPv6 default route on eth0: $route6")
fi
status=$(t_gw_status foo) || true
grep -Eq "^ipv6: $prefix::/64 \(egress: yes\)" <<<"$status" ||
	errors+=("gatewayd status has no line 'ipv6: $prefix::/64 (egress: yes)': $(grep -i ipv6 <<<"$status" || echo none)")
m=$(t_metric foo podgw_ipv6_egress)
[[ $m == 1 ]] || errors+=("podgw_ipv6_egress is '${m:-missing}', not 1")
verbose=$(lab_exec crawler-foo-1 "$CLIENTD" check --verbose --gateway foo \
	--state-file "$LAB_STATE/crawler-foo-1.state" 2>&1) || true
grep -Eq "^ipv6: $o6(/64)? via $gwo6\b" <<<"$verbose" ||
	errors+=("clientd check --verbose has no line 'ipv6: $o6 via $gwo6': $(grep -i ipv6 <<<"$verbose" || echo none)")
t_report

# 2. ping -6 with tcpdump on foo's eth0.
pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start foo eth0 "$pcap" "udp port 8472 or (ip6 and host $target6)"
ping_rc=0
ping_out=$(lab_exec crawler-foo-1 ping -6 -n -c 1 -W 2 "$target6" 2>&1) || ping_rc=$?
t_capture_stop
records=$(t_records "$pcap")
info "capture on foo's eth0:"
printf '%s\n' "$records" | sed 's/^/    /'
t_picture6 "$records" 10.244.0.11 10.244.0.2 "$o6" "$gw6" "$target6"
if ((ping_rc != 0)) || ! grep -q ' 1 received' <<<"$ping_out"; then
	errors+=("ping -6 from crawler-foo-1 to $target6 got no reply (exit $ping_rc): $(tail -n 2 <<<"$ping_out" | tr '\n' ' ')")
fi
t_report

# 3. TCP over IPv6: 1 MiB each way; the server sees foo's pod IPv6 (the
# capture keeps the SYNs leaving foo, ip6[53] being the TCP flags behind a
# bare IPv6 header, and all of VXLAN).
head -c 1048576 /dev/urandom >"$LAB_STATE/blob"
t_tcp_serve internet "$target6" 5601 "$LAB_STATE/blob" || fail "the TCP server did not start in the internet"
pcap=$LAB_STATE/foo-tcp.pcap
t_capture_start foo eth0 "$pcap" "(ip6 and tcp port 5601 and ip6[53] & 0x02 != 0) or udp port 8472"
out=$(t_tcp_send crawler-foo-1 "$target6" 5601 "$LAB_STATE/blob" 30) || errors+=("TCP over IPv6 to [$target6]:5601 failed: $(tr '\n' ' ' <<<"$out")")
t_capture_stop
info "TCP over IPv6: $(tr '\n' ' ' <<<"$out")"
read -r _ _ peer <<<"$(head -n 1 <<<"$out")"
[[ $peer == "$gw6" ]] || errors+=("the internet saw the TCP connection from '$peer', not foo's pod IPv6 $gw6")
grep -q "^recv 1048576 $(sha256sum "$LAB_STATE/blob" | awk '{ print $1 }')" <<<"$out" ||
	errors+=("the crawler did not get the 1 MiB back intact over IPv6")
records=$(t_records "$pcap")
grep -Eq " 10\.244\.0\.11\.[0-9]+ > 10\.244\.0\.2\.8472: .*(vni|instance) 42.* $o6\.[0-9]+ > $target6\.5601: Flags \[S\]" <<<"$records" ||
	errors+=("no VXLAN packet carrying the TCP SYN $o6 > [$target6]:5601")
grep -Eq "^[0-9.]+ IP6 .* $gw6\.[0-9]+ > $target6\.5601: Flags \[S\]" <<<"$records" ||
	errors+=("no TCP SYN $gw6 > [$target6]:5601 leaving foo (masqueraded)")

# 4. IPv4 still goes through the tunnel beside it.
t_ping crawler-foo-1 203.0.113.10 || errors+=("crawler-foo-1 cannot reach 203.0.113.10 over IPv4")

t_report
pass "ping -6 and TCP over IPv6 went through VXLAN (VNI 42) and left foo from $gw6"
