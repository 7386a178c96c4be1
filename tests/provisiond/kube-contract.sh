#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The kubernetes backend's API calls, checked against kube-recorder.py, a
# local stand-in that records requests and answers as the API server does
# (201, 409 AlreadyExists, 403 Forbidden). A contract test of the requests
# provisiond makes — not a test against a real cluster. Also: bad settings
# exit 2 with one line naming the setting.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# --- bad settings: exit 2, the setting named
bad_setting() { # WANT_TEXT ARGS...
	local want=$1 rc=0
	shift
	env -i PATH="$PATH" "$PROVISIOND" "$@" >"$T_DIR/out" 2>&1 || rc=$?
	[[ $rc == 2 ]] || fail "settings $*: exit $rc, expected 2: $(cat "$T_DIR/out")"
	grep -qF -- "$want" "$T_DIR/out" || fail "settings $*: '$(cat "$T_DIR/out")' lacks '$want'"
	info "bad setting refused: $(head -n 1 "$T_DIR/out")"
}
bad_setting "GATEWAYS: '': at least one gateway" --backend kubernetes --kube-api-url http://127.0.0.1:1
bad_setting "GATEWAYS: 'Foo'" --gateways Foo
bad_setting "KUBERNETES_API_URL: '': needed" --gateways foo --backend kubernetes
bad_setting "REPLY_WHEN: 'routed': only the netns" --gateways foo --backend kubernetes --kube-api-url http://127.0.0.1:1 --reply-when routed
bad_setting "PROVISIOND_LISTEN: '1.2.3:80'" --gateways foo --listen 1.2.3:80
bad_setting "MAX_BODY_BYTES: '10'" --gateways foo --max-body-bytes 10
bad_setting "PROVISION_BACKEND: 'docker'" --gateways foo --backend docker
# The event endpoint's token: required (or PROVISIOND_AUTH=none), a file of
# its own that others cannot read, a real token.
bad_setting "PROVISIOND_TOKEN_FILE: '': needed to authenticate" --gateways foo
bad_setting "PROVISIOND_AUTH: 'none': conflicts with PROVISIOND_TOKEN_FILE" --gateways foo --auth none --token-file "$T_DIR/event-token"
bad_setting "PROVISIOND_AUTH: 'open': expected token or none" --gateways foo --auth open
bad_setting "MAX_CONNECTIONS_PER_IP: '300': more than MAX_CONNECTIONS" --gateways foo --auth none --max-connections-per-ip 300
bad_setting "CONNECTION_TIMEOUT: '0'" --gateways foo --auth none --connection-timeout 0
bad_setting "PROVISIOND_TOKEN_FILE: '$T_DIR/nope': No such file" --gateways foo --token-file "$T_DIR/nope"
printf 'short\n' >"$T_DIR/short-token" && chmod 600 "$T_DIR/short-token"
bad_setting "PROVISIOND_TOKEN_FILE: '$T_DIR/short-token': shorter than 16" --gateways foo --token-file "$T_DIR/short-token"
cp "$T_DIR/event-token" "$T_DIR/public-token" && chmod 644 "$T_DIR/public-token"
bad_setting "PROVISIOND_TOKEN_FILE: '$T_DIR/public-token': readable by others" --gateways foo --token-file "$T_DIR/public-token"
"$PROVISIOND" --help | grep -- '--reply-when' >/dev/null || fail "--help lacks --reply-when"

# --- a bad crawler template: exit 2 at start, the setting named (no event
# needed to find out)
echo '{"spec":{"containers":[]}}' >"$T_DIR/template.json"
bad_setting "CRAWLER_TEMPLATE_FILE: '$T_DIR/template.json': spec.containers: empty" \
	--gateways foo --backend kubernetes --kube-api-url http://127.0.0.1:1 \
	--kube-token-file /dev/null --crawler-template-file "$T_DIR/template.json" --listen 127.0.0.1:0 \
	--token-file "$T_DIR/event-token"
bad_setting "crawler-pod --gateway NAME --name POD" crawler-pod --gateway foo
bad_setting "--gateway: 'baz': not in GATEWAYS" crawler-pod --gateway baz --name x --gateways foo

t_start_recorder
t_start_provisiond --crawler-image registry.example/crawler:1

posts() { wc -l <"$KUBE_RECORD"; }

# --- one event: one POST with the token, the namespace, the annotation
t_post_binary k-1 io.podgateway.client.pending '{"gateway_name":"foo"}'
[[ $T_STATUS == 200 && $(t_header ce-type) == io.podgateway.client.scheduling.done ]] ||
	fail "event: $T_STATUS $(t_header ce-type) $(cat "$T_DIR/b")"
