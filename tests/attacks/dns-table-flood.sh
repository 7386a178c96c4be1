#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): one crawler sends 1,100 DNS queries that the upstream
# never answers, and again every 0.2 s, to fill the forwarder's shared table of
# outstanding queries (1,024, 4 s each), so that another crawler's lookups
# fail. Now a client may have DNS_CLIENT_MAX_PENDING (64) outstanding and the
# rest of its queries are dropped and counted: the other crawler's lookups,
# asked meanwhile, keep being answered. Then again with the quota as large
# as the table (1024): the table fills, and the flooding crawler gives up
# its oldest queries to the other one (fairness, counted as evicted).
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: needs python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/dnsflood.py
FORWARDER=172.16.0.1
FLOOD=1100 ROUNDS=30 GAP=0.2 LOOKUPS=10

lab_create_base
lab_start_daemon internet dns "$LAB_STATE/dns.ready" \
	"$T_PYTHON" -u "$TOOL" serve "$LAB_INTERNET_IP" "$LAB_STATE/dns.ready" 120
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --dns-upstream-servers "$LAB_INTERNET_IP" \
	--dns-local-server 10.244.0.53 --dns-local-cidrs cluster.local ||
	fail "gatewayd did not become ready"
lab_add_pod attacker 10.244.0.11
lab_add_pod victim 10.244.0.12
lab_start_clientd_run attacker foo - || fail "the attacker's clientd did not start"
lab_start_clientd_run victim foo - || fail "the victim's clientd did not start"

# The victim is answered before the attack.
read -r ok asked < <(lab_exec victim "$T_PYTHON" "$TOOL" lookups "$FORWARDER" 3 2)
((ok == asked)) || fail "the victim's lookups fail before any attack ($ok/$asked)"

lab_exec attacker timeout 60 "$T_PYTHON" "$TOOL" flood "$FORWARDER" "$FLOOD" "$ROUNDS" "$GAP" &
flood_pid=$!
sleep 1 # the first rounds are in the table
read -r ok asked < <(lab_exec victim timeout 120 "$T_PYTHON" "$TOOL" lookups "$FORWARDER" "$LOOKUPS" 0.5)
wait "$flood_pid" || true

metrics=$(ip netns exec "$(lab_ns node)" curl -sS -m 5 http://10.244.0.2:9108/metrics || true)
quota=$(awk '$1 == "podgw_dns_dropped_total{reason=\"client_quota\"}" { print $2 }' <<<"$metrics")
echo "FIGURE: dns_flood_victim_answered = $ok/$asked lookups"
echo "FIGURE: dns_flood_victim_success_ratio = $(awk -v a="$ok" -v b="$asked" 'BEGIN { printf "%.2f", a / b }') ratio"
echo "FIGURE: dns_flood_attacker_dropped_quota = ${quota:-none} queries"
((ok * 10 >= asked * 9)) ||
	errors+=("the victim's lookups failed under the attacker's flood: $ok/$asked answered")
[[ -n $quota ]] && ((quota > 0)) ||
	errors+=("/metrics counts no query dropped for the client quota (podgw_dns_dropped_total{reason=\"client_quota\"})")
t_report

# --- no quota to speak of: the table itself is shared fairly
lab_stop_pid "$(<"$LAB_STATE/foo.gatewayd.pid")" TERM 10 || fail "gatewayd did not stop"
lab_start_gatewayd foo --dns-upstream-servers "$LAB_INTERNET_IP" \
	--dns-local-server 10.244.0.53 --dns-local-cidrs cluster.local --dns-client-max-pending 1024 ||
	fail "gatewayd did not restart"
for ((i = 0; i < 30; i++)); do
	read -r ok asked < <(lab_exec victim "$T_PYTHON" "$TOOL" lookups "$FORWARDER" 1 1)
	((ok == 1)) && break
done
((ok == 1)) || fail "the victim's lookups fail after gatewayd's restart"
lab_exec attacker timeout 60 "$T_PYTHON" "$TOOL" flood "$FORWARDER" "$FLOOD" "$ROUNDS" "$GAP" &
flood_pid=$!
sleep 1
read -r ok asked < <(lab_exec victim timeout 120 "$T_PYTHON" "$TOOL" lookups "$FORWARDER" "$LOOKUPS" 0.5)
wait "$flood_pid" || true
metrics=$(ip netns exec "$(lab_ns node)" curl -sS -m 5 http://10.244.0.2:9108/metrics || true)
evicted=$(awk '$1 == "podgw_dns_dropped_total{reason=\"evicted\"}" { print $2 }' <<<"$metrics")
echo "FIGURE: dns_flood_no_quota_victim_answered = $ok/$asked lookups"
echo "FIGURE: dns_flood_no_quota_evicted = ${evicted:-none} queries"
((ok * 10 >= asked * 9)) ||
	errors+=("without a quota, the victim's lookups failed under the flood: $ok/$asked answered")
[[ -n $evicted ]] && ((evicted > 0)) ||
	errors+=("/metrics counts no query given up for a client with fewer (podgw_dns_dropped_total{reason=\"evicted\"})")
t_report
pass "one crawler's flood of unanswered DNS queries left another's lookups answered, with and without the quota"
