#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kind.sh: podgw on a local kind cluster, for users with Docker and kind
# (it cannot run on podgw's CI machines, which have neither).
#   scripts/kind.sh up     cluster, images, Knative Eventing, podgw, a crawler
#   scripts/kind.sh demo   the reference flow, the same steps as
#                          `containers.sh demo` (scripts/flow-lib.sh): the
#                          CloudEvent to provisiond (port-forward), its reply,
#                          one for an unknown gateway, a ping from the new
#                          crawler (PODGW_KIND_TARGET, 8.8.8.8) with tcpdump
#                          on gateway foo's eth0
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
	# The gateways need the namespaced sysctls net.ipv4.ip_forward and
	# net.ipv6.conf.all.forwarding, which the kubelet allows only when told to.
	if ! kind get clusters | grep -qx "$cluster"; then
		kind create cluster --name "$cluster" --config - <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: KubeletConfiguration
        allowedUnsafeSysctls: ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]
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
	if [[ ! -s $src/k8s/knative/provisiond.token ]]; then
		(umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' \
			>"$src/k8s/knative/provisiond.token")
	fi
	kubectl apply -k "$src/k8s/knative"
	kubectl -n gateway-system rollout status deployment/gateway-foo --timeout=120s
	kubectl -n gateway-system rollout status deployment/gateway-bar --timeout=120s
	# The crawlers the provisioner would start (issue 8): the examples, a
	# Pod on foo and a Job on bar.
	kubectl apply -k "$src/k8s/examples"
	kubectl -n crawler-system wait --for=condition=Ready pod/crawler-foo --timeout=180s
	log "up: gateways foo and bar, crawler-foo routed through foo"
}

# The flow's steps are scripts/flow-lib.sh's, shared with containers.sh
# demo; only the ways into the pods are kubectl's. provisiond's Service is
# reached through a port-forward, so the reply event comes back here.
flow_crawler_exec() {
	local pod=$1
	shift
	kubectl -n crawler-system exec "$pod" -c crawler -- "$@"
}

# The kubernetes backend answers once the pod exists; clientd's startup
# probe holds the crawler back until it routes, so Ready means routed.
flow_wait_crawler() {
	kubectl -n crawler-system wait --for=condition=Ready "pod/$1" --timeout=180s
}

# The replica (a gateway pod's name) the crawler went through, as its
# clientd says (`replica: NAME (POD_IP)`): the done event of the
# kubernetes backend, sent at creation, cannot name it.
flow_crawler_replica() {
	kubectl -n crawler-system exec "$1" -c podgw-client -- /usr/local/bin/clientd check --verbose |
		awk '$1 == "replica:" && $2 != "unknown" { print $2; exit }'
}

flow_gateway_tcpdump() {
	local gw=$1 seconds=$2 pod=${FLOW_REPLICA-}
	shift 2
	[[ -n $pod ]] ||
		pod=$(kubectl -n gateway-system get pod -l "podgw.io/gateway=$gw" -o jsonpath='{.items[0].metadata.name}')
	# The gateway image has no tcpdump: an ephemeral container in its namespaces.
	kubectl -n gateway-system debug "$pod" --image=docker.io/nicolaka/netshoot:v0.13 \
		--target=gatewayd --profile=netadmin -q -i -- timeout -s INT "$seconds" tcpdump -i eth0 "$@"
}

demo() {
	local port=${PODGW_KIND_PORT:-18080} fwd rc=0
	# shellcheck source-path=SCRIPTDIR source=flow-lib.sh
	. "$src/scripts/flow-lib.sh"
	FLOW_DIR=$(mktemp -d)
	kubectl -n provisioner port-forward svc/provisiond "$port:80" >"$FLOW_DIR/port-forward.log" 2>&1 &
	fwd=$!
	trap 'kill "$fwd" 2>/dev/null; rm -rf -- "$FLOW_DIR"' EXIT
	for _ in $(seq 50); do
		curl -sf -m 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	# shellcheck disable=SC2034 # read by flow-lib.sh
	FLOW_URL=http://127.0.0.1:$port/
	# The broker's token (k8s/knative: Secret provisiond-token), for curl.
	FLOW_TOKEN_FILE=$FLOW_DIR/token
	(umask 077 && kubectl -n provisioner get secret provisiond-token -o jsonpath='{.data.token}' |
		base64 -d >"$FLOW_TOKEN_FILE")
	# kubectl debug may pull its image first.
	# shellcheck disable=SC2034
	FLOW_LISTEN_WAIT=120
	flow_demo foo nope "${PODGW_KIND_TARGET:-8.8.8.8}" || rc=$?
	return "$rc"
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
