#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kind.sh: podgw on a local kind cluster, for users with Docker and kind
# (it cannot run on podgw's CI machines, which have neither).
#   scripts/kind.sh up     cluster, images, Knative Eventing, podgw, a crawler
#   scripts/kind.sh demo   the reference flow: a CloudEvent, a ping from the
#                          crawler, tcpdump on gateway foo
#   scripts/kind.sh down   delete the cluster
# Needs: docker, kind, kubectl. Versions: KNATIVE_VERSION (knative-v1.16.0).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cluster=${PODGW_KIND_CLUSTER:-podgw}
knative=${KNATIVE_VERSION:-knative-v1.16.0}
version=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
releases=https://github.com/knative/eventing/releases/download/$knative

log() { echo "kind.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

for tool in docker kind kubectl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

up() {
	# The gateways need the namespaced sysctl net.ipv4.ip_forward, which
	# the kubelet allows only when told to.
	if ! kind get clusters | grep -qx "$cluster"; then
		kind create cluster --name "$cluster" --config - <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: KubeletConfiguration
        allowedUnsafeSysctls: ["net.ipv4.ip_forward"]
YAML
	fi
	kubectl config use-context "kind-$cluster"

	PODGW_BUILDER=docker "$src/scripts/images.sh"
	kind load docker-image --name "$cluster" "localhost/podgw:$version" "localhost/podgw-openvpn:$version" \
		"localhost/podgw-crawler:$version"

	log "installing Knative Eventing $knative"
	kubectl apply -f "$releases/eventing-crds.yaml"
	kubectl apply -f "$releases/eventing-core.yaml"
	kubectl apply -f "$releases/in-memory-channel.yaml"
	kubectl apply -f "$releases/mt-channel-broker.yaml"
	kubectl -n knative-eventing wait --for=condition=Available deployment --all --timeout=300s

	log "installing podgw"
	local g
	for g in foo bar; do
		if [[ ! -s $src/k8s/overlays/$g/membership.key ]]; then
			head -c 32 /dev/urandom >"$src/k8s/overlays/$g/membership.key"
		fi
	done
	kubectl apply -k "$src/k8s/base/namespaces"
	kubectl apply -k "$src/k8s/overlays/foo"
	kubectl apply -k "$src/k8s/overlays/bar"
	kubectl apply -k "$src/k8s/knative"
	kubectl -n gateway-system rollout status deployment/gateway-foo --timeout=120s
	kubectl -n gateway-system rollout status deployment/gateway-bar --timeout=120s
	# The crawlers the provisioner would start (issue 8): the examples, a
	# Pod on foo and a Job on bar.
	kubectl apply -k "$src/k8s/examples"
	kubectl -n crawler-system wait --for=condition=Ready pod/crawler-foo --timeout=180s
	log "up: gateways foo and bar, crawler-foo routed through foo"
}

demo() {
	local pod
	log "sending io.podgateway.client.pending {\"gateway_name\":\"foo\"} to the broker"
	kubectl -n provisioner run "send-event-$$" --rm -i --restart=Never \
		--image=docker.io/curlimages/curl:8.10.1 -- \
		curl -sS -X POST http://broker-ingress.knative-eventing.svc.cluster.local/provisioner/default \
		-H 'Ce-Id: kind-demo' -H 'Ce-Specversion: 1.0' -H 'Ce-Source: kind.sh' \
		-H 'Ce-Type: io.podgateway.client.pending' -H 'Content-Type: application/json' \
		-d '{"gateway_name":"foo"}'
	kubectl -n provisioner logs deployment/event-display --tail=20 || true

	pod=$(kubectl -n gateway-system get pod -l podgw.io/gateway=foo -o jsonpath='{.items[0].metadata.name}')
	log "tcpdump on gateway foo ($pod) through an ephemeral debug container"
	kubectl -n gateway-system debug "$pod" --image=docker.io/nicolaka/netshoot:v0.13 \
		--target=gatewayd --profile=netadmin -q -- timeout 15 tcpdump -i eth0 -nv 'udp port 8472 or icmp' &
	local dump=$!
	sleep 5
	kubectl -n crawler-system exec crawler-foo -c crawler -- ping -c 3 8.8.8.8
	wait "$dump" || true
}

down() {
	kind delete cluster --name "$cluster"
}

case ${1:-} in
up) up ;;
demo) demo ;;
down) down ;;
*) die "usage: $0 up|demo|down" ;;
esac
