#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Injection in real containers: podgw's webhook runs in the podgw image as
# its Deployment runs it (provisiond webhook, user 65532, no capability,
# read-only root, the certificate from scripts/webhook-cert.sh); the
# examples of k8s/examples/injected (a Pod asking with the annotation, a
# Job's pod with the label) are sent to it over TLS as the API server would,
# its JSONPatch is applied, and the pods it makes are run by `provisiond
# podman-pod up` next to keyed gateway foo, with the Secret and the
# ConfigMap the manifests give their namespace. The injected crawler's ping
# is seen on foo's eth0 inside VXLAN, then leaving masqueraded; the Job's
# crawler (its command changed to a ping of the test's internet) completes
# with exit 0 while the sidecar keeps running. Needs root and podman (77
# without); everything carries a unique prefix and is removed on every exit.
set -euo pipefail

T_NAME=containers-inject
PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export PODGW_SRC
if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root"
	exit 77
fi
for t_tool in podman nsenter tcpdump curl python3 kubectl openssl; do
	command -v "$t_tool" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t_tool is not installed"
		exit 77
	}
done

# shellcheck source-path=SCRIPTDIR source=../../scripts/containers-lib.sh
. "$PODGW_SRC/scripts/containers-lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/flow-lib.sh
. "$PODGW_SRC/scripts/flow-lib.sh"
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
review=$PODGW_SRC/tests/webhook/review.py

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ct_init "pgi$$-"
webhook=${CT_PREFIX}webhook

