#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# webhook-cert.sh DIR [--name DNS]... [--ip IP]... [--days N] [--apply]
#
# The TLS certificate of podgw's webhook without cert-manager, with openssl:
# DIR/ca.crt + ca.key (a CA of its own, made once and kept: run the script
# again to renew the serving certificate under the same CA), DIR/tls.crt +
# tls.key (ECDSA P-256, for podgw-webhook.gateway-system.svc unless --name
# or --ip say otherwise; 90 days unless --days). Keys are 0600.
# --apply (kubectl, after `kubectl apply -k k8s/injection/podgw/base`):
# writes Secret gateway-system/podgw-webhook-tls and puts the CA into the
# MutatingWebhookConfiguration podgw-webhook. The webhook re-reads a renewed
# Secret by itself (no restart); the kubelet takes up to a minute or two to
# update the mounted files.
set -euo pipefail

usage() {
	sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

dir=${1:-}
[[ -n $dir && $dir != -* ]] || usage
shift
names=() ips=() days=90 apply=0
while (($#)); do
	case $1 in
	--name) names+=("${2:?--name DNS}") && shift ;;
	--ip) ips+=("${2:?--ip IP}") && shift ;;
	--days) days=${2:?--days N} && shift ;;
	--apply) apply=1 ;;
	*) usage ;;
	esac
	shift
done
if [[ ! $days =~ ^[0-9]+$ ]] || ((days < 1 || days > 825)); then
	echo "webhook-cert.sh: --days '$days': a number from 1 to 825" >&2
	exit 2
fi
((${#names[@]} + ${#ips[@]} > 0)) || names=(podgw-webhook.gateway-system.svc)
command -v openssl >/dev/null || {
	echo "webhook-cert.sh: openssl is not installed" >&2
	exit 1
}

mkdir -p "$dir"
umask 077
if [[ ! -s $dir/ca.key || ! -s $dir/ca.crt ]]; then
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 3650 -subj "/CN=podgw-webhook-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		2>/dev/null
	echo "webhook-cert.sh: made the CA $dir/ca.crt" >&2
fi
san=""
for n in "${names[@]}"; do san+="${san:+,}DNS:$n"; done
for i in "${ips[@]}"; do san+="${san:+,}IP:$i"; done
cn=${names[0]:-${ips[0]}}
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
	-keyout "$dir/tls.key.new" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	"$san" >"$dir/tls.ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
	-days "$days" -extfile "$dir/tls.ext" -out "$dir/tls.crt.new" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/tls.ext"
# The key first: a reader that sees the new certificate finds its key.
mv -f "$dir/tls.key.new" "$dir/tls.key"
mv -f "$dir/tls.crt.new" "$dir/tls.crt"
echo "webhook-cert.sh: $dir/tls.crt for $san, $days days" >&2

if ((apply)); then
	command -v kubectl >/dev/null || {
		echo "webhook-cert.sh: --apply needs kubectl" >&2
		exit 1
	}
	kubectl -n gateway-system create secret tls podgw-webhook-tls --cert="$dir/tls.crt" \
		--key="$dir/tls.key" --dry-run=client -o yaml | kubectl apply -f -
	ca=$(base64 -w0 <"$dir/ca.crt")
	n=$(kubectl get mutatingwebhookconfiguration podgw-webhook -o jsonpath='{range .webhooks[*]}x{end}')
	ops=""
	for ((i = 0; i < ${#n}; i++)); do
		ops+="${ops:+,}{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$ca\"}"
	done
	kubectl patch mutatingwebhookconfiguration podgw-webhook --type=json -p "[$ops]"
fi
