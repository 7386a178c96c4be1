#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: a captured JOIN replayed first from another pod IP. The tag used
# to cover the message but not where it came from, so whoever saw a JOIN on
# the pod network could send it before the real one arrived, from its own
# pod IP, and get the lease (the real one then died as a replayed nonce).
# Now (protocol version 2) every request carries POD_IP under the tag, and
# the gateway refuses a request whose POD_IP is not its source address,
# before the replay check, so the copy does not use up the nonce.
# Asserted: the copy sent from the attacker's pod IP gets no GRANT and no
# lease appears; the original, sent after it from the victim's pod IP, is
# granted; podgw_rejections_total{reason="pod_ip"} counts the copy.
# The JOIN is made by pgwire.py with the key, exactly as crawler-1's clientd
# would send it (its identity, its pod IP); the attacker only copies bytes.
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600
lab_add_pod crawler-1 10.244.0.11
lab_add_pod attacker 10.244.0.66
join=$LAB_STATE/join.bin
pgwire crawler-1 join --to 10.244.0.2 --name crawler-1 --key "$KEY" --mac random --out "$join"
info "crawler-1's JOIN: $(stat -c %s "$join") bytes, captured before it reached the gateway"

copy=$(pgwire attacker send "$join" --to 10.244.0.2)
info "the copy from 10.244.0.66 got: $copy"
copy_granted=0
[[ $(jget "$copy" type) != 129 ]] || copy_granted=1
figure replayed_join_granted "$copy_granted" "of 1"
((copy_granted == 0)) || errors+=("the copy of crawler-1's JOIN sent from 10.244.0.66 was granted")
peers=$(ip netns exec "$(lab_ns foo)" nft list set inet podgw peers)
! grep -qF 10.244.0.66 <<<"$peers" || errors+=("the attacker's pod IP is a peer of foo after the copy")
orig=$(pgwire crawler-1 send "$join" --to 10.244.0.2)
info "the original from 10.244.0.11 got: $orig"
[[ $(jget "$orig" type) == 129 ]] || errors+=("the original JOIN, sent after the copy, was not granted: $orig")
counted=$(metric 'podgw_rejections_total{reason="pod_ip"}')
((${counted:-0} >= 1)) || errors+=("/metrics does not count the copy from another pod IP")
t_report
pass "a copied JOIN from another pod IP is refused; the original still gets its grant"
