#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gatewayd's client events to K_SINK (CloudEvents, HTTP binary mode). A small
# recording HTTP server (sinkrec.py) runs in gateway foo's namespace on
# 127.0.0.1, and gatewayd gets K_SINK=http://127.0.0.1:PORT/:
# - a bad K_SINK or K_CE_OVERRIDES: gatewayd exits 2 and creates nothing;
# - a crawler joining: one io.podgateway.client.connected with the right
#   headers (K_CE_OVERRIDES' extension included) and data; its keepalives
#   (renewals) send nothing more;
# - SIGTERM to its `clientd run`: one ...disconnected, reason released;
# - a crawler killed with SIGKILL: ...disconnected, reason expired;
# - the sink down (connection refused): the join is as fast as with a sink,
#   one warning line, the event is tried PG_EVENTS_ATTEMPTS (5) times and
#   dropped; a later event gets through and "delivering again" is logged;
# - a sink that accepts and never answers: joins are not delayed (times
#   printed), the post times out after 5 s, is retried, and arrives once a
#   working sink is back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: python3 is not installed"
	exit 77
}

PORT=18080
SINKREC=$(dirname "$0")/sinkrec.py
REC=$LAB_STATE/sink.jsonl
LOG=$LAB_STATE/foo.gatewayd.log
err() { errors+=("$*"); }
check_errors() {
	t_report
}
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

lab_create_base
lab_add_gateway foo 10.244.0.2
gw=$(lab_ns foo)

# ---- bad settings: exit 2, one line, nothing created ----
for bad in "ftp://sink/" "http://" "127.0.0.1:$PORT"; do
	rc=0
	out=$(K_SINK=$bad timeout 10 ip netns exec "$gw" "$GATEWAYD" --leases-file "" 2>&1) || rc=$?
	((rc == 2)) || err "K_SINK='$bad': gatewayd exited $rc, not 2: $out"
	grep -q "K_SINK: '$bad': " <<<"$out" || err "K_SINK='$bad': no \"K_SINK: '$bad': why\" line: $out"
done
rc=0
out=$(K_SINK=http://127.0.0.1:$PORT/ K_CE_OVERRIDES='{"extensions":{"Bad":"x"}}' \
	timeout 10 ip netns exec "$gw" "$GATEWAYD" --leases-file "" 2>&1) || rc=$?
((rc == 2)) || err "a bad K_CE_OVERRIDES: gatewayd exited $rc, not 2: $out"
grep -q "K_CE_OVERRIDES: '.*': extension 'Bad'" <<<"$out" || err "a bad K_CE_OVERRIDES: no clear line: $out"
if ip -n "$gw" link show vxlan0 >/dev/null 2>&1 || ip netns exec "$gw" nft list tables | grep -q podgw; then
	err "a refused start left vxlan0 or a podgw table in foo"
fi
check_errors
info "bad K_SINK and K_CE_OVERRIDES: exit 2 with the reason, nothing created"

# ---- the recording sink ----
sink_pid=
sink_start() { # record | hang
	local mode=$1 fifo=$LAB_STATE/sink.ready line=
	rm -f "$fifo"
	mkfifo "$fifo"
	if [[ $mode == record ]]; then
		ip netns exec "$gw" python3 "$SINKREC" record "$PORT" "$REC" >"$fifo" 2>>"$LAB_STATE/sinkrec.log" &
	else
		ip netns exec "$gw" python3 "$SINKREC" hang "$PORT" >"$fifo" 2>>"$LAB_STATE/sinkrec.log" &
	fi
	sink_pid=$!
	read -r -t 10 line <"$fifo" || true
	[[ $line == ready ]] || fail "sinkrec $mode did not start"
}
sink_stop() {
	[[ -n $sink_pid ]] || return 0
	lab_stop_pid "$sink_pid" TERM 5 || true
	sink_pid=
}
# count TYPE [POD [REASON]]: recorded events of that type (and pod, reason)
count() {
	[[ -s $REC ]] || {
		echo 0
		return
	}
	python3 - "$REC" "$@" <<'EOF'
import json, sys
path, typ = sys.argv[1], sys.argv[2]
pod = sys.argv[3] if len(sys.argv) > 3 else None
reason = sys.argv[4] if len(sys.argv) > 4 else None
n = 0
for line in open(path, encoding="utf-8"):
    r = json.loads(line)
    if r["headers"].get("ce-type") != "io.podgateway.client." + typ:
        continue
    d = json.loads(r["body"])
    if pod and d.get("pod_name") != pod:
        continue
    if reason and d.get("reason") != reason:
        continue
    n += 1
print(n)
EOF
}
# shellcheck disable=SC2317 # called through lab_wait_for
has_event() { (($(count "$@") > 0)); }

