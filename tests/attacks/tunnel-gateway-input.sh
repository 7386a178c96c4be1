#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): the tunnel reaches the gateway itself. An unprivileged
# crawler binds a socket to its vxlan link (SO_BINDTODEVICE needs no
# privilege since Linux 5.7) and reaches gatewayd's :9108 on the gateway's
# pod IP through the overlay: /metrics lists every client, and 2 crawlers x
# 16 slow connections fill the HTTP server, so /healthz (the liveness probe)
# stops answering and the kubelet would restart the gateway.
#
# Wanted: the gateway's input from the overlay admits DNS, pings to the
# overlay address and replies only: the metrics port is refused. Liveness
# keeps answering the node (the kubelet's address) while crawlers attack
# over the overlay, and also while two pods attack over the pod network
# (what a NetworkPolicy stops on Kubernetes; the lab has none): one peer
# holds at most a few connections, each for 2 s without complete headers.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

command -v curl >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: needs curl and setpriv"
	exit 77
}
PY=/usr/bin/python3
[[ -x $PY ]] || {
	echo "SKIP: $T_NAME: needs /usr/bin/python3"
	exit 77
}
TOOL=$PODGW_SRC/tests/attacks/tunnelpkt.py
HEALTHZ=http://10.244.0.2:9108/healthz

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
for i in 11 12; do
	lab_add_pod "crawler-$i" "10.244.0.$i"
	lab_clientd_init "crawler-$i" foo "172.16.0.$i" >/dev/null || fail "clientd init of crawler-$i exited with $?"
done

# as_nobody POD CMD...: an unprivileged process in the pod.
as_nobody() {
	local pod=$1
	shift
	lab_exec "$pod" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# ---- 1. /metrics through the overlay ----
metrics_rc=0
metrics=$(as_nobody crawler-11 curl -s -m 3 --interface vxlan0 http://10.244.0.2:9108/metrics 2>&1) || metrics_rc=$?
listed=$(grep -c '^podgw_client_' <<<"$metrics" || true)
echo "FIGURE: metrics_lines_read_over_overlay = $listed lines"
if ((metrics_rc == 0)); then
	errors+=("crawler-11 (uid 65534) read /metrics through vxlan0 ($listed podgw_client_ lines)")
fi
# The same port over the pod network is not the overlay's business.
curl -s -m 3 "$HEALTHZ" >/dev/null 2>&1 || true
# What clients need still works: a ping to the overlay address.
t_ping crawler-11 172.16.0.1 || errors+=("crawler-11 cannot ping the gateway's overlay address 172.16.0.1")

# healthz_during NAME PIDS...: polls /healthz from the node (the kubelet's
# address) 12 times while the attackers run, then waits for them.
healthz_during() {
	local name=$1 ok=0 n=12 i
	shift
	sleep 2 # the attackers have connected by now
	for ((i = 0; i < n; i++)); do
		if lab_exec node curl -s -m 2 -o /dev/null -w '%{http_code}' "$HEALTHZ" 2>/dev/null | grep -q 200; then
			ok=$((ok + 1))
		fi
		sleep 0.3
	done
	wait "$@" || true
	echo "FIGURE: healthz_answered_during_${name} = $ok of $n requests"
	((ok == n)) || errors+=("/healthz answered $ok of $n requests during the $name attack")
}

# ---- 2. 2 crawlers x 16 slow connections over the overlay ----
pids=()
for i in 11 12; do
	as_nobody "crawler-$i" "$PY" "$TOOL" slow --to 10.244.0.2 --port 9108 --conns 16 \
		--seconds 10 --device vxlan0 >"$LAB_STATE/slow-overlay-$i.out" 2>&1 &
	pids+=($!)
done
healthz_during overlay "${pids[@]}"
for i in 11 12; do
	read -r _ made _ most <"$LAB_STATE/slow-overlay-$i.out" || true
	echo "FIGURE: overlay_slow_connections_crawler_$i = ${most:-?} open at most (${made:-?} made)"
	[[ ${made:-x} == 0 ]] || errors+=("crawler-$i opened ${made:-?} connections to :9108 through vxlan0")
done
dropped=$(t_nft_packets foo input 'iifname "vxlan0" counter')
echo "FIGURE: overlay_input_dropped = ${dropped:-0} packets"

# ---- 3. the same from two pods over the pod network (no NetworkPolicy) ----
pids=()
for i in 31 32; do
	lab_add_pod "pod-$i" "10.244.0.$i"
	lab_exec "pod-$i" "$PY" "$TOOL" slow --to 10.244.0.2 --port 9108 --conns 16 \
		--seconds 10 >"$LAB_STATE/slow-podnet-$i.out" 2>&1 &
	pids+=($!)
done
healthz_during podnet "${pids[@]}"
for i in 31 32; do
	read -r _ made _ most <"$LAB_STATE/slow-podnet-$i.out" || true
	echo "FIGURE: podnet_slow_connections_pod_$i = ${most:-?} open at most (${made:-?} made)"
done

t_report
pass "the overlay cannot reach :9108 and /healthz kept answering both attacks"