t_cleanup() {
	ct_test_cleanup "$?" "$webhook"
	exit "$?"
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ct_need || fail "missing tools"
ct_build || fail "build"
ct_images || fail "no images"
ct_snapshot_images || fail "podman tag: the images under this run's names"
ct_image_current || fail "$CT_IMAGE's provisiond is not $CT_PROVISIOND (another checkout rebuilt the image?)"

mkdir -p "$CT_STATE/objects"
chmod 0700 "$CT_STATE"
ct_service_start || fail "podman service"
ct_network || fail "network"
ct_node_internet || fail "node and internet"
ct_gateway foo || fail "gateway foo"
mapfile -t replicas < <(ct_replicas foo)
gw_ips=()
for r in "${replicas[@]}"; do
	gw_ips+=("$(ct_replica_ip "$r")")
done
info "network $CT_NET ($CT_SUBNET), gateway foo: replicas ${replicas[*]} at ${gw_ips[*]} (keyed: MEMBERSHIP_KEY_FILE)"

# The webhook, as k8s/injection/podgw/base/webhook.yaml runs it: the key
# readable by its group only (the Deployment's fsGroup and defaultMode 0440).
tls=$CT_STATE/tls
"$PODGW_SRC/scripts/webhook-cert.sh" "$tls" --ip 127.0.0.1 2>/dev/null || fail "webhook-cert.sh"
mkdir -p "$tls/mounted"
cp "$tls/tls.crt" "$tls/tls.key" "$tls/mounted/"
chgrp -R 65532 "$tls/mounted"
chmod 0750 "$tls" "$tls/mounted"
chmod 0440 "$tls/mounted/tls.crt" "$tls/mounted/tls.key"
podman run -d --name "$webhook" "${CT_ULIMITS[@]}" --network host --label "podgw.io/ct=$CT_PREFIX" \
	--user 65532:65532 --group-add 65532 --cap-drop all --read-only --security-opt no-new-privileges \
	-v "$tls/mounted:/tls:ro" -e PROVISIOND_LISTEN="127.0.0.1:$port" -e GATEWAYS="foo bar" \
	-e WEBHOOK_TLS_CERT_FILE=/tls/tls.crt -e WEBHOOK_TLS_KEY_FILE=/tls/tls.key \
	-e CLIENTD_IMAGE="$CT_IMAGE" -e MAX_BODY_BYTES=1048576 \
	--entrypoint /usr/local/bin/provisiond "$CT_IMAGE" webhook >/dev/null || fail "the webhook container"
url=https://127.0.0.1:$port
ct_wait 30 curl -sf --cacert "$tls/ca.crt" -o /dev/null "$url/healthz" || fail "the webhook does not answer on $url"
info "webhook: $url/wh/mutating/setgateway ($CT_IMAGE, user 65532, no capability)"

# The examples, rendered; the Job asks for foo too (one gateway keeps the
# test short) and pings the test's internet instead of example.com.
kubectl kustomize "$PODGW_SRC/k8s/examples/injected" >"$CT_STATE/examples.yaml" || fail "kustomize examples"
kubectl kustomize "$PODGW_SRC/k8s/injection/podgw/base" >"$CT_STATE/webhook.yaml" || fail "kustomize webhook"
python3 - "$CT_STATE" "$CT_CRAWLER_IMAGE" "$CT_INTERNET_IP" <<-'PY' || fail "examples"
	import json, sys, yaml
	state, crawler, target = sys.argv[1:4]
	for d in yaml.safe_load_all(open(f"{state}/examples.yaml")):
	    if not d:
	        continue
	    spec = d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
	    for c in spec["containers"]:
	        c["image"] = crawler
	    if d["kind"] == "Job":
	        d["spec"]["template"]["metadata"]["labels"]["setGateway"] = "foo"
	        spec["containers"][0]["command"] = ["ping", "-c", "3", "-W", "2", target]
	    json.dump(d, open(f"{state}/example-{d['kind'].lower()}.json", "w"))
PY

# inject KIND: the review over TLS, the answer applied: STATE/pod-KIND.json,
# with the gateway's address as a host alias (no cluster DNS here).
inject() {
	local kind=$1 code
	python3 "$review" wrap crawler-system "$CT_STATE/example-$kind.json" >"$CT_STATE/review-$kind.json"
	code=$(curl -sS -m 10 --cacert "$tls/ca.crt" -o "$CT_STATE/answer-$kind.json" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "@$CT_STATE/review-$kind.json" \
		"$url/wh/mutating/setgateway") || return 1
	[[ $code == 200 ]] || {
		echo "HTTP $code: $(cat "$CT_STATE/answer-$kind.json")" >&2
		return 1
	}
	python3 "$review" apply "$CT_STATE/review-$kind.json" "$CT_STATE/answer-$kind.json" >"$CT_STATE/pod-$kind.json" || return 1
	python3 - "$CT_STATE" "$kind" "${gw_ips[*]}" "$CT_SUBNET" "$CT_PREFIX" <<-'PY'
		import json, sys
		state, kind, gw_ips, subnet, prefix = sys.argv[1:6]
		pod = json.load(open(f"{state}/pod-{kind}.json"))
		# every replica, as the headless Service answers
		pod["spec"]["hostAliases"] = [{"ip": ip, "hostnames": ["gateway-foo.gateway-system.svc.cluster.local"]}
		                              for ip in gw_ips.split()]
		items = [pod]
		foo = json.load(open(f"{state}/foo.objects.json"))["items"]
		items += [o for o in foo if o["kind"] == "Secret" and o["metadata"]["namespace"] == "crawler-system"]
		import yaml
		for d in yaml.safe_load_all(open(f"{state}/webhook.yaml")):
		    if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "podgw-client-foo":
		        d["data"]["NOT_ROUTED_TO_GATEWAY_CIDRS"] = subnet
		        d["data"]["K8S_DNS_IPS"] = ""
		        items.append(d)
		json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(f"{state}/run-{kind}.json", "w"))
		print(pod["metadata"]["name"])
	PY
}

up() { # up KIND POD: the injected pod in podman, as podman-pod runs manifests
	mkdir -p "$CT_STATE/pods"
	"$CT_PROVISIOND" podman-pod up --socket "$CT_SOCK" --network "$CT_NET" \
		--objects "$CT_STATE/run-$1.json" --pod "$2" --name "${CT_PREFIX}$1" \
		--state-dir "$CT_STATE/pods" --nofile 4096 --nproc 4096 2>"$CT_STATE/up-$1.err"
}

