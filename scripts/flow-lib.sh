# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# flow-lib.sh: the reference design's flow, step by step, for any place
# podgw runs: a CloudEvent to provisiond, its reply event, a ping from the
# new crawler with tcpdump on its gateway's eth0. `containers.sh demo`
# (podman) and `kind.sh demo` (Kubernetes) source it and differ only in
# how they reach a pod; the lab (`lab.sh demo`) is older and has its own.
#
# The caller sets FLOW_URL (provisiond's CloudEvents endpoint, reachable
# from here), FLOW_TOKEN_FILE (the bearer token provisiond wants from event
# senders; unset: none sent) and FLOW_DIR (a folder for replies and
# captures), and defines:
#   flow_crawler_exec POD CMD...     CMD in crawler POD's main container
#   flow_gateway_tcpdump GW SECONDS ARGS...
#                                    tcpdump ARGS on gateway GW's eth0 (in its
#                                    network namespace), ending by itself
#                                    within SECONDS; packets on stdout,
#                                    "listening on" on stderr
# It may define flow_wait_crawler POD, which waits until the new crawler
# routes (the kubernetes backend answers at creation, podman's once routed),
# and flow_crawler_replica POD GW, which prints the replica (pod) of GW the
# crawler goes through: flow_demo puts it in FLOW_REPLICA, which
# flow_gateway_tcpdump then captures on (without it, the event's replica or
# any replica of GW); and set FLOW_LISTEN_WAIT (seconds tcpdump has to
# start listening, 10).
#
#   flow_event GW ID [SOURCE]        binary-mode event, printed with its reply;
#                                    reply data in FLOW_DIR/ID.json, headers
#                                    in FLOW_DIR/ID.h, its type in FLOW_TYPE
#   flow_field ID KEY                a field of that reply's data
#   flow_ping_capture GW POD TARGET COUNT
#                                    COUNT pings from POD with tcpdump on GW's
#                                    eth0; the ping's output in
#                                    FLOW_DIR/ping-POD.txt, the packets (one
#                                    line each) in FLOW_DIR/capture-GW.txt
#   flow_demo GW BAD_GW TARGET       the whole flow, numbered, for a demo

FLOW_FILTER='udp port 8472 or icmp'

flow_log() {
	printf 'flow: %s\n' "$*" >&2
}

flow_event() {
	local gw=$1 id=$2 source=${3:-/podgw/demo} out=$FLOW_DIR/$2
	local -a auth=()
	if [[ -n ${FLOW_TOKEN_FILE-} ]]; then
		auth=(-H "Authorization: Bearer $(<"$FLOW_TOKEN_FILE")")
		# shellcheck disable=SC2016 # the command as a user types it
		printf '$ curl %s -H "Authorization: Bearer $(cat %s)" \\\n' "$FLOW_URL" "$FLOW_TOKEN_FILE"
		printf '    -H "Ce-Id: %s" -H "Ce-Specversion: 1.0" \\\n' "$id"
	else
		printf '$ curl %s -H "Ce-Id: %s" -H "Ce-Specversion: 1.0" \\\n' "$FLOW_URL" "$id"
	fi
	printf '    -H "Ce-Type: io.podgateway.client.pending" -H "Ce-Source: %s" \\\n' "$source"
	printf "    -H \"Content-Type: application/json\" -d '{\"gateway_name\":\"%s\"}'\n" "$gw"
	FLOW_TYPE=
	# provisiond answers once the crawler is routed: allow for a pod start.
	curl -sS -m 120 -D "$out.h" -o "$out.json" "$FLOW_URL" "${auth[@]}" \
		-H "Ce-Id: $id" -H "Ce-Specversion: 1.0" \
		-H "Ce-Type: io.podgateway.client.pending" -H "Ce-Source: $source" \
		-H "Content-Type: application/json" -d "{\"gateway_name\":\"$gw\"}" || return 1
	echo "reply event:"
	grep -i -e '^HTTP/' -e '^ce-' -e '^content-type' "$out.h" | tr -d '\r' | sed 's/^/    /'
	printf '    %s\n' "$(cat "$out.json")"
	FLOW_TYPE=$(awk -F': ' 'tolower($1) == "ce-type" { sub(/\r$/, "", $2); print $2 }' "$out.h")
}

