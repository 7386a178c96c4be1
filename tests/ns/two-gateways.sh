#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Two gateways, two crawlers each. Seen from the internet, every crawler's
# pings come from its own gateway's pod IP, never from another gateway and
# never from a crawler's pod IP or overlay address. Each crawler pings with
# its own payload size, so the internet's capture tells them apart.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# name pod-ip gateway overlay-address payload-size
crawlers=(
	"crawler-foo-1 10.244.0.11 foo 172.16.0.11 101"
	"crawler-foo-2 10.244.0.12 foo 172.16.0.12 102"
	"crawler-bar-1 10.244.0.21 bar 172.16.0.21 103"
	"crawler-bar-2 10.244.0.22 bar 172.16.0.22 104"
)
declare -A gw_ip=([foo]=10.244.0.2 [bar]=10.244.0.3)
count=3

lab_create_base
for gw in foo bar; do
	lab_add_gateway "$gw" "${gw_ip[$gw]}"
	lab_start_gatewayd "$gw" || fail "gatewayd in $gw did not become ready"
done
for entry in "${crawlers[@]}"; do
	read -r name ip gw addr _ <<<"$entry"
	lab_add_pod "$name" "$ip"
	lab_clientd_init "$name" "$gw" "$addr" || fail "clientd init in $name (gateway $gw) exited with $?"
done

pcap=$LAB_STATE/internet.pcap
t_capture_start internet eth0 "$pcap" icmp
for entry in "${crawlers[@]}"; do
	read -r name _ gw _ size <<<"$entry"
	if ! lab_exec "$name" ping -n -q -c "$count" -i 0.2 -W 1 -s "$size" 203.0.113.10 >/dev/null 2>&1; then
		errors+=("$name: ping -c $count to 203.0.113.10 through $gw lost packets")
	fi
done
t_capture_stop

records=$(t_records "$pcap")
info "capture on the internet's eth0:"
printf '%s\n' "$records" | sed 's/^/    /'

declare -A seen=()
re='([0-9.]+) > 203\.0\.113\.10: ICMP echo request, id [0-9]+, seq [0-9]+, length ([0-9]+)'
while read -r rec; do
	[[ $rec =~ $re ]] || continue
	src=${BASH_REMATCH[1]}
	len=${BASH_REMATCH[2]}
	owner=
	for entry in "${crawlers[@]}"; do
		read -r name _ gw _ size <<<"$entry"
		if ((len == size + 8)); then
			owner=$name
			break
		fi
	done
	if [[ -z $owner ]]; then
		errors+=("echo request of unexpected length $len from $src")
		continue
	fi
	if [[ $src != "${gw_ip[$gw]}" ]]; then
		errors+=("$owner (gateway $gw, ${gw_ip[$gw]}) reached the internet from $src")
	fi
	seen[$owner]=$((${seen[$owner]:-0} + 1))
done <<<"$records"

for entry in "${crawlers[@]}"; do
	read -r name _ gw _ _ <<<"$entry"
	n=${seen[$name]:-0}
	((n >= count)) || errors+=("$name: $n of $count echo requests reached the internet")
done
if grep -Eq ' (10\.244\.0\.(1[0-9]|2[0-9])|172\.16\.0\.[0-9]+) > 203\.0\.113\.10:' <<<"$records"; then
	errors+=("a crawler's pod IP or overlay address reached the internet")
fi

t_report
pass "foo's crawlers left from 10.244.0.2 only, bar's from 10.244.0.3 only"
