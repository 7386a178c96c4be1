#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Offline checks of k8s/ (no cluster needed):
# 1. every kustomization renders with `kubectl kustomize`;
# 2. the rendered objects validate against the Kubernetes API schemas, with
#    unknown fields refused, and pass the least-privilege policy
#    (validate.mjs; its validators are installed with npm into the build
#    folder from tests/k8s/package-lock.json); a broken fixture must fail;
# 3. the crawler pods provisiond creates, printed by the built provisiond
#    (`provisiond crawler-pod`) from its Deployment's environment and its
#    template ConfigMap, and with its built-in crawler, pass step 2 too;
#    The examples of k8s/examples/injected, patched by the built provisiond
#    in webhook mode (`provisiond webhook --review`), pass step 2 too;
# 4. the environment (and settings file) each gatewayd/clientd container
#    gets (the printed pods' clientd included) is accepted by the built
#    binary's own --check-config, and what --check-config prints loads back
#    to the same settings;
# 5. shellcheck finds nothing in the scripts for images and kind.
# A missing tool fails the test, loudly: nothing is skipped.
set -euo pipefail

src=${PODGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PODGW_BUILD:-$src/build}
here=$src/tests/k8s
work=$build/k8s-test
modules=$build/k8s-validate
failures=()

fail() {
	echo "FAIL: k8s: $*" >&2
	exit 1
}
need() {
	command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: $2"
}
need kubectl "install kubectl (with its built-in kustomize, v1.27 or later)"
need node "install Node.js 20 or later (apt-get install nodejs npm)"
need npm "install npm (apt-get install npm)"
need shellcheck "install shellcheck (scripts/test.sh does: apt-get install shellcheck)"

# The validators, pinned by the lock file; reinstalled when it changes.
mkdir -p "$modules"
if ! cmp -s "$here/package-lock.json" "$modules/package-lock.json" || [[ ! -d $modules/node_modules ]]; then
	cp "$here/package.json" "$here/package-lock.json" "$modules/"
	rm -rf "$modules/node_modules"
	echo "k8s: installing the validators with npm into $modules" >&2
	(cd "$modules" && npm ci --no-audit --no-fund --loglevel=error) ||
		fail "npm ci failed: the validators (tests/k8s/package.json) could not be installed"
fi

# 1. Render every kustomization from a copy that has membership keys and
# provisiond's token.
rm -rf "$work"
mkdir -p "$work/rendered"
cp -r "$src/k8s" "$work/k8s"
while IFS= read -r f; do
	head -c 32 /dev/urandom >"$(dirname "$f")/membership.key"
done < <(grep -l 'key=membership.key' -r "$work/k8s" --include=kustomization.yaml)
while IFS= read -r f; do
	head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' >"$(dirname "$f")/provisiond.token"
done < <(grep -l 'token=provisiond.token' -r "$work/k8s" --include=kustomization.yaml)
dirs=()
while IFS= read -r k; do
	dirs+=("$(dirname "$k")")
