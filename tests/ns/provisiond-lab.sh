#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reference design's flow on one machine: gateways foo and bar, and
# provisiond (netns backend, --reply-when routed) making crawlers from
# CloudEvents sent with curl. Each reply carries the crawler's overlay
# address; each crawler's ping leaves through its own gateway (tcpdump on
# both); a redelivery creates nothing; an unknown gateway and a gateway that
# never answers are failed events that leave nothing behind; then
# PODGW_PROVISIOND_MANY (100) events at once, with the time per crawler.
# Every event presents the lab's token.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: curl is not installed"
	exit 77
}

MANY=${PODGW_PROVISIOND_MANY:-100}
# A port of our own on loopback (tests may run beside a lab on 8089).
LAB_PROVISIOND_LISTEN=127.0.0.1:$((20000 + $$ % 20000))
URL=http://$LAB_PROVISIOND_LISTEN/

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd foo did not become ready"
lab_add_gateway bar 10.244.0.3
lab_start_gatewayd bar || fail "gatewayd bar did not become ready"
# baz is known to provisiond but has no gateway: its crawler never routes.
# The MANY events at once come from one address (loopback).
lab_start_provisiond foo,bar,baz --reply-when routed --routed-timeout 8 \
	--max-connections-per-ip "$((MANY + 28))" --max-connections "$((MANY + 156))" ||
	fail "provisiond did not start"

