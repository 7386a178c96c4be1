#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# provisiond over HTTP with curl as the client (binary and structured mode),
# on loopback, with the kubernetes backend against the API stand-in (no root
# needed): the reply event, every bad input (4xx naming the field, nothing
# created), unknown gateway, redelivery, and 100 events at once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

t_start_recorder
# 100 events at once below come from one address (loopback).
t_start_provisiond --max-body-bytes 1024 --max-connections-per-ip 128

pods_created() {
	grep -c '"method": "POST"' "$KUBE_RECORD" || true
}

# --- binary mode: the reference design's event
t_post_binary ev-1 io.podgateway.client.pending '{"gateway_name":"foo"}'
[[ $T_STATUS == 200 ]] || fail "binary: status $T_STATUS: $(cat "$T_DIR/b")"
[[ $(t_header ce-type) == io.podgateway.client.scheduling.done ]] || fail "binary: ce-type $(t_header ce-type)"
[[ $(t_header ce-specversion) == 1.0 ]] || fail "binary: ce-specversion"
[[ $(t_header ce-source) == /podgw/provisiond ]] || fail "binary: ce-source $(t_header ce-source)"
[[ -n $(t_header ce-id) ]] || fail "binary: no ce-id"
[[ $(t_header content-type) == application/json ]] || fail "binary: content-type $(t_header content-type)"
pod=$(t_json "$T_DIR/b" 'j["pod_name"]')
[[ $pod =~ ^crawler-foo-[0-9a-f]{10}$ ]] || fail "binary: pod_name '$pod'"
[[ $(t_json "$T_DIR/b" 'j["namespace"]') == crawlers ]] || fail "binary: namespace"
[[ $(pods_created) == 1 ]] || fail "binary: $(pods_created) pods created, expected 1"
first_id=$(t_header ce-id)
first_body=$(cat "$T_DIR/b")
info "binary mode: done, pod $pod"

# --- redelivery: the same answer, nothing new
t_post_binary ev-1 io.podgateway.client.pending '{"gateway_name":"foo"}'
[[ $T_STATUS == 200 && $(t_header ce-id) == "$first_id" && $(cat "$T_DIR/b") == "$first_body" ]] ||
	fail "redelivery: a different answer: $T_STATUS $(t_header ce-id) $(cat "$T_DIR/b")"
[[ $(pods_created) == 1 ]] || fail "redelivery created a pod"
info "redelivery: same answer ($first_id), no new pod"

# --- structured mode with curl
cat >"$T_DIR/structured.json" <<'JSON'
{"specversion":"1.0","id":"ev-2","source":"/podgw/tests","type":"io.podgateway.client.pending",
 "datacontenttype":"application/json","data":{"gateway_name":"bar"}}
JSON
code=$(curl -sS -m 30 -o "$T_DIR/b" -D "$T_DIR/h" -w '%{http_code}' "$URL" "${AUTH[@]}" \
	-H 'Content-Type: application/cloudevents+json; charset=utf-8' --data-binary @"$T_DIR/structured.json")
[[ $code == 200 ]] || fail "structured: status $code: $(cat "$T_DIR/b")"
[[ $(t_header content-type) == application/cloudevents+json ]] || fail "structured: content-type"
[[ $(t_json "$T_DIR/b" 'j["type"]') == io.podgateway.client.scheduling.done ]] || fail "structured: type"
[[ $(t_json "$T_DIR/b" 'j["datacontenttype"]') == application/json ]] || fail "structured: datacontenttype"
[[ $(t_json "$T_DIR/b" 'j["data"]["pod_name"]') =~ ^crawler-bar- ]] || fail "structured: pod_name"
info "structured mode: done, pod $(t_json "$T_DIR/b" 'j["data"]["pod_name"]')"

# --- unknown gateway: a failed event naming it (answered, kept, no pod)
before=$(pods_created)
t_post_binary ev-3 io.podgateway.client.pending '{"gateway_name":"baz"}'
[[ $T_STATUS == 200 && $(t_header ce-type) == io.podgateway.client.scheduling.failed ]] ||
	fail "unknown gateway: $T_STATUS $(t_header ce-type)"
[[ $(t_json "$T_DIR/b" 'j["message"]') == "unknown gateway 'baz'" ]] || fail "unknown gateway: $(cat "$T_DIR/b")"
[[ $(pods_created) == "$before" ]] || fail "unknown gateway: a pod was created"
info "unknown gateway: $(t_json "$T_DIR/b" 'j["message"]')"

