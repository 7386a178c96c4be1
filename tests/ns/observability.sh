#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Observability, checked against what was done in the lab:
#  - three crawlers joined: podgw_leases_active 3, the status table and its
#    JSON list them (pod, namespace, overlay address, pod IP, MAC, bytes);
#  - a crawler with the wrong key: podgw_rejections_total{reason="auth"} grows;
#  - a 20 x 1000-byte ping: the crawler's transmit and receive byte counters
#    grow by at least 20 kB; a table deleted by someone else and repaired
#    starts again from the last scrape's counts (never lower);
#  - /healthz and /readyz answer 200; promtool accepts the exposition;
#  - the replica (--replica-name foo-0) is named by
#    podgw_gateway_info{gateway,replica}, the status table's 'replica:' line
#    and its JSON;
#  - `clientd check --verbose` prints the sidecar's state;
#  - malformed requests, slowloris connections and a bounded connection
#    flood on the HTTP port leave the data path (every ping through the
#    tunnel answered) and membership (a join during the flood) alone.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed (it comes with meson)"
	exit 77
}
t_need_packages curl=curl promtool=prometheus

lab_create_base
key=$LAB_STATE/membership.key
other_key=$LAB_STATE/other.key
(
	umask 077
	head -c 32 /dev/urandom | base64 >"$key"
	head -c 32 /dev/urandom | base64 >"$other_key"
)
sock=$LAB_STATE/foo.status.sock
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --membership-key-file "$key" --status-socket "$sock" --lease-time 60 \
	--replica-name foo-0 ||
	fail "gatewayd in foo did not become ready"
url=http://10.244.0.2:9108
node=$(lab_ns node)

# scrape [PATH]: the body, from the node (not a client of the gateway).
scrape() {
	ip netns exec "$node" curl -sS -m 5 "$url${1:-/metrics}"
}
# metric NAME [LABEL-FILTER]: the value of one sample of the last scrape.
metric() {
	awk -v n="$1" -v f="${2:-}" '$1 == n || (index($1, n "{") == 1 && index($1, f) > 0) { print $2; exit }' "$LAB_STATE/metrics.txt"
}
scrape_to_file() {
	scrape /metrics >"$LAB_STATE/metrics.txt" || errors+=("GET /metrics failed")
}

# 1. Three crawlers joined.
pods=(crawler-1 crawler-2 crawler-3)
for i in 1 2 3; do
	lab_add_pod "crawler-$i" "10.244.0.1$i"
	lab_start_clientd_run "crawler-$i" foo - --membership-key-file "$key" \
		--state-file "$LAB_STATE/crawler-$i.state" ||
		fail "clientd run in crawler-$i did not become ready"
done
scrape_to_file
active=$(metric podgw_leases_active)
info "3 crawlers joined: podgw_leases_active $active, podgw_leases_total $(metric podgw_leases_total), podgw_joins_total $(metric podgw_joins_total), podgw_pool_free $(metric podgw_pool_free) of $(metric podgw_pool_size)"
[[ $active == 3 ]] || errors+=("podgw_leases_active is '$active' after 3 joins, not 3")
[[ $(metric podgw_leases_total) == 3 ]] || errors+=("podgw_leases_total is '$(metric podgw_leases_total)', not 3")
(($(metric podgw_pool_free) == $(metric podgw_pool_size) - 3)) || errors+=("podgw_pool_free is not podgw_pool_size - 3")
replica_info=$(metric podgw_gateway_info 'replica="foo-0"')
info "podgw_gateway_info{replica=\"foo-0\"} ${replica_info:-absent}"
[[ $replica_info == 1 ]] || errors+=("/metrics has no podgw_gateway_info{...,replica=\"foo-0\"} 1")
grep -q '^podgw_gateway_info{gateway="[^"]*",replica="foo-0"} 1$' "$LAB_STATE/metrics.txt" ||
	errors+=("podgw_gateway_info does not carry the gateway and replica labels: $(grep podgw_gateway_info "$LAB_STATE/metrics.txt" | tr '\n' '|')")
promtool_out=$(promtool check metrics <"$LAB_STATE/metrics.txt" 2>&1) ||
	errors+=("promtool check metrics refused the exposition: $promtool_out")
info "promtool check metrics: ok ($(grep -vc '^#' "$LAB_STATE/metrics.txt") samples)"

# 2. A join with the wrong key is refused and counted.
auth_before=$(metric podgw_rejections_total 'reason="auth"')
lab_add_pod crawler-bad 10.244.0.19
if LAB_INIT_TIMEOUT=15 lab_clientd_init crawler-bad foo - --membership-key-file "$other_key" \
	--gateway-check-timeout 3 >/dev/null 2>&1; then
	errors+=("clientd init with the wrong key succeeded")
