#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A gateway pool spreads its crawlers: foo runs three replicas, 100 crawlers
# (`clientd run`, REPLICA_SELECTION=spread, the default) choose one each by
# rendezvous hashing of their identity. Asserted: every crawler is routed,
# through one of the three; each replica has some, and the fullest has at
# most twice the crawlers of the emptiest; each replica's own `gatewayd
# status` agrees with where the crawlers' tunnels point; `clientd check
# --verbose` names the replica. Printed: crawlers per replica (FIGURE).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pool-lib.sh
. "$(dirname "$0")/pool-lib.sh"

n=${PODGW_TEST_POOL_CRAWLERS:-100}
[[ $n =~ ^[1-9][0-9]?$|^1[0-4][0-9]$ ]] || fail "PODGW_TEST_POOL_CRAWLERS must be 1..149, not '$n'"

pool_gateways
pool_crawlers "$n"
info "$n sidecars ready"

declare -A count=()
while read -r pod ip; do
	if [[ -z $ip ]]; then
		err "$pod: no FDB entry toward a replica"
		continue
	fi
	count[$ip]=$((${count[$ip]:-0} + 1))
done < <(pool_where "$n")

max=0
min=$n
for i in "${!POOL_IPS[@]}"; do
	c=${count[${POOL_IPS[$i]}]:-0}
	echo "FIGURE pool-spread ${POOL_REPLICAS[$i]} (${POOL_IPS[$i]}): $c crawlers"
	((c > max)) && max=$c
	((c < min)) && min=$c
	# The replica's own view: its leases.
	leases=$(ip netns exec "$(lab_ns "${POOL_REPLICAS[$i]}")" "$GATEWAYD" status \
		--status-socket "$LAB_STATE/${POOL_REPLICAS[$i]}.status.sock" 2>/dev/null | grep -c 'crawler-' || true)
	if ((leases != c)); then
		err "${POOL_REPLICAS[$i]}: gatewayd status lists $leases leases, $c crawlers point at it"
	fi
done
echo "FIGURE pool-spread $n crawlers over ${#POOL_IPS[@]} replicas: max $max min $min"
((min > 0)) || err "a replica has no crawler (max $max, min $min)"
((max <= 2 * min)) || err "uneven spread: max $max > 2 x min $min"
total=0
for ip in "${!count[@]}"; do
	total=$((total + count[$ip]))
	[[ " ${POOL_IPS[*]} " == *" $ip "* ]] || err "crawlers tunnelled to $ip, not a replica"
done
((total == n)) || err "$total of $n crawlers have a tunnel"

# A sample routes to the internet, and its check names its replica.
for k in 1 2 3; do
	pod=$(pool_crawler "$k")
	t_ping "$pod" "$POOL_TARGET" 1 || err "$pod: no answer from $POOL_TARGET"
	line=$(ip netns exec "$(lab_ns "$pod")" "$CLIENTD" check --verbose --gateway "$POOL_GW" \
		--state-file "$LAB_STATE/$pod.state" 2>&1 | grep '^replica:' || true)
	ip=$(pool_replica_ip "$pod")
	expect_line=
	for i in "${!POOL_IPS[@]}"; do
		[[ ${POOL_IPS[$i]} == "$ip" ]] && expect_line="replica: ${POOL_REPLICAS[$i]} ($ip)"
	done
	info "$pod: $line"
	[[ $line == "$expect_line" ]] || err "$pod: clientd check says '$line', want '$expect_line'"
done

t_report
pass "$n crawlers spread over 3 replicas: max $max, min $min"