sink_start record
lab_start_gatewayd foo --lease-time 3 --k-sink "http://127.0.0.1:$PORT/" \
	--events-gateway-name foo --k-ce-overrides '{"extensions":{"team":"crawl"}}' ||
	fail "gatewayd with K_SINK did not become ready"
gwd_pid=$LAB_PID
grep -q "K_SINK: 'http://127.0.0.1:$PORT/': posting client events as source /podgw/gatewayd/foo" "$LOG" ||
	err "gatewayd's log does not name K_SINK and the source"

# ---- connected ----
lab_add_pod crawler-1 10.244.0.11
t0=$EPOCHREALTIME
lab_start_clientd_run crawler-1 foo - || fail "clientd run in crawler-1 did not become ready"
join_ok=$(ms_since "$t0")
run1=$LAB_PID
addr=$(t_overlay_addr crawler-1)
mac=$(t_link_mac crawler-1)
lab_wait_for 5 has_event connected crawler-1 || fail "no connected event for crawler-1 within 5 s"
sleep 1 # keepalives every 250 ms: renewals must not post
n=$(count connected)
((n == 1)) || err "$n connected events after crawler-1 joined and renewed for 1 s, not 1"
check=$(python3 - "$REC" "$addr" "$mac" <<'EOF'
import json, re, sys
r = json.loads(open(sys.argv[1], encoding="utf-8").readline())
h, d = r["headers"], json.loads(r["body"])
want_h = {"ce-specversion": "1.0", "ce-type": "io.podgateway.client.connected",
          "ce-source": "/podgw/gatewayd/foo", "ce-subject": "default/crawler-1",
          "content-type": "application/json", "ce-team": "crawl"}
want_d = {"pod_name": "crawler-1", "namespace": "default", "gateway_name": "foo",
          "overlay_address": sys.argv[2], "pod_ip": "10.244.0.11", "mac": sys.argv[3].lower()}
bad = [f"{k}: {h.get(k)!r} != {v!r}" for k, v in want_h.items() if h.get(k) != v]
bad += [f"data.{k}: {d.get(k)!r} != {v!r}" for k, v in want_d.items() if d.get(k) != v]
if not re.fullmatch(r"[0-9a-f]{32}-[0-9]+", h.get("ce-id", "")):
    bad.append(f"ce-id {h.get('ce-id')!r}")
if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", h.get("ce-time", "")):
    bad.append(f"ce-time {h.get('ce-time')!r}")
if "reason" in d:
    bad.append("a connected event with a reason")
print("; ".join(bad) if bad else "ok", "|", "Ce-Id", h.get("ce-id"), "Ce-Time", h.get("ce-time"), r["body"])
EOF
)
info "connected: $check"
[[ $check == ok* ]] || err "connected event: $check"
check_errors

# ---- released ----
lab_stop_pid "$run1" TERM 10 || fail "clientd run did not exit on SIGTERM"
lab_wait_for 5 has_event disconnected crawler-1 released ||
	err "no disconnected event (reason released) for crawler-1 within 5 s of its SIGTERM"

# ---- expired ----
lab_add_pod crawler-2 10.244.0.12
lab_start_clientd_run crawler-2 foo - || fail "clientd run in crawler-2 did not become ready"
lab_wait_for 5 has_event connected crawler-2 || err "no connected event for crawler-2"
lab_stop_pid "$LAB_PID" KILL 5 || true
lab_wait_for 8 has_event disconnected crawler-2 expired ||
	err "no disconnected event (reason expired) for crawler-2 within 8 s of its SIGKILL (LEASE_TIME 3)"
ids=$(python3 -c 'import json,sys; print(len({json.loads(l)["headers"]["ce-id"] for l in open(sys.argv[1])}), sum(1 for _ in open(sys.argv[1])))' "$REC")
[[ $(cut -d' ' -f1 <<<"$ids") == $(cut -d' ' -f2 <<<"$ids") ]] || err "Ce-Id repeats: $ids (unique, total)"
check_errors
info "released and expired: one disconnected event each, $(cut -d' ' -f2 <<<"$ids") events with unique ids"

