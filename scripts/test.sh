#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test.sh: the one command that runs podgw's tests on a fresh Debian 12
# machine. Installs what it needs, builds, runs every test (namespace tests
# need root and are skipped without it), then repeats the unit tests under
# AddressSanitizer + UndefinedBehaviorSanitizer. Ends with one line:
# "N passed, N failed, N skipped".
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

# iperf3 and ethtool: the benchmark runner's smoke test (tests/bench); dnsmasq-base:
# the DNS servers of tests/ns/dns-tunnel.sh. The Kubernetes manifests
# (tests/k8s) need shellcheck and a recent kubectl (fetched when missing;
# without one the k8s test fails and says so); they and provisiond's
# CloudEvents JavaScript SDK test need Node.js with npm (a node that brings
# its own npm is kept). prometheus: promtool, which tests/ns/observability.sh
# checks /metrics with. "containers": podman, runc, mmdebstrap and CNI for
# the containers suite (tests/containers), which builds the images.
extra=(iperf3 ethtool dnsmasq-base shellcheck curl ca-certificates prometheus containers)
command -v npm >/dev/null 2>&1 || extra+=(nodejs npm)
"$src/scripts/deps.sh" "${extra[@]}"
"$src/scripts/kubectl.sh" || echo "test.sh: no kubectl: the k8s test will fail" >&2

build=${PODGW_BUILD_DIR:-build}
asan=${PODGW_ASAN_BUILD_DIR:-build-asan}
fuzz=${PODGW_FUZZ_BUILD_DIR:-build-fuzz}
fuzz_seconds=${PODGW_FUZZ_SECONDS:-20}

setup() { # dir [meson options...]
	local dir=$1
	shift
	if [[ -f $dir/build.ninja ]]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	meson compile -C "$dir"
}

setup "$build"
setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false
# clang builds everything once more (its warnings are errors too), with
# -Dfuzz=true every library coverage-instrumented for libFuzzer and under
# ASan and UBSan, and runs each libFuzzer target for a bounded time.
CC=clang setup "$fuzz" -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds"

status=0
meson test -C "$build" --print-errorlogs || status=1
# Sanitizers catch memory errors the ordinary build hides; the namespace
# tests already ran the daemons above, so only the unit suite runs here.
meson test -C "$asan" --suite unit --print-errorlogs || status=1
meson test -C "$fuzz" --suite fuzz --print-errorlogs || status=1

python3 - "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" \
	"$fuzz/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif result == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')
PY
exit $status
