#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: JOINs that change nothing. Every granted JOIN used to rewrite
# LEASES_FILE (a new file, fsync, rename, fsync of the folder), so 1,000
# JOINs of one unchanged lease cost 1,000 synchronous writes. Now a JOIN that
# changes nothing (same address, MAC and pod IP) is a renewal: the file is
# written when a lease begins, moves or ends, and renewals only now and then
# (a third of LEASE_TIME, here 200 s). Asserted: after the first grant,
# 1,000 identical JOINs (one at a time, each waiting for its answer) change
# the file's inode (every write replaces it) at most once. The JOIN quota is
# off here (it is not what this test is about).
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600 --join-rate-per-pod-ip 0
leases=$LAB_STATE/foo.leases
lab_add_pod crawler-1 10.244.0.11
args=(--to 10.244.0.2 --name crawler-1 --key "$KEY" --mac 02:42:00:00:00:11)
res=$(pgwire crawler-1 join "${args[@]}")
(($(jget "$res" grants) == 1)) || fail "the first JOIN was not granted: $res"
lab_wait_for 5 test -s "$leases" || fail "no leases file after the first grant"
res=$(pgwire crawler-1 join "${args[@]}" --count 1000 --watch-file "$leases")
info "1000 JOINs: $res"
writes=$(jget "$res" inode_changes)
figure leases_file_writes_per_1000_noop_joins "$writes" "writes"
(($(jget "$res" grants) == 1000)) || errors+=("not every one of the 1000 JOINs was granted: $res")
((writes <= 1)) || errors+=("1000 JOINs that change nothing rewrote the leases file $writes times")
grep -q '^default/crawler-1 ' "$leases" || errors+=("the leases file lost crawler-1's lease")
t_report
pass "1000 JOINs that change nothing: $writes writes of the leases file"
