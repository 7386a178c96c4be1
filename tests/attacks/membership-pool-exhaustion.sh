#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: pool exhaustion from one pod IP. One pod sends JOINs under 234
# made-up names as fast as answers come. Before: 234 grants in under a
# second, then every new pod was refused (POOL_EXHAUSTED).
# Now: one pod IP holds at most LEASES_PER_POD_IP live leases (4), and sends
# at most JOIN_RATE_PER_POD_IP JOINs a second (10, bursts of 20); the rest
# are refused or dropped and counted. Asserted: at most 4 grants from the
# attacker's pod IP, the refusals counted in /metrics, and a new crawler
# joins and gets through afterwards. The pool is a /27 (29 addresses from
# index 2), so without the limit the attack empties it.
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600 --vxlan-ip-network 172.16.0.0/27 --vxlan-gateway-first-dynamic-ip 2
lab_add_pod attacker 10.244.0.66
lab_add_pod crawler-1 10.244.0.11

res=$(pgwire attacker join --to 10.244.0.2 --name sim --names-from 1 --key "$KEY" --mac random --count 234 --wait 0.2)
info "attacker: $res"
grants=$(jget "$res" grants)
figure grants_from_one_pod_ip "$grants" "of 234 JOINs"
((grants <= 4)) || errors+=("$grants JOINs from one pod IP were granted, not at most 4")
limited=$(metric 'podgw_rejections_total{reason="pod_ip_leases"}')
rated=$(metric 'podgw_rejections_total{reason="rate"}')
info "refused for the per-pod-IP limit: ${limited:-none}, dropped over the JOIN rate: ${rated:-none}"
((${limited:-0} + ${rated:-0} > 0)) || errors+=("/metrics counts no refusal for the per-pod-IP limits")

rc=0
lab_clientd_init crawler-1 foo - --membership-key-file "$KEY" --vxlan-ip-network 172.16.0.0/27 || rc=$?
((rc == 0)) || errors+=("a new crawler could not join after the attack (clientd init exit $rc)")
((rc != 0)) || t_ping crawler-1 203.0.113.10 2 || errors+=("the new crawler gets no answer from 203.0.113.10")
t_report
pass "$grants of 234 JOINs from one pod IP granted; a new crawler still joins"
