#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The CloudEvents JavaScript SDK (npm `cloudevents`) as a real client in
# structured mode (and binary), against provisiond on loopback with the
# kubernetes backend and the API stand-in. The SDK is installed by this test
# into PODGW_NPM_CACHE (under the build dir); no node/npm, or no registry:
# skipped (77).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for t_tool in node npm; do
	command -v "$t_tool" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t_tool is not installed (scripts/deps.sh nodejs npm)"
		exit 77
	}
done
cache=${PODGW_NPM_CACHE:-$PODGW_BUILD/tests/provisiond/npm}
if [[ ! -d $cache/node_modules/cloudevents ]]; then
	mkdir -p "$cache"
	info "installing the cloudevents SDK into $cache"
	if ! timeout 240 npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
		cloudevents@^10 >"$T_DIR/npm.log" 2>&1; then
		cat "$T_DIR/npm.log"
		echo "SKIP: $T_NAME: npm install cloudevents failed (no registry?)"
		exit 77
	fi
fi
info "cloudevents SDK $(node -p "require('$cache/node_modules/cloudevents/package.json').version")"

t_start_recorder
t_start_provisiond
NODE_PATH=$cache/node_modules timeout 60 node "$PODGW_SRC/tests/provisiond/js-client.js" "$URL" ||
	fail "the SDK client failed"
[[ $(wc -l <"$KUBE_RECORD") == 1 ]] || fail "expected 1 pod created, the API saw $(wc -l <"$KUBE_RECORD")"
pass
