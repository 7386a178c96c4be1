#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# DNS through the tunnel (CLIENT_DNS_THROUGH_TUNNEL): a crawler's resolv.conf
# names the cluster DNS, yet its queries go to the gateway's forwarder, which
# asks the cluster DNS (a dnsmasq on the pod network) for svc.cluster.local
# names and the upstream (a dnsmasq in the internet namespace) for the rest;
# TCP goes to the upstream through the gateway's DNAT. Not one packet to port
# 53 leaves the crawler's eth0. The crawler finds its gateway by a name only
# the cluster DNS knows (clientd's own lookup, which bypasses the tunnel).
# The sidecar puts the redirect back when the guard table is deleted. With
# the setting off, the crawler asks the cluster DNS over eth0, as before.
# Needs dnsmasq (scripts/deps.sh dnsmasq-base) and python3.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v dnsmasq >/dev/null 2>&1 || [[ -z $T_PYTHON ]]; then
	echo "SKIP: $T_NAME: needs dnsmasq and python3 (scripts/deps.sh dnsmasq-base)"
	exit 77
fi
DNSTOOL=$PODGW_SRC/tests/ns/dnstool.py
CLUSTER_DNS=10.244.0.53
UPSTREAM_DNS=$LAB_INTERNET_IP
GATEWAY_NAME=pod-gateway-foo.gateway-system

# t_dnsmasq POD IP ARGS...: dnsmasq answering only from ARGS, in the
# foreground, logging queries; ready once it wrote its pid file.
t_dnsmasq() {
	local pod=$1 ip=$2
	shift 2
	local ready=$LAB_STATE/$pod.dnsmasq.ready
	lab_start_daemon "$pod" dnsmasq "$ready" dnsmasq --keep-in-foreground \
		--log-facility=- --log-queries --no-resolv --no-hosts --no-dhcp-interface=eth0 \
		--bind-interfaces --listen-address="$ip" --user=root --group=root \
		--pid-file="$ready" "$@"
}

# t_resolv_conf POD: the pod's resolv.conf, as Kubernetes writes it.
t_resolv_conf() {
	printf '%s\n' "search default.svc.cluster.local svc.cluster.local cluster.local" \
		"nameserver $CLUSTER_DNS" "options ndots:5" >"/etc/netns/$(lab_ns "$1")/resolv.conf"
}

# t_lookups POD: the C library's lookups of one cluster and one outside name.
t_lookups() {
	lab_exec "$1" timeout 20 "$T_PYTHON" "$DNSTOOL" resolve \
		web.default.svc.cluster.local crawl.example
}

lab_create_base
t_dnsmasq internet "$UPSTREAM_DNS" --address=/crawl.example/203.0.113.80
lab_add_pod clusterdns "$CLUSTER_DNS"
t_dnsmasq clusterdns "$CLUSTER_DNS" --local=/cluster.local/ \
	--host-record="$GATEWAY_NAME.svc.cluster.local,10.244.0.2" \
	--host-record=web.default.svc.cluster.local,10.244.0.80
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --log-level debug --dns-upstream-servers "$UPSTREAM_DNS" \
	--dns-local-server "$CLUSTER_DNS" --dns-local-cidrs cluster.local ||
	fail "gatewayd did not become ready"

lab_add_pod crawler-on 10.244.0.11
t_resolv_conf crawler-on
lab_start_clientd_run crawler-on "$GATEWAY_NAME" - --k8s-dns-ips "$CLUSTER_DNS" \
	--dns-through-tunnel true || fail "clientd run with --dns-through-tunnel did not start"

pcap=$LAB_STATE/crawler-on-eth0.pcap
gw_pcap=$LAB_STATE/foo-eth0.pcap
t_capture_start crawler-on eth0 "$pcap" 'port 53'
pid_crawler=$T_CAP_PID
t_capture_start foo eth0 "$gw_pcap" 'port 53'
pid_gw=$T_CAP_PID

