#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The reference flow in real containers (scripts/containers-lib.sh, the
# steps of `containers.sh demo`): provisiond in its container receives
# io.podgateway.client.pending (curl, then the CloudEvents JavaScript SDK),
# makes the crawler pod through podman's API with the podman backend and
# answers scheduling.done only once the crawler is routed; an unknown
# gateway, and a known one without a gateway pod, get scheduling.failed and
# nothing is made; the crawler's ping
# is seen on gateway foo's eth0 inside VXLAN (VNI 42) from the crawler's
# pod IP, then leaving from the gateway's pod IP. Needs root and podman
# (77 without); everything it makes carries a unique prefix and is removed
# on every exit path.
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

snapshots=()
t_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if ((rc != 0 && rc != 77)); then
		echo "---- provisiond ----" >&2
		podman logs "${CT_PREFIX}provisiond" 2>&1 | tail -n 30 >&2
	fi
	ct_down
	for img in "${snapshots[@]}"; do
		podman untag "$img" "$img" >/dev/null 2>&1
	done
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The images under names of this run: a rebuild of the shared tags while
# the test runs (another checkout's images.sh) cannot swap them underneath.
ct_images || fail "no images"
for img in "$CT_IMAGE" "$CT_CRAWLER_IMAGE"; do
	snap=localhost/${CT_PREFIX%-}/${img##*/}
	podman tag "$img" "$snap" || fail "podman tag $img $snap"
	snapshots+=("$snap")
done
CT_IMAGE=${snapshots[0]}
CT_CRAWLER_IMAGE=${snapshots[1]}
ct_image_current || fail "$CT_IMAGE's provisiond is not $CT_PROVISIOND (another checkout rebuilt the image?)"
info "images: $CT_IMAGE, $CT_CRAWLER_IMAGE"

info "up: network, node, internet, gateway foo, provisiond (prefix $CT_PREFIX)"
# bar: known to provisiond, but no gateway pod runs.
CT_MORE_GATEWAYS=bar ct_up foo || fail "the containers did not come up"
ct_flow_setup

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

# 3. The ping through foo, seen on its eth0.
ping_rc=0
flow_ping_capture foo "$pod" "$CT_INTERNET_IP" 2 || ping_rc=$?
info "ping from $pod:"
sed 's/^/    /' "$FLOW_DIR/ping-$pod.txt"
info "tcpdump on gateway foo's eth0:"
sed 's/^/    /' "$FLOW_DIR/capture-foo.txt"
records=$(<"$FLOW_DIR/capture-foo.txt")
crawler_ip=$(ct_ip_of_pid "$(ct_infra_pid "$pod")")
gw_ip=$(ct_ip_of_pid "$(ct_infra_pid "${CT_PREFIX}gateway-foo")")
((ping_rc == 0)) && grep -Eq ' 2 (packets )?received' "$FLOW_DIR/ping-$pod.txt" ||
	errors+=("the ping from $pod got no answer (exit $ping_rc)")
t_picture "$records" "$crawler_ip" "$gw_ip" "$overlay" 203.0.113.10

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

if ((${#errors[@]} > 0)); then
	printf 'FAIL: %s: %s\n' "$T_NAME" "${errors[@]}" >&2
	exit 1
fi
echo "PASS: $T_NAME: scheduling.done once routed, scheduling.failed for nope, the ping left through foo"
