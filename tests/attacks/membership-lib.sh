# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by the membership attack tests: the lab (tests/ns/lib.sh), a key,
# gateway foo, and the attacker's tool (pgwire.py: docs/membership.md's wire
# format written again in Python, stdlib only).
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

[[ -n $T_PYTHON ]] || {
	echo "SKIP: $T_NAME: python3 is not installed (it comes with meson)"
	exit 77
}
PGWIRE=$PODGW_SRC/tests/attacks/pgwire.py
KEY=$LAB_STATE/membership.key

# m_setup: base lab, a key file, gateway foo at 10.244.0.2 (ARGS after the
# key: gatewayd options).
m_setup() {
	lab_create_base
	(
		umask 077
		head -c 32 /dev/urandom | base64 >"$KEY"
	)
	lab_add_gateway foo 10.244.0.2
	lab_start_gatewayd foo --membership-key-file "$KEY" "$@" || fail "gatewayd in foo did not become ready"
	# shellcheck disable=SC2034 # read by the tests
	GW_PID=$LAB_PID
}

# pgwire POD ARGS...: the attacker's tool in POD, bounded in time.
pgwire() {
	local pod=$1
	shift
	timeout --kill-after=5 120 ip netns exec "$(lab_ns "$pod")" "$T_PYTHON" "$PGWIRE" "$@"
}

# jget JSON KEY...: a value of pgwire's JSON (errors.9 for nested keys).
jget() {
	"$T_PYTHON" -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$1" "$2"
}

# metric NAME: a sample of foo's /metrics (a whole line's name with labels).
metric() {
	local out
	out=$(lab_exec foo curl -s --max-time 5 http://10.244.0.2:9108/metrics) || return 0
	awk -v n="$1" '$1 == n { print $2; exit }' <<<"$out"
}

# fdb_dst MAC: where foo's FDB sends MAC (empty: nowhere).
fdb_dst() {
	local out
	out=$(ip netns exec "$(lab_ns foo)" bridge fdb show dev vxlan0) || return 0
	awk -v m="$1" 'tolower($1) == tolower(m) { for (i = 1; i < NF; i++) if ($i == "dst") { print $(i + 1); exit } }' <<<"$out"
}

# ping_loss POD COUNT: the loss in percent of COUNT pings to the internet,
# 0.1 s apart.
ping_loss() {
	local out
	out=$(lab_exec "$1" ping -n -q -c "$2" -i 0.1 -W 1 203.0.113.10 2>/dev/null) || true
	awk -F', ' '/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /packet loss/) { sub(/%.*/, "", $i); print $i } }' <<<"$out"
}

figure() {
	echo "FIGURE: $1 = $2 $3"
}
