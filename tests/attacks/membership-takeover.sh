#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: lease takeover by name. A key holder (or anyone, without a key) in
# another pod sends JOINs with the victim's namespace/name from its own pod
# IP while the victim runs `clientd run` and pings the internet. Before: 98
# of 98 granted, the lease and the FDB entry moved, the victim lost most
# pings and the attacker got its inbound traffic.
# Now: a live lease belongs to the pod IP that renews it. Asserted: no
# GRANT, ERROR LEASE_HELD (9), the victim's FDB entry still points at its
# pod IP, its pings get through, podgw_rejections_total{reason="lease_held"}
# counts the refusals. Then the legitimate case: the victim's pod dies
# (clientd SIGKILL, no RELEASE) and a pod of the same name comes back with a
# new pod IP: `clientd init` there succeeds once the old lease went quiet
# (LEASE_QUIET_MS, 2 s).
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600
lab_add_pod crawler-1 10.244.0.11
lab_add_pod attacker 10.244.0.66
lab_start_clientd_run crawler-1 foo - --membership-key-file "$KEY" || fail "clientd run in crawler-1 did not become ready"
victim_pid=$LAB_PID
mac=$(t_link_mac crawler-1)
info "victim default/crawler-1 at 10.244.0.11, vxlan MAC $mac"
[[ $(fdb_dst "$mac") == 10.244.0.11 ]] || fail "foo's FDB does not send $mac to 10.244.0.11 before the attack"

out=$LAB_STATE/attack.json
pgwire attacker join --to 10.244.0.2 --name crawler-1 --key "$KEY" --mac 02:66:66:66:66:66 \
	--count 98 --interval 0.05 --wait 0.5 >"$out" &
attack_pid=$!
loss=$(ping_loss crawler-1 60)
wait "$attack_pid" || fail "the attacker's tool failed: $(cat "$out")"
res=$(cat "$out")
info "attacker: $res"
grants=$(jget "$res" grants)
held=$(jget "$res" errors.9)
figure takeover_grants "$grants" "of 98 JOINs"
figure victim_loss_during_takeover "${loss:-100}" "%"
((grants == 0)) || errors+=("$grants of 98 JOINs for crawler-1 from 10.244.0.66 were granted")
((held > 0)) || errors+=("no ERROR LEASE_HELD (9) came back: $res")
dst=$(fdb_dst "$mac")
[[ $dst == 10.244.0.11 ]] || errors+=("foo's FDB sends the victim's MAC to '$dst', not 10.244.0.11")
[[ -z $(fdb_dst 02:66:66:66:66:66) ]] || errors+=("foo has an FDB entry for the attacker's MAC")
[[ -n $loss ]] && ((loss <= 20)) || errors+=("the victim lost ${loss:-all}% of its pings during the attack")
counted=$(metric 'podgw_rejections_total{reason="lease_held"}')
info "podgw_rejections_total{reason=\"lease_held\"} = ${counted:-none}"
((${counted:-0} > 0)) || errors+=("/metrics does not count the refused takeovers")
grep -q 'refused the JOIN of default/crawler-1 from 10\.244\.0\.66' "$LAB_STATE/foo.gatewayd.log" ||
	errors+=("foo did not log the refused takeover")
t_report

# The legitimate case: the pod dies, a new one of the same name has a new IP.
lab_stop_pid "$victim_pid" KILL 10 || true
lab_add_pod crawler-1b 10.244.0.12
start=$EPOCHREALTIME
rc=0
lab_clientd_init crawler-1b foo - --pod-name crawler-1 --membership-key-file "$KEY" || rc=$?
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
figure restarted_pod_join "$took" "s"
((rc == 0)) || fail "clientd init of crawler-1 from its new pod IP 10.244.0.12 exited with $rc"
mac2=$(t_link_mac crawler-1b)
[[ $(fdb_dst "$mac2") == 10.244.0.12 ]] || errors+=("foo's FDB does not send the new pod's MAC to 10.244.0.12")
t_ping crawler-1b 203.0.113.10 2 || errors+=("the new crawler-1 gets no answer from 203.0.113.10")
t_report
pass "98 JOINs by name from another pod IP: none granted, victim lost ${loss}%; a restarted pod got in after ${took} s"
