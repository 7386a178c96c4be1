# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# containers-lib.sh: the reference design's cluster as podman containers on
# one machine (containers.sh and tests/containers/ source it; functions only).
#
#   PREFIXpods      podman network, --internal (no default route, nothing leaves
#                   the machine); its subnet is podman's pick, unique per run
#   PREFIXnode      busybox container on PREFIXpods, forwarding on: the node
#                   that routes the pod network to the internet
#   PREFIXinternet  busybox container without a podman network: eth0
#                   203.0.113.10/24 on a veth to the node's inet0 203.0.113.1,
#                   made with `ip` inside the two containers' namespaces (no
#                   link to the host's)
#   PREFIXgateway-GW-N  the gateway's replicas (N from 0; CT_REPLICAS of them,
#                   PODGW_CT_REPLICAS, 2), each a pod made by `provisiond
#                   podman-pod up` from the one rendered Deployment of
#                   k8s/overlays/GW (REPLICA_NAME: the pod's name), default
#                   route via the node (what a CNI would add); listed in
#                   STATE/GW.replicas
#   PREFIXprovisiond  provisiond, podman backend, talking to a podman API
#                   service on a private socket (STATE/podman.sock); on the
#                   host's network, listening on CT_LISTEN (loopback only)
#
#   ct_init PREFIX      select the run; CT_* variables
#   ct_up GW...         everything above (images built when missing);
#                       CT_MORE_GATEWAYS: more names for provisiond, no pods
#   ct_is_up            provisiond and every gateway replica running
#   ct_down             remove every pod, container and network of the prefix,
#                       the API service and the state dir; idempotent
#   ct_flow_setup       FLOW_URL, FLOW_DIR and the hooks flow-lib.sh needs
#   ct_pod_netns_exec POD CMD...    CMD from the host in POD's network namespace
#   ct_pod_container POD NAME       the podman name of container NAME in POD
#   ct_replicas GW                  gateway GW's replica pods, one a line
#   ct_crawler_replica POD GW       the replica crawler POD's tunnel points at
#   ct_test_cleanup RC LOGCONTAINER the tests' EXIT trap: logs on failure,
#                   ct_down, CT_SNAPSHOTS untagged
#
# State: /run/podgw-ct/PREFIX (CT_STATE_ROOT). Every object the run makes
# carries the prefix or sits on its network; pods (gateways, crawlers) are
# found through their network.

CT_STATE_ROOT=${CT_STATE_ROOT:-/run/podgw-ct}
CT_INTERNET_IP=203.0.113.10
CT_INTERNET_ROUTER=203.0.113.1
CT_READY_TIMEOUT=${CT_READY_TIMEOUT:-60}
# runc cannot give a container podman's default limits, above this
# machine's hard ones ("error setting rlimits").
CT_ULIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

ct_log() {
	printf 'containers: %s\n' "$*" >&2
}

ct_err() {
	printf 'containers: error: %s\n' "$*" >&2
}

ct_init() {
	local prefix=${1:?ct_init PREFIX}
	if [[ ! $prefix =~ ^[a-z][a-z0-9-]{0,15}$ ]]; then
		ct_err "PODGW_CT_PREFIX: '$prefix': lower-case letters, digits and -, at most 16"
		return 2
	fi
	CT_PREFIX=$prefix
	CT_STATE=$CT_STATE_ROOT/$prefix
	CT_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	CT_BUILD=$(realpath -m -- "${PODGW_BUILD:-$CT_SRC/build}")
	CT_VERSION=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" "$CT_SRC/meson.build" | head -n 1)
	CT_IMAGE=${PODGW_IMAGE:-localhost/podgw:$CT_VERSION}
	CT_CRAWLER_IMAGE=${PODGW_CRAWLER_IMAGE:-localhost/podgw-crawler:$CT_VERSION}
	CT_NET=${prefix}pods
	CT_SOCK=$CT_STATE/podman.sock
	CT_LISTEN=${PODGW_CT_LISTEN:-127.0.0.1:8090}
	if [[ ! $CT_LISTEN =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$ ]]; then
		ct_err "PODGW_CT_LISTEN: '$CT_LISTEN': a loopback address and port (127.0.0.1:8090)"
		return 2
	fi
	CT_PROVISIOND=$CT_BUILD/provisiond/provisiond
	CT_REPLICAS=${PODGW_CT_REPLICAS:-2}
	if [[ ! $CT_REPLICAS =~ ^[1-9]$ ]]; then
		ct_err "PODGW_CT_REPLICAS: '$CT_REPLICAS': replicas per gateway, 1 to 9"
		return 2
	fi
}

