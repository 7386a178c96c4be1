#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deps.sh: installs what building and testing podgw needs on Debian 12.
# Quick when everything is there already (no apt run at all).
# Extra package names may be given as arguments (e.g. shellcheck); the
# argument "containers" stands for what scripts/images.sh and the containers
# test suite need: rootful podman with runc (crun, podman's first choice,
# fails on some machines), CNI networking (podman on Debian 12 needs a
# network stack: containernetworking-plugins, whose firewall plugin calls
# iptables), mmdebstrap for the build base, catatonit for podman's own pause
# image, a static busybox as a test image and python3-yaml for rendered
# manifests. No uidmap, slirp4netns or fuse-overlayfs: nothing runs rootless.
set -euo pipefail

extra=()
for arg in "$@"; do
	if [[ $arg == containers ]]; then
		extra+=(podman runc containernetworking-plugins iptables mmdebstrap catatonit busybox-static
			python3-yaml)
	else
		extra+=("$arg")
	fi
done

packages=(
	build-essential meson ninja-build pkg-config
	libnl-3-dev libnl-route-3-dev libnftnl-dev libmnl-dev libcap-ng-dev libsodium-dev
	libmicrohttpd-dev # gatewayd's /metrics, /healthz, /readyz and status socket
	nftables iproute2 tcpdump iputils-ping procps libcap2-bin
	libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev curl python3 # provisiond and its tests
	openssl python3-yaml # the webhook's test certificates and rendered examples
	clang libclang-rt-dev # fuzzers: libFuzzer and the sanitizer runtimes
	"${extra[@]}"
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [[ $status != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps.sh: all ${#packages[@]} packages are installed" >&2
	exit 0
fi

if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- "$0" "$@"
	fi
	echo "deps.sh: must run as root (missing: ${missing[*]})" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