flow_field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$FLOW_DIR/$1.json" "$2"
}

# One line per packet out of `tcpdump -v` (it prints a tunnel's inner
# packet on continuation lines).
flow_join_records() {
	awk '/^[0-9]+:[0-9]+:[0-9]+\.[0-9]+ / { if (rec != "") print rec; rec = $0; next }
		{ sub(/^[ \t]+/, " "); rec = rec " " $0 }
		END { if (rec != "") print rec }'
}

flow_ping_capture() {
	local gw=$1 pod=$2 target=$3 count=$4 i rc=0 pid
	local raw=$FLOW_DIR/capture-$gw.raw err=$FLOW_DIR/capture-$gw.err
	: >"$raw"
	: >"$err"
	# Four packets a ping on eth0: in the tunnel, out, back, into the tunnel;
	# and the sidecars' echoes to the gateway's overlay address (four a
	# second from each idle crawler), so the capture ends when the ping
	# does, not at a packet count.
	flow_gateway_tcpdump "$gw" $((count + 20 + ${FLOW_LISTEN_WAIT:-10})) --immediate-mode -l -n -v -c $((4 * count + 1000)) \
		"$FLOW_FILTER" >"$raw" 2>"$err" &
	pid=$!
	for ((i = 0; i < ${FLOW_LISTEN_WAIT:-10} * 10; i++)); do
		grep -q 'listening on' "$err" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'listening on' "$err" || flow_log "tcpdump on $gw has not said it listens: $(tr '\n' ' ' <"$err")"
	flow_crawler_exec "$pod" ping -c "$count" -W 2 "$target" >"$FLOW_DIR/ping-$pod.txt" 2>&1 || rc=$?
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -s INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	flow_join_records <"$raw" >"$FLOW_DIR/capture-$gw.txt"
	return "$rc"
}

flow_demo() {
	local gw=$1 bad=$2 target=$3 pod at rc=0
	echo "# 1. io.podgateway.client.pending for $gw: provisiond makes a crawler and answers once it is routed"
	flow_event "$gw" "demo-$gw-1" || return 1
	pod=$(flow_field "demo-$gw-1" pod_name)
	if [[ $FLOW_TYPE != io.podgateway.client.scheduling.done || -z $pod ]]; then
		flow_log "no crawler for $gw (reply $FLOW_TYPE)"
		return 1
	fi
	if declare -F flow_wait_crawler >/dev/null; then
		flow_wait_crawler "$pod" || return 1
	fi
	FLOW_REPLICA=$(flow_field "demo-$gw-1" replica)
	if declare -F flow_crawler_replica >/dev/null && at=$(flow_crawler_replica "$pod" "$gw"); then
		FLOW_REPLICA=$at
	fi
	echo
	echo "# 2. the same for a gateway nobody knows: scheduling.failed, nothing made"
	flow_event "$bad" "demo-$bad-1" || return 1
	[[ $FLOW_TYPE == io.podgateway.client.scheduling.failed ]] || rc=1
	echo
	at=
	[[ -n $FLOW_REPLICA ]] && at=" (replica $FLOW_REPLICA)"
	echo "# 3. ping -c 2 $target in $pod, tcpdump -i eth0 -nv '$FLOW_FILTER' on gateway $gw$at"
	flow_ping_capture "$gw" "$pod" "$target" 2 || rc=1
	sed 's/^/    /' "$FLOW_DIR/ping-$pod.txt"
	echo
	echo "# 4. gateway $gw's eth0$at: the ping inside VXLAN (VNI 42) from the crawler's pod IP, then leaving from the replica's pod IP"
	cat "$FLOW_DIR/capture-$gw.raw"
	return "$rc"
}