fi
scrape_to_file
auth_after=$(metric podgw_rejections_total 'reason="auth"')
info "wrong key: podgw_rejections_total{reason=\"auth\"} $auth_before -> $auth_after"
((auth_after > auth_before)) || errors+=("the refused join did not count: rejections{auth} $auth_before -> $auth_after")
[[ $(metric podgw_leases_active) == 3 ]] || errors+=("a refused join changed podgw_leases_active")

# 3. Traffic counts per client.
sel='namespace="default",pod="crawler-1"'
tx0=$(metric podgw_client_transmit_bytes_total "$sel")
rx0=$(metric podgw_client_receive_bytes_total "$sel")
lab_exec crawler-1 ping -n -q -c 20 -i 0.05 -s 1000 -W 1 203.0.113.10 >/dev/null 2>&1 ||
	errors+=("crawler-1's 20 pings of 1000 bytes were not all answered")
scrape_to_file
tx1=$(metric podgw_client_transmit_bytes_total "$sel")
rx1=$(metric podgw_client_receive_bytes_total "$sel")
info "crawler-1 after 20 x 1028-byte pings: transmit bytes $tx0 -> $tx1, receive bytes $rx0 -> $rx1"
((tx1 - tx0 >= 20 * 1028)) || errors+=("crawler-1's transmit bytes grew by $((tx1 - tx0)), want >= $((20 * 1028))")
((rx1 - rx0 >= 20 * 1028)) || errors+=("crawler-1's receive bytes grew by $((rx1 - rx0)), want >= $((20 * 1028))")
c2=$(metric podgw_client_transmit_bytes_total 'pod="crawler-2"')
[[ -n $c2 ]] || errors+=("no transmit counter for crawler-2")

# The table deleted by someone else: repaired with the last scrape's counts.
ip netns exec "$(lab_ns foo)" nft delete table inet podgw
lab_wait_for 5 ip netns exec "$(lab_ns foo)" nft list set inet podgw client_tx >/dev/null 2>&1 ||
	errors+=("the table was not repaired within 5 s")
scrape_to_file
tx2=$(metric podgw_client_transmit_bytes_total "$sel")
info "table deleted and repaired: crawler-1's transmit bytes $tx1 -> $tx2, podgw_repairs_total{kind=\"nftables\"} $(metric podgw_repairs_total 'kind="nftables"')"
((tx2 >= tx1)) || errors+=("crawler-1's transmit bytes went back from $tx1 to $tx2 after the table was repaired")
(($(metric podgw_repairs_total 'kind="nftables"') >= 1)) || errors+=("the table repair was not counted")
t_report

# 4. Health, readiness, the status command, clientd check --verbose.
for p in /healthz /readyz; do
	code=$(ip netns exec "$node" curl -s -o /dev/null -w '%{http_code}' -m 5 "$url$p")
	[[ $code == 200 ]] || errors+=("GET $p answered $code, not 200")
done
info "/readyz: $(scrape /readyz)"
table=$("$GATEWAYD" status --status-socket "$sock") || errors+=("gatewayd status failed")
printf '%s\n' "$table" | sed "s/^/$T_NAME: status: /"
grep -q '^replica: foo-0$' <<<"$table" || errors+=("the status table has no line 'replica: foo-0'")
for i in 1 2 3; do
	grep -Eq "^crawler-$i +default +$(t_overlay_addr "crawler-$i") +10\.244\.0\.1$i +$(t_link_mac "crawler-$i") " <<<"$table" ||
		errors+=("the status table has no row for crawler-$i with its address, pod IP and MAC")
done
"$GATEWAYD" status --json --status-socket "$sock" >"$LAB_STATE/status.json" || errors+=("gatewayd status --json failed")
"$T_PYTHON" - "$LAB_STATE/status.json" "$tx2" <<'PY' || errors+=("gatewayd status --json: unexpected content")
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["replica"] == "foo-0", doc["replica"]
leases = {l["pod"]: l for l in doc["leases"]}
assert sorted(leases) == ["crawler-1", "crawler-2", "crawler-3"], leases
assert leases["crawler-1"]["tx_bytes"] >= int(sys.argv[2]), leases["crawler-1"]
for l in leases.values():
    assert l["namespace"] == "default" and l["pod_ip"].startswith("10.244.0.1"), l
    assert l["last_keepalive"] <= doc["time"] and doc["time"] - l["last_keepalive"] <= 5, l
PY
verbose=$(lab_exec crawler-1 "$CLIENTD" check --verbose --gateway foo --state-file "$LAB_STATE/crawler-1.state" 2>&1) ||
	errors+=("clientd check --verbose in crawler-1 failed: $verbose")
