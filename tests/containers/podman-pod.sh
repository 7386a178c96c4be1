#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The podman runner (`provisiond podman-pod`, the podman backend's
# translation) on a pod rendered by kubectl kustomize from podman-pod/: an
# init container fills an emptyDir, a native sidecar keeps running and its
# startup probe holds the main container back, the main container checks
# its user, capabilities, no_new_privs, read-only root, Secret files (content
# and mode), env and fieldRefs, sysctl and that it shares the sidecar's
# network namespace. Then: a second up reports the pod as existing, refused
# and failing pods leave nothing behind, and down removes everything.
#
# Its own podman service (on a socket in a temporary folder), an --internal
# network and an image of Debian's static busybox, all named with a unique
# prefix and removed on every exit path. Needs root, podman, runc, kubectl,
# python3-yaml and busybox-static; skips (77) without them.
set -euo pipefail

src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PODGW_BUILD:-$src/build}
prov=$build/provisiond/provisiond

skip() {
	echo "SKIP: podman-pod: $*"
	exit 77
}
fail() {
	echo "FAIL: podman-pod: $*" >&2
	exit 1
}
((EUID == 0)) || skip "needs root"
for tool in podman runc kubectl python3 curl; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (scripts/deps.sh)"
done
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (scripts/deps.sh)"
# A static busybox is a whole image by itself (busybox-static).
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
	skip "no static /bin/busybox (busybox-static)"
fi
[[ -x $prov ]] || fail "build provisiond first ($prov)"

prefix=pgpm$$
tmp=$(mktemp -d "/tmp/$prefix.XXXXXX")
sock=$tmp/podman.sock
net=$prefix-net
image=localhost/$prefix-bb:1
client_image=localhost/$prefix-client:1
service_pid=
provisiond_pid=

