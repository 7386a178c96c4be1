#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bad settings: each daemon exits with 2 and one line naming the setting, and
# leaves its namespace as it found it: no vxlan link, no address, no route, no
# nftables table, no forwarding change.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_add_pod crawler-foo-1 10.244.0.11

conf=$LAB_STATE/bad-line.conf
printf '%s\n' '# settings.sh style' 'VXLAN_ID="42"' 'this is not a setting' >"$conf"
conf_value=$LAB_STATE/bad-value.conf
printf '%s\n' '# settings.sh style' 'VXLAN_PORT="0"' >"$conf_value"
missing_conf=$LAB_STATE/no-such.conf

errors=()
ncase=0

# bad DAEMON PATTERN [KEY=VALUE...] -- ARGS...
# Runs DAEMON (gatewayd in pod foo, clientd in crawler-foo-1) with exactly the
# given environment and arguments; expects exit 2, exactly one line of output,
# matching the extended regex PATTERN, and the pod unchanged.
bad() {
	local daemon=$1 pattern=$2 pod bin
	shift 2
	local -a envs=()
	while (($# > 0)) && [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	(($# > 0)) && shift
	case $daemon in
	gatewayd) pod=foo bin=$GATEWAYD ;;
	clientd) pod=crawler-foo-1 bin=$CLIENTD ;;
	esac
	ncase=$((ncase + 1))
	local what="$daemon ${envs[*]} $*"
	local before after out rc=0 pid i started=
	local ready=$LAB_STATE/bad.ready outf=$LAB_STATE/bad.out
	rm -f "$ready"
	before=$(lab_snapshot "$pod")
	# READY_FILE tells at once when a daemon took a bad setting and started.
	ip netns exec "$(lab_ns "$pod")" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		READY_FILE="$ready" "${envs[@]}" "$bin" "$@" </dev/null >"$outf" 2>&1 &
	pid=$!
	for ((i = 0; i < 150; i++)); do
		lab_pid_alive "$pid" || break
		if [[ -e $ready ]]; then
			started=yes
			break
		fi
		sleep 0.1
	done
	if lab_pid_alive "$pid"; then
		[[ -n $started ]] || started="still running after 15 s"
		lab_stop_pid "$pid" TERM 10 || true
		errors+=("$what: started (${started}) instead of refusing the setting")
	fi
	wait "$pid" 2>/dev/null || rc=$?
	out=$(<"$outf")
	after=$(lab_snapshot "$pod")
	local lines
	lines=$(grep -c . <<<"$out" || true)
	if ((rc != 2)); then
		errors+=("$what: exit code $rc, not 2; output: $out")
	elif ((lines != 1)); then
		errors+=("$what: $lines lines of output, not 1: $out")
	elif ! grep -Eq -- "$pattern" <<<"$out"; then
		errors+=("$what: the line does not name /$pattern/: $out")
	else
		info "ok: $what -> $out"
	fi
	if [[ -n $(ip -n "$(lab_ns "$pod")" -o link show type vxlan) ]]; then
		errors+=("$what: a vxlan link was left behind")
	fi
	if [[ -n $(ip netns exec "$(lab_ns "$pod")" nft list tables) ]]; then
		errors+=("$what: an nftables table was left behind")
	fi
	if [[ $before != "$after" ]]; then
		local changes
		changes=$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' || true)
		errors+=("$what: the namespace changed: $changes")
		# Start the next case from a clean pod.
		ip -n "$(lab_ns "$pod")" -o link show type vxlan | awk -F': ' '{print $2}' | cut -d@ -f1 |
			while read -r l; do ip -n "$(lab_ns "$pod")" link del "$l"; done
		ip netns exec "$(lab_ns "$pod")" nft flush ruleset
	fi
}

G_ID='VXLAN_ID|--vxlan-id'
G_PORT='VXLAN_PORT|--vxlan-port'
G_NET='VXLAN_IP_NETWORK|--vxlan-ip-network'

