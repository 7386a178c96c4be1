#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: MAC pre-claim. clientd's vxlan MAC used to follow from the pod's
# public namespace/name, so an attacker computed the victim's MAC, joined
# first under its own name with it, and the gateway's FDB entry for that MAC
# pointed at the attacker (appending an FDB entry for an existing unicast
# MAC changes nothing): the victim joined but its tunnel got no answers.
# Now: client MACs are random (kept on the pod's link for its own re-runs),
# and the gateway refuses a MAC leased to another identity.
# Asserted: with the attacker holding the old derived MAC, the victim joins
# and gets through; the attacker's JOIN with the victim's real MAC (read
# from the victim's link, as if guessed) is refused (BAD_REQUEST,
# reason="mac_taken") and the victim's FDB entry stays; a second `clientd
# run` in the victim pod keeps the MAC of the first.
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600
lab_add_pod crawler-1 10.244.0.11
lab_add_pod attacker 10.244.0.66

# The MAC older clientd derived from "default/crawler-1": BLAKE2b-128 of the
# identity, first 6 bytes, locally administered unicast.
derived=$("$T_PYTHON" -c 'import hashlib
h = bytearray(hashlib.blake2b(b"default/crawler-1", digest_size=16).digest()[:6])
h[0] = (h[0] & 0xfc) | 2
print(":".join("%02x" % b for b in h))')
res=$(pgwire attacker join --to 10.244.0.2 --name attacker-1 --key "$KEY" --mac "$derived")
info "attacker joined as default/attacker-1 with crawler-1's derived MAC $derived: $res"
(($(jget "$res" grants) == 1)) || fail "the attacker's own JOIN was not granted: $res"

rc=0
lab_clientd_init crawler-1 foo - --membership-key-file "$KEY" --gateway-check-timeout 3 || rc=$?
mac=$(t_link_mac crawler-1)
info "victim: clientd init exit $rc, vxlan MAC $mac"
((rc == 0)) || errors+=("the victim's clientd init failed ($rc) with its derived MAC pre-claimed")
[[ ${mac,,} != "${derived,,}" ]] || errors+=("the victim's MAC is still the one derived from its name")
loss=100 # no tunnel, nothing through it
((rc != 0)) || loss=$(ping_loss crawler-1 20)
figure victim_loss_after_preclaim "${loss:-100}" "%"
[[ -n $loss ]] && ((loss <= 20)) || errors+=("the victim lost ${loss:-all}% of its pings with its derived MAC pre-claimed")
t_report

# The gateway side: a MAC leased to one identity is refused to another.
res=$(pgwire attacker join --to 10.244.0.2 --name attacker-2 --key "$KEY" --mac "$mac")
info "attacker joined as default/attacker-2 with the victim's MAC $mac: $res"
grants=$(jget "$res" grants)
figure preclaim_grants_with_victim_mac "$grants" "of 1"
((grants == 0)) || errors+=("a JOIN of another identity with the victim's MAC was granted")
(($(jget "$res" errors.1) == 1)) || errors+=("no ERROR BAD_REQUEST for a MAC leased to another client: $res")
[[ $(fdb_dst "$mac") == 10.244.0.11 ]] || errors+=("foo's FDB sends the victim's MAC to '$(fdb_dst "$mac")'")
t_ping crawler-1 203.0.113.10 2 || errors+=("the victim gets no answer after the attacker tried its MAC")
counted=$(metric 'podgw_rejections_total{reason="mac_taken"}')
((${counted:-0} >= 1)) || errors+=("/metrics does not count the MAC refusal")

# The pod's own re-run keeps its MAC.
lab_start_clientd_run crawler-1 foo - --membership-key-file "$KEY" || fail "clientd run in crawler-1 did not become ready"
mac2=$(t_link_mac crawler-1)
[[ ${mac2,,} == "${mac,,}" ]] || errors+=("clientd run in the same pod chose another MAC ($mac2, not $mac)")
t_report
pass "derived MAC pre-claimed: victim still routed (loss ${loss}%); another identity with the victim's MAC refused"