# post ID GATEWAY OUT: a binary-mode event; the reply's body in OUT, its
# ce-type in OUT.type
post() {
	local code
	code=$(curl -sS -m 120 -o "$3" -D "$3.h" -w '%{http_code}' "$URL" -H "$(lab_provisiond_auth)" -H "Ce-Id: $1" \
		-H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' \
		-H 'Ce-Source: /podgw/tests/provisiond-lab' -H 'Content-Type: application/json' \
		-d "{\"gateway_name\":\"$2\"}")
	[[ $code == 200 ]] || fail "event $1: HTTP $code: $(cat "$3")"
	awk -F': ' 'tolower($1) == "ce-type" { sub(/\r$/, "", $2); print $2 }' "$3.h" >"$3.type"
}
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
crawler_ns_count() { lab_list_ns "$T_PREFIX" | grep -c -- '-crawler-' || true; }

# --- foo and bar
for gw in foo bar; do
	post "ev-$gw" "$gw" "$LAB_STATE/reply-$gw"
	[[ $(<"$LAB_STATE/reply-$gw.type") == io.podgateway.client.scheduling.done ]] ||
		fail "$gw: $(cat "$LAB_STATE/reply-$gw.type") $(cat "$LAB_STATE/reply-$gw")"
	info "reply for $gw: $(cat "$LAB_STATE/reply-$gw")"
	[[ $(field "$LAB_STATE/reply-$gw" gateway_name) == "$gw" ]] || fail "$gw: gateway_name"
	[[ $(field "$LAB_STATE/reply-$gw" overlay_address) =~ ^172\.16\.0\.[0-9]+$ ]] || fail "$gw: no overlay_address"
done
foo_pod=$(field "$LAB_STATE/reply-foo" pod_name)
bar_pod=$(field "$LAB_STATE/reply-bar" pod_name)
foo_addr=$(field "$LAB_STATE/reply-foo" overlay_address)
bar_addr=$(field "$LAB_STATE/reply-bar" overlay_address)
[[ $(t_overlay_addr "$foo_pod") == "$foo_addr" ]] || fail "$foo_pod: vxlan0 has $(t_overlay_addr "$foo_pod"), the reply said $foo_addr"

# --- routed at once (the reply waited for it), each through its own gateway
t_capture_start foo eth0 "$LAB_STATE/foo.pcap" 'udp port 8472 or icmp'
foo_cap=$T_CAP_PID
t_capture_start bar eth0 "$LAB_STATE/bar.pcap" 'udp port 8472 or icmp'
t_ping "$foo_pod" 203.0.113.10 || fail "$foo_pod: first ping after the reply got no answer"
t_ping "$bar_pod" 203.0.113.10 || fail "$bar_pod: first ping after the reply got no answer"
t_capture_stop
T_CAP_PID=$foo_cap t_capture_stop
foo_rec=$(t_records "$LAB_STATE/foo.pcap")
bar_rec=$(t_records "$LAB_STATE/bar.pcap")
# The overlays are separate (both crawlers may hold 172.16.0.20): the outer
# VXLAN source, the crawler's pod IP, tells them apart.
foo_ip=$(field "$LAB_STATE/reply-foo" pod_ip)
bar_ip=$(field "$LAB_STATE/reply-bar" pod_ip)
grep -Fq "$foo_addr > 203.0.113.10: ICMP echo request" <<<"$(grep -F " $foo_ip." <<<"$foo_rec" | grep -F '> 10.244.0.2.8472:')" ||
	fail "foo's capture lacks $foo_pod's ping inside VXLAN"
grep -q " 10.244.0.2 > 203.0.113.10: ICMP echo request" <<<"$foo_rec" || fail "foo did not masquerade"
grep -Fq "$bar_addr > 203.0.113.10: ICMP echo request" <<<"$(grep -F " $bar_ip." <<<"$bar_rec" | grep -F '> 10.244.0.3.8472:')" ||
	fail "bar's capture lacks $bar_pod's ping inside VXLAN"
grep -q " 10.244.0.3 > 203.0.113.10: ICMP echo request" <<<"$bar_rec" || fail "bar did not masquerade"
! grep -qF " $bar_ip." <<<"$foo_rec" || fail "bar's crawler ($bar_ip) went through foo"
! grep -qF " $foo_ip." <<<"$bar_rec" || fail "foo's crawler ($foo_ip) went through bar"
info "$foo_pod ($foo_ip, overlay $foo_addr) leaves through foo, $bar_pod ($bar_ip, overlay $bar_addr) through bar"

# --- redelivery: same answer, no new namespace
before=$(crawler_ns_count)
post ev-foo foo "$LAB_STATE/again"
cmp -s "$LAB_STATE/again" "$LAB_STATE/reply-foo" || fail "redelivery: another answer: $(cat "$LAB_STATE/again")"
[[ $(crawler_ns_count) == "$before" ]] || fail "redelivery made a namespace"
info "redelivery: same answer, still $before crawler namespaces"

# --- unknown gateway; a known one that never answers (rolled back)
post ev-nope nope "$LAB_STATE/nope"
[[ $(<"$LAB_STATE/nope.type") == io.podgateway.client.scheduling.failed ]] || fail "unknown gateway: $(cat "$LAB_STATE/nope")"
post ev-baz baz "$LAB_STATE/baz"
[[ $(<"$LAB_STATE/baz.type") == io.podgateway.client.scheduling.failed ]] || fail "baz: $(cat "$LAB_STATE/baz")"
[[ $(field "$LAB_STATE/baz" message) == *"not routed after 8s"* ]] || fail "baz: message $(cat "$LAB_STATE/baz")"
[[ $(crawler_ns_count) == "$before" ]] || fail "a failed crawler left its namespace: $(lab_list_ns "$T_PREFIX" | tr '\n' ' ')"
grep -q -- '-crawler-baz-' "$LAB_STATE/pods" && fail "a failed crawler left its pods line"
info "unknown gateway: $(field "$LAB_STATE/nope" message)"
info "gateway that never answers: $(field "$LAB_STATE/baz" message) (nothing left)"

# --- MANY events at once, half foo, half bar, each answered once routed
start=$EPOCHREALTIME
pids=()
for ((i = 0; i < MANY; i++)); do
	gw=foo
	((i % 2)) && gw=bar
	post "many-$i" "$gw" "$LAB_STATE/many-$i" &
	pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || fail "an event of the $MANY failed"; done
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
per=$(awk -v a="$start" -v b="$EPOCHREALTIME" -v n="$MANY" 'BEGIN { printf "%.0f", (b - a) * 1000 / n }')
pods=()
for ((i = 0; i < MANY; i++)); do
	[[ $(<"$LAB_STATE/many-$i.type") == io.podgateway.client.scheduling.done ]] ||
		fail "event many-$i: $(cat "$LAB_STATE/many-$i")"
	pods+=("$(field "$LAB_STATE/many-$i" pod_name)")
done
[[ $(printf '%s\n' "${pods[@]}" | sort -u | wc -l) == "$MANY" ]] || fail "$MANY events: not $MANY distinct crawlers"
info "$MANY events at once: $MANY crawlers routed in ${elapsed}s, ${per} ms per crawler"
t_ping_all 60 "${pods[@]}" || fail "no answer through the tunnel from: $T_MISSING"
info "all $MANY crawlers reach 203.0.113.10 through their gateways"
pass "$MANY crawlers in ${elapsed}s (${per} ms each)"
