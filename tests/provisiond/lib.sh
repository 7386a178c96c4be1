# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by provisiond's loopback tests (no root): a private temp dir, the
# Kubernetes API stand-in (kube-recorder.py) and provisiond on 127.0.0.1
# with the kubernetes backend, both stopped on every exit path.
# Environment (set by meson): PODGW_SRC, PODGW_BUILD.
set -euo pipefail

T_NAME=$(basename "$0" .sh)
PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODGW_BUILD=${PODGW_BUILD:-$PODGW_SRC/build}
PROVISIOND=$PODGW_BUILD/provisiond/provisiond
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/podgw-$T_NAME.XXXXXX")
T_PIDS=()

for t_tool in curl python3 timeout; do
	command -v "$t_tool" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t_tool is not installed"
		exit 77
	}
done

t_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	set +e
	for pid in "${T_PIDS[@]}"; do
		kill -s TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null
		kill -s KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if ((rc != 0 && rc != 77)) && [[ -s $T_DIR/provisiond.log ]]; then
		echo "---- provisiond.log ----" >&2
		tail -n 40 "$T_DIR/provisiond.log" >&2
	fi
	rm -rf -- "$T_DIR"
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$PODGW_SRC/tests/report.sh"

# t_wait_file FILE SECONDS
t_wait_file() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ -s $1 ]] && return 0
		sleep 0.1
	done
	return 1
}

# t_start_recorder: the API server stand-in; sets KUBE_URL and KUBE_RECORD.
t_start_recorder() {
	KUBE_RECORD=$T_DIR/requests.jsonl
	: >"$KUBE_RECORD"
	python3 "$PODGW_SRC/tests/provisiond/kube-recorder.py" "$KUBE_RECORD" "$T_DIR/kube.port" \
		>"$T_DIR/recorder.log" 2>&1 &
	T_PIDS+=("$!")
	t_wait_file "$T_DIR/kube.port" 10 || fail "kube-recorder.py did not start: $(cat "$T_DIR/recorder.log")"
	KUBE_URL=http://127.0.0.1:$(<"$T_DIR/kube.port")
	printf 'test-token-%s\n' "$$" >"$T_DIR/token"
}

# The event senders' bearer token (PROVISIOND_TOKEN_FILE), and the curl
# arguments that present it.
EVENT_TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
(umask 077 && printf '%s\n' "$EVENT_TOKEN" >"$T_DIR/event-token")
AUTH=(-H "Authorization: Bearer $EVENT_TOKEN")

# t_start_provisiond [ARGS...]: kubernetes backend against the recorder,
# gateways foo and bar, on 127.0.0.1 (a port the kernel picks), senders
# authenticated with EVENT_TOKEN; sets URL.
t_start_provisiond() {
	[[ -x $PROVISIOND ]] || fail "$PROVISIOND is missing (meson compile -C $PODGW_BUILD)"
	rm -f "$T_DIR/ready"
	"$PROVISIOND" --listen 127.0.0.1:0 --backend kubernetes --gateways foo,bar \
		--token-file "$T_DIR/event-token" \
		--kube-api-url "$KUBE_URL" --kube-token-file "$T_DIR/token" --kube-ca-file "" \
		--pod-namespace crawlers --ready-file "$T_DIR/ready" --log-level debug "$@" \
		</dev/null >>"$T_DIR/provisiond.log" 2>&1 &
	T_PIDS+=("$!")
	# shellcheck disable=SC2034 # read by the tests
	PROVISIOND_PID=$!
	t_wait_file "$T_DIR/ready" 10 || fail "provisiond did not start: $(tail -n 5 "$T_DIR/provisiond.log")"
	URL=http://$(<"$T_DIR/ready")/
}

# t_post_binary ID TYPE BODY [CURL ARGS...]: a binary-mode event; the
# response's status in T_STATUS, headers in T_DIR/h, body in T_DIR/b.
t_post_binary() {
	local id=$1 type=$2 body=$3
	shift 3
	# shellcheck disable=SC2034 # read by the tests
	T_STATUS=$(curl -sS -m 30 -o "$T_DIR/b" -D "$T_DIR/h" -w '%{http_code}' "$URL" "${AUTH[@]}" \
		-H "Ce-Id: $id" -H 'Ce-Specversion: 1.0' -H "Ce-Type: $type" \
		-H 'Ce-Source: /podgw/tests' -H 'Content-Type: application/json' "$@" -d "$body")
}

# t_header NAME: a header of the last response (T_DIR/h), value only.
t_header() {
	awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' \
		'tolower($1) == n { sub(/\r$/, "", $2); print $2; exit }' "$T_DIR/h"
}

# t_json FILE EXPR: a Python expression over the parsed JSON in `j`.
t_json() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
