# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# pv_sdk_install CACHE LOG: the CloudEvents JavaScript SDK (npm `cloudevents`)
# in CACHE/node_modules, installed once. Returns 77 (skip) without node/npm
# or when the registry cannot be reached, with the reason on stdout.
pv_sdk_install() {
	local cache=$1 log=$2 tool
	for tool in node npm; do
		command -v "$tool" >/dev/null 2>&1 || {
			echo "$tool is not installed (scripts/deps.sh nodejs npm)"
			return 77
		}
	done
	[[ -d $cache/node_modules/cloudevents ]] && return 0
	mkdir -p "$cache"
	echo "installing the cloudevents SDK into $cache"
	if ! timeout 240 npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
		cloudevents@^10 >"$log" 2>&1; then
		cat "$log"
		echo "npm install cloudevents failed (no registry?)"
		return 77
	fi
}
