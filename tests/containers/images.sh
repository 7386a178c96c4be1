#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The images as they run: builds them with scripts/images.sh (podman's layer
# cache makes an unchanged rebuild quick, a changed source is rebuilt), then
# in podman + runc runs each executable, starts gatewayd in a container as
# the manifests do (user 0, NET_ADMIN only, no-new-privileges, read-only
# root, ip_forward), waits for /readyz, routes a client container through it
# with gateway-init, keeps another with gateway-sidecar checked by `clientd
# check`, and pings the gateway's overlay address through the tunnel from
# the crawler image sharing that client's network namespace; then an
# OpenVPN tunnel between two containers of the openvpn image. Everything runs
# on an --internal podman network of its own; traffic goes only between
# these containers. Needs root and podman (exit 77 otherwise).
set -euo pipefail

T_NAME=images
if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root (rootful podman)"
	exit 77
fi
for tool in podman runc mmdebstrap nsenter curl timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $T_NAME: $tool is not installed (scripts/deps.sh installs it)"
		exit 77
	fi
done

src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
version=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
img=localhost/podgw:$version
ovpn=localhost/podgw-openvpn:$version
crawler=localhost/podgw-crawler:$version
prefix="pgc$$-"
net=${prefix}net
work=$(mktemp -d --tmpdir podgw-containers.XXXXXX)
failures=0

fail() {
	echo "FAIL: $T_NAME: $*" >&2
	failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

ours() { podman ps -a --format '{{.Names}}' | grep "^$prefix" || true; }

cleanup() {
	local rc=$? c
	trap - EXIT INT TERM
	set +e
	for c in $(ours); do
		podman rm -f -t 2 "$c" >/dev/null 2>&1
	done
	podman network rm -f "$net" >/dev/null 2>&1
	rm -rf "$work"
	if [[ -n $(ours) ]] || podman network exists "$net" 2>/dev/null; then
		echo "FAIL: $T_NAME: left behind: $(ours | tr '\n' ' ') $net" >&2
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# runc, and rlimits within the hard limits (scripts/images.sh says why).
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nofile == unlimited || $nofile -gt 4096 ]] && nofile=4096
[[ $nproc == unlimited || $nproc -gt 4096 ]] && nproc=4096
P=(podman --runtime runc)
LIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
RUN=("${P[@]}" run --rm "${LIMITS[@]}")
# What the manifests give the daemons (k8s/base/gateway/deployment.yaml).
LOCKED=(--user 0:0 --cap-drop all --cap-add NET_ADMIN --security-opt no-new-privileges --read-only)

echo "== building the images (scripts/images.sh)"
if ! "$src/scripts/images.sh" >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	echo "FAIL: $T_NAME: scripts/images.sh failed" >&2
	exit 1
fi
grep '^images.sh:' "$work/build.log" || true
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
	grep -E "^localhost/podgw(-openvpn|-crawler|-base)?:" | sed 's/^/size: /'

echo "== each executable"
expect() { # description pattern command...
	local what=$1 pattern=$2 out
	shift 2
	if out=$("$@" 2>&1) && grep -qE -- "$pattern" <<<"$out"; then
		ok "$what"
	else
		fail "$what: wanted /$pattern/, got: $(head -n 5 <<<"$out")"
	fi
}
NONE=("${RUN[@]}" --network none)
expect "gatewayd --version" "^gatewayd $version\$" "${NONE[@]}" "$img" gatewayd --version
expect "clientd --version" "^clientd $version\$" "${NONE[@]}" "$img" clientd --version
expect "provisiond --help as 65532" "^usage: provisiond" "${NONE[@]}" --user 65532:65532 "$img" provisiond --help
expect "gateway-sidecar is clientd" "^Usage: gateway-sidecar init\|run\|check" "${NONE[@]}" "$img" gateway-sidecar --help
printf 'GATEWAY_NAME=gateway-settings-file.example\n' >"$work/settings.sh"
expect "gateway-init reads /config/settings.sh" 'GATEWAY_NAME="gateway-settings-file.example"' \
	"${NONE[@]}" -v "$work/settings.sh:/config/settings.sh:ro" "$img" gateway-init --check-config
if "${NONE[@]}" "$img" sh -c true >/dev/null 2>&1; then
	fail "the podgw image has a shell"
else
	ok "no shell in the podgw image"
