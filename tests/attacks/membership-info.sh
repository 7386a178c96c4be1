#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack: INFO, the request that asks a replica for its name and lease count
# (clientd's least-loaded replica selection), used to probe or load the
# gateway. It must be authenticated like JOIN, change nothing, and be bounded
# like JOIN. Asserted:
#  - with the key: INFO_REPLY naming the replica (--replica-name foo-0) and
#    its live leases (1: crawler-1's);
#  - with another key: ERROR AUTH, no INFO_REPLY;
#  - 50 INFOs change nothing: the leases file is not rewritten, the lease
#    count stays, no lease appears for the asking identity;
#  - INFOs share JOIN_RATE_PER_POD_IP (here 2 a second, bursts of 4): of 30
#    INFOs and JOINs sent back to back, alternating, at most 4 + 2 a second
#    of the run are answered (two quotas would answer twice that), and the
#    drops are counted as podgw_rejections_total{reason="rate"}.
# Figures: request and answer sizes (a keyed INFO_REPLY is answered only to
# the pod IP under the tag; keyless, it is the amplification a spoofed source
# could get, within the same quota per source).
# shellcheck source-path=SCRIPTDIR source=membership-lib.sh
. "$PODGW_SRC/tests/attacks/membership-lib.sh"

m_setup --lease-time 600 --replica-name foo-0 --join-rate-per-pod-ip 2
leases=$LAB_STATE/foo.leases
other=$LAB_STATE/other.key
(
	umask 077
	head -c 32 /dev/urandom | base64 >"$other"
)
lab_add_pod crawler-1 10.244.0.11
lab_add_pod prober 10.244.0.66
res=$(pgwire crawler-1 join --to 10.244.0.2 --name crawler-1 --key "$KEY" --mac random)
(($(jget "$res" grants) == 1)) || fail "crawler-1's JOIN was not granted: $res"
lab_wait_for 5 test -s "$leases" || fail "no leases file after the first grant"

# 1. Keyed INFO: the replica and its load.
res=$(pgwire prober info --to 10.244.0.2 --name prober --key "$KEY")
info "INFO with the key: $res"
(($(jget "$res" info_replies) == 1)) || errors+=("no INFO_REPLY to a keyed INFO: $res")
[[ $(jget "$res" replica) == foo-0 ]] || errors+=("the INFO_REPLY does not name replica foo-0: $res")
[[ $(jget "$res" leases) == 1 ]] || errors+=("the INFO_REPLY does not count 1 lease: $res")
figure info_request_bytes "$(jget "$res" request_bytes)" "bytes"
figure info_reply_bytes "$(jget "$res" largest_answer)" "bytes"

# 2. Another key: refused.
res=$(pgwire prober info --to 10.244.0.2 --name prober --key "$other")
info "INFO with another key: $res"
(($(jget "$res" info_replies) == 0)) || errors+=("an INFO with another key got an INFO_REPLY: $res")
(($(jget "$res" errors.3) == 1)) || errors+=("an INFO with another key did not get ERROR AUTH: $res")

# 3. Nothing changes (paced under the quota: 2 a second).
active=$(metric podgw_leases_active)
res=$(pgwire prober info --to 10.244.0.2 --name prober --key "$KEY" --count 6 --interval 0.6 \
	--watch-file "$leases")
info "6 INFOs, 0.6 s apart: $res"
(($(jget "$res" info_replies) == 6)) || errors+=("not every paced INFO was answered: $res")
(($(jget "$res" inode_changes) == 0)) || errors+=("INFOs rewrote the leases file $(jget "$res" inode_changes) times")
[[ $(metric podgw_leases_active) == "$active" ]] || errors+=("INFOs changed podgw_leases_active: $active -> $(metric podgw_leases_active)")
! grep -q '^default/prober ' "$leases" || errors+=("an INFO left a lease for the prober")
peers=$(ip netns exec "$(lab_ns foo)" nft list set inet podgw peers)
! grep -qF 10.244.0.66 <<<"$peers" || errors+=("an INFO made the prober's pod IP a peer")

# 4. The shared quota. The JOINs (all of one identity and MAC) are rejoins
# once the first is granted.
before=$(metric 'podgw_rejections_total{reason="rate"}')
res=$(pgwire prober info --mix join --to 10.244.0.2 --name prober --key "$KEY" \
	--mac 02:42:00:00:00:66 --count 30 --wait 0.05)
after=$(metric 'podgw_rejections_total{reason="rate"}')
sent=$(jget "$res" sent)
answered=$(($(jget "$res" info_replies) + $(jget "$res" grants)))
bound=$("$T_PYTHON" -c 'import sys; print(int(4 + 2 * float(sys.argv[1])) + 1)' "$(jget "$res" seconds)")
info "30 INFOs and JOINs back to back: $res; rejections{rate} $before -> $after"
figure info_and_join_answered_of_30_back_to_back "$answered" "answers in $(jget "$res" seconds) s"
(($(jget "$res" info_replies) > 0 && $(jget "$res" grants) > 0)) || errors+=("INFOs or JOINs were not answered at all: $res")
((answered <= bound)) ||
	errors+=("$answered of $sent INFOs and JOINs answered in $(jget "$res" seconds) s, more than one quota allows ($bound)")
# An answer later than --wait counts as unanswered here, so the drops
# counted are at most the requests unanswered.
((after - before > 0 && after - before <= sent - answered)) ||
	errors+=("rejections{rate} grew by $((after - before)), not by up to the $((sent - answered)) unanswered requests")
info "foo's count of INFOs answered: $(metric podgw_info_requests_total)"
t_report
pass "INFO names replica foo-0 and its 1 lease, is refused with another key, changes nothing, and shares the JOIN quota ($answered of $sent answered back to back)"
