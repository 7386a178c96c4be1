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

# shellcheck source-path=SCRIPTDIR source=sdk.sh
. "$(dirname "$0")/sdk.sh"
cache=${PODGW_NPM_CACHE:-$PODGW_BUILD/tests/provisiond/npm}
sdk_rc=0
pv_sdk_install "$cache" "$T_DIR/npm.log" || sdk_rc=$?
if ((sdk_rc != 0)); then
	echo "SKIP: $T_NAME: see above"
	exit 77
fi
info "cloudevents SDK $(node -p "require('$cache/node_modules/cloudevents/package.json').version")"

t_start_recorder
t_start_provisiond
PROVISIOND_TOKEN=$EVENT_TOKEN NODE_PATH=$cache/node_modules timeout 60 node "$PODGW_SRC/tests/provisiond/js-client.js" "$URL" ||
	fail "the SDK client failed"
[[ $(wc -l <"$KUBE_RECORD") == 1 ]] || fail "expected 1 pod created, the API saw $(wc -l <"$KUBE_RECORD")"
pass
