# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The reference design's tcpdump picture on a gateway's eth0, checked from
# tcpdump's text (-v): sourced by tests/ns/demo-tcpdump.sh (the lab) and
# tests/containers/flow.sh (podman), which differ only in addresses.

# t_picture RECORDS CRAWLER_POD_IP GATEWAY_POD_IP OVERLAY_IP TARGET_IP:
# appends to the caller's errors array what is missing from the picture.
t_picture() {
	local records=$1 cip=${2//./\\.} gip=${3//./\\.} oip=${4//./\\.} tip=${5//./\\.} plain
	local vxlan_hdr='(OTV, flags \[I\] \(0x08\), overlay 0, instance 42|VXLAN, flags \[I\] \(0x08\), vni 42)'
	plain=$(grep -v '8472' <<<"$records" || true)

	# crawler -> gateway inside VXLAN, then out from the gateway's pod IP
	grep -Eq "$cip\.[0-9]+ > $gip\.8472: .*$vxlan_hdr.* $oip > $tip: ICMP echo request" <<<"$records" ||
		errors+=("no VXLAN packet $2 > $3:8472 (VNI 42) carrying ICMP echo request $4 > $5")
	grep -Eq " $gip > $tip: ICMP echo request" <<<"$plain" ||
		errors+=("no ICMP echo request $3 > $5 outside VXLAN (not masqueraded?)")
	# the reply, both ways
	grep -Eq " $tip > $gip: ICMP echo reply" <<<"$plain" ||
		errors+=("no ICMP echo reply $5 > $3 on the gateway's eth0")
	grep -Eq "$gip\.[0-9]+ > $cip\.8472: .*$vxlan_hdr.* $tip > $oip: ICMP echo reply" <<<"$records" ||
		errors+=("no VXLAN packet $3 > $2:8472 carrying ICMP echo reply $5 > $4")
	# nothing from the crawler's own addresses leaves unencapsulated
	if grep -Eq " ($cip|$oip) > $tip:" <<<"$plain"; then
		errors+=("the crawler's own address reached eth0 outside the tunnel")
	fi
}
