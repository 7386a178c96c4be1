#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Membership hands out overlay addresses (no --address on the clients):
#  - two crawlers get distinct addresses from the dynamic range (172.16.0.20+);
#  - `clientd init` again in the same pod gets the same address;
#  - a nat.conf reservation ("crawler-res 7 tcp:8080") gives pod crawler-res
#    172.16.0.7;
#  - a full pool (--vxlan-gateway-first-dynamic-ip 254: only .254 is dynamic):
#    the first crawler gets .254, the second one's init exits 1 with one line
#    about the pool and leaves its links, addresses and routes as they were;
#  - every crawler that got an address pings 203.0.113.10 through the tunnel.
# The leases are long (600 s): `clientd init` does not renew them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_create_base
nat_conf=$LAB_STATE/foo.nat.conf
printf '# name index ports\ncrawler-res 7 tcp:8080\n' >"$nat_conf"
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --lease-time 600 --nat-conf-file "$nat_conf" ||
	fail "gatewayd in foo did not become ready"
lab_add_gateway bar 10.244.0.3
lab_start_gatewayd bar --lease-time 600 --vxlan-gateway-first-dynamic-ip 254 ||
	fail "gatewayd in bar (only .254 dynamic) did not become ready"
for entry in "crawler-1 10.244.0.11" "crawler-2 10.244.0.12" "crawler-res 10.244.0.13" \
	"crawler-p1 10.244.0.21" "crawler-p2 10.244.0.22"; do
	read -r name ip <<<"$entry"
	lab_add_pod "$name" "$ip"
done

# dynamic_host ADDR: true when ADDR is 172.16.0.20 .. 172.16.0.254.
dynamic_host() {
	[[ $1 =~ ^172\.16\.0\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 20 && BASH_REMATCH[1] <= 254))
}
# routed POD: 203.0.113.10 goes through vxlan0 and answers.
routed() {
	local pod=$1 via
	via=$(lab_exec "$pod" ip route get 203.0.113.10 2>&1 | head -n 1) || true
	[[ $via == *" dev vxlan0 "* ]] || errors+=("$pod: 203.0.113.10 is not routed through vxlan0: $via")
	t_ping "$pod" 203.0.113.10 2 || errors+=("$pod: no answer from 203.0.113.10 through the tunnel")
}

# 1. Two crawlers, no --address.
lab_clientd_init crawler-1 foo - || fail "clientd init in crawler-1 (no address) exited with $?"
lab_clientd_init crawler-2 foo - || fail "clientd init in crawler-2 (no address) exited with $?"
a1=$(t_overlay_addr crawler-1)
a2=$(t_overlay_addr crawler-2)
info "crawler-1 got ${a1:-nothing}, crawler-2 got ${a2:-nothing}"
dynamic_host "$a1" || errors+=("crawler-1 got '$a1', not an address of the dynamic range 172.16.0.20-254")
dynamic_host "$a2" || errors+=("crawler-2 got '$a2', not an address of the dynamic range 172.16.0.20-254")
[[ -z $a1 || $a1 != "$a2" ]] || errors+=("crawler-1 and crawler-2 both got $a1")
grep -q "granted default/crawler-1: $a1 " "$LAB_STATE/foo.gatewayd.log" ||
	errors+=("foo's log has no 'granted default/crawler-1: $a1' line")

# 2. init again in the same pod: the same address, one link, one address.
lab_clientd_init crawler-1 foo - || errors+=("the second clientd init in crawler-1 exited with $?")
again=$(t_overlay_addr crawler-1)
[[ $again == "$a1" ]] || errors+=("crawler-1 got '$again' on its second init, '$a1' before")
n=$(ip -n "$(lab_ns crawler-1)" -4 -o addr show dev vxlan0 2>/dev/null | grep -c 'inet ' || true)
[[ $n == 1 ]] || errors+=("crawler-1: vxlan0 has $n IPv4 addresses after init twice, not 1")
[[ $(t_vxlan_count crawler-1) == 1 ]] || errors+=("crawler-1: $(t_vxlan_count crawler-1) vxlan links after init twice, not 1")

# 3. The reservation of nat.conf, by pod name.
lab_clientd_init crawler-res foo - --pod-name crawler-res ||
	errors+=("clientd init in crawler-res exited with $?")
ares=$(t_overlay_addr crawler-res)
info "crawler-res got ${ares:-nothing}"
[[ $ares == 172.16.0.7 ]] || errors+=("crawler-res got '$ares', not its reserved 172.16.0.7")

# 4. A pool with one dynamic address.
lab_clientd_init crawler-p1 bar - || errors+=("clientd init in crawler-p1 (gateway bar) exited with $?")
ap1=$(t_overlay_addr crawler-p1)
info "crawler-p1 got ${ap1:-nothing} from bar"
[[ $ap1 == 172.16.0.254 ]] || errors+=("crawler-p1 got '$ap1' from bar, not 172.16.0.254 (the only dynamic address)")
before=$(lab_net_dump crawler-p2)
rc=0
out=$(LAB_INIT_TIMEOUT=60 lab_clientd_init crawler-p2 bar - 2>&1) || rc=$?
after=$(lab_net_dump crawler-p2)
lines=$(grep -c . <<<"$out" || true)
info "crawler-p2 against the full pool: exit $rc: $out"
((rc == 1)) || errors+=("crawler-p2 against a full pool: exit $rc, not 1: $(tr '\n' '|' <<<"$out")")
((lines == 1)) || errors+=("crawler-p2 against a full pool: $lines lines of output, not 1: $(tr '\n' '|' <<<"$out")")
grep -qi 'pool' <<<"$out" || errors+=("crawler-p2's failure does not mention the pool: $out")
if [[ $before != "$after" ]]; then
	errors+=("crawler-p2 changed by the failed init: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' || true)")
fi
[[ $(t_vxlan_count crawler-p2) == 0 ]] || errors+=("crawler-p2: a vxlan link is left after the failed init")

# 5. Everyone with an address gets through.
for pod in crawler-1 crawler-2 crawler-res crawler-p1; do
	routed "$pod"
done

t_report
pass "dynamic $a1 and $a2, the same again on re-init, reserved 172.16.0.7, a full pool refused cleanly"
