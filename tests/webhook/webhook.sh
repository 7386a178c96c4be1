#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# podgw's webhook over TLS, as the API server calls it, with curl on
# loopback (no root): the certificate from scripts/webhook-cert.sh; the
# injected examples (k8s/examples/injected, rendered) and their patched
# pods; a pod with hostNetwork, an unknown gateway, a pod that asks for
# nothing, a reinvocation; bad JSON, a huge body, wrong content types,
# methods, paths, kinds and missing fields, each answered with one clear
# line and the server alive after all of them; the certificate renewed on
# disk and served without a restart, and a broken pair refused while the
# old one is kept.
set -euo pipefail

T_NAME=webhook-tls
src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PODGW_BUILD:-$src/build}
# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$src/tests/report.sh"
for t in curl openssl python3 kubectl; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "SKIP: $T_NAME: $t is not installed (scripts/test.sh installs it)"
		exit 77
	}
done
provisiond=$build/provisiond/provisiond
review=$src/tests/webhook/review.py
[[ -x $provisiond ]] || fail "build provisiond first"

work=$(mktemp -d /tmp/podgw-webhook.XXXXXX)
pid=
# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	local rc=$?
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	if ((rc != 0)); then
		echo "---- webhook log ----" >&2
		tail -n 20 "$work/log" >&2 || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

"$src/scripts/webhook-cert.sh" "$work/tls" --ip 127.0.0.1 2>/dev/null || fail "webhook-cert.sh failed"
"$provisiond" webhook --gateways "foo bar" --listen 127.0.0.1:0 --ready-file "$work/ready" \
	--max-body-bytes 1048576 --webhook-tls-cert-file "$work/tls/tls.crt" \
	--webhook-tls-key-file "$work/tls/tls.key" 2>"$work/log" &
pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $work/ready ]] && break
	kill -0 "$pid" 2>/dev/null || fail "the webhook exited: $(cat "$work/log")"
	sleep 0.1
done
[[ -s $work/ready ]] || fail "the webhook wrote no READY_FILE"
url=https://$(<"$work/ready")
url=${url%$'\n'}
tls=(--cacert "$work/tls/ca.crt" -sS -m 10)

# post FILE [curl options]: the HTTP status in $code, the body in $work/body.
post() {
	local f=$1
	shift
	code=$(curl "${tls[@]}" -o "$work/body" -w '%{http_code}' -H "Content-Type: ${type:-application/json}" \
		--data-binary "@$f" "$@" "$url/wh/mutating/setgateway")
}

errors=()
expect() { # expect CODE TEXT WHAT
	[[ $code == "$1" ]] && grep -qF -- "$2" "$work/body" ||
		errors+=("$3: got $code '$(head -c 300 "$work/body")', expected $1 with '$2'")
}

# 1. The injected examples, rendered as users apply them.
kubectl kustomize "$src/k8s/examples/injected" >"$work/examples.yaml" || fail "kubectl kustomize k8s/examples/injected"
python3 - "$work/examples.yaml" "$work" <<-'PY'
	import json, sys, yaml
	for d in yaml.safe_load_all(open(sys.argv[1])):
	    if d:
	        json.dump(d, open(f"{sys.argv[2]}/obj-{d['kind'].lower()}.json", "w"))
