#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# images.sh: builds podgw's container images from containers/Containerfile
# with the first of podman, buildah or docker found (PODGW_BUILDER chooses):
#   localhost/podgw:VERSION          gatewayd, clientd (also as gateway-init and
#                                    gateway-sidecar), provisiond; FROM scratch
#   localhost/podgw-openvpn:VERSION  the VPN client of k8s/overlays/vpn
#   localhost/podgw-crawler:VERSION  an example crawler (busybox)
# VERSION is the project's (meson.build). The build stage starts from
# localhost/podgw-base:bookworm; when that image is absent it is made with
# mmdebstrap from Debian's archive (PODGW_DEBIAN_MIRROR, else deb.debian.org
# with updates and security) and imported. The build itself runs without
# network. PODGW_REBUILD_BASE=1 makes the base again. Needs root for
# mmdebstrap and rootful podman.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
version=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" meson.build | head -n 1)
registry=${PODGW_REGISTRY:-localhost}
base=localhost/podgw-base:bookworm

# The build dependencies, and the packages whose files the runtime images
# take (collect.sh copies them with their libraries).
base_packages=(
	gcc libc6-dev meson ninja-build pkg-config
	libnl-3-dev libnl-route-3-dev libnftnl-dev libmnl-dev libcap-ng-dev libsodium-dev
	libmicrohttpd-dev libjson-c-dev libcurl4-gnutls-dev
	ca-certificates openvpn iproute2 busybox-static iputils-ping
)
# The base carries this list's digest as a label: a changed list makes a
# new base.
base_label=podgw.base.packages
base_digest=$(printf '%s\n' "${base_packages[@]}" | sha256sum | cut -c1-16)

log() { echo "images.sh: $*" >&2; }

builder=${PODGW_BUILDER:-}
# Podman is the builder this project tests: a fresh Debian 12 machine gets
# it, runc and mmdebstrap from Debian (scripts/deps.sh) unless another
# builder is asked for (PODGW_BUILDER=docker or buildah).
if [[ -z $builder || $builder == podman ]]; then
	if ((EUID != 0)); then
		log "needs root (rootful podman, mmdebstrap); try: sudo $0"
		exit 1
	fi
	for tool in podman runc mmdebstrap; do
		command -v "$tool" >/dev/null 2>&1 || {
			"$src/scripts/deps.sh" containers >&2
			break
		}
	done
fi
if [[ -z $builder ]]; then
	for b in podman buildah docker; do
		if command -v "$b" >/dev/null 2>&1; then
			builder=$b
			break
		fi
	done
fi
if [[ -z $builder ]]; then
	log "no container builder found: install podman, buildah or docker (scripts/deps.sh)"
	exit 1
fi

# RUN steps get the builder's default rlimits (nofile 1048576), which runc
# cannot set above the hard limits it runs under ("error setting rlimits":
# here even nproc 65536 with a hard limit of 96367 failed, 4096 works);
# crun, podman's first choice, fails on some machines, so podman uses runc.
hard() { # ulimit flag
	local v
	v=$(ulimit -H "$1")
	[[ $v == unlimited ]] && v=4096
	echo $((v < 4096 ? v : 4096))
}
nofile=$(hard -n)
nproc=$(hard -u)
flags=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" --network none)
[[ $builder == podman ]] && flags+=(--runtime runc)

base_current() {
	local label
	case $builder in
	buildah) label=$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$base_label\"}}" "$base" 2>/dev/null) ;;
	*) label=$("$builder" image inspect --format "{{index .Config.Labels \"$base_label\"}}" "$base" 2>/dev/null) ;;
	esac
	[[ $label == "$base_digest" ]]
}

make_base() {
	local tar ctr
	command -v mmdebstrap >/dev/null 2>&1 || {
		log "$base is missing and mmdebstrap is not installed (scripts/deps.sh installs it)"
		exit 1
	}
	log "$base is missing or outdated: making it with mmdebstrap (Debian 12 minbase and the build dependencies; a few minutes)"
	tar=$(mktemp --tmpdir podgw-base.XXXXXX.tar)
	trap 'rm -f "$tar"' EXIT
	local mirror=()
	[[ -n ${PODGW_DEBIAN_MIRROR:-} ]] && mirror=("$PODGW_DEBIAN_MIRROR")
	mmdebstrap --quiet --variant=minbase --include="$(
		IFS=,
		echo "${base_packages[*]}"
	)" bookworm "$tar" "${mirror[@]}"
	case $builder in
	buildah)
		ctr=$(buildah from scratch)
		buildah add "$ctr" "$tar" / >/dev/null
		buildah config --label "$base_label=$base_digest" "$ctr"
		buildah commit --rm "$ctr" "$base" >/dev/null
		;;
	*) "$builder" import --change "LABEL $base_label=$base_digest" \
		--message "podgw build base: mmdebstrap bookworm minbase" "$tar" "$base" >/dev/null ;;
	esac
	rm -f "$tar"
	trap - EXIT
	log "made $base"
}

if [[ ${PODGW_REBUILD_BASE:-0} == 1 ]] || ! base_current; then
	make_base
fi

build() { # target image
	local target=$1 image=$2
	log "$builder: $image (target $target)"
	case $builder in
	buildah) buildah bud "${flags[@]}" -f containers/Containerfile --target "$target" -t "$image" . ;;
	*) "$builder" build "${flags[@]}" -f containers/Containerfile --target "$target" -t "$image" . ;;
	esac
}

images=()
for t in podgw:podgw openvpn:podgw-openvpn crawler:podgw-crawler; do
	build "${t%%:*}" "$registry/${t#*:}:$version"
	images+=("$registry/${t#*:}:$version")
done
log "built ${images[*]}"