fi
expect "openvpn --version" "^OpenVPN 2" "${NONE[@]}" "$ovpn" --version
expect "ip in the openvpn image" "^1: lo" "${NONE[@]}" --entrypoint /usr/bin/ip "$ovpn" link show dev lo
expect "crawler: ping as nobody without NET_RAW" " 1 received" "${NONE[@]}" \
	--cap-drop all --sysctl 'net.ipv4.ping_group_range=0 2147483647' "$crawler" ping -c 1 -W 5 127.0.0.1
expect "crawler: sh, wget, sleep" "^ok$" "${NONE[@]}" "$crawler" \
	sh -c 'command -v wget >/dev/null && sleep 0 && echo ok'

echo "== gatewayd in a container on network $net"
podman network create --internal "$net" >/dev/null
subnet=$(podman network inspect --format '{{range .Subnets}}{{.Subnet}} {{end}}' "$net" | awk '{print $1}')
(umask 077 && head -c 32 /dev/urandom >"$work/key")
KEY=(-v "$work/key:/etc/podgw/membership/key:ro" -e MEMBERSHIP_KEY_FILE=/etc/podgw/membership/key)
# K_SINK on the container's own loopback makes gatewayd load libcurl at
# start (dlopen); its events go nowhere but that loopback.
"${P[@]}" run -d --name "${prefix}gw" "${LIMITS[@]}" --network "$net" "${LOCKED[@]}" \
	--sysctl net.ipv4.ip_forward=1 --tmpfs /run/podgw --tmpfs /var/lib/podgw "${KEY[@]}" \
	-e UNDERLAY_INTERFACE=eth0 -e READY_FILE=/run/podgw/ready -e EVENTS_GATEWAY_NAME=test \
	-e K_SINK=http://127.0.0.1:9/ "$img" >/dev/null
gw_ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${prefix}gw")
gw_pid=$(podman inspect --format '{{.State.Pid}}' "${prefix}gw")
echo "gateway container: $gw_ip on $subnet"
ready=0
for _ in $(seq 1 60); do
	if [[ $(podman inspect --format '{{.State.Running}}' "${prefix}gw") != true ]]; then
		break
	fi
	# The host has no address on an internal network: curl runs in the
	# container's network namespace, towards the container's own address.
	if nsenter -t "$gw_pid" -n curl -fsS -m 2 "http://$gw_ip:9108/readyz" >"$work/readyz" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 1
done
if ((ready)); then
	ok "gatewayd /readyz: $(head -n 1 "$work/readyz")"
	expect "gatewayd /healthz" "^ok" nsenter -t "$gw_pid" -n curl -fsS -m 2 "http://$gw_ip:9108/healthz"
	# The shipped Deployment names its gateway with EVENTS_GATEWAY_NAME only.
	expect "metrics name the gateway" '^podgw_build_info\{.*gateway="test"' \
		nsenter -t "$gw_pid" -n curl -fsS -m 2 "http://$gw_ip:9108/metrics"
else
	fail "gatewayd never answered /readyz; its log:"
	podman logs "${prefix}gw" 2>&1 | tail -n 20 | sed 's/^/    /' >&2
	exit 1
fi
# conmon may write the log a moment after /readyz answers.
sink=0
for _ in $(seq 1 20); do
	if podman logs "${prefix}gw" 2>&1 | grep -q "K_SINK: .*posting client events"; then
		sink=1
		break
	fi
	sleep 0.5
done
if ((sink)); then
	ok "gatewayd loaded libcurl for K_SINK"
else
	fail "gatewayd did not load libcurl for K_SINK: $(podman logs "${prefix}gw" 2>&1 | grep -i curl)"
fi

echo "== clients: gateway-init, gateway-sidecar, the crawler through the tunnel"
CLIENT=("${LIMITS[@]}" --network "$net" "${LOCKED[@]}" --tmpfs /run/podgw "${KEY[@]}")
cat >"$work/client.sh" <<EOF
GATEWAY_NAME=$gw_ip
NOT_ROUTED_TO_GATEWAY_CIDRS=$subnet
POD_NAME=${prefix}init
POD_NAMESPACE=test
EOF
# init exits 0 only when routed through the gateway; a sidecar never exits.
if timeout 120 "${P[@]}" run --rm --name "${prefix}init" "${CLIENT[@]}" \
	-v "$work/client.sh:/config/settings.sh:ro" "$img" gateway-init >"$work/init.log" 2>&1; then
	ok "gateway-init: routed through the gateway"