out=$(t_lookups crawler-on 2>&1) || errors+=("lookups through the tunnel failed: $(tr '\n' ' ' <<<"$out")")
info "through the tunnel: $(tr '\n' ' ' <<<"$out")"
grep -q '^web.default.svc.cluster.local 10.244.0.80$' <<<"$out" ||
	errors+=("the cluster name did not resolve to 10.244.0.80")
grep -q '^crawl.example 203.0.113.80$' <<<"$out" ||
	errors+=("the outside name did not resolve to 203.0.113.80")
tcp=$(lab_exec crawler-on timeout 10 "$T_PYTHON" "$DNSTOOL" tcp "$CLUSTER_DNS" crawl.example 2>&1) || true
[[ $tcp == 203.0.113.80 ]] || errors+=("DNS over TCP did not reach the upstream: $tcp")

T_CAP_PID=$pid_gw t_capture_stop
T_CAP_PID=$pid_crawler t_capture_stop
leaked=$(t_records "$pcap")
if [[ -n $leaked ]]; then
	errors+=("port 53 packets on the crawler's eth0: $(head -n 3 <<<"$leaked" | tr '\n' ' ')")
fi
gw_records=$(t_records "$gw_pcap")
grep -Eq ' 10\.244\.0\.2\.[0-9]+ > 10\.244\.0\.53\.53: .*web\.default\.svc\.cluster\.local' <<<"$gw_records" ||
	errors+=("the gateway did not ask the cluster DNS for the cluster name")
grep -Eq ' 10\.244\.0\.2\.[0-9]+ > 203\.0\.113\.10\.53: .*crawl\.example' <<<"$gw_records" ||
	errors+=("the gateway did not ask the upstream for the outside name")
if grep -Eq ' 10\.244\.0\.2\.[0-9]+ > 10\.244\.0\.53\.53: .* A\? crawl\.example\. ' <<<"$gw_records"; then
	errors+=("the outside name went to the cluster DNS")
fi
info "port 53 on the crawler's eth0: $(grep -c . <<<"$leaked" || true) packets; on the gateway's: $(grep -c . <<<"$gw_records" || true)"

# The sidecar repairs the guard table, redirect included.
ns_on=$(lab_ns crawler-on)
ip netns exec "$ns_on" nft delete table inet podgw_guard
lab_wait_for 5 ip netns exec "$ns_on" nft list chain inet podgw_guard dns >/dev/null 2>&1 ||
	errors+=("the sidecar did not put the guard table's dns chain back")
out=$(t_lookups crawler-on 2>&1) || errors+=("lookups after the repair failed: $(tr '\n' ' ' <<<"$out")")

# The setting off: the old behaviour, DNS to the cluster DNS over eth0.
lab_add_pod crawler-off 10.244.0.12
t_resolv_conf crawler-off
lab_clientd_init crawler-off foo - --k8s-dns-ips "$CLUSTER_DNS" || fail "clientd init exited with $?"
if ip netns exec "$(lab_ns crawler-off)" nft list chain inet podgw_guard dns >/dev/null 2>&1; then
	errors+=("a dns chain without the setting")
fi
pcap_off=$LAB_STATE/crawler-off-eth0.pcap
t_capture_start crawler-off eth0 "$pcap_off" 'port 53'
out=$(lab_exec crawler-off timeout 20 "$T_PYTHON" "$DNSTOOL" resolve web.default.svc.cluster.local 2>&1) ||
	errors+=("setting off: the cluster name did not resolve: $out")
t_capture_stop
grep -Eq ' 10\.244\.0\.12\.[0-9]+ > 10\.244\.0\.53\.53: ' <<<"$(t_records "$pcap_off")" ||
	errors+=("setting off: no query to the cluster DNS on the crawler's eth0")

t_report
pass "both names resolved through the tunnel, UDP and TCP; no port 53 on the crawler's eth0; repaired; off: as before"