done < <(cd "$work" && find k8s -name kustomization.yaml | sort)
((${#dirs[@]} >= 8)) || fail "only ${#dirs[@]} kustomizations found under k8s/"
for d in "${dirs[@]}"; do
	out=$work/rendered/$(tr / _ <<<"$d").yaml
	if ! kubectl kustomize "$work/$d" >"$out" 2>"$out.err"; then
		failures+=("$d does not render: $(cat "$out.err")")
		rm -f "$out"
	fi
	rm -f "$out.err"
done
echo "k8s: rendered ${#dirs[@]} kustomizations" >&2

# 2. Schemas and policy; the broken fixture must be refused, each way.
node "$here/validate.mjs" "$modules" "$work/env.json" "$work"/rendered/*.yaml ||
	failures+=("rendered manifests: see the FAIL lines above")
bad_out=$(node "$here/validate.mjs" "$modules" "$work/env-bad.json" "$here/bad.yaml" || true)
for want in 'unknown field in V1SecurityContext' 'privileged must be false' \
	'capability NET_RAW added' 'capabilities.drop must contain ALL' \
	'allowPrivilegeEscalation must be false' 'readOnlyRootFilesystem must be true' \
	'resources.requests.memory missing' 'is not pinned' 'readinessProbe missing' \
	'livenessProbe missing' 'hostPath /' 'must be integer' 'net.ipv4.ip_forward=1' \
	'at least two replicas' 'must not be Recreate' 'must be preferred, not required' \
	'preferred podAntiAffinity on kubernetes.io/hostname' 'REPLICA_NAME must be the pod' \
	'no PodDisruptionBudget selects' 'minAvailable 2: between 1' 'must be headless' \
	'must not publish not-ready replicas' "readinessProbe must be its /readyz" "admits more than the Knative broker's filter pods" \
	'must not ask for injection (setGateway)' 'mounted with defaultMode 0400' \
	"not the controller's /wh/mutating/setgateway" 'needs an objectSelector on the label setGateway' \
	'/usr/bin/test is not in the image' "gatewayd's probes must be" \
	'carries no access_token for provisiond' 'PROVISIOND_AUTH=none: anyone could create crawlers' \
	'provisiond without PROVISIOND_TOKEN_FILE' 'net.ipv6.conf.all.forwarding=1' \
	'must be ipFamilyPolicy PreferDualStack' 'one family only; give the IPv6 range too' \
	'EVENTS_GATEWAY_NAME must name the gateway'; do
	grep -qF -- "$want" <<<"$bad_out" || failures+=("validate.mjs did not catch '$want' in bad.yaml")
done

# 3. provisiond's crawler pods, as provisiond prints them. The API server's
# address is what a pod gets from the cluster; the template is the mounted
# ConfigMap's file, written here.
gatewayd=$build/gatewayd/gatewayd
clientd=$build/clientd/clientd
provisiond=$build/provisiond/provisiond
[[ -x $gatewayd && -x $clientd && -x $provisiond ]] ||
	fail "build gatewayd, clientd and provisiond first (meson compile -C $build)"
mkdir -p "$work/printed"
np=0
while IFS= read -r rec; do
	np=$((np + 1))
	where=$(node -e 'console.log(JSON.parse(process.argv[1]).where)' "$rec")
	# shellcheck disable=SC2016 # JavaScript, not shell
	mapfile -t envs < <(node -e 'const r=JSON.parse(process.argv[1]);
		for (const [k, v] of Object.entries(r.env)) console.log(`${k}=${v}`)' "$rec")
	tmpl=$(node -e 'console.log(JSON.parse(process.argv[1]).env.CRAWLER_TEMPLATE_FILE ?? "")' "$rec")
	variants=(builtin)
	if [[ -n $tmpl ]]; then
		node -e 'const r=JSON.parse(process.argv[1]), c=r.files[process.argv[2]];
			if (c === undefined) process.exit(1);
			require("fs").writeFileSync(process.argv[3], c)' "$rec" "$tmpl" "$work/template-$np.json" ||
			failures+=("$where: CRAWLER_TEMPLATE_FILE $tmpl is in no mounted ConfigMap")
		variants+=(template)
	fi
	gateways=$(node -e 'console.log((JSON.parse(process.argv[1]).env.GATEWAYS ?? "").replace(/,/g, " "))' "$rec")
	for gw in $gateways; do
		for v in "${variants[@]}"; do
			file=$work/template-$np.json
			[[ $v == builtin ]] && file=
			out=$work/printed/provisiond-$np-$gw-$v.yaml
			env -i "${envs[@]}" KUBERNETES_SERVICE_HOST=10.96.0.1 KUBERNETES_SERVICE_PORT=443 \
				"$provisiond" crawler-pod --gateway "$gw" --name "crawler-$gw-$v" \
				--crawler-template-file "$file" >"$out" 2>"$out.err" ||
				failures+=("$where: provisiond crawler-pod --gateway $gw ($v): $(cat "$out.err")")
			rm -f "$out.err"
		done
	done
done < <(node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1])))
	if (r.provisiond) console.log(JSON.stringify(r))' "$work/env.json")
((np >= 1)) || failures+=("no provisiond Deployment found in the manifests")
printed=("$work"/printed/*.yaml)
((${#printed[@]} >= 4)) || failures+=("only ${#printed[@]} crawler pods printed by provisiond")
node "$here/validate.mjs" "$modules" "$work/env-printed.json" "${printed[@]}" ||
	failures+=("crawler pods printed by provisiond: see the FAIL lines above")
echo "k8s: ${#printed[@]} crawler pods printed by provisiond validated" >&2

# 3b. The injected examples as podgw's webhook patches them (`provisiond
# webhook --review`, with the webhook Deployment's environment), validated
# with the gateways' client settings ConfigMaps they read.
mkdir -p "$work/injected"
ni=0
while IFS= read -r rec; do
	# shellcheck disable=SC2016 # JavaScript, not shell
	mapfile -t envs < <(node -e 'const r=JSON.parse(process.argv[1]);
		for (const [k, v] of Object.entries(r.env)) console.log(`${k}=${v}`)' "$rec")
	where=$(node -e 'console.log(JSON.parse(process.argv[1]).where)' "$rec")
	python3 -c 'import json, sys, yaml
for i, d in enumerate(d for d in yaml.safe_load_all(open(sys.argv[1])) if d):
    json.dump(d, open(f"{sys.argv[2]}/example-{i}.json", "w"))' \
		"$work/rendered/k8s_examples_injected.yaml" "$work/injected" ||
		failures+=("k8s/examples/injected did not render")
	for ex in "$work"/injected/example-*.json; do
		ni=$((ni + 1))
		python3 "$src/tests/webhook/review.py" wrap crawler-system "$ex" >"$work/injected/review.json"
		if env -i "${envs[@]}" "$provisiond" webhook --review <"$work/injected/review.json" \
			>"$work/injected/answer.json" 2>"$work/injected/err" &&
			python3 "$src/tests/webhook/review.py" apply "$work/injected/review.json" \
				"$work/injected/answer.json" >"$work/injected/pod-$ni.yaml" 2>>"$work/injected/err"; then
			:
		else
			failures+=("$where: $(basename "$ex") not injected: $(tail -n 1 "$work/injected/err")")
			rm -f "$work/injected/pod-$ni.yaml"
		fi
	done
	rm -f "$work"/injected/example-*.json
done < <(node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1])))
	if (r.provisiond && r.command.includes("webhook")) console.log(JSON.stringify(r))' "$work/env.json")
injected=("$work"/injected/pod-*.yaml)
((${#injected[@]} >= 2)) || failures+=("only ${#injected[@]} injected pods (a webhook Deployment and k8s/examples/injected expected)")
node "$here/validate.mjs" "$modules" "$work/env-injected.json" "$work/rendered/k8s_injection_podgw_base.yaml" \
	"${injected[@]}" || failures+=("pods injected by the webhook: see the FAIL lines above")
echo "k8s: ${#injected[@]} pods injected by the webhook validated" >&2

# 4. What each daemon gets, judged by the daemon.
n=0
while IFS= read -r rec; do
	n=$((n + 1))
	where=$(node -e 'console.log(JSON.parse(process.argv[1]).where)' "$rec")
	settings=$(node -e 'console.log(JSON.parse(process.argv[1]).settings ?? "")' "$rec")
	if [[ -n $settings ]]; then
		# A ConfigMap settings.sh of the admission controller: clientd reads
		# it with the environment the controller injects.
		printf '%s\n' "$settings" >"$work/settings.sh"
		bin=clientd
		cmd=(env -i gateway=gateway-foo.gateway-system.svc.cluster.local DNS= DNS_ips=
			K8S_DNS_ips="10.96.0.10" "$clientd" --config "$work/settings.sh" --check-config init)
	else
		# shellcheck disable=SC2016 # JavaScript, not shell
		mapfile -t envs < <(node -e 'const r=JSON.parse(process.argv[1]);
			for (const [k, v] of Object.entries(r.env)) console.log(`${k}=${v}`)' "$rec")
		mapfile -t argv < <(node -e 'const r=JSON.parse(process.argv[1]);
			for (const a of [...r.command, ...r.args]) console.log(a)' "$rec")
		bin=$(basename "${argv[0]}")
		cmd=(env -i "${envs[@]}" "$build/$bin/$bin" --check-config "${argv[@]:1}")
	fi
	if ! out=$("${cmd[@]}" 2>&1); then
		failures+=("$where: --check-config refused its settings: $out")
		continue
	fi
	# What --check-config prints is a settings file that loads to the same.
	printf '%s\n' "$out" | grep -v '^warning:' >"$work/effective.sh"
	extra=()
	[[ $bin == clientd ]] && extra=(init)
	again=$(env -i "$build/$bin/$bin" --config "$work/effective.sh" --check-config "${extra[@]}" 2>&1) ||
		failures+=("$where: the effective settings do not load back: $again")
	[[ $again == "$(cat "$work/effective.sh")" ]] ||
		failures+=("$where: the effective settings change when loaded back")
done < <(node -e 'for (const f of process.argv.slice(1))
	for (const r of JSON.parse(require("fs").readFileSync(f))) if (!r.provisiond) console.log(JSON.stringify(r))' \
	"$work/env.json" "$work/env-printed.json" "$work/env-injected.json")
((n >= 6)) || failures+=("only $n daemon configurations found in the manifests")
echo "k8s: $n daemon configurations checked with --check-config" >&2

# 5. Scripts.
shellcheck -x "$src/scripts/images.sh" "$src/scripts/kind.sh" "$src/containers/collect.sh" \
	"$src/scripts/webhook-cert.sh" "$src/tests/webhook/webhook.sh" "$here/manifests.sh" || failures+=("shellcheck")

if ((${#failures[@]} > 0)); then
	for f in "${failures[@]}"; do
		echo "FAIL: k8s: $f" >&2
	done
	exit 1
fi
echo "PASS: k8s: ${#dirs[@]} kustomizations render, validate and pass the policy; ${#printed[@]} provisiond crawler pods validated; $n daemon configurations accepted"
