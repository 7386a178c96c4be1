#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A gateway restarted on the other underlay family drops the leases it saved
# from pod IPs of the first one (its clients can no longer reach it from
# there), instead of holding them until they expire: the crawler, joining
# again over IPv6 under the same identity, is granted at once (a held lease
# would answer LEASE_HELD for LEASE_TIME, here 300 s).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

leases=$LAB_STATE/foo.leases
gwlog=$LAB_STATE/foo.gatewayd.log
gw6=$(lab_ip6 10.244.0.2)

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo --lease-time 300 --leases-file "$leases" ||
	fail "gatewayd (IPv4 underlay) did not become ready"
gw_pid=$LAB_PID
lab_add_pod crawler 10.244.0.11
lab_clientd_init crawler foo - || fail "clientd init over IPv4 exited with $?"
t_gw_status foo | grep -Eq "^crawler +default " || fail "foo has no lease for default/crawler: $(t_gw_status foo)"
lab_stop_pid "$gw_pid" TERM 10 || fail "gatewayd did not exit within 10 s of SIGTERM"
grep -q "^default/crawler .* 10\.244\.0\.11 " "$leases" || fail "the leases file lacks crawler's IPv4 lease: $(cat "$leases")"

lines=$(wc -l <"$gwlog")
lab_start_gatewayd foo --lease-time 300 --leases-file "$leases" --underlay-family ipv6 ||
	fail "gatewayd (IPv6 underlay) did not become ready"
tail -n "+$((lines + 1))" "$gwlog" | grep -q "dropped the restored lease of default/crawler" ||
	errors+=("gatewayd on IPv6 did not say it dropped the IPv4 lease: $(tail -n "+$((lines + 1))" "$gwlog" | tr '\n' '|')")
status=$(t_gw_status foo)
! grep -Eq "^crawler +default " <<<"$status" || errors+=("gatewayd on IPv6 still holds crawler's IPv4 lease: $status")

lab_add_pod crawler-again 10.244.0.12
lab_clientd_init crawler-again "$gw6" - --pod-name crawler --underlay-family ipv6 ||
	errors+=("clientd init as default/crawler over IPv6 exited with $? (the old lease held?)")
t_gw_status foo | grep -Eq "^crawler +default +[^ ]+ +$(lab_ip6 10.244.0.12) " ||
	errors+=("foo's lease for default/crawler is not at crawler-again's IPv6: $(t_gw_status foo | tr '\n' '|')")
t_report
pass "a restart on IPv6 dropped the IPv4 lease, and the crawler joined again over IPv6 at once"