ct_need() {
	local t
	if ((EUID != 0)); then
		ct_err "needs root (podman's network namespaces, nsenter, tcpdump)"
		return 1
	fi
	for t in podman nsenter tcpdump curl python3 kubectl ip; do
		command -v "$t" >/dev/null 2>&1 || {
			ct_err "$t is not installed (scripts/deps.sh)"
			return 1
		}
	done
}

# ct_wait SECONDS CMD...: polls every 0.2 s.
ct_wait() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# CT_IMAGE holds this tree's provisiond when both print the same --help
# (every setting with its default, but NETNS_HELPER's, a path in the source
# tree): a cheap guard against images of another checkout or an older build.
ct_image_current() {
	local built
	[[ -x $CT_PROVISIOND ]] || return 0
	built=$("$CT_PROVISIOND" --help 2>&1 | grep -v 'NETNS_HELPER\|netns-crawler\.sh')
	[[ $(podman run --rm "${CT_ULIMITS[@]}" --network none --entrypoint /usr/local/bin/provisiond \
		"$CT_IMAGE" --help 2>&1 | grep -v 'NETNS_HELPER\|netns-crawler\.sh') == "$built" ]]
}

# The images, built (scripts/images.sh) when missing or not current.
ct_images() {
	local img missing=0
	for img in "$CT_IMAGE" "$CT_CRAWLER_IMAGE"; do
		podman image exists "$img" || missing=1
	done
	if ((missing == 0)) && ct_image_current; then
		return 0
	fi
	ct_log "building the images (scripts/images.sh): $CT_IMAGE is missing or not this tree's"
	"$CT_SRC/scripts/images.sh" >&2 || return 1
	for img in "$CT_IMAGE" "$CT_CRAWLER_IMAGE"; do
		podman image exists "$img" || {
			ct_err "no image $img after scripts/images.sh"
			return 1
		}
	done
}

# CT_NO_BUILD=1: the caller has built (meson test).
ct_build() {
	[[ ${CT_NO_BUILD:-0} == 1 && -x $CT_PROVISIOND ]] && return 0
	if [[ ! -d $CT_BUILD ]]; then
		(cd "$CT_SRC" && meson setup "$CT_BUILD" >&2) || return 1
	fi
	meson compile -C "$CT_BUILD" provisiond/provisiond:executable >&2
}