# gatewayd
bad gatewayd "$G_ID" VXLAN_ID=16777216 --
bad gatewayd "$G_ID" VXLAN_ID=abc --
bad gatewayd "$G_ID" VXLAN_ID=-1 --
bad gatewayd "$G_ID" -- --vxlan-id 16777216
bad gatewayd "$G_ID" -- --vxlan-id 42x
bad gatewayd "$G_PORT" VXLAN_PORT=0 --
bad gatewayd "$G_PORT" -- --vxlan-port 65536
bad gatewayd "$G_NET" VXLAN_IP_NETWORK=172.16.0.1/24 --
bad gatewayd "$G_NET" VXLAN_IP_NETWORK=300.1.1.0/24 --
bad gatewayd "$G_NET" -- --vxlan-ip-network 172.16.0.0/33
bad gatewayd 'UNDERLAY_INTERFACE|--underlay-interface' UNDERLAY_INTERFACE=nosuch0 --
bad gatewayd 'VXLAN_INTERFACE|--vxlan-interface' VXLAN_INTERFACE=name-longer-than-15 --
bad gatewayd 'LOG_LEVEL|--log-level' LOG_LEVEL=loud --
G_ALLOW='GATEWAY_OVERLAY_ALLOW_CIDRS|--gateway-overlay-allow-cidrs'
bad gatewayd "$G_ALLOW" GATEWAY_OVERLAY_ALLOW_CIDRS=10.96.0.1/12 --
bad gatewayd "$G_ALLOW" GATEWAY_OVERLAY_ALLOW_CIDRS=fd00::/8 --
bad gatewayd "$G_ALLOW" -- --gateway-overlay-allow-cidrs nope
bad gatewayd 'NOT_ROUTED_TO_GATEWAY_CIDRS|--not-routed-to-gateway-cidrs' \
	NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.0/33 --
bad gatewayd 'no-such-option' -- --no-such-option
bad gatewayd "$(basename "$conf"):3" -- --config "$conf"
bad gatewayd "$(basename "$conf_value"):2.*VXLAN_PORT" -- --config "$conf_value"
bad gatewayd "$(basename "$missing_conf")" -- --config "$missing_conf"
# an option beats the environment: a bad option is bad even with a good env
bad gatewayd "$G_ID" VXLAN_ID=42 -- --vxlan-id abc

# clientd
C=(--gateway foo --address 172.16.0.11 --gateway-check-timeout 2 --gateway-resolve-timeout 2)
bad clientd 'gateway|GATEWAY_NAME' -- init --address 172.16.0.11 --gateway-check-timeout 2
bad clientd 'CLIENT_ADDRESS|--address' CLIENT_ADDRESS=172.17.0.11 -- init --gateway foo
bad clientd 'CLIENT_ADDRESS|--address' -- init --gateway foo --address 10.244.0.11
bad clientd 'NOT_ROUTED_TO_GATEWAY_CIDRS|--not-routed-to-gateway-cidrs' \
	NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.0/33 -- init "${C[@]}"
bad clientd 'NOT_ROUTED_TO_GATEWAY_CIDRS|--not-routed-to-gateway-cidrs' \
	NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.1/8 -- init "${C[@]}"
bad clientd 'NOT_ROUTED_TO_GATEWAY_CIDRS|--not-routed-to-gateway-cidrs' \
	-- init "${C[@]}" --not-routed-to-gateway-cidrs 'not-a-cidr'
bad clientd "$G_ID" VXLAN_ID=abc -- init "${C[@]}"
bad clientd "$G_PORT" VXLAN_PORT=0 -- init "${C[@]}"
bad clientd "$G_NET" VXLAN_IP_NETWORK=172.16.0.1/24 -- init "${C[@]}"
bad clientd 'GATEWAY_CHECK_TIMEOUT|--gateway-check-timeout' GATEWAY_CHECK_TIMEOUT=soon -- init --gateway foo --address 172.16.0.11
bad clientd 'K8S_DNS_IPS|--k8s-dns-ips' K8S_DNS_IPS=10.96.0 -- init "${C[@]}"
bad clientd 'VPN_INTERFACE_MTU|--vpn-interface-mtu' VPN_INTERFACE_MTU=big -- init "${C[@]}"
bad clientd 'no-such-option' -- init "${C[@]}" --no-such-option
bad clientd "$(basename "$conf"):3" -- init "${C[@]}" --config "$conf"
bad clientd 'bogus|init|run' -- bogus "${C[@]}"
bad clientd '.' -- "${C[@]}"

if ((${#errors[@]} > 0)); then
	for e in "${errors[@]}"; do
		echo "FAIL: $T_NAME: $e" >&2
	done
	echo "FAIL: $T_NAME: ${#errors[@]} problems in $ncase cases" >&2
	exit 1
fi
pass "$ncase bad settings refused with exit 2 and one line, nothing left behind"
