#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# provisiond's scheduling.done names the gateway replica (issue 17): gateway
# foo runs three replicas in the lab (pods foo-a/b/c, REPLICA_NAME foo-0..2,
# foo resolving to all three), provisiond (netns backend, --reply-when
# routed) makes crawlers from events. Each reply's `replica` and
# `replica_pod_ip` must be those of the replica the crawler's tunnel points
# at (its FDB entry), and what the crawler's `clientd check --verbose` says
# (`replica: NAME (POD_IP)`). How the crawlers spread is printed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: curl is not installed"
	exit 77
}

N=${PODGW_PROVISIOND_REPLICA_EVENTS:-6}
LAB_PROVISIOND_LISTEN=127.0.0.1:$((20000 + ($$ + 7) % 20000))
URL=http://$LAB_PROVISIOND_LISTEN/

lab_create_base
declare -A ip_of=()
for r in "a 10.244.0.2 foo-0" "b 10.244.0.4 foo-1" "c 10.244.0.5 foo-2"; do
	read -r pod ip name <<<"$r"
	lab_add_replica foo "foo-$pod" "$ip" "$name"
	lab_start_gatewayd "foo-$pod" || fail "gatewayd foo-$pod did not become ready"
	ip_of[$name]=$ip
done
lab_start_provisiond foo --reply-when routed --routed-timeout 15 || fail "provisiond did not start"

# post ID OUT: a binary-mode event for foo; the reply's body in OUT.
post() {
	local code
	code=$(curl -sS -m 120 -o "$2" -D "$2.h" -w '%{http_code}' "$URL" -H "$(lab_provisiond_auth)" \
		-H "Ce-Id: $1" -H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' \
		-H "Ce-Source: /podgw/tests/$T_NAME" -H 'Content-Type: application/json' \
		-d '{"gateway_name":"foo"}')
	[[ $code == 200 ]] || fail "event $1: HTTP $code: $(cat "$2")"
	grep -qi '^ce-type: io.podgateway.client.scheduling.done' "$2.h" || fail "event $1: $(cat "$2")"
}
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"; }

declare -A spread=()
for ((i = 1; i <= N; i++)); do
	out=$LAB_STATE/reply-$i
	post "ev-$i" "$out"
	pod=$(field "$out" pod_name)
	replica=$(field "$out" replica)
	rip=$(field "$out" replica_pod_ip)
	info "reply $i: $(cat "$out")"
	[[ -n ${ip_of[$replica]-} ]] || fail "reply $i: replica '$replica' is not one of foo-0, foo-1, foo-2"
	[[ $rip == "${ip_of[$replica]}" ]] || fail "reply $i: replica_pod_ip $rip, but $replica is at ${ip_of[$replica]}"
	dst=$(lab_exec "$pod" bridge fdb show dev vxlan0 |
		awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") print $(i + 1) }' | head -n 1)
	[[ $dst == "$rip" ]] || fail "reply $i: $pod's tunnel points at $dst, the reply says $replica ($rip)"
	said=$(lab_exec "$pod" "$CLIENTD" check --verbose --gateway foo \
		--state-file "$LAB_STATE/$pod.clientd.state" 2>&1 | grep '^replica:' || true)
	[[ $said == "replica: $replica ($rip)" ]] || fail "reply $i: $pod's clientd check --verbose says '$said'"
	spread[$replica]=$((${spread[$replica]:-0} + 1))
done
info "spread of $N crawlers: foo-0 ${spread[foo-0]:-0}, foo-1 ${spread[foo-1]:-0}, foo-2 ${spread[foo-2]:-0}"
echo "PASS: $T_NAME: $N scheduling.done events name the replica each crawler's tunnel goes to, as its clientd says"