pod=$(t_json "$T_DIR/b" 'j["pod_name"]')
[[ $(posts) == 1 ]] || fail "expected 1 API request, got $(posts)"
tail -n 1 "$KUBE_RECORD" >"$T_DIR/req.json"
check() { # EXPR WANT
	local got
	got=$(t_json "$T_DIR/req.json" "$1")
	[[ $got == "$2" ]] || fail "request: $1 is '$got', expected '$2'"
}
check 'j["method"]' POST
check 'j["path"]' /api/v1/namespaces/crawlers/pods
check 'j["headers"]["authorization"]' "Bearer test-token-$$"
check 'j["headers"]["content-type"]' application/json
check 'j["headers"]["accept"]' application/json
check 'j["body"]["apiVersion"] + "/" + j["body"]["kind"]' v1/Pod
check 'j["body"]["metadata"]["name"]' "$pod"
check 'j["body"]["metadata"]["namespace"]' crawlers
check '"setGateway" in j["body"]["metadata"].get("annotations", {})' False
check 'j["body"]["metadata"]["labels"]["podgw.io/gateway"]' foo
check 'j["body"]["spec"]["containers"][0]["image"]' registry.example/crawler:1
check 'j["body"]["spec"]["restartPolicy"]' Never
check 'j["body"]["spec"]["initContainers"][0]["name"] + " " + j["body"]["spec"]["initContainers"][0]["restartPolicy"]' "podgw-client Always"
check '[v["secret"]["secretName"] for v in j["body"]["spec"]["volumes"] if "secret" in v]' "['podgw-membership-foo']"
# The body is the pod `provisiond crawler-pod` prints, to the byte's meaning.
"$PROVISIOND" crawler-pod --gateway foo --name "$pod" --pod-namespace crawlers \
	--crawler-image registry.example/crawler:1 >"$T_DIR/printed.json" ||
	fail "provisiond crawler-pod failed"
python3 -c 'import json, sys
body = json.load(open(sys.argv[1]))["body"]
sys.exit(body != json.load(open(sys.argv[2])))' "$T_DIR/req.json" "$T_DIR/printed.json" ||
	fail "the posted pod differs from what provisiond crawler-pod prints"
info "POST /api/v1/namespaces/crawlers/pods with bearer token: $pod, clientd sidecar, key podgw-membership-foo, no setGateway; the same pod as crawler-pod prints"

# --- provisiond restarts (its memory of answers is gone); the broker
# redelivers: the API says 409 AlreadyExists, the answer is the same pod.
kill -s TERM "$PROVISIOND_PID"
wait "$PROVISIOND_PID" || fail "provisiond exited with $? on SIGTERM"
[[ ! -e $T_DIR/ready ]] || fail "ready file left behind after SIGTERM"
t_start_provisiond --crawler-image registry.example/crawler:1
t_post_binary k-1 io.podgateway.client.pending '{"gateway_name":"foo"}'
[[ $T_STATUS == 200 && $(t_header ce-type) == io.podgateway.client.scheduling.done ]] ||
	fail "redelivery after restart: $T_STATUS $(cat "$T_DIR/b")"
[[ $(t_json "$T_DIR/b" 'j["pod_name"]') == "$pod" ]] || fail "redelivery after restart: another pod"
[[ $(posts) == 2 && $(tail -n 1 "$KUBE_RECORD" | grep -c "$pod") == 1 ]] || fail "redelivery: unexpected requests"
info "redelivery after a restart: 409 AlreadyExists, answered with the same pod"

# --- the API refuses (RBAC): a failed event with the API's message; not
# kept, so a redelivery asks again once permissions are fixed
kill -s TERM "$PROVISIOND_PID"
wait "$PROVISIOND_PID" || true
t_start_provisiond --pod-namespace forbidden
t_post_binary k-2 io.podgateway.client.pending '{"gateway_name":"bar"}'
[[ $T_STATUS == 200 && $(t_header ce-type) == io.podgateway.client.scheduling.failed ]] ||
	fail "forbidden: $T_STATUS $(t_header ce-type)"
msg=$(t_json "$T_DIR/b" 'j["message"]')
[[ $msg == *"API server: 403: pods is forbidden"* ]] || fail "forbidden: message '$msg'"
t_post_binary k-2 io.podgateway.client.pending '{"gateway_name":"bar"}'
[[ $(posts) == 4 ]] || fail "a failed create was kept: $(posts) requests"
info "API refusal: failed event: $msg"

# --- the API server is away: a failed event naming it
kill -s TERM "$PROVISIOND_PID"
wait "$PROVISIOND_PID" || true
KUBE_URL=http://127.0.0.1:1 t_start_provisiond
t_post_binary k-3 io.podgateway.client.pending '{"gateway_name":"foo"}'
msg=$(t_json "$T_DIR/b" 'j["message"]')
[[ $(t_header ce-type) == io.podgateway.client.scheduling.failed && $msg == *"API server http://127.0.0.1:1/"* ]] ||
	fail "API away: $(cat "$T_DIR/b")"
info "API away: failed event: $msg"
pass
