#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Membership is authenticated with a shared key (MEMBERSHIP_KEY_FILE):
#  - a crawler with the gateway's key joins and gets through;
#  - a real JOIN, captured on the gateway's eth0 and sent again from the same
#    crawler after that crawler released its lease, is refused as a replay:
#    the gateway says so in its log and no lease comes back (FDB, neighbours,
#    sets unchanged);
#  - a crawler with another key, and one without a key, fail with exit 1 and
#    one line about authentication, and the gateway's kernel state (FDB,
#    neighbours, peers and clients sets) is unchanged;
#  - a key file that others may read (0644): gatewayd exits 2 naming
#    MEMBERSHIP_KEY_FILE and creates nothing; `gatewayd --check-config` exits 2
#    with the same line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: $T_NAME: python3 is not installed (it comes with meson)"
	exit 77
fi

lab_create_base
key=$LAB_STATE/membership.key
other_key=$LAB_STATE/other.key
open_key=$LAB_STATE/open.key
(
	umask 077
	head -c 32 /dev/urandom | base64 >"$key"
	head -c 32 /dev/urandom | base64 >"$other_key"
	head -c 32 /dev/urandom | base64 >"$open_key"
)
chmod 600 "$key" "$other_key"
chmod 644 "$open_key"

lab_add_gateway foo 10.244.0.2
lab_add_gateway bar 10.244.0.3 # no gatewayd: the 0644 key file is tried here
lab_start_gatewayd foo --lease-time 600 --membership-key-file "$key" ||
	fail "gatewayd in foo (with a key) did not become ready"
gwlog=$LAB_STATE/foo.gatewayd.log
lab_add_pod crawler-1 10.244.0.11 # the right key
lab_add_pod crawler-2 10.244.0.12 # another key
lab_add_pod crawler-3 10.244.0.13 # joins, releases, then its JOIN is replayed
lab_add_pod crawler-4 10.244.0.14 # no key

# new_log_lines FROM: the gateway's log after its first FROM lines.
new_log_lines() {
	tail -n "+$(($1 + 1))" "$gwlog"
}
gw_peers() {
	ip netns exec "$(lab_ns foo)" nft list set inet podgw peers 2>&1
}

# 1. The right key.
lab_clientd_init crawler-1 foo - --membership-key-file "$key" ||
	fail "clientd init in crawler-1 with the gateway's key exited with $?"
info "crawler-1 joined with the key as $(t_overlay_addr crawler-1)"
t_ping crawler-1 203.0.113.10 2 || errors+=("crawler-1 (joined with the key) gets no answer from 203.0.113.10")

# 2. A replayed JOIN. Done first: the wrong-key floods below would fill the
# gateway's rate-limited log of refusals.
pcap=$LAB_STATE/foo-control.pcap
t_capture_start foo eth0 "$pcap" 'udp port 8473'
joined_at=$SECONDS
lab_start_clientd_run crawler-3 foo - --membership-key-file "$key" ||
	fail "clientd run in crawler-3 with the gateway's key did not become ready"
run_pid=$LAB_PID
t_capture_stop
a3=$(t_overlay_addr crawler-3)
mac3=$(t_link_mac crawler-3)
info "crawler-3 joined as $a3 (vxlan MAC $mac3)"
grep -q '10\.244\.0\.13' <<<"$(gw_peers)" || fail "crawler-3's pod IP is not in the peers set after its join: $(gw_peers | tr '\n' ' ')"

lab_stop_pid "$run_pid" TERM 10 || fail "clientd run in crawler-3 did not exit within 10 s of SIGTERM"
((LAB_RC == 0)) || errors+=("clientd run in crawler-3 exited with $LAB_RC on SIGTERM, not 0")
released() { ! grep -q '10\.244\.0\.13' <<<"$(gw_peers)"; }
lab_wait_for 5 released || fail "crawler-3's lease was not revoked after its release: nothing to replay against"
before=$(lab_admission_dump foo)

msgdir=$LAB_STATE/control
mkdir -p "$msgdir"
msgs=$(t_pg_messages "$pcap" "$msgdir") || fail "cannot decode the capture of foo's control port"
info "membership messages on foo's eth0:"
printf '%s\n' "$msgs" | sed 's/^/    /'
join_n=$(awk '$2 ~ /^10\.244\.0\.13:/ && $4 == "10.244.0.2:8473" && $5 == "JOIN" { print $1; exit }' <<<"$msgs")
[[ -n $join_n ]] || fail "no JOIN from crawler-3 (10.244.0.13) to 10.244.0.2:8473 in the capture"
join=$msgdir/$join_n.bin
info "captured a JOIN of $(stat -c %s "$join") bytes; replaying it $((SECONDS - joined_at)) s after the join"

log_from=$(wc -l <"$gwlog")
answer=$(lab_exec crawler-3 python3 - "$join" 10.244.0.2 8473 <<'EOF'
# Sends the file's bytes as one UDP datagram and describes the answer.
import socket
import struct
import sys

payload = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(payload, (sys.argv[2], int(sys.argv[3])))
try:
    ans = s.recv(2048)
except socket.timeout:
    print("no answer")
    sys.exit(0)
if len(ans) < 34 or ans[:4] != b"PGWM":
    print("an answer that is no membership message (%d bytes)" % len(ans))
    sys.exit(0)
text, off, end = "", 34, 34 + struct.unpack(">H", ans[32:34])[0]
while off + 4 <= min(end, len(ans)):
    t, n = struct.unpack(">HH", ans[off:off + 4])
    if t == 11:
        text = ans[off + 4:off + 4 + n].decode("ascii", "replace")
    off += 4 + n
print("answer type 0x%02x%s" % (ans[5], ": " + text if text else ""))
EOF
) || true
sleep 0.5
after=$(lab_admission_dump foo)
info "the replayed JOIN got: ${answer:-nothing}"
refusal=$(new_log_lines "$log_from" | grep -E 'refused a replayed message from 10\.244\.0\.13:' || true)
if [[ -n $refusal ]]; then
	info "foo logged: $refusal"
