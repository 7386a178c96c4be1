#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# README's command, run as a user runs it: `scripts/containers.sh demo`
# (building provisiond, the images when they are not this tree's, the pods,
# the events, the ping and the capture), then `down`, which must leave no
# pod, container, network or state behind. flow.sh checks the flow's steps
# in detail; this checks that the script itself works. Needs root and podman
# (77 without); its own prefix and loopback port; `down` on every exit path.
set -euo pipefail

T_NAME=containers-demo
src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root"
	exit 77
fi
command -v podman >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: podman is not installed"
	exit 77
}
fail() {
	echo "FAIL: $T_NAME: $*" >&2
	exit 1
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The demo builds provisiond itself, as it does for a user.
unset CT_NO_BUILD
export PODGW_CT_PREFIX="pgd$$-" PODGW_CT_LISTEN=127.0.0.1:$port
out=$(mktemp)
down() {
	"$src/scripts/containers.sh" down >/dev/null 2>&1 || true
	rm -f "$out"
}
trap down EXIT INT TERM

# Crawler pods are named from the event, not the prefix: compare pod lists.
pods_before=$(podman pod ls --format '{{.Name}}' | sort)
rc=0
"$src/scripts/containers.sh" demo >"$out" 2>&1 || rc=$?
sed 's/^/    /' "$out"
((rc == 0)) || fail "containers.sh demo exited $rc"
for want in 'io.podgateway.client.scheduling.done' 'io.podgateway.client.scheduling.failed' \
	' 0% packet loss' 'instance 42'; do
	grep -qF -- "$want" "$out" || fail "the demo did not print '$want'"
done

"$src/scripts/containers.sh" down >/dev/null 2>&1 || fail "containers.sh down failed"
left=$(podman ps -a --format '{{.Names}}' | grep -F "$PODGW_CT_PREFIX" || true)
left+=$(comm -13 <(echo "$pods_before") <(podman pod ls --format '{{.Name}}' | sort))
left+=$(podman network ls --format '{{.Name}}' | grep -F "$PODGW_CT_PREFIX" || true)
[[ -z $left ]] || fail "down left: $left"
[[ ! -e /run/podgw-ct/$PODGW_CT_PREFIX ]] || fail "down left /run/podgw-ct/$PODGW_CT_PREFIX"
echo "PASS: $T_NAME: demo and down as README shows them"
