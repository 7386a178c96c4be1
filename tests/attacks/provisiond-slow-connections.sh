#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): 300 slow connections from one address, each sending a
# request's headers a line every 2 s and never finishing them. provisiond
# used a thread per connection: 258 threads, its 256 connections taken, and
# /healthz timed out. Now one thread polls every connection, one address
# gets MAX_CONNECTIONS_PER_IP (64) and the rest are closed: /healthz, asked
# from another address meanwhile, keeps answering, and the thread count
# stays small.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

if ! command -v curl >/dev/null 2>&1 || [[ -z $T_PYTHON ]]; then
	echo "SKIP: $T_NAME: needs curl and python3"
	exit 77
fi
SLOW=300 SECONDS_HELD=16 ASKS=10
# A port of our own on loopback; the attacker comes from 127.0.0.2.
LAB_PROVISIOND_LISTEN=127.0.0.1:$((20000 + ($$ + 7) % 20000))

lab_create_base
lab_start_provisiond foo || fail "provisiond did not start"
pid=$LAB_PID

"$T_PYTHON" -u "$PODGW_SRC/tests/attacks/slowhttp.py" hold 127.0.0.1 \
	"${LAB_PROVISIOND_LISTEN#*:}" 127.0.0.2 "$SLOW" "$SECONDS_HELD" >"$LAB_STATE/slow.out" 2>&1 &
slow_pid=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^opened' "$LAB_STATE/slow.out" && break
	sleep 0.2
done
answered=0 threads_max=0
for ((i = 0; i < ASKS; i++)); do
	if curl -sS -m 3 "http://$LAB_PROVISIOND_LISTEN/healthz" 2>/dev/null | grep -qx ok; then
		answered=$((answered + 1))
	fi
	threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status")
	((threads > threads_max)) && threads_max=$threads
	sleep 1
done
wait "$slow_pid" || true
opened=$(awk '$1 == "opened" { print $2 }' "$LAB_STATE/slow.out")
held=$(awk '$1 == "held" { print $2 }' "$LAB_STATE/slow.out")
echo "FIGURE: provisiond_slow_connections_opened = ${opened:-?}/$SLOW connections"
echo "FIGURE: provisiond_slow_connections_held = ${held:-?} connections"
echo "FIGURE: provisiond_healthz_answered = $answered/$ASKS requests"
echo "FIGURE: provisiond_threads_max = $threads_max threads"
((answered == ASKS)) || errors+=("/healthz answered $answered of $ASKS times under $SLOW slow connections")
((threads_max <= 8)) || errors+=("provisiond ran $threads_max threads under $SLOW slow connections")
[[ -n $held ]] && ((held <= 64)) || errors+=("one address held ${held:-?} slow connections (MAX_CONNECTIONS_PER_IP is 64)")
lab_pid_alive "$pid" || errors+=("provisiond died")
t_report
pass "$SLOW slow connections: /healthz $answered/$ASKS, $threads_max threads, $held held"