# 1. The Pod: injected (annotation), routed through keyed gateway foo.
name=$(inject pod) || fail "the pod was not injected"
info "pod $name injected: $(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["spec"]; print("init", [c["name"] for c in p["initContainers"]], "volumes", [v["name"] for v in p["volumes"]])' "$CT_STATE/pod-pod.json")"
up pod "$name" || fail "podman-pod up of the injected pod: $(tail -n 3 "$CT_STATE/up-pod.err")"
pod=${CT_PREFIX}pod
ct_flow_setup
route=$(ct_pod_netns_exec "$pod" ip -4 route get "$CT_INTERNET_IP" 2>&1 | head -n 1 || true)
info "injected crawler: $route"
[[ $route == *"dev vxlan0"* ]] || errors+=("the injected crawler is not routed through the tunnel: $route")
overlay=$(ct_pod_netns_exec "$pod" ip -4 -o addr show dev vxlan0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
[[ -n $overlay ]] || fail "the injected crawler has no overlay address"
FLOW_REPLICA=$(ct_crawler_replica "$pod" foo) || fail "the injected crawler's tunnel points at no replica of foo"
ping_rc=0
flow_ping_capture foo "$pod" "$CT_INTERNET_IP" 2 || ping_rc=$?
info "tcpdump on gateway foo's replica $FLOW_REPLICA, eth0:"
sed 's/^/    /' "$FLOW_DIR/capture-foo.txt"
((ping_rc == 0)) || errors+=("the injected crawler's ping got no answer (exit $ping_rc)")
crawler_ip=$(ct_ip_of_pid "$(ct_infra_pid "$pod")")
t_picture "$(<"$FLOW_DIR/capture-foo.txt")" "$crawler_ip" "$(ct_replica_ip "$FLOW_REPLICA")" "$overlay" "$CT_INTERNET_IP"

# 2. The Job's pod: injected (label), its crawler completes.
name=$(inject job) || fail "the Job's pod was not injected"
up job "$name" || fail "podman-pod up of the injected Job pod: $(tail -n 3 "$CT_STATE/up-job.err")"
c=$(ct_pod_container "${CT_PREFIX}job" crawler) || fail "no crawler container in the Job's pod"
rc=$(timeout 60 podman wait "$c") || rc=timeout
info "the Job's crawler ($name) exited: $rc; $(podman logs "$c" 2>&1 | grep -E 'packets transmitted' || true)"
[[ $rc == 0 ]] || errors+=("the injected Job's crawler did not complete: exit $rc")
side=$(ct_pod_container "${CT_PREFIX}job" podgw-client) || fail "no clientd in the Job's pod"
[[ $(podman inspect -f '{{.State.Running}}' "$side") == true ]] ||
	errors+=("the Job's clientd sidecar is not running")
# The gateway holds the Job pod's lease (POD_NAME: the pod's name, which
# podman-pod gives as the podman pod's): it joined with the key.
# Its lease is on one of the replicas: their statuses together.
leases=
for r in "${replicas[@]}"; do
	leases+=$(podman exec "$(ct_pod_container "$r" gatewayd)" /usr/local/bin/gatewayd status 2>&1 || true)$'\n'
done
info "gateway foo's leases (every replica):"
mapfile -t lines <<<"$leases"
printf '    %s\n' "${lines[@]}"
grep -Eq "^${CT_PREFIX}job +crawler-system +172\.16\." <<<"$leases" ||
	errors+=("no replica of gateway foo has a lease for the Job's pod ${CT_PREFIX}job")

if ((${#errors[@]} > 0)); then
	printf 'FAIL: %s: %s\n' "$T_NAME" "${errors[@]}" >&2
	exit 1
fi
echo "PASS: $T_NAME: the injected pod routed through keyed gateway foo (VXLAN, masqueraded), the injected Job's crawler completed"