printf '%s\n' "$verbose" | sed "s/^/$T_NAME: clientd check --verbose: /"
grep -q '^routed: yes' <<<"$verbose" || errors+=("clientd check --verbose does not say 'routed: yes'")
grep -q '^state: routed' <<<"$verbose" || errors+=("clientd check --verbose does not say 'state: routed'")
grep -q "^address: $(t_overlay_addr crawler-1)/" <<<"$verbose" || errors+=("clientd check --verbose does not give crawler-1's address")
grep -q '^last keepalive: [0-9]* s ago (round trip' <<<"$verbose" || errors+=("clientd check --verbose has no last keepalive")
t_report

# 5. Abuse of the HTTP port from a pod that is not a client: malformed
# requests, slowloris connections and a bounded flood, while crawler-1
# pings through the tunnel and crawler-5 joins.
lab_add_pod abuser 10.244.0.50
lab_add_pod crawler-5 10.244.0.15
renew_before=$(metric podgw_renewals_total)
"$T_PYTHON" - 10.244.0.2 9108 >"$LAB_STATE/abuse.out" 2>&1 <<'PY' &
import socket, sys, time, threading
host, port = sys.argv[1], int(sys.argv[2])
def one(payload, wait=1.0):
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(payload)
    s.settimeout(wait)
    try:
        data = s.recv(200)
    except OSError:
        data = b""
    s.close()
    return data.split(b"\r\n")[0].decode(errors="replace")
malformed = [b"\x00\xff garbage\r\n\r\n", b"GET\r\n\r\n", b"BREW /metrics HTTP/1.1\r\n\r\n",
             b"GET /metrics HTTP/9.9\r\n\r\n", b"GET /" + b"A" * 70000 + b" HTTP/1.1\r\n\r\n",
             b"GET /metrics HTTP/1.1\r\nX: " + b"B" * 70000 + b"\r\n\r\n",
             b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"]
answers = []
for m in malformed:
    try:
        answers.append(one(m))
    except OSError as e:
        answers.append("error " + str(e))
print("malformed:", " | ".join(a[:40] for a in answers))
# slowloris: 10 connections sending one header byte every 0.5 s for 6 s
slow = []
for i in range(10):
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
def drip():
    end = time.time() + 6
    while time.time() < end:
        for s in slow:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        time.sleep(0.5)
t = threading.Thread(target=drip)
t.start()
# flood: at most 3000 connections or 6 s, 100 open at once, each sending
# half a request and closing
start = time.time(); made = refused = 0; open_ = []
while made + refused < 3000 and time.time() - start < 6:
    try:
        s = socket.socket(); s.settimeout(1)
        s.connect((host, port)); s.sendall(b"GET /metr")
        open_.append(s); made += 1
    except OSError:
        refused += 1
    if len(open_) >= 100:
        for s in open_:
            s.close()
        open_ = []
for s in open_:
    s.close()
print(f"flood: {made} connections made, {refused} refused or timed out, in {time.time() - start:.1f} s")
t.join()
for s in slow:
    s.close()
PY
abuse_pid=$!
ping_out=$(lab_exec crawler-1 ping -n -q -c 40 -i 0.2 -W 1 203.0.113.10 2>&1) || true
join_start=$EPOCHREALTIME
if LAB_INIT_TIMEOUT=30 lab_clientd_init crawler-5 foo - --membership-key-file "$key" >/dev/null 2>&1; then
	join_s=$(awk -v a="$join_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
else
	errors+=("crawler-5 could not join during the HTTP flood")
	join_s=failed
fi
scrape_start=$EPOCHREALTIME
scrape_code=$(ip netns exec "$node" curl -s -o /dev/null -w '%{http_code}' -m 10 "$url/metrics" || true)
scrape_s=$(awk -v a="$scrape_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
wait "$abuse_pid" || errors+=("the abuse script failed: $(cat "$LAB_STATE/abuse.out")")
sed "s/^/$T_NAME: /" "$LAB_STATE/abuse.out"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$ping_out")
info "during the abuse: crawler-1's pings through the tunnel: ${received:-0}/40 answered; crawler-5 joined in $join_s s; a scrape answered $scrape_code in $scrape_s s"
[[ $received == 40 ]] || errors+=("only ${received:-0} of 40 pings through the tunnel were answered during the abuse")
scrape_to_file
renew_after=$(metric podgw_renewals_total)
info "after the abuse: podgw_leases_active $(metric podgw_leases_active), renewals $renew_before -> $renew_after"
[[ $(metric podgw_leases_active) == 4 ]] || errors+=("podgw_leases_active is $(metric podgw_leases_active) after the abuse, not 4")
((renew_after > renew_before)) || errors+=("no renewals were answered during the abuse")
lab_pid_alive "$(cat "$LAB_STATE/foo.gatewayd.pid")" || errors+=("gatewayd died")
t_report
pass "figures match what was done; the HTTP port's abuse left the tunnel and membership alone"
