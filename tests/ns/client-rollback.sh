#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `clientd init` against a gateway that cannot answer fails with one line and
# rolls back: the crawler's links, addresses, routes and rules are exactly as
# before. Three gateways that fail differently: an IP where no pod lives, a
# pod without gatewayd, a name that does not resolve.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2 # a pod, but no gatewayd in it
lab_add_pod crawler-foo-1 10.244.0.11

# try GATEWAY [ARGS...]
try() {
	local gw=$1
	shift
	local before after out rc=0 lines start elapsed
	before=$(lab_net_dump crawler-foo-1)
	start=$SECONDS
	out=$(LAB_INIT_TIMEOUT=60 lab_clientd_init crawler-foo-1 "$gw" 172.16.0.11 \
		--gateway-check-timeout 2 --gateway-resolve-timeout 2 --log-level error "$@" 2>&1) || rc=$?
	elapsed=$((SECONDS - start))
	after=$(lab_net_dump crawler-foo-1)
	lines=$(grep -c . <<<"$out" || true)
	if ((rc == 0)); then
		errors+=("gateway $gw: clientd init succeeded")
	elif ((rc == 124 || rc == 137)); then
		errors+=("gateway $gw: clientd init still running after 60 s (killed)")
	elif ((lines != 1)); then
		errors+=("gateway $gw: exit $rc with $lines lines of output, not 1: $(tr '\n' '|' <<<"$out")")
	else
		info "gateway $gw: exit $rc after ${elapsed}s: $out"
	fi
	if [[ $before != "$after" ]]; then
		errors+=("gateway $gw: the crawler changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' || true)")
	fi
}

try 10.244.0.99
try foo
try no-such-gateway

# A failed init keeps no stray link even after all three.
[[ $(t_vxlan_count crawler-foo-1) == 0 ]] || errors+=("a vxlan link is left in the crawler")
# The pod network still works as before.
t_ping crawler-foo-1 10.244.0.2 || errors+=("the crawler can no longer reach 10.244.0.2 on eth0")

t_report
pass "three unreachable gateways: one line each, the crawler unchanged"