# ---- sink down: connection refused ----
sink_stop
lab_add_pod crawler-3 10.244.0.13
t0=$EPOCHREALTIME
lab_start_clientd_run crawler-3 foo - || fail "clientd run in crawler-3 did not become ready with the sink down"
join_down=$(ms_since "$t0")
dropped() { grep -q "K_SINK: dropped the connected event of default/crawler-3: .*(out of attempts)" "$LOG"; }
t0=$EPOCHREALTIME
lab_wait_for 12 dropped || err "the connected event of crawler-3 was not dropped after 5 attempts within 12 s"
drop_ms=$(ms_since "$t0")
n=$(grep -c "K_SINK: 'http://127.0.0.1:$PORT/': .*Couldn't connect\|K_SINK: 'http://127.0.0.1:$PORT/': .*onnection refused" "$LOG" || true)
((n == 1)) || err "$n warning lines for the refused connections, not 1: $(grep 'K_SINK' "$LOG" | tr '\n' '|')"
sink_start record
lab_add_pod crawler-4 10.244.0.14
lab_start_clientd_run crawler-4 foo - || fail "clientd run in crawler-4 did not become ready"
lab_wait_for 5 has_event connected crawler-4 || err "no connected event for crawler-4 once the sink is back"
grep -q "K_SINK: 'http://127.0.0.1:$PORT/': delivering again" "$LOG" || err "no 'delivering again' line"
(($(count connected crawler-3) == 0)) || err "crawler-3's event arrived although it was dropped"
check_errors
info "sink down: join in $join_down ms (with a sink: $join_ok ms), one warning line, the event dropped after 5 attempts ($drop_ms ms), the next one delivered"

# ---- sink hangs ----
sink_stop
sink_start hang
lab_add_pod crawler-5 10.244.0.15
lab_add_pod crawler-6 10.244.0.16
t0=$EPOCHREALTIME
lab_start_clientd_run crawler-5 foo - || fail "clientd run in crawler-5 did not become ready with a hanging sink"
join_hang5=$(ms_since "$t0")
t0=$EPOCHREALTIME
lab_start_clientd_run crawler-6 foo - || fail "clientd run in crawler-6 did not become ready with a hanging sink"
join_hang6=$(ms_since "$t0")
timedout() { grep -q "K_SINK: 'http://127.0.0.1:$PORT/': .*imed out" "$LOG"; }
lab_wait_for 8 timedout || err "no timeout warning within 8 s of posting to a sink that never answers"
sink_stop
sink_start record
lab_wait_for 15 has_event connected crawler-6 ||
	err "crawler-5/6's connected events did not arrive within 15 s of a working sink"
(($(count connected crawler-5) == 1)) || err "crawler-5's connected event: $(count connected crawler-5) recorded, not 1"
order=$(python3 -c 'import json,sys; print(" ".join(json.loads(json.loads(l)["body"])["pod_name"] for l in open(sys.argv[1])))' "$REC")
[[ $order == *"crawler-5 crawler-6"* ]] || err "events out of order: $order"
check_errors
info "sink hangs: joins in $join_hang5 ms and $join_hang6 ms (with a sink: $join_ok ms); the post timed out after 5 s, was retried and arrived"
for ms in "$join_down" "$join_hang5" "$join_hang6"; do
	((ms < join_ok + 1500)) || err "a join took $ms ms with a broken sink, $join_ok ms with a working one"
done

# ---- stop: the summary line ----
lab_stop_pid "$gwd_pid" TERM 10 || err "gatewayd did not exit within 10 s of SIGTERM"
[[ $LAB_RC == 0 ]] || err "gatewayd exited $LAB_RC on SIGTERM"
summary=$(grep "K_SINK: events delivered" "$LOG" || true)
[[ -n $summary ]] || err "no summary line at exit"
info "order: $order"
info "gatewayd's K_SINK lines:"
grep 'K_SINK' "$LOG" | sed 's/^/    /'
info "${summary#*: }"
sink_stop
check_errors
pass "connected/disconnected events with the right headers and data; a refused or hanging sink does not delay joins"