ct_api_ping() {
	[[ $(curl -sS -m 2 --unix-socket "$CT_SOCK" http://d/_ping 2>/dev/null) == OK ]]
}

# A podman API service of this run only: the podman backend's endpoint.
# Its containers.conf sets what this machine's runc needs on every
# container it makes, whoever asks (the same as CT_ULIMITS).
ct_service_start() {
	cat >"$CT_STATE/containers.conf" <<-'EOF'
		[containers]
		default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
	EOF
	CONTAINERS_CONF=$CT_STATE/containers.conf setsid podman system service --time=0 \
		"unix://$CT_SOCK" </dev/null >>"$CT_STATE/podman-service.log" 2>&1 &
	echo $! >"$CT_STATE/podman-service.pid"
	ct_wait 20 ct_api_ping || {
		ct_err "podman system service did not answer on $CT_SOCK:"
		tail -n 5 "$CT_STATE/podman-service.log" >&2
		return 1
	}
}

ct_service_stop() {
	local f=$CT_STATE/podman-service.pid pid i
	[[ -f $f ]] || return 0
	pid=$(<"$f")
	# Only our service: its command line names our socket.
	if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "unix://$CT_SOCK"; then
		kill -s TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -s KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

ct_pid() {
	podman inspect -f '{{.State.Pid}}' "$1"
}

ct_infra_pid() {
	ct_pid "$(podman pod inspect -f '{{.InfraContainerID}}' "$1")"
}

ct_pod_netns_exec() {
	local pid
	pid=$(ct_infra_pid "$1") || return 1
	shift
	nsenter -t "$pid" -n "$@"
}

# The address of container or pod infra container $1 on the pod network.
ct_ip_of_pid() {
	nsenter -t "$1" -n ip -4 -o addr show dev eth0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}

ct_pod_container() {
	local pod=$1 name=$2 c
	while read -r c; do
		if [[ $c == "$name" || $c == "$pod-$name" ]]; then
			printf '%s\n' "$c"
			return 0
		fi
	done < <(podman ps --filter "pod=$pod" --format '{{.Names}}')
	ct_err "no container $name in pod $pod"
	return 1
}

ct_network() {
	podman network create --internal --label "podgw.io/ct=$CT_PREFIX" "$CT_NET" >/dev/null || return 1
	CT_SUBNET=$(podman network inspect -f '{{range .Subnets}}{{.Subnet}}{{end}}' "$CT_NET")
	printf '%s\n' "$CT_SUBNET" >"$CT_STATE/subnet"
}

# The node and the internet: busybox (the crawler image) sleeping; their
# addresses and routes are set from the host, so they need no capability.
ct_node_internet() {
	local node=${CT_PREFIX}node inet=${CT_PREFIX}internet np ip_pid
	podman run -d --name "$node" "${CT_ULIMITS[@]}" --network "$CT_NET" --cap-drop all \
		--sysctl net.ipv4.ip_forward=1 --label "podgw.io/ct=$CT_PREFIX" \
		"$CT_CRAWLER_IMAGE" sleep 2147483647 >/dev/null || return 1
	podman run -d --name "$inet" "${CT_ULIMITS[@]}" --network none --cap-drop all \
		--label "podgw.io/ct=$CT_PREFIX" "$CT_CRAWLER_IMAGE" sleep 2147483647 >/dev/null || return 1
	np=$(ct_pid "$node")
	ip_pid=$(ct_pid "$inet")
	CT_NODE_IP=$(ct_ip_of_pid "$np")
	printf '%s\n' "$CT_NODE_IP" >"$CT_STATE/node-ip"
	nsenter -t "$np" -n ip link add inet0 type veth peer name eth0 netns "$ip_pid"
	nsenter -t "$np" -n ip addr add "$CT_INTERNET_ROUTER/24" dev inet0
	nsenter -t "$np" -n ip link set inet0 up
	nsenter -t "$ip_pid" -n ip addr add "$CT_INTERNET_IP/24" dev eth0
	nsenter -t "$ip_pid" -n ip link set eth0 up
	nsenter -t "$ip_pid" -n ip route add default via "$CT_INTERNET_ROUTER"
}

# The rendered manifests of overlay GW with a fresh membership key, as one
# JSON List (what `kubectl get -o json` prints): STATE/GW.objects.json. The
# podgw image is CT_IMAGE (PODGW_IMAGE).
ct_render() {
	local gw=$1 k8s=$CT_STATE/k8s
	[[ -d $k8s ]] || cp -r "$CT_SRC/k8s" "$k8s"
	[[ -s $k8s/overlays/$gw/membership.key ]] ||
		(umask 077 && head -c 32 /dev/urandom >"$k8s/overlays/$gw/membership.key")
	kubectl kustomize "$k8s/overlays/$gw" >"$CT_STATE/$gw.objects.yaml" || return 1
	python3 - "$CT_STATE/$gw.objects.yaml" "$CT_STATE/$gw.objects.json" \
		"localhost/podgw:$CT_VERSION=$CT_IMAGE" <<-'PY'
		import json, sys, yaml
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
		old, new = sys.argv[3].split("=", 1)
		text = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
		open(sys.argv[2], "w").write(text.replace(json.dumps(old), json.dumps(new)))
	PY
}

# Gateway GW's replicas, each a pod made by the podman backend's own
# translation of the one rendered Deployment (as a ReplicaSet would make
# them), named PREFIXgateway-GW-N: that is also its REPLICA_NAME.
ct_gateway() {
	local gw=$1 i
	ct_render "$gw" || return 1
	mkdir -p "$CT_STATE/pods"
	: >"$CT_STATE/$gw.replicas"
	for ((i = 0; i < CT_REPLICAS; i++)); do
		ct_replica_up "$gw" "${CT_PREFIX}gateway-$gw-$i" || return 1
	done
}

# ct_replica_up GW POD: one replica; prints nothing (the runner's "NAME IP
# created" goes to STATE/POD.up).
ct_replica_up() {
	local gw=$1 name=$2 pid
	# Listed first: ct_down finds it by its network either way.
	grep -qxF "$name" "$CT_STATE/$gw.replicas" 2>/dev/null || printf '%s\n' "$name" >>"$CT_STATE/$gw.replicas"
	# Limits runc can set here (the same as CT_ULIMITS).
	"$CT_PROVISIOND" podman-pod up --socket "$CT_SOCK" --network "$CT_NET" \
		--objects "$CT_STATE/$gw.objects.json" --pod "gateway-$gw" \
		--name "$name" --state-dir "$CT_STATE/pods" --nofile 4096 --nproc 4096 \
		>"$CT_STATE/$name.up" || return 1
	pid=$(ct_infra_pid "$name") || return 1
	# What a CNI gives every pod; gatewayd needs it only once clients send.
	nsenter -t "$pid" -n ip route replace default via "$(<"$CT_STATE/node-ip")"
	ct_wait "$CT_READY_TIMEOUT" ct_replica_ready "$name" || {
		ct_err "gateway $gw: replica $name not ready after ${CT_READY_TIMEOUT}s"
		podman pod logs "$name" 2>&1 | tail -n 20 >&2
		return 1
	}
}

ct_replicas() {
	cat "$CT_STATE/$1.replicas" 2>/dev/null
}

# gatewayd's READY_FILE, in the pod's emptyDir "run" (a host folder).
ct_replica_ready() {
	[[ -e $CT_STATE/pods/$1/run/ready ]] &&
		[[ $(podman pod inspect -f '{{.State}}' "$1" 2>/dev/null) == Running ]]
}

ct_gateway_ready() {
	local r n=0
	while read -r r; do
		ct_replica_ready "$r" || return 1
		n=$((n + 1))
	done < <(ct_replicas "$1")
	((n > 0))
}

ct_replica_ip() {
	ct_ip_of_pid "$(ct_infra_pid "$1")"
}

# The crawler's tunnel goes where its vxlan link's all-zero FDB entry
# points: the pod IP of one replica, whatever clientd says of itself.
ct_crawler_replica() {
	local pod=$1 gw=$2 dst r
	dst=$(ct_pod_netns_exec "$pod" bridge fdb show dev vxlan0 2>/dev/null |
		awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") { print $(i + 1); exit } }')
	[[ -n $dst ]] || return 1
	while read -r r; do
		if [[ $(ct_replica_ip "$r" 2>/dev/null) == "$dst" ]]; then
			printf '%s\n' "$r"
			return 0
		fi
	done < <(ct_replicas "$gw")
	return 1
}

# The podman backend's view: the API socket, the pod network, the Secrets
# crawler pods mount (STATE/objects/objects.json), and a volume folder at
# the same path inside and outside (the service on the host bind-mounts
# what provisiond writes there). User 0 without capabilities: the socket
# is root's, and access to it is root on the host anyway. It listens on
# the host's loopback (host network): the pod network is internal, the host
# has no route into it, so a published port could not reach it either.
ct_provisiond() {
	local gws=$1 vols=$CT_STATE/crawlers
	mkdir -p "$vols" "$CT_STATE/token"
	chmod 0700 "$vols" "$CT_STATE/token"
	# The event senders' bearer token, made once per run (root's only).
	[[ -s $CT_STATE/token/token ]] ||
		(umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$CT_STATE/token/token")
	podman run -d --name "${CT_PREFIX}provisiond" "${CT_ULIMITS[@]}" --network host \
		--label "podgw.io/ct=$CT_PREFIX" --user 0:0 --cap-drop all --read-only \
		--security-opt no-new-privileges \
		-v "$CT_SOCK:/run/podman/podman.sock" -v "$CT_STATE/objects:/etc/podgw/objects:ro" \
		-v "$vols:$vols" -v "$CT_STATE/token:/etc/podgw/token:ro" \
		-e PROVISIOND_TOKEN_FILE=/etc/podgw/token/token -e PROVISIOND_LISTEN="$CT_LISTEN" -e GATEWAYS="$gws" -e PROVISION_BACKEND=podman \
		-e REPLY_WHEN=routed -e EVENT_SOURCE=/podgw/containers -e POD_NAMESPACE=crawler-system \
		-e PODMAN_SOCKET=/run/podman/podman.sock -e PODMAN_NETWORK="$CT_NET" \
		-e PODMAN_OBJECTS=/etc/podgw/objects/objects.json -e PODMAN_STATE_DIR="$vols" \
		-e PODMAN_GATEWAY_POD_PREFIX="${CT_PREFIX}gateway-" \
		-e CLIENT_NOT_ROUTED_TO_GATEWAY_CIDRS="$CT_SUBNET" \
		-e CLIENTD_IMAGE="$CT_IMAGE" -e CRAWLER_IMAGE="$CT_CRAWLER_IMAGE" \
		--entrypoint /usr/local/bin/provisiond "$CT_IMAGE" >/dev/null || return 1
	ct_wait "$CT_READY_TIMEOUT" ct_provisiond_ready || {
		ct_err "provisiond not serving on $CT_LISTEN after ${CT_READY_TIMEOUT}s; its log:"
		podman logs "${CT_PREFIX}provisiond" 2>&1 | tail -n 20 >&2
		return 1
	}
}

# The Secrets and ConfigMaps of every rendered overlay, for PODMAN_OBJECTS.
ct_objects() {
	python3 - "$CT_STATE/objects/objects.json" "$@" <<-'PY'
		import json, sys
		items = []
		for f in sys.argv[2:]:
		    items += [o for o in json.load(open(f))["items"] if o["kind"] in ("Secret", "ConfigMap")]
		json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"))
	PY
}

ct_provisiond_ready() {
	[[ $(curl -sS -m 2 "http://$CT_LISTEN/healthz" 2>/dev/null) == ok* ]]
}

ct_up() {
	local gw gws r objs=()
	ct_need || return 1
	ct_build || return 1
	ct_images || return 1
	mkdir -p "$CT_STATE/objects"
	chmod 0700 "$CT_STATE"
	ct_service_start || return 1
	ct_network || return 1
	ct_node_internet || return 1
	ct_log "network $CT_NET ($CT_SUBNET, internal), node $CT_NODE_IP, internet $CT_INTERNET_IP"
	for gw in "$@"; do
		ct_gateway "$gw" || return 1
		objs+=("$CT_STATE/$gw.objects.json")
		ct_log "gateway $gw: $(while read -r r; do printf 'replica %s %s; ' "$r" "$(ct_replica_ip "$r")"; done < <(ct_replicas "$gw"))"
	done
	# CT_MORE_GATEWAYS: names provisiond knows without a gateway pod (tests).
	gws=$(
		IFS=,
		echo "$*${CT_MORE_GATEWAYS:+,$CT_MORE_GATEWAYS}"
	)
	printf '%s\n' "$gws" >"$CT_STATE/gateways"
	ct_objects "${objs[@]}" || return 1
	ct_provisiond "$gws" || return 1
	ct_log "provisiond: CloudEvents on http://$CT_LISTEN/ (podman backend, $CT_SOCK)"
}

ct_is_up() {
	local gw
	[[ -f $CT_STATE/gateways ]] || return 1
	[[ $(podman inspect -f '{{.State.Running}}' "${CT_PREFIX}provisiond" 2>/dev/null) == true ]] || return 1
	for gw in $(tr ',' ' ' <"$CT_STATE/gateways"); do
		ct_gateway_ready "$gw" || return 1
	done
	ct_api_ping
}

ct_down() {
	local p c
	# The provisioner first, so it makes no more pods.
	podman rm -f -t 2 "${CT_PREFIX}provisiond" >/dev/null 2>&1 || true
	if podman network exists "$CT_NET" 2>/dev/null; then
		while read -r p; do
			[[ -n $p ]] && podman pod rm -f -t 2 "$p" >/dev/null 2>&1
		done < <(podman pod ps -q --filter "network=$CT_NET" 2>/dev/null)
		while read -r c; do
			[[ -n $c ]] && podman rm -f -t 2 "$c" >/dev/null 2>&1
		done < <(podman ps -aq --filter "network=$CT_NET" 2>/dev/null)
	fi
	while read -r c; do
		[[ -n $c ]] && podman rm -f -t 2 "$c" >/dev/null 2>&1
	done < <(podman ps -aq --filter "label=podgw.io/ct=$CT_PREFIX" 2>/dev/null)
	podman network rm -f "$CT_NET" >/dev/null 2>&1 || true
	ct_service_stop
	rm -rf -- "$CT_STATE"
	rmdir "$CT_STATE_ROOT" 2>/dev/null || true
	return 0
}

ct_status() {
	if ! podman network exists "$CT_NET" 2>/dev/null; then
		echo "down (no network $CT_NET)"
		return 0
	fi
	echo "network $CT_NET $(podman network inspect -f '{{range .Subnets}}{{.Subnet}}{{end}}' "$CT_NET") internal"
	podman pod ps --filter "network=$CT_NET" --format '{{.Name}}	{{.Status}}	{{.NumberOfContainers}} containers'
	podman ps -a --filter "label=podgw.io/ct=$CT_PREFIX" --format '{{.Names}}	{{.Status}}'
	[[ -f $CT_STATE/gateways ]] &&
		echo "provisiond: http://$CT_LISTEN/ (CloudEvents; -H \"Authorization: Bearer \$(cat $CT_STATE/token/token)\")"
	return 0
}

# flow-lib.sh's hooks: a crawler's main container through podman exec, the
# replica its tunnel points at, and tcpdump from the host inside that
# replica's namespace (the image has no tcpdump).
ct_flow_setup() {
	# shellcheck disable=SC2034 # read by flow-lib.sh
	FLOW_URL=http://$CT_LISTEN/
	# shellcheck disable=SC2034 # read by flow-lib.sh
	FLOW_TOKEN_FILE=$CT_STATE/token/token
	FLOW_DIR=$CT_STATE/flow
	mkdir -p "$FLOW_DIR"
}

flow_crawler_exec() {
	local pod=$1 c
	shift
	c=$(ct_pod_container "$pod" crawler) || return 1
	podman exec "$c" "$@"
}

flow_crawler_replica() {
	ct_crawler_replica "$@"
}

flow_gateway_tcpdump() {
	local gw=$1 seconds=$2 pid replica
	shift 2
	replica=${FLOW_REPLICA:-$(ct_replicas "$gw" | head -n 1)}
	pid=$(ct_infra_pid "$replica") || return 1
	timeout -s INT "$seconds" nsenter -t "$pid" -n tcpdump -i eth0 "$@"
}

# The EXIT trap of the container tests: on a failure the last words of
# LOGCONTAINER, then everything of the prefix (every gateway replica, every
# crawler pod, the network, the service) and the image tags of the run.
CT_SNAPSHOTS=()
ct_test_cleanup() {
	local rc=$1 log=$2 img
	trap - EXIT INT TERM
	set +e
	if ((rc != 0 && rc != 77)) && [[ -n $log ]]; then
		echo "---- $log ----" >&2
		podman logs "$log" 2>&1 | tail -n 30 >&2
	fi
	ct_down
	for img in "${CT_SNAPSHOTS[@]}"; do
		podman untag "$img" "$img" >/dev/null 2>&1
	done
	return "$rc"
}

# The images under names of this run (CT_IMAGE and CT_CRAWLER_IMAGE are
# switched to them): a rebuild of the shared tags while a test runs
# (another checkout's images.sh) cannot swap them underneath.
ct_snapshot_images() {
	local img snap
	for img in "$CT_IMAGE" "$CT_CRAWLER_IMAGE"; do
		snap=localhost/${CT_PREFIX%-}/${img##*/}
		podman tag "$img" "$snap" || return 1
		CT_SNAPSHOTS+=("$snap")
	done
	CT_IMAGE=${CT_SNAPSHOTS[0]}
	CT_CRAWLER_IMAGE=${CT_SNAPSHOTS[1]}
}