PY
for kind in pod job; do
	python3 "$review" wrap crawler-system "$work/obj-$kind.json" >"$work/review-$kind.json"
	post "$work/review-$kind.json"
	[[ $code == 200 ]] || fail "example $kind: HTTP $code: $(cat "$work/body")"
	cp "$work/body" "$work/answer-$kind.json"
	python3 "$review" apply "$work/review-$kind.json" "$work/answer-$kind.json" >"$work/pod-$kind.json" ||
		fail "example $kind: not injected"
	want=foo
	[[ $kind == job ]] && want=bar
	python3 - "$work/pod-$kind.json" "$want" <<-'PY' || errors+=("example $kind: the injected pod is not as expected")
		import json, sys
		pod, gw = json.load(open(sys.argv[1])), sys.argv[2]
		spec = pod["spec"]
		side = spec["initContainers"][0]
		env = {e["name"]: e.get("value") for e in side["env"]}
		vols = {v["name"]: v for v in spec["volumes"]}
		checks = {
		    "sidecar first": side["name"] == "podgw-client" and side["restartPolicy"] == "Always",
		    "startup probe": side["startupProbe"]["exec"]["command"] == ["/usr/local/bin/clientd", "check"],
		    "NET_ADMIN only": side["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]},
		    "gateway": env["GATEWAY_NAME"] == f"gateway-{gw}.gateway-system.svc.cluster.local",
		    "key": vols["podgw-membership-key"]["secret"] == {"secretName": f"podgw-membership-{gw}", "defaultMode": 256},
		    "settings": side["envFrom"] == [{"configMapRef": {"name": f"podgw-client-{gw}"}}],
		    "sysctl": {"name": "net.ipv4.ping_group_range", "value": "0 2147483647"} in spec["securityContext"]["sysctls"],
		    "label": pod["metadata"]["labels"]["podgw.io/gateway"] == gw,
		    "crawler untouched": [c["name"] for c in spec["containers"]] == ["crawler"],
		}
		bad = [k for k, ok in checks.items() if not ok]
		if bad:
		    print("not as expected:", ", ".join(bad), file=sys.stderr)
		    sys.exit(1)
	PY
	# Reinvoked on its own result: allowed, no patch.
	python3 "$review" wrap crawler-system "$work/pod-$kind.json" >"$work/again.json"
	post "$work/again.json"
	expect 200 '"allowed":true}' "reinvocation of the $kind"
	grep -q '"patch"' "$work/body" && errors+=("reinvocation of the $kind: patched again")
done
info "examples injected: $(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(", ".join(c["name"] for c in p["spec"]["initContainers"] + p["spec"]["containers"]))' "$work/pod-job.json") (the Job's pod)"

# 2. Refused, left alone.
variant() { # variant NAME PYTHON-EXPRESSION-ON-pod
	python3 - "$work/obj-pod.json" "$work/$1.json" "$2" <<-'PY'
		import json, sys
		pod = json.load(open(sys.argv[1]))
		exec(sys.argv[3])
		json.dump(pod, open(sys.argv[2], "w"))
	PY
	python3 "$review" wrap crawler-system "$work/$1.json" >"$work/review-$1.json"
	post "$work/review-$1.json"
}
variant hostnet 'pod["spec"]["hostNetwork"] = True'
expect 200 '"allowed":false,"status":{"code":403,"message":"podgw: spec.hostNetwork' "hostNetwork"
variant nope 'pod["metadata"]["annotations"]["setGateway"] = "nope"'
expect 200 "unknown gateway 'nope' (known: foo, bar)" "unknown gateway"
variant none 'del pod["metadata"]["annotations"]'
expect 200 '"allowed":true}' "a pod that asks for nothing"

# 3. Bad requests: one line each, never a crash.
printf '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": ' >"$work/bad.json"
post "$work/bad.json"
expect 400 'body: not JSON' "truncated JSON"
printf 'not json' >"$work/bad.json"
post "$work/bad.json"
expect 400 'body: not JSON' "garbage"
python3 -c 'import sys; sys.stdout.write("[" * 100000)' >"$work/deep.json"
post "$work/deep.json"
expect 400 'body: not JSON' "nesting 100000 deep"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$work/huge.json"
post "$work/huge.json"
expect 413 'larger than MAX_BODY_BYTES' "a 2 MB body"
type=text/plain post "$work/review-pod.json"
expect 415 'application/json is expected' "content type text/plain"
code=$(curl "${tls[@]}" -o "$work/body" -w '%{http_code}' "$url/wh/mutating/setgateway")
expect 405 'only POST' "GET"
code=$(curl "${tls[@]}" -o "$work/body" -w '%{http_code}' -X POST "$url/other")
expect 404 'reviews go to /wh/mutating/setgateway' "another path"
sed 's#admission.k8s.io/v1#admission.k8s.io/v1beta1#' "$work/review-pod.json" >"$work/bad.json"
post "$work/bad.json"
expect 400 "apiVersion: 'admission.k8s.io/v1beta1'" "AdmissionReview v1beta1"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); del r["request"]["uid"]; print(json.dumps(r))' \
	"$work/review-pod.json" >"$work/bad.json"
post "$work/bad.json"
expect 400 'request.uid' "no uid"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); del r["request"]["object"]; print(json.dumps(r))' \
	"$work/review-pod.json" >"$work/bad.json"
post "$work/bad.json"
expect 200 'request.object: missing' "no object"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["request"]["kind"]={"group":"apps","version":"v1","kind":"Deployment"}; print(json.dumps(r))' \
	"$work/review-pod.json" >"$work/bad.json"
post "$work/bad.json"
expect 200 "request.kind: 'apps/v1 Deployment': only v1 Pod is injected" "a Deployment"
curl -sS -m 5 -o /dev/null "http://$(<"$work/ready")/healthz" 2>/dev/null &&
	errors+=("plain HTTP was answered")
curl "${tls[@]}" --tls-max 1.1 -o /dev/null "$url/healthz" 2>/dev/null &&
	errors+=("TLS 1.1 was accepted")
kill -0 "$pid" 2>/dev/null || fail "the webhook died: $(tail -n 5 "$work/log")"
[[ $(curl "${tls[@]}" "$url/healthz") == ok ]] || errors+=("no /healthz after the bad requests")

# 4. A renewed certificate (same CA) is served without a restart.
serial() {
	openssl s_client -connect "${url#https://}" -CAfile "$work/tls/ca.crt" </dev/null 2>/dev/null |
		openssl x509 -noout -serial
}
before=$(serial)
"$src/scripts/webhook-cert.sh" "$work/tls" --ip 127.0.0.1 2>/dev/null
for ((i = 0; i < 50; i++)); do
	[[ $(serial) != "$before" ]] && break
	sleep 0.2
done
after=$(serial)
[[ -n $after && $after != "$before" ]] || errors+=("the renewed certificate is not served ($before)")
grep -q 'certificate reloaded' "$work/log" || errors+=("no 'certificate reloaded' in the log")
post "$work/review-pod.json"
expect 200 '"patchType":"JSONPatch"' "a review after the renewal"
# A key that is not the certificate's: reported, the renewed pair kept.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=x \
	-keyout "$work/tls/tls.key" -out /dev/null 2>/dev/null
for ((i = 0; i < 50; i++)); do
	grep -q 'keeping the certificate in use' "$work/log" && break
	sleep 0.2
done
grep -q 'keeping the certificate in use' "$work/log" || errors+=("a mismatched key was not reported")
[[ $(serial) == "$after" ]] || errors+=("the mismatched pair replaced the good one")
kill -0 "$pid" 2>/dev/null || fail "the webhook died on a mismatched key"

if ((${#errors[@]} > 0)); then
	printf 'FAIL: %s: %s\n' "$T_NAME" "${errors[@]}" >&2
	exit 1
fi
pass "the examples injected over TLS, refusals and bad requests answered in one line, the certificate renewed without a restart"