cleanup() {
	local ids
	if [[ -n $provisiond_pid ]]; then
		kill "$provisiond_pid" 2>/dev/null || true
		wait "$provisiond_pid" 2>/dev/null || true
	fi
	mapfile -t ids < <(podman pod ls -q --filter "name=^$prefix" --filter "name=^crawler-$prefix" 2>/dev/null || true)
	((${#ids[@]} == 0)) || podman pod rm -f "${ids[@]}" >/dev/null 2>&1 || true
	mapfile -t ids < <(podman ps -aq --filter "name=^$prefix" --filter "name=^crawler-$prefix" 2>/dev/null || true)
	((${#ids[@]} == 0)) || podman rm -f "${ids[@]}" >/dev/null 2>&1 || true
	podman network rm -f "$net" >/dev/null 2>&1 || true
	podman rmi -f "$image" "$client_image" >/dev/null 2>&1 || true
	if [[ -n $service_pid ]]; then
		kill "$service_pid" 2>/dev/null || true
		wait "$service_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# runc cannot give a container limits above its own hard ones; the infra
# container takes podman's defaults (1048576), so they are set here.
cat >"$tmp/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
CONF
CONTAINERS_CONF=$tmp/containers.conf podman system service --time=0 "unix://$sock" \
	>"$tmp/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 100); do
	curl -sf --unix-socket "$sock" http://d/v4.0.0/libpod/_ping >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf --unix-socket "$sock" http://d/v4.0.0/libpod/_ping >/dev/null ||
	fail "podman service did not answer: $(cat "$tmp/service.log")"

podman network create --internal "$net" >/dev/null
mkdir -p "$tmp/rootfs/bin"
cp /bin/busybox "$tmp/rootfs/bin/"
for applet in $(/bin/busybox --list); do
	[[ -e $tmp/rootfs/bin/$applet ]] || ln -s busybox "$tmp/rootfs/bin/$applet"
done
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
podman import --change 'CMD ["/bin/sh"]' "$tmp/rootfs.tar" "$image" >/dev/null

# Rendered as the manifests are, under the test's prefix and image.
mkdir -p "$tmp/k"
cp -r "$src/tests/containers/podman-pod" "$tmp/k/base"
cat >"$tmp/k/kustomization.yaml" <<K
resources: [base]
namePrefix: $prefix-
images:
  - name: IMAGE
    newName: localhost/$prefix-bb
    newTag: "1"
K
kubectl kustomize "$tmp/k" >"$tmp/rendered.yaml"
python3 -c 'import json, sys, yaml
items = [d for d in yaml.safe_load_all(sys.stdin) if d]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)' \
	<"$tmp/rendered.yaml" >"$tmp/rendered.json"

pod=$prefix-podtest
run() { # up|down [options...]
	"$prov" podman-pod "$@" --socket "$sock" --state-dir "$tmp/state"
}
up() {
	run up --network "$net" --nofile 4096 --nproc 4096 "$@"
}

plan=$("$prov" podman-pod plan --objects "$tmp/rendered.json" --network "$net" 2>/dev/null) ||
	fail "plan failed"
[[ $plan == *'"name":"'"$pod"'-main"'* || $plan == *'"name": "'"$pod"'-main"'* ]] ||
	fail "plan does not show the main container"
[[ -z $(podman pod ls -q --filter "name=^$prefix") ]] || fail "plan made a pod"
out=$(up --objects "$tmp/rendered.json") || fail "up failed"
echo "up: $out"
read -r name ip how <<<"$out"
[[ $name == "$pod" && $how == created && $ip == *.*.*.* ]] || fail "up printed '$out'"
code=$(podman wait "$pod-main")
logs=$(podman logs "$pod-main" 2>&1)
echo "$logs"
[[ $code == 0 && $logs == *"PASS: main"* ]] || fail "the main container's checks failed (exit $code)"
[[ $(podman inspect -f '{{.State.ExitCode}} {{.State.Status}}' "$pod-init") == "0 exited" ]] ||
	fail "the init container did not run to completion"
[[ $(podman inspect -f '{{.State.Running}}' "$pod-side") == true ]] ||
	fail "the sidecar does not keep running"

out=$(up --objects "$tmp/rendered.json") || fail "second up failed"
[[ $out == "$pod $ip existed" ]] || fail "second up printed '$out', not existed"

# Refused before anything is made: exit 2, nothing of that name.
python3 - "$tmp/rendered.json" "$tmp/privileged.json" "$tmp/failing.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
pod = next(o for o in objs["items"] if o["kind"] == "Pod")
pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
json.dump(objs, open(sys.argv[2], "w"))
pod["spec"]["containers"][0]["securityContext"]["privileged"] = False
pod["spec"]["initContainers"][0]["command"] = ["/bin/sh", "-c", "exit 7"]
json.dump(objs, open(sys.argv[3], "w"))
PY
rc=0
err=$(up --objects "$tmp/privileged.json" --name "$prefix-bad" 2>&1) || rc=$?
[[ $rc == 2 && $err == *"privileged: true is refused"* ]] || fail "privileged: rc $rc: $err"
! podman pod exists "$prefix-bad" || fail "a refused pod was made"
rc=0
err=$(up --objects "$tmp/rendered.json" --name "$prefix-bad" --init-timeout 4294967297 2>&1) || rc=$?
[[ $rc == 2 && $err == *"--init-timeout: '4294967297': 1 to 86400"* ]] ||
	fail "--init-timeout 2^32+1: rc $rc: $err"
! podman pod exists "$prefix-bad" || fail "a pod was made with a bad option"
rc=0
err=$(up --objects "$tmp/failing.json" --name "$prefix-fail" 2>&1) || rc=$?
[[ $rc == 1 && $err == *"exited with 7"* ]] || fail "failing init container: rc $rc: $err"
! podman pod exists "$prefix-fail" || fail "a failed pod was left behind"
[[ ! -e $tmp/state/$prefix-fail ]] || fail "a failed pod's volumes were left behind"

run down --name "$pod" || fail "down failed"
[[ -z $(podman ps -aq --filter "name=^$prefix") ]] || fail "down left containers"
[[ -z $(podman pod ls -q --filter "name=^$prefix") ]] || fail "down left the pod"
[[ ! -e $tmp/state/$pod ]] || fail "down left the volumes' folder"
run down --name "$pod" || fail "a second down failed"

# The podman backend: an event makes crawlerpod.c's crawler pod (clientd as
# a native sidecar, here a stand-in that needs its membership key and
# writes READY_FILE) and answers once the sidecar's startup probe passed.
mkdir -p "$tmp/rootfs/usr/local/bin"
cat >"$tmp/rootfs/usr/local/bin/clientd" <<'SH'
#!/bin/sh
# A stand-in for clientd: routed when it can read the gateway's key.
case $1 in
run) [ "$(cat "$MEMBERSHIP_KEY_FILE")" = k3y ] || exit 1
	sleep 1
	echo routed >"$READY_FILE"
	exec sleep 3600 ;;
check) [ -s "$READY_FILE" ] ;;
*) exit 2 ;;
esac
SH
chmod 755 "$tmp/rootfs/usr/local/bin/clientd"
tar -C "$tmp/rootfs" -cf "$tmp/client.tar" .
podman import --change 'CMD ["/bin/sh"]' "$tmp/client.tar" "$client_image" >/dev/null
gw=$prefix
printf '{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret",
"metadata":{"name":"podgw-membership-%s","namespace":"crawlers"},"data":{"key":"azN5"}}]}\n' \
	"$gw" >"$tmp/backend-objects.json"
