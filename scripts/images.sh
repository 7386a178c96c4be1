#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# images.sh: builds podgw's container images from containers/Containerfile
# with the first of podman, buildah or docker found (PODGW_BUILDER chooses):
#   localhost/podgw:VERSION          gatewayd, clientd (and the admission
#                                    controller wrappers gateway-init/-sidecar)
#   localhost/podgw-openvpn:VERSION  the VPN client of k8s/overlays/vpn
# VERSION is the project's (meson.build). Exits 1 saying so when no builder
# is installed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
version=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" meson.build | head -n 1)
registry=${PODGW_REGISTRY:-localhost}

builder=${PODGW_BUILDER:-}
if [[ -z $builder ]]; then
	for b in podman buildah docker; do
		if command -v "$b" >/dev/null 2>&1; then
			builder=$b
			break
		fi
	done
fi
if [[ -z $builder ]]; then
	echo "images.sh: no container builder found: install podman, buildah or docker" >&2
	exit 1
fi

build() { # target image
	local target=$1 image=$2
	echo "images.sh: $builder: $image (target $target)" >&2
	case $builder in
	buildah) buildah bud -f containers/Containerfile --target "$target" -t "$image" . ;;
	*) "$builder" build -f containers/Containerfile --target "$target" -t "$image" . ;;
	esac
}

build podgw "$registry/podgw:$version"
build openvpn "$registry/podgw-openvpn:$version"
echo "images.sh: built $registry/podgw:$version and $registry/podgw-openvpn:$version" >&2
