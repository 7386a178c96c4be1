#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): through the gateway's NAT a crawler reaches the node,
# other pods and other gateways, seen as the gateway's pod IP (the egress
# had no destination limit). An unprivileged crawler only has to bind its
# socket to vxlan0 (or the destination lies outside its
# NOT_ROUTED_TO_GATEWAY_CIDRS, e.g. the node's own range).
#
# Wanted: forwarded overlay traffic to the cluster's ranges
# (NOT_ROUTED_TO_GATEWAY_CIDRS, K8S_DNS_IPS), the gateway's pod network,
# its router (the node) and link-local is dropped; the internet
# (203.0.113.0/24) still works, and so does a destination the user
# allow-listed (GATEWAY_OVERLAY_ALLOW_CIDRS).
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

lab_create_base
# A "service" address of the cluster on the node (10.96.0.0/12 stands for
# the service range), another gateway, an ordinary pod and one that the
# user allows.
ip -n "$(lab_ns node)" addr add 10.96.0.10/32 dev lo
lab_add_gateway foo 10.244.0.2
lab_add_gateway bar 10.244.0.3
lab_add_pod pod-30 10.244.0.30
lab_add_pod pod-40 10.244.0.40
lab_start_gatewayd foo --not-routed-to-gateway-cidrs 10.96.0.0/12 \
	--gateway-overlay-allow-cidrs 10.244.0.40/32 || fail "gatewayd did not become ready"
lab_add_pod crawler-11 10.244.0.11
lab_clientd_init crawler-11 foo 172.16.0.11 >/dev/null || fail "clientd init exited with $?"

# through DEST: one ping from crawler-11 bound to vxlan0 (unprivileged
# processes may bind to a device), i.e. through the gateway.
through() {
	lab_exec crawler-11 setpriv --reuid=65534 --regid=65534 --clear-groups \
		ping -n -q -c 1 -W 1 -I vxlan0 "$1" >/dev/null 2>&1
}

refused=0 reached=0
for dest in 10.244.0.1 10.244.0.3 10.244.0.30 10.96.0.10; do
	if through "$dest"; then
		reached=$((reached + 1))
		errors+=("crawler-11 reached $dest (node, gateway bar, a pod, a service) through the gateway")
	else
		refused=$((refused + 1))
	fi
done
echo "FIGURE: cluster_destinations_refused = $refused of 4 destinations"
dropped=$(t_nft_packets foo forward 'overlay_deny')
echo "FIGURE: overlay_deny_dropped = ${dropped:-0} packets"
[[ ${dropped:-0} -ge 4 ]] || errors+=("the gateway's overlay_deny rule counted ${dropped:-0} packets, want at least 4")

if t_ping_eventually crawler-11 203.0.113.10 3; then
	echo "FIGURE: internet_reachable = 1 (203.0.113.10)"
else
	errors+=("crawler-11 cannot reach the internet 203.0.113.10")
fi
if through 10.244.0.40; then
	echo "FIGURE: allow_listed_reachable = 1 (10.244.0.40)"
else
	errors+=("crawler-11 cannot reach the allow-listed 10.244.0.40 through the gateway")
fi

t_report
pass "the node, the pods, the other gateway and the service range are refused; the internet and the allow-listed pod are reached"
