#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reference flow in real containers (scripts/containers-lib.sh, the
# steps of `containers.sh demo`): provisiond in its container receives
# io.podgateway.client.pending (curl, then the CloudEvents JavaScript SDK),
# makes the crawler pod through podman's API with the podman backend and
# answers scheduling.done only once the crawler is routed, naming the
# gateway replica; an unknown gateway, and a known one without a gateway
# pod, get scheduling.failed and nothing is made. Gateway foo runs two
# replicas (two pods of its one rendered Deployment); the crawler's hosts
# file resolves foo to both; its ping is seen on the replica it chose,
# inside VXLAN (VNI 42) from the crawler's pod IP, then leaving from that
# replica's pod IP. Then that replica is killed: the crawler moves to the
# other one (new pings answered, leaving from the sibling's pod IP), none
# of its packets reaches the internet outside the tunnel meanwhile, and the
# outage is printed (a figure, not asserted). Needs root and podman (77
# without); everything it makes carries a unique prefix and is removed on
# every exit path (ct_test_cleanup: both replicas included).
set -euo pipefail

T_NAME=containers-flow
PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export PODGW_SRC
if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root"
	exit 77
fi
for t_tool in podman nsenter tcpdump curl python3 kubectl; do
	command -v "$t_tool" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t_tool is not installed"
		exit 77
	}
done

# shellcheck source-path=SCRIPTDIR source=../../scripts/containers-lib.sh
. "$PODGW_SRC/scripts/containers-lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/flow-lib.sh
. "$PODGW_SRC/scripts/flow-lib.sh"
# shellcheck source-path=SCRIPTDIR source=../provisiond/sdk.sh
. "$PODGW_SRC/tests/provisiond/sdk.sh"
# shellcheck source-path=SCRIPTDIR source=../picture.sh
. "$PODGW_SRC/tests/picture.sh"

errors=()
fail() {
	echo "FAIL: $T_NAME: $*" >&2
	exit 1
}
info() {
	echo "$T_NAME: $*"
}

# A loopback port nobody uses now.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PODGW_CT_LISTEN=127.0.0.1:$port ct_init "pgc$$-"

