#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# When the control port answers but VXLAN does not get through (another
# VXLAN user owns the port on the nodes, as Cilium and Flannel do with 8472),
# clientd init fails with a diagnosis naming VXLAN_PORT and 4789, and leaves
# the pod as it found it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
# The gateway listens for VXLAN on 4789; the client sends to 8472.
lab_start_gatewayd foo --vxlan-port 4789 || fail "gatewayd did not become ready"
lab_add_pod crawler-1 10.244.0.11
before=$(lab_net_dump crawler-1)

rc=0
out=$(LAB_INIT_TIMEOUT=60 lab_clientd_init crawler-1 foo - --gateway-check-timeout 2 2>&1) || rc=$?
info "clientd init said: $out"
((rc == 1)) || fail "clientd init exited with $rc, not 1"
lines=$(grep -c . <<<"$out" || true)
((lines == 1)) || fail "clientd init printed $lines lines, not one"
grep -q "answered on the control port but not through the tunnel" <<<"$out" ||
	fail "the error does not say the control port answered but the tunnel did not"
if ! grep -q "VXLAN_PORT 8472" <<<"$out" || ! grep -q "4789" <<<"$out"; then
	fail "the error does not name VXLAN_PORT 8472 and 4789"
fi
after=$(lab_net_dump crawler-1)
[[ $after == "$before" ]] ||
	fail "the failed init changed the pod: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' || true)"

# With the same port on both sides it works.
lab_clientd_init crawler-1 foo - --vxlan-port 4789 || fail "clientd init with VXLAN_PORT 4789 exited with $?"
t_ping crawler-1 203.0.113.10 || fail "no ping through the tunnel on port 4789"
pass "a VXLAN port mismatch is diagnosed by name and rolled back; matching ports work"