# --- every bad input: status, the reason's start, nothing created
before=$(pods_created)
bad() { # WANT_STATUS WANT_REASON_PREFIX CURL ARGS...
	local want=$1 reason=$2 code
	shift 2
	code=$(curl -sS -m 10 -o "$T_DIR/b" -w '%{http_code}' "$URL" "${AUTH[@]}" "$@")
	[[ $code == "$want" ]] || fail "bad input ($reason): status $code, expected $want: $(cat "$T_DIR/b")"
	[[ $(head -c ${#reason} "$T_DIR/b") == "$reason" ]] || fail "bad input: reason '$(cat "$T_DIR/b")', expected '$reason...'"
	info "refused $code: $(cat "$T_DIR/b")"
}
B=(-H 'Ce-Specversion: 1.0' -H 'Ce-Id: bad-1' -H 'Ce-Source: /podgw/tests' -H 'Content-Type: application/json')
P=(-H 'Ce-Type: io.podgateway.client.pending')
bad 400 "ce-type: 'io.example.other'" "${B[@]}" -H 'Ce-Type: io.example.other' -d '{"gateway_name":"foo"}'
bad 400 "ce-type: missing header" "${B[@]}" -d '{"gateway_name":"foo"}'
bad 400 "ce-id: missing header" -H 'Ce-Specversion: 1.0' -H 'Ce-Source: /s' "${P[@]}" -H 'Content-Type: application/json' -d '{"gateway_name":"foo"}'
bad 400 "ce-specversion: '0.3'" -H 'Ce-Specversion: 0.3' -H 'Ce-Id: x' -H 'Ce-Source: /s' "${P[@]}" -H 'Content-Type: application/json' -d '{"gateway_name":"foo"}'
bad 400 "data.gateway_name: missing" "${B[@]}" "${P[@]}" -d '{"gateway":"foo"}'
bad 400 "data.gateway_name: not a string" "${B[@]}" "${P[@]}" -d '{"gateway_name":42}'
bad 400 "data.gateway_name: not a string" "${B[@]}" "${P[@]}" -d '{"gateway_name":["foo"]}'
bad 400 "data.gateway_name: missing" "${B[@]}" "${P[@]}" -d '{"gateway_name":null}'
bad 400 "data.gateway_name: 'Foo;rm'" "${B[@]}" "${P[@]}" -d '{"gateway_name":"Foo;rm"}'
bad 400 "data: bad JSON" "${B[@]}" "${P[@]}" -d '{"gateway_name":"foo"'
bad 400 "data: bad JSON" "${B[@]}" "${P[@]}" -d '{"gateway_name":"foo"} x'
bad 400 "data: not a JSON object" "${B[@]}" "${P[@]}" -d '"foo"'
bad 400 "data: empty body" "${B[@]}" "${P[@]}" -d ''
bad 415 "content-type: 'text/plain'" -H 'Ce-Specversion: 1.0' -H 'Ce-Id: x' -H 'Ce-Source: /s' "${P[@]}" -H 'Content-Type: text/plain' -d '{"gateway_name":"foo"}'
bad 415 "content-type: missing" -H 'Ce-Specversion: 1.0' -H 'Ce-Id: x' -H 'Ce-Source: /s' "${P[@]}" -H 'Content-Type:' -d '{"gateway_name":"foo"}'
bad 415 "content-type: 'application/xml'" -H 'Content-Type: application/xml' -d '<event/>'
bad 415 "content-type: batched mode" -H 'Content-Type: application/cloudevents-batch+json' -d '[]'
bad 400 "ce-specversion: missing header" -H 'Content-Type: application/json' -d '{"gateway_name":"foo"}'
bad 400 "type: 'x'" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"a","source":"/s","type":"x","data":{"gateway_name":"foo"}}'
bad 400 "id: missing" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","source":"/s","type":"io.podgateway.client.pending","data":{"gateway_name":"foo"}}'
bad 400 "id: empty" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"","source":"/s","type":"io.podgateway.client.pending","data":{"gateway_name":"foo"}}'
bad 400 "data: missing" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"a","source":"/s","type":"io.podgateway.client.pending"}'
bad 400 "data.gateway_name: not a string" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"a","source":"/s","type":"io.podgateway.client.pending","data":{"gateway_name":true}}'
bad 415 "datacontenttype: 'text/xml'" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"a","source":"/s","type":"io.podgateway.client.pending","datacontenttype":"text/xml","data":{"gateway_name":"foo"}}'
bad 415 "data_base64: binary data" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":"1.0","id":"a","source":"/s","type":"io.podgateway.client.pending","data_base64":"e30="}'
bad 400 "event: bad JSON" -H 'Content-Type: application/cloudevents+json' -d '{"specversion":'
big=$(printf '{"gateway_name":"foo","pad":"%02000d"}' 0)
bad 413 "body: larger than MAX_BODY_BYTES" "${B[@]}" "${P[@]}" -d "$big"
# Chunked: no Content-Length, the limit still holds while reading.
bad 413 "body: larger than MAX_BODY_BYTES" "${B[@]}" "${P[@]}" -H 'Transfer-Encoding: chunked' -d "$big"
bad 405 "method: only POST" -X PUT -d x
[[ $(pods_created) == "$before" ]] || fail "a bad input created a pod"
curl -sS -m 5 "${URL}healthz" | grep -qx ok || fail "healthz"
# Without the token, or with another: 401 naming the header, nothing read.
unauth() { # WHAT CURL ARGS...
	local what=$1 code
	shift
	code=$(curl -sS -m 10 -o "$T_DIR/b" -D "$T_DIR/h" -w '%{http_code}' "$URL" "${B[@]}" "${P[@]}" \
		"$@" -d '{"gateway_name":"foo"}')
	[[ $code == 401 ]] || fail "$what: status $code, expected 401: $(cat "$T_DIR/b")"
	[[ $(head -c 14 "$T_DIR/b") == "authorization:" ]] || fail "$what: body '$(cat "$T_DIR/b")'"
	[[ $(t_header www-authenticate) == 'Bearer realm="provisiond"' ]] || fail "$what: WWW-Authenticate"
	info "refused 401 ($what): $(cat "$T_DIR/b")"
}
unauth "no token"
unauth "another token" -H "Authorization: Bearer x$EVENT_TOKEN"
unauth "the token cut short" -H "Authorization: Bearer ${EVENT_TOKEN%?}"
unauth "another scheme" -H "Authorization: Basic $EVENT_TOKEN"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X PUT "$URL")
[[ $code == 401 ]] || fail "PUT without a token: $code, expected 401"
# The token as a Knative Trigger carries it: in the subscriber URI's query.
code=$(curl -sS -m 10 -o "$T_DIR/b" -w '%{http_code}' "${URL}?access_token=x$EVENT_TOKEN" "${B[@]}" \
	"${P[@]}" -d '{"gateway_name":"foo"}')
