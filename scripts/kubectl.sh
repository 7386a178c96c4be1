#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kubectl.sh: makes sure a kubectl with kustomize (v1.27 or later) is on PATH
# for the offline manifest tests. Debian 12's kubernetes-client (1.20) is
# too old, so a missing one is fetched from dl.k8s.io and checked against
# the published SHA-256 into /usr/local/bin.
set -euo pipefail

version=${PODGW_KUBECTL_VERSION:-v1.31.4}

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
	exit 0
fi
if ((EUID != 0)); then
	echo "kubectl.sh: no usable kubectl, and installing one needs root" >&2
	exit 1
fi
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*)
	echo "kubectl.sh: no kubectl build for $(uname -m)" >&2
	exit 1
	;;
esac
url=https://dl.k8s.io/release/$version/bin/linux/$arch/kubectl
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
echo "kubectl.sh: fetching kubectl $version from $url" >&2
if ! curl -fsSL -o "$tmp/kubectl" "$url" || ! curl -fsSL -o "$tmp/kubectl.sha256" "$url.sha256"; then
	echo "kubectl.sh: could not download kubectl $version (install one by hand)" >&2
	exit 1
fi
if ! echo "$(<"$tmp/kubectl.sha256")  $tmp/kubectl" | sha256sum --check --status; then
	echo "kubectl.sh: kubectl $version does not match its published SHA-256" >&2
	exit 1
fi
install -m 0755 "$tmp/kubectl" /usr/local/bin/kubectl