t_cleanup() {
	ct_test_cleanup "$?" "${CT_PREFIX}provisiond"
	exit "$?"
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ct_images || fail "no images"
ct_snapshot_images || fail "podman tag: the images under this run's names"
ct_image_current || fail "$CT_IMAGE's provisiond is not $CT_PROVISIOND (another checkout rebuilt the image?)"
info "images: $CT_IMAGE, $CT_CRAWLER_IMAGE"

info "up: network, node, internet, gateway foo ($CT_REPLICAS replicas), provisiond (prefix $CT_PREFIX)"
# bar: known to provisiond, but no gateway pod runs.
CT_MORE_GATEWAYS=bar ct_up foo || fail "the containers did not come up"
ct_flow_setup
mapfile -t replicas < <(ct_replicas foo)
((${#replicas[@]} == 2)) || fail "gateway foo: ${#replicas[@]} replicas, expected 2"
declare -A replica_ip=()
for r in "${replicas[@]}"; do
	replica_ip[$r]=$(ct_replica_ip "$r")
	# REPLICA_NAME=$(POD_NAME) from the Deployment: the pod's own name.
	st=$(podman exec "$(ct_pod_container "$r" gatewayd)" /usr/local/bin/gatewayd status 2>&1 || true)
	info "replica $r at ${replica_ip[$r]}: $(grep -m 1 '^replica:' <<<"$st" || echo 'no replica line')"
	grep -qx "replica: $r" <<<"$st" || errors+=("gatewayd status of $r does not say 'replica: $r'")
done
[[ ${replica_ip[${replicas[0]}]} != "${replica_ip[${replicas[1]}]}" ]] || fail "both replicas at one address"

pods_on_net() {
	podman pod ps -q --filter "network=$CT_NET" | wc -l
}
before=$(pods_on_net)

# 1. curl, binary mode: done only once routed.
flow_event foo "flow-$$-1" /podgw/tests/containers || fail "no answer to the event for foo"
pod=$(flow_field "flow-$$-1" pod_name)
[[ $FLOW_TYPE == io.podgateway.client.scheduling.done ]] || fail "foo: reply $FLOW_TYPE"
[[ -n $pod ]] || errors+=("scheduling.done without pod_name")
[[ -n $(flow_field "flow-$$-1" namespace) ]] || errors+=("scheduling.done without namespace")
# Routed at the moment of the answer: the crawler's outside route is the tunnel.
route=$(ct_pod_netns_exec "$pod" ip -4 route get "$CT_INTERNET_IP" 2>&1 | head -n 1 || true)
info "crawler $pod: $route"
[[ $route == *"dev vxlan0"* ]] || errors+=("scheduling.done before the crawler was routed: $route")
overlay=$(ct_pod_netns_exec "$pod" ip -4 -o addr show dev vxlan0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
[[ -n $overlay ]] || fail "crawler $pod has no overlay address"
# The gateway's name resolves to both replicas, as the headless Service's
# would: the hosts file of the crawler's clientd (podman writes one per
# container, from the pod's hostAliases).
sidecar=$(ct_pod_container "$pod" podgw-client) || fail "no clientd in $pod"
hosts=$(podman exec "$sidecar" cat /etc/hosts 2>/dev/null || podman exec "$(ct_pod_container "$pod" crawler)" cat /etc/hosts)
for r in "${replicas[@]}"; do
	grep -Eq "^${replica_ip[$r]//./\\.}[[:space:]]+gateway-foo\." <<<"$hosts" ||
		errors+=("the crawler's hosts file has no line for replica $r (${replica_ip[$r]})")
done
# The replica it went through: where its tunnel points, and what the event says.
from=$(ct_crawler_replica "$pod" foo) || fail "crawler $pod: its tunnel points at no replica of foo"
to=${replicas[0]}
[[ $to == "$from" ]] && to=${replicas[1]}
info "crawler $pod goes through replica $from (${replica_ip[$from]}); its sibling: $to"
[[ $(flow_field "flow-$$-1" replica) == "$from" ]] ||
	errors+=("scheduling.done names replica '$(flow_field "flow-$$-1" replica)', the tunnel goes to $from")
[[ $(flow_field "flow-$$-1" replica_pod_ip) == "${replica_ip[$from]}" ]] ||
	errors+=("scheduling.done has replica_pod_ip '$(flow_field "flow-$$-1" replica_pod_ip)', not ${replica_ip[$from]}")

# 2. An unknown gateway: failed, nothing made.
flow_event nope "flow-$$-2" /podgw/tests/containers || fail "no answer to the event for nope"
[[ $FLOW_TYPE == io.podgateway.client.scheduling.failed ]] || errors+=("nope: reply $FLOW_TYPE")
[[ $(flow_field "flow-$$-2" message) == "unknown gateway 'nope'" ]] ||
	errors+=("nope: message '$(flow_field "flow-$$-2" message)'")
# A known gateway whose pod is not there: failed, and the crawler is not left behind.
flow_event bar "flow-$$-3" /podgw/tests/containers || fail "no answer to the event for bar"
[[ $FLOW_TYPE == io.podgateway.client.scheduling.failed ]] || errors+=("bar: reply $FLOW_TYPE")
[[ $(flow_field "flow-$$-3" message) == *"no pod ${CT_PREFIX}gateway-bar"* ]] ||
	errors+=("bar: message '$(flow_field "flow-$$-3" message)'")
[[ $(pods_on_net) == $((before + 1)) ]] || errors+=("expected 1 new pod, found $(($(pods_on_net) - before))")

# 3. The ping through foo, seen on the eth0 of the crawler's replica.
# ping_through REPLICA: 2 pings, tcpdump on REPLICA, the picture checked.
ping_through() {
	local replica=$1 ping_rc=0 records crawler_ip
	FLOW_REPLICA=$replica flow_ping_capture foo "$pod" "$CT_INTERNET_IP" 2 || ping_rc=$?
	info "ping from $pod:"
	sed 's/^/    /' "$FLOW_DIR/ping-$pod.txt"
	info "tcpdump on gateway foo's replica $replica, eth0:"
	sed 's/^/    /' "$FLOW_DIR/capture-foo.txt"
	records=$(<"$FLOW_DIR/capture-foo.txt")
	crawler_ip=$(ct_ip_of_pid "$(ct_infra_pid "$pod")")
	((ping_rc == 0)) && grep -Eq ' 2 (packets )?received' "$FLOW_DIR/ping-$pod.txt" ||
		errors+=("the ping from $pod through $replica got no answer (exit $ping_rc)")
	t_picture "$records" "$crawler_ip" "${replica_ip[$replica]}" "$overlay" 203.0.113.10
}
ping_through "$from"

# 4. The CloudEvents JavaScript SDK: structured mode, a redelivery, binary
# mode for an unknown gateway (tests/provisiond/js-client.js).
cache=${PODGW_NPM_CACHE:-$CT_BUILD/tests/provisiond/npm}
sdk_rc=0
pv_sdk_install "$cache" "$CT_STATE/npm.log" || sdk_rc=$?
if ((sdk_rc == 0)); then
	PROVISIOND_TOKEN=$(<"$FLOW_TOKEN_FILE") NODE_PATH=$cache/node_modules timeout 150 node "$PODGW_SRC/tests/provisiond/js-client.js" "$FLOW_URL" ||
		errors+=("the CloudEvents SDK client failed")
	[[ $(pods_on_net) == $((before + 2)) ]] ||
		errors+=("expected 2 new pods after the SDK's events, found $(($(pods_on_net) - before))")
else
	info "the CloudEvents SDK part is skipped (above)"
fi

# 5. Failover: replica $from stops answering at once, as on a lost node:
# its eth0 goes down, then its pod is removed (removing it alone stops
# gatewayd first, while its namespace's kernel still forwards for a
# moment: a gentler death). The crawler must move to $to. Pings 0.1 s apart (at most 300) measure
# the outage; tcpdump on the internet's eth0 watches for the crawler's own
# pod IP, which only a leak outside the tunnel would show there.
crawler_pid=$(ct_infra_pid "$pod")
crawler_ip=$(ct_ip_of_pid "$crawler_pid")
inet_pid=$(ct_pid "${CT_PREFIX}internet")
pings=$FLOW_DIR/failover-ping.txt
timeout -s INT 60 nsenter -t "$inet_pid" -n tcpdump -i eth0 -n -l "src host $crawler_ip" \
	>"$FLOW_DIR/leaks.txt" 2>"$FLOW_DIR/leaks.err" &
leak_pid=$!
ct_wait 10 grep -q 'listening on' "$FLOW_DIR/leaks.err" || info "tcpdump on the internet has not said it listens"
timeout -s INT 60 nsenter -t "$crawler_pid" -n ping -n -D -O -i 0.1 -c 300 -W 1 "$CT_INTERNET_IP" >"$pings" 2>&1 &
ping_pid=$!
ct_wait 10 grep -q 'bytes from' "$pings" || errors+=("no ping answered before the failover")
removed_at=$(date +%s.%N)
ct_pod_netns_exec "$from" ip link set eth0 down || fail "$from: eth0 down"
podman pod rm -f -t 0 "$from" >/dev/null || fail "podman pod rm -f $from"
info "replica $from: network cut, pod removed"
# answered_after T: a reply stamped after T.
answered_after() {
	awk -v t="$1" '/bytes from/ { gsub(/[][]/, "", $1); if ($1 + 0 > t + 0) { found = 1; exit } } END { exit !found }' "$pings"
}
if ! ct_wait 30 answered_after "$removed_at"; then
	errors+=("no ping answered within 30 s of removing replica $from")
	info "clientd in $pod, its last words:"
	podman logs "$sidecar" 2>&1 | tail -n 20 | sed 's/^/    /'
fi
sleep 1
kill -s INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
kill -s INT "$leak_pid" 2>/dev/null || true
wait "$leak_pid" 2>/dev/null || true
# The outage: the longest time between two answers in a row (the pings
# are 0.1 s apart), which spans the removal.
outage=$(awk '/bytes from/ { gsub(/[][]/, "", $1); ts = $1 + 0
		if (last && ts - last > gap) gap = ts - last; last = ts }
	END { if (gap) printf "%.2f", gap; else print "unknown" }' "$pings")
lost=$(grep -c 'no answer yet' "$pings" || true)
info "failover $from -> $to: outage ${outage} s (the longest gap between answers, pings every 0.1 s), $lost pings unanswered"
tail -n 2 "$pings" | sed 's/^/    /'
leaks=$(grep -c 'ICMP' "$FLOW_DIR/leaks.txt" || true)
info "packets from the crawler's pod IP $crawler_ip on the internet's eth0: $leaks"
((leaks == 0)) || errors+=("$leaks packets of the crawler reached the internet outside the tunnel")
now=$(ct_crawler_replica "$pod" foo || echo none)
[[ $now == "$to" ]] || errors+=("after the failover the crawler's tunnel points at $now, not $to")
check=$(podman exec "$sidecar" /usr/local/bin/clientd check --verbose 2>&1 || true)
info "clientd check --verbose after the failover: $(grep -m 1 '^replica:' <<<"$check" || echo 'no replica line')"
grep -q "^replica: $to (${replica_ip[$to]})" <<<"$check" ||
	errors+=("clientd check --verbose does not name replica $to (${replica_ip[$to]})")
# New connections leave through the sibling, masqueraded to its pod IP.
ping_through "$to"

if ((${#errors[@]} > 0)); then
	printf 'FAIL: %s: %s\n' "$T_NAME" "${errors[@]}" >&2
	exit 1
fi
echo "PASS: $T_NAME: scheduling.done once routed (replica $from), scheduling.failed for nope, the ping left through $from; $from killed: the crawler moved to $to (outage ${outage} s, 0 leaked)"
