#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Once ready, gatewayd and `clientd run` hold CAP_NET_ADMIN and nothing else:
# CapEff, CapPrm and CapBnd are exactly 0000000000001000, in every thread.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

want=0000000000001000 # 1 << CAP_NET_ADMIN (12)

# check_caps WHAT PID COMM
check_caps() {
	local what=$1 pid=$2 comm=$3 status field value task
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] ||
		fail "$what: pid $pid is not $comm ($(cat "/proc/$pid/comm" 2>/dev/null || echo gone))"
	for status in "/proc/$pid/task"/*/status; do
		task=$(basename "$(dirname "$status")")
		for field in CapEff CapPrm CapBnd; do
			value=$(awk -v f="$field:" '$1 == f {print $2}' "$status")
			if [[ $value != "$want" ]]; then
				errors+=("$what (pid $pid, thread $task): $field is $value, not $want")
			fi
		done
	done
	info "$what: $(grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' "/proc/$pid/status" | tr '\t\n' '  ')"
}

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_add_pod crawler-foo-1 10.244.0.11

lab_start_gatewayd foo || fail "gatewayd did not become ready"
gw_pid=$LAB_PID
check_caps gatewayd "$gw_pid" gatewayd

lab_start_clientd_run crawler-foo-1 foo 172.16.0.11 || fail "clientd run did not become ready"
cl_pid=$LAB_PID
check_caps "clientd run" "$cl_pid" clientd

# Still working with those capabilities.
t_ping crawler-foo-1 203.0.113.10 2 || errors+=("crawler-foo-1 cannot ping 203.0.113.10 through foo")

t_report
pass "gatewayd and clientd run keep CAP_NET_ADMIN only"