(umask 077 && printf 'podman-pod-test-token-%s\n' "$$" >"$tmp/event-token")
"$prov" --listen 127.0.0.1:0 --ready-file "$tmp/ready" --backend podman --gateways "$gw" \
	--token-file "$tmp/event-token" \
	--pod-namespace crawlers --reply-when routed --podman-socket "$sock" \
	--podman-network "$net" --podman-objects "$tmp/backend-objects.json" \
	--podman-state-dir "$tmp/state" --crawler-image "$image" --clientd-image "$client_image" \
	</dev/null >"$tmp/provisiond.log" 2>&1 &
provisiond_pid=$!
for _ in $(seq 100); do
	[[ -s $tmp/ready ]] && break
	sleep 0.1
done
[[ -s $tmp/ready ]] || fail "provisiond did not start: $(cat "$tmp/provisiond.log")"
answer=$(curl -sS -m 200 -D "$tmp/headers" "http://$(<"$tmp/ready")/" -H 'Ce-Id: e1' \
	-H "Authorization: Bearer $(<"$tmp/event-token")" \
	-H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' \
	-H 'Ce-Source: /podgw/tests' -H 'Content-Type: application/json' \
	-d "{\"gateway_name\":\"$gw\"}") || fail "event: curl failed"
echo "backend answer: $answer"
grep -qi '^ce-type: io.podgateway.client.scheduling.done' "$tmp/headers" ||
	fail "event not done: $answer $(tail -n 5 "$tmp/provisiond.log")"
crawler=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["pod_name"])' "$answer")
[[ $crawler == crawler-$gw-* && $answer == *'"pod_ip":'* ]] || fail "answer: $answer"
[[ $(podman inspect -f '{{.State.Running}}' "$crawler-crawler") == true ]] ||
	fail "the crawler container is not running"
[[ $(cat "$tmp/state/$crawler/podgw-run/ready") == routed ]] ||
	fail "the crawler started before its sidecar was routed"
run down --name "$crawler" || fail "down of the backend's crawler failed"
echo "PASS: podman-pod: init, sidecar with startup probe, shared netns, Secret files, env, security context; existed, refused, failed and down leave nothing; the podman backend answers a routed crawler"
