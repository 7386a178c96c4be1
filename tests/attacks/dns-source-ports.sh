#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): the forwarder sent every upstream query from one source
# port for the life of the process, so an off-path forger had only the
# 16-bit ID to guess. Now each query leaves from a socket of its own on a
# random port: N lookups from a crawler, captured in the upstream's
# namespace, come from (nearly) N distinct source ports, and their IDs are
# spread too.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: needs python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/dnsflood.py
N=200

lab_create_base
lab_start_daemon internet dns "$LAB_STATE/dns.ready" \
	"$T_PYTHON" -u "$TOOL" serve "$LAB_INTERNET_IP" "$LAB_STATE/dns.ready" 120
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --dns-upstream-servers "$LAB_INTERNET_IP" \
	--dns-local-server 10.244.0.53 --dns-local-cidrs cluster.local ||
	fail "gatewayd did not become ready"
lab_add_pod crawler 10.244.0.11
lab_start_clientd_run crawler foo - || fail "clientd did not start"

pcap=$LAB_STATE/upstream.pcap
t_capture_start internet eth0 "$pcap" udp dst port 53
read -r ok asked < <(lab_exec crawler timeout 120 "$T_PYTHON" "$TOOL" lookups 172.16.0.1 "$N" 2)
t_capture_stop

# "IP 10.244.0.2.41234 > 203.0.113.10.53: 4711+ A? v0.ok.example. (31)"
mapfile -t ports < <(tcpdump -r "$pcap" -nn 2>/dev/null |
	awk '$2 == "IP" { n = split($3, a, "."); print a[n] }')
mapfile -t ids < <(tcpdump -r "$pcap" -nn 2>/dev/null |
	awk '$2 == "IP" { id = $6; sub(/[^0-9].*/, "", id); print id }')
distinct=$(printf '%s\n' "${ports[@]}" | sort -u | grep -c . || true)
distinct_ids=$(printf '%s\n' "${ids[@]}" | sort -u | grep -c . || true)
echo "FIGURE: dns_upstream_queries_seen = ${#ports[@]} queries"
echo "FIGURE: dns_upstream_distinct_source_ports = $distinct ports"
echo "FIGURE: dns_upstream_distinct_ids = $distinct_ids ids"
info "answered $ok/$asked"
((ok == asked)) || errors+=("only $ok of $asked lookups were answered")
((${#ports[@]} >= N)) || errors+=("the upstream saw ${#ports[@]} queries, not $N")
# Random 16-bit ports and IDs: a few collisions among 200 are expected.
((distinct * 10 >= ${#ports[@]} * 9)) ||
	errors+=("$distinct distinct source ports for ${#ports[@]} upstream queries")
((distinct_ids * 10 >= ${#ids[@]} * 9)) ||
	errors+=("$distinct_ids distinct IDs for ${#ids[@]} upstream queries")
t_report
pass "$N upstream queries came from $distinct distinct source ports"
