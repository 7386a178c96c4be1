# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The tcpdump picture of IPv6 through the tunnel on a gateway's eth0, from
# tcpdump's text (-v, t_records): a crawler's echo request to the IPv6
# internet inside VXLAN (VNI 42; the underlay IPv4 or IPv6), then leaving
# masqueraded from the gateway's pod IPv6, and the reply both ways.

# t_picture6 RECORDS CRAWLER_POD_ADDR GATEWAY_POD_ADDR OVERLAY6 EGRESS6 TARGET6:
# appends to the caller's errors array what is missing from the picture.
# The pod addresses are the underlay's (VXLAN's outer addresses).
t_picture6() {
	local records=$1 cip=${2//./\\.} gip=${3//./\\.} o6=$4 e6=$5 t6=$6 plain
	# tcpdump names UDP 8472 OTV (and then prints no inner Ethernet header)
	# or VXLAN: either way the inner packet must be IPv6.
	local vxlan_hdr='(OTV, flags \[I\] \(0x08\), overlay 0, instance 42|VXLAN, flags \[I\] \(0x08\), vni 42)'
	local inner6='(IP6 |ethertype IPv6)'
	plain=$(grep -v '\.8472: ' <<<"$records" || true)

	grep -Eq " $cip\.[0-9]+ > $gip\.8472: .*$vxlan_hdr.*$inner6.* $o6 > $t6: .*ICMP6, echo request" <<<"$records" ||
		errors+=("no VXLAN packet $2 > $3:8472 (VNI 42) carrying ICMP6 echo request $4 > $6")
	grep -Eq " $e6 > $t6: .*ICMP6, echo request" <<<"$plain" ||
		errors+=("no ICMP6 echo request $5 > $6 outside VXLAN (not masqueraded to the gateway's pod IPv6?)")
	grep -Eq " $t6 > $e6: .*ICMP6, echo reply" <<<"$plain" ||
		errors+=("no ICMP6 echo reply $6 > $5 on the gateway's eth0")
	grep -Eq " $gip\.[0-9]+ > $cip\.8472: .*$vxlan_hdr.*$inner6.* $t6 > $o6: .*ICMP6, echo reply" <<<"$records" ||
		errors+=("no VXLAN packet $3 > $2:8472 carrying ICMP6 echo reply $6 > $4")
	if grep -q " $o6 > $t6" <<<"$plain"; then
		errors+=("the crawler's overlay IPv6 $4 reached eth0 outside the tunnel")
	fi
}