[[ $code == 401 ]] || fail "another access_token: status $code, expected 401"
[[ $(pods_created) == "$before" ]] || fail "an unauthenticated event created a pod"
code=$(curl -sS -m 30 -o "$T_DIR/b" -w '%{http_code}' "${URL}?access_token=$EVENT_TOKEN" \
	-H 'Ce-Specversion: 1.0' -H 'Ce-Id: query-token' -H 'Ce-Source: /podgw/tests' \
	-H 'Content-Type: application/json' "${P[@]}" -d '{"gateway_name":"foo"}')
[[ $code == 200 ]] || fail "access_token in the query: status $code: $(cat "$T_DIR/b")"
[[ $(pods_created) == $((before + 1)) ]] || fail "access_token in the query: no pod"
info "access_token in the query: accepted, one pod"

# --- 100 events at once, distinct ids: 100 pods, 100 distinct names
start=$(date +%s%N)
for ((i = 0; i < 100; i++)); do
	gw=foo
	((i % 2)) && gw=bar
	curl -sS -m 60 -o "$T_DIR/many.$i" -w '%{http_code}\n' "$URL" "${AUTH[@]}" -H "Ce-Id: many-$i" \
		-H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' -H 'Ce-Source: /podgw/tests' \
		-H 'Content-Type: application/json' -d "{\"gateway_name\":\"$gw\"}" >"$T_DIR/many.code.$i" &
	T_CURL+=("$!")
done
for pid in "${T_CURL[@]}"; do wait "$pid" || fail "a concurrent curl failed"; done
ms=$((($(date +%s%N) - start) / 1000000))
okays=$(cat "$T_DIR"/many.code.* | grep -cx 200 || true)
[[ $okays == 100 ]] || fail "100 at once: $okays answered 200"
names=$(cat "$T_DIR"/many.[0-9]* | python3 -c 'import json,sys; print(len({json.loads(l)["pod_name"] for l in sys.stdin.read().replace("}{","}\n{").splitlines()}))')
[[ $names == 100 ]] || fail "100 at once: $names distinct pod names"
info "100 events at once: 100 done, 100 distinct pods, ${ms} ms in all"
# ... and the same 100 again at once: redeliveries, no new pod
before=$(pods_created)
T_CURL=()
for ((i = 0; i < 100; i++)); do
	curl -sS -m 60 -o /dev/null -w '%{http_code}\n' "$URL" "${AUTH[@]}" -H "Ce-Id: many-$i" \
		-H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' -H 'Ce-Source: /podgw/tests' \
		-H 'Content-Type: application/json' -d '{"gateway_name":"foo"}' >"$T_DIR/again.code.$i" &
	T_CURL+=("$!")
done
for pid in "${T_CURL[@]}"; do wait "$pid" || fail "a concurrent curl failed"; done
[[ $(cat "$T_DIR"/again.code.* | grep -cx 200) == 100 ]] || fail "100 redeliveries: not all 200"
[[ $(pods_created) == "$before" ]] || fail "100 redeliveries created $(($(pods_created) - before)) pods"
info "100 redeliveries at once: same answers, no new pod"
pass