else
	fail "gateway-init failed:"
	sed 's/^/    /' "$work/init.log" >&2
fi

"${P[@]}" run -d --name "${prefix}side" "${CLIENT[@]}" \
	--sysctl 'net.ipv4.ping_group_range=0 2147483647' \
	-e "GATEWAY_NAME=$gw_ip" -e "NOT_ROUTED_TO_GATEWAY_CIDRS=$subnet" -e "POD_NAME=${prefix}side" \
	-e POD_NAMESPACE=test -e READY_FILE=/run/podgw/ready "$img" gateway-sidecar >/dev/null
checked=0
for _ in $(seq 1 60); do
	# The probe of k8s/examples: the sidecar's own `clientd check`.
	if podman exec "${prefix}side" /usr/local/bin/clientd check >/dev/null 2>&1; then
		checked=1
		break
	fi
	sleep 1
done
if ((checked)); then
	ok "gateway-sidecar: clientd check passes"
	expect "crawler image pings the gateway's overlay address through the tunnel" \
		" [1-9] received" "${RUN[@]}" --network "container:${prefix}side" \
		--cap-drop all "$crawler" ping -c 3 -W 5 172.16.0.1
else
	fail "gateway-sidecar: clientd check never passed; its log:"
	podman logs "${prefix}side" 2>&1 | tail -n 20 | sed 's/^/    /' >&2
fi
if podman stop -t 10 "${prefix}side" >/dev/null &&
	[[ $(podman inspect --format '{{.State.ExitCode}}' "${prefix}side") == 0 ]]; then
	ok "gateway-sidecar: SIGTERM, exit 0"
else
	fail "gateway-sidecar did not stop cleanly"
fi
if podman stop -t 10 "${prefix}gw" >/dev/null &&
	[[ $(podman inspect --format '{{.State.ExitCode}}' "${prefix}gw") == 0 ]]; then
	ok "gatewayd: SIGTERM, exit 0"
else
	fail "gatewayd did not stop cleanly:"
	podman logs "${prefix}gw" 2>&1 | tail -n 20 | sed 's/^/    /' >&2
fi

echo "== openvpn: a static-key tunnel between two containers of the openvpn image"
# As k8s/overlays/vpn runs it: user 0, NET_ADMIN only, /dev/net/tun from the
# host; tun0 is set up by openvpn alone (no ip(8) call), probed with ip.
"${NONE[@]}" -v "$work:/out" "$ovpn" --genkey secret /out/vpn.key >/dev/null
chmod 0600 "$work/vpn.key"
VPN=("${LIMITS[@]}" --network "$net" "${LOCKED[@]}" --device /dev/net/tun
	-v "$work/vpn.key:/etc/openvpn/key:ro" "$ovpn" --dev tun0 --dev-type tun --proto udp
	--secret /etc/openvpn/key --cipher AES-256-CBC --auth SHA256 --verb 3)
"${P[@]}" run -d --name "${prefix}vpns" "${VPN[@]}" --ifconfig 10.8.0.1 10.8.0.2 --float >/dev/null
vpn_ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${prefix}vpns")
"${P[@]}" run -d --name "${prefix}vpnc" --sysctl 'net.ipv4.ping_group_range=0 2147483647' \
	"${VPN[@]}" --ifconfig 10.8.0.2 10.8.0.1 --remote "$vpn_ip" >/dev/null
up=0
for _ in $(seq 1 60); do
	# The probe of k8s/overlays/vpn.
	if podman exec "${prefix}vpnc" /usr/bin/ip link show dev tun0 >/dev/null 2>&1 &&
		podman logs "${prefix}vpnc" 2>&1 | grep -q "Initialization Sequence Completed"; then
		up=1
		break
	fi
	sleep 1
done
if ((up)); then
	ok "openvpn: tun0 up, the probe passes"
	expect "crawler image pings through the OpenVPN tunnel" " [1-9] received" \
		"${RUN[@]}" --network "container:${prefix}vpnc" --cap-drop all "$crawler" ping -c 3 -W 5 10.8.0.1
else
	fail "openvpn: no tunnel; the client's log:"
	podman logs "${prefix}vpnc" 2>&1 | tail -n 20 | sed 's/^/    /' >&2
fi

if ((failures)); then
	echo "FAIL: $T_NAME: $failures check(s) failed" >&2
	exit 1
fi
echo "PASS: $T_NAME"
