#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14, on the webhook of issue 15): 300 connections from one
# address that never start their TLS handshake. The webhook ran a thread per
# connection with a 30 s idle timeout and no per-address limit, so they held
# its connections and threads; the webhook fails closed, so every pod asking
# for a gateway would have been refused meanwhile. Now one thread polls every
# connection, one address gets MAX_CONNECTIONS_PER_IP (64) and idle ones are
# closed after CONNECTION_TIMEOUT: /healthz over TLS, asked from another
# address meanwhile, keeps answering. Loopback only.
set -euo pipefail

T_NAME=webhook-slow-connections
src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PODGW_BUILD:-$src/build}
# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$src/tests/report.sh"
for t in curl openssl python3; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t is not installed (scripts/test.sh installs it)"
		exit 77
	}
done
provisiond=$build/provisiond/provisiond
[[ -x $provisiond ]] || fail "build provisiond first"
SLOW=300 SECONDS_HELD=16 ASKS=10

work=$(mktemp -d /tmp/podgw-webhook-slow.XXXXXX)
pid='' slow_pid=''
# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	local rc=$?
	[[ -n $slow_pid ]] && kill "$slow_pid" 2>/dev/null
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	((rc == 0)) || tail -n 20 "$work/log" >&2 || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

"$src/scripts/webhook-cert.sh" "$work/tls" --ip 127.0.0.1 2>/dev/null || fail "webhook-cert.sh failed"
"$provisiond" webhook --gateways "foo bar" --listen 127.0.0.1:0 --ready-file "$work/ready" \
	--webhook-tls-cert-file "$work/tls/tls.crt" --webhook-tls-key-file "$work/tls/tls.key" \
	2>"$work/log" &
pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $work/ready ]] && break
	kill -0 "$pid" 2>/dev/null || fail "the webhook exited: $(cat "$work/log")"
	sleep 0.1
done
[[ -s $work/ready ]] || fail "the webhook wrote no READY_FILE"
listen=$(<"$work/ready")
listen=${listen%$'\n'}

python3 -u "$src/tests/attacks/slowhttp.py" idle 127.0.0.1 "${listen##*:}" 127.0.0.2 \
	"$SLOW" "$SECONDS_HELD" >"$work/slow.out" 2>&1 &
slow_pid=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^opened' "$work/slow.out" && break
	sleep 0.2
done
answered=0 threads_max=0
for ((i = 0; i < ASKS; i++)); do
	if [[ $(curl --cacert "$work/tls/ca.crt" -sS -m 3 "https://$listen/healthz" 2>/dev/null) == ok ]]; then
		answered=$((answered + 1))
	fi
	threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status")
	((threads > threads_max)) && threads_max=$threads
	sleep 1
done
wait "$slow_pid" || true
slow_pid=
opened=$(awk '$1 == "opened" { print $2 }' "$work/slow.out")
held=$(awk '$1 == "held" { print $2 }' "$work/slow.out")
echo "FIGURE: webhook_idle_connections_opened = ${opened:-?}/$SLOW connections"
echo "FIGURE: webhook_idle_connections_held = ${held:-?} connections (after $SECONDS_HELD s)"
echo "FIGURE: webhook_healthz_answered = $answered/$ASKS requests"
echo "FIGURE: webhook_threads_max = $threads_max threads"
errors=()
((answered == ASKS)) || errors+=("/healthz answered $answered of $ASKS times under $SLOW idle connections")
((threads_max <= 8)) || errors+=("the webhook ran $threads_max threads under $SLOW idle connections")
[[ -n $held ]] && ((held == 0)) || errors+=("${held:-?} idle connections still held after $SECONDS_HELD s (CONNECTION_TIMEOUT is 10 s)")
kill -0 "$pid" 2>/dev/null || errors+=("the webhook died")
((${#errors[@]} == 0)) || fail "${errors[*]}"
pass "$SLOW idle connections: /healthz $answered/$ASKS, $threads_max threads, $held held after $SECONDS_HELD s"
