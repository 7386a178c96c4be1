#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# CLIENT_DNS_THROUGH_TUNNEL on an IPv6-only pod network, whose resolv.conf
# names an IPv6 cluster DNS: gatewayd's forwarder answers on its IPv4
# overlay address only, so the guard does not redirect those queries and
# drops them with the rest of port 53 on eth0. clientd says so once at
# start, as README promises; before clientd the same server answers.
# Needs dnsmasq (scripts/deps.sh dnsmasq-base) and python3.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v dnsmasq >/dev/null 2>&1 || [[ -z $T_PYTHON ]]; then
	echo "SKIP: $T_NAME: needs dnsmasq and python3 (scripts/deps.sh dnsmasq-base)"
	exit 77
fi
DNSTOOL=$PODGW_SRC/tests/ns/dnstool.py
dns6=$(lab_ip6 10.244.0.53)

PODGW_LAB_FAMILY=ipv6 lab_create_base
lab_add_pod clusterdns 10.244.0.53
ready=$LAB_STATE/clusterdns.dnsmasq.ready
lab_start_daemon clusterdns dnsmasq "$ready" dnsmasq --keep-in-foreground \
	--log-facility=- --no-resolv --no-hosts --bind-interfaces --listen-address="$dns6" \
	--user=root --group=root --pid-file="$ready" --host-record=web.cluster.local,10.244.0.80 ||
	fail "dnsmasq did not start on $dns6"
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready on an IPv6-only pod network"
lab_add_pod crawler-1 10.244.0.11
printf '%s\n' "nameserver $dns6" "options timeout:1 attempts:2" \
	>"/etc/netns/$(lab_ns crawler-1)/resolv.conf"

t_resolve() {
	lab_exec crawler-1 timeout 20 "$T_PYTHON" "$DNSTOOL" resolve web.cluster.local 2>&1
}
out=$(t_resolve) || fail "before clientd, $dns6 does not answer: $out"

out=$(lab_clientd_init crawler-1 foo - --k8s-dns-ips "$dns6" --dns-through-tunnel true 2>&1) ||
	fail "clientd init exited with $?: $out"
said=$(grep -c "CLIENT_DNS_THROUGH_TUNNEL: /etc/resolv.conf names the IPv6 nameserver $dns6: " <<<"$out" || true)
[[ $said == 1 ]] || errors+=("clientd said $said times that $dns6 is not reached through the tunnel: $(tr '\n' ' ' <<<"$out")")

if out=$(t_resolve); then
	errors+=("a query to $dns6 was answered with the guard's redirect on: $out")
fi
drops=$(ip netns exec "$(lab_ns crawler-1)" nft list chain inet podgw_guard dns_out 2>&1)
grep -Eq 'counter packets [1-9]' <<<"$drops" ||
	errors+=("the guard's dns_out chain dropped nothing: $(tr '\n' ' ' <<<"$drops")")

t_report
pass "clientd said once that $dns6 is not reached through the tunnel; its queries were dropped on eth0"