else
	errors+=("foo logged no replay refusal for the replayed JOIN; its new log lines: $(new_log_lines "$log_from" | tr '\n' '|')")
fi
[[ $answer != "answer type 0x81"* ]] || errors+=("the replayed JOIN was answered with a GRANT")
if [[ $before != "$after" ]]; then
	errors+=("the replayed JOIN changed foo's kernel state: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' || true)")
fi
released || errors+=("crawler-3's pod IP is a peer again after the replayed JOIN")
if [[ -n $a3 ]] && grep -q "$a3 " <<<"$after"; then
	errors+=("crawler-3's old address $a3 is back in foo's state after the replayed JOIN")
fi
t_report

# 3 and 4. Another key, no key: one line about authentication, nothing changes.
# bad_join POD WHAT [ARGS...]
bad_join() {
	local pod=$1 what=$2
	shift 2
	local gw_before gw_after cl_before cl_after out rc=0 lines
	gw_before=$(lab_admission_dump foo)
	cl_before=$(lab_net_dump "$pod")
	out=$(LAB_INIT_TIMEOUT=60 lab_clientd_init "$pod" foo - --gateway-check-timeout 2 "$@" 2>&1) || rc=$?
	gw_after=$(lab_admission_dump foo)
	cl_after=$(lab_net_dump "$pod")
	lines=$(grep -c . <<<"$out" || true)
	info "$pod ($what): exit $rc: $out"
	((rc == 1)) || errors+=("$pod ($what): clientd init exit $rc, not 1: $(tr '\n' '|' <<<"$out")")
	((lines == 1)) || errors+=("$pod ($what): $lines lines of output, not 1: $(tr '\n' '|' <<<"$out")")
	grep -qi 'authenticat' <<<"$out" || errors+=("$pod ($what): the failure does not mention authentication: $out")
	if [[ $gw_before != "$gw_after" ]]; then
		errors+=("$pod ($what) changed foo's kernel state: $(diff <(echo "$gw_before") <(echo "$gw_after") | grep '^[<>]' | tr '\n' ' ' || true)")
	fi
	if [[ $cl_before != "$cl_after" ]]; then
		errors+=("$pod ($what) was changed by its failed init: $(diff <(echo "$cl_before") <(echo "$cl_after") | grep '^[<>]' | tr '\n' ' ' || true)")
	fi
}
log_from=$(wc -l <"$gwlog")
bad_join crawler-2 "another key" --membership-key-file "$other_key"
grep -Eq 'refused a message from 10\.244\.0\.12:[0-9]+: bad or missing authentication' <<<"$(new_log_lines "$log_from")" ||
	errors+=("foo did not log refusing crawler-2's messages (bad authentication)")
bad_join crawler-4 "no key"
if grep -Eq '10\.244\.0\.1[24]' <<<"$(gw_peers)"; then
	errors+=("a crawler without the right key is in foo's peers set: $(gw_peers | tr '\n' ' ')")
fi
# crawler-1 still gets through: the refusals touched nobody else.
t_ping crawler-1 203.0.113.10 2 || errors+=("crawler-1 no longer gets through after the refused joins")

# 5. A key file others may read.
rc=0
out=$(timeout --kill-after=5 20 ip netns exec "$(lab_ns bar)" \
	"$GATEWAYD" --membership-key-file "$open_key" --leases-file "" </dev/null 2>&1) || rc=$?
info "gatewayd with a 0644 key file: exit $rc: $(tr '\n' '|' <<<"$out")"
((rc == 2)) || errors+=("gatewayd with a 0644 key file exited with $rc, not 2: $(tr '\n' '|' <<<"$out")")
grep -q 'MEMBERSHIP_KEY_FILE' <<<"$out" || errors+=("gatewayd with a 0644 key file does not name MEMBERSHIP_KEY_FILE: $(tr '\n' '|' <<<"$out")")
[[ $(t_vxlan_count bar) == 0 ]] || errors+=("gatewayd with a 0644 key file left a vxlan link in bar")
if grep -q podgw <<<"$(ip netns exec "$(lab_ns bar)" nft list tables)"; then
	errors+=("gatewayd with a 0644 key file left an nftables table in bar")
fi
# --check-config refuses what a start refuses, with the same line.
rc=0
check=$("$GATEWAYD" --check-config --membership-key-file "$open_key" --leases-file "" </dev/null 2>&1 >/dev/null) || rc=$?
info "gatewayd --check-config with a 0644 key file: exit $rc: $check"
((rc == 2)) || errors+=("gatewayd --check-config with a 0644 key file exited with $rc, not 2")
grep -q "MEMBERSHIP_KEY_FILE: '$open_key': accessible to group or others" <<<"$check" ||
	errors+=("gatewayd --check-config with a 0644 key file does not say why: $check")
rc=0
"$GATEWAYD" --check-config --membership-key-file "$key" --leases-file "" </dev/null >/dev/null 2>&1 || rc=$?
((rc == 0)) || errors+=("gatewayd --check-config with the 0600 key file exited with $rc, not 0")

t_report
pass "the key admits, a replayed JOIN, another key and no key are refused without a trace, a 0644 key is a configuration error (also for --check-config)"
