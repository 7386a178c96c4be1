# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by the namespace tests: root check (exit 77), a unique namespace
# prefix, cleanup on every exit path, pass/fail helpers, tcpdump helpers.
# Environment (set by tests/ns/meson.build): PODGW_SRC, PODGW_BUILD.
set -euo pipefail

T_NAME=$(basename "$0" .sh)

if ((EUID != 0)); then
	echo "SKIP: $T_NAME: needs root (network namespaces)"
	exit 77
fi
for t_tool in ip nft tcpdump ping timeout sysctl awk; do
	if ! command -v "$t_tool" >/dev/null 2>&1; then
		echo "SKIP: $T_NAME: $t_tool is not installed (scripts/deps.sh installs it)"
		exit 77
	fi
done
unset t_tool

PODGW_SRC=${PODGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODGW_BUILD=${PODGW_BUILD:-$PODGW_SRC/build}
export PODGW_SRC PODGW_BUILD
# shellcheck source-path=SCRIPTDIR source=../../scripts/lab-lib.sh
. "$PODGW_SRC/scripts/lab-lib.sh"

T_PREFIX="pgt$$-"
lab_init "$T_PREFIX"
GATEWAYD=$LAB_GATEWAYD
CLIENTD=$LAB_CLIENTD

t_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if ((rc == 130 || rc == 143)); then
		echo "FAIL: $T_NAME: interrupted" >&2
	fi
	if ((rc != 0 && rc != 77)) && [[ -d $LAB_STATE ]]; then
		local f
		for f in "$LAB_STATE"/*.log; do
			[[ -s $f ]] || continue
			echo "---- $(basename "$f") ----" >&2
			cat "$f" >&2
		done
	fi
	lab_down "$T_PREFIX"
	if [[ -n $(lab_list_ns "$T_PREFIX") ]]; then
		echo "FAIL: $T_NAME: namespaces left behind: $(lab_list_ns "$T_PREFIX" | tr '\n' ' ')" >&2
		rc=1
	fi
	exit "$rc"
}
trap t_cleanup EXIT
# An unexpected failure (set -e) says where it happened.
set -o errtrace
t_on_err() {
	local rc=$?
	echo "$T_NAME: line ${BASH_LINENO[0]}: \"$BASH_COMMAND\" failed with $rc" >&2
}
trap t_on_err ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$PODGW_SRC/tests/report.sh"

# Checks that go on after a failure add to errors; t_report fails with all
# of them, one line each, or returns when there are none.
errors=()
t_report() {
	if ((${#errors[@]} > 0)); then
		for e in "${errors[@]}"; do
			echo "FAIL: $T_NAME: $e" >&2
		done
		exit 1
	fi
}

for t_bin in "$GATEWAYD" "$CLIENTD"; do
	[[ -x $t_bin ]] || fail "$t_bin is missing (build first: meson compile -C $PODGW_BUILD)"
done
unset t_bin

# t_ping POD DEST [COUNT]: COUNT (1) pings, 1 s each; true when all came back.
t_ping() {
	local pod=$1 dest=$2 count=${3:-1}
	lab_exec "$pod" ping -n -q -c "$count" -W 1 "$dest" >/dev/null 2>&1
}

# t_ping_eventually POD DEST SECONDS [6]: pings (IPv6 with 6) until one
# answers or at least SECONDS have passed; a pause after a failed one, as an
# unreachable network fails at once.
t_ping_eventually() {
	local pod=$1 dest=$2 end=$((SECONDS + $3)) ping=t_ping
	[[ ${4:-} == 6 ]] && ping=t_ping6
	until "$ping" "$pod" "$dest" 1; do
		((SECONDS <= end)) || return 1
		sleep 0.5
	done
}

# t_capture_start POD IFACE FILE FILTER...: tcpdump -w FILE in the background
# (bounded by 60 s), returns once it listens. Sets T_CAP_PID.
t_capture_start() {
	local pod=$1 iface=$2 file=$3 i
	shift 3
	local err=$file.err
	: >"$err"
	timeout -s INT 60 ip netns exec "$(lab_ns "$pod")" \
		tcpdump -Z root -U --immediate-mode -n -i "$iface" -w "$file" "$@" 2>"$err" &
	T_CAP_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && return 0
		lab_pid_alive "$T_CAP_PID" || break
		sleep 0.1
	done
	cat "$err" >&2
	fail "tcpdump did not start on $iface in $pod"
}

# t_capture_stop: lets tcpdump write what it has and waits for it (bounded).
t_capture_stop() {
	sleep 0.5
	lab_stop_pid "$T_CAP_PID" INT 10 || true
}

# t_records FILE [TCPDUMP OPTIONS]: one line per packet from `tcpdump -r -nn -v -tt`
# (the inner packet of a tunnel is printed on the packet's own lines).
t_records() {
	local file=$1
	shift
	tcpdump -r "$file" -nn -v -tt "$@" 2>/dev/null | awk '
		/^[0-9]+\.[0-9]+ / { if (rec != "") print rec; rec = $0; next }
		{ sub(/^[ \t]+/, " "); rec = rec " " $0 }
		END { if (rec != "") print rec }'
}

# t_vxlan_count POD: vxlan links in the pod.
t_vxlan_count() {
	ip -n "$(lab_ns "$1")" -o link show type vxlan | wc -l
}

# t_overlay_addr POD: the pod's first IPv4 address on vxlan0 (none: empty).
t_overlay_addr() {
	ip -n "$(lab_ns "$1")" -4 -o addr show dev vxlan0 2>/dev/null |
		awk '{ sub(/\/.*/, "", $4); print $4; exit }' || true
}

# t_link_mac POD [IFACE]: the MAC address of IFACE (vxlan0) in the pod.
t_link_mac() {
	ip -n "$(lab_ns "$1")" -o link show "${2:-vxlan0}" 2>/dev/null |
		grep -Eo 'link/ether [0-9a-f:]+' | awk '{ print $2 }' || true
}

# t_nft_packets GW CHAIN REGEX: the packet counter of the first rule of chain
# CHAIN in the gateway's `inet podgw` table that matches REGEX (empty: none).
t_nft_packets() {
	local gw=$1 chain=$2 re=$3
	ip netns exec "$(lab_ns "$gw")" nft list chain inet podgw "$chain" 2>/dev/null |
		awk -v re="$re" '$0 ~ re && match($0, /counter packets [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), f, " "); print f[3]; exit }' || true
}

# t_ping_all SECONDS POD...: pings 203.0.113.10 from every POD until each
# got one answer, at most SECONDS; sets T_FIRST[POD] to the seconds (with
# milliseconds) each took and T_MISSING to the pods that never got through.
# shellcheck disable=SC2034 # read by the tests
declare -A T_FIRST=()
T_MISSING=
t_ping_all() {
	local seconds=$1 start now pod
	shift
	local -a left=("$@") still
	T_FIRST=()
	start=$EPOCHREALTIME
	while ((${#left[@]} > 0)); do
		still=()
		for pod in "${left[@]}"; do
			if t_ping "$pod" 203.0.113.10 1; then
				# shellcheck disable=SC2034 # read by the tests
				T_FIRST[$pod]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
			else
				still+=("$pod")
			fi
		done
		left=("${still[@]}")
		now=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }')
		((now < seconds)) || break
		((${#left[@]} == 0)) || sleep 0.2
	done
	T_MISSING=${left[*]}
	[[ -z $T_MISSING ]]
}

# t_pg_messages PCAP [DIR]: the membership messages (UDP, magic "PGWM") of a
# classic pcap file (tcpdump -w), one a line:
#   N SRC:PORT > DST:PORT TYPE [pod=NS/NAME] [wanted=IP] [addr=IP/LEN] [error=CODE] [text=...]
# TYPE: JOIN RENEW RELEASE GRANT RELEASED ERROR (else type-0xNN); CODE as in
# common/wire.h (7: NO_LEASE). With DIR, the UDP payload of message N is
# written to DIR/N.bin. Needs python3.
t_pg_messages() {
	python3 - "$@" <<'PY'
import os
import socket
import struct
import sys

path = sys.argv[1]
outdir = sys.argv[2] if len(sys.argv) > 2 else None
names = {1: "JOIN", 2: "RENEW", 3: "RELEASE", 0x81: "GRANT", 0x83: "RELEASED", 0xFF: "ERROR"}
data = open(path, "rb").read()
if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    e = "<"
elif data[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
    e = ">"
else:
    sys.exit("%s: not a pcap file" % path)
linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
off, n = 24, 0
while off + 16 <= len(data):
    incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if linktype == 1:  # Ethernet
        ethertype, l3 = struct.unpack(">H", pkt[12:14])[0], pkt[14:]
        if ethertype == 0x8100:
            ethertype, l3 = struct.unpack(">H", pkt[16:18])[0], pkt[18:]
    elif linktype == 113:  # Linux cooked
        ethertype, l3 = struct.unpack(">H", pkt[14:16])[0], pkt[16:]
    elif linktype == 276:  # Linux cooked v2
        ethertype, l3 = struct.unpack(">H", pkt[0:2])[0], pkt[20:]
    else:
        sys.exit("pcap link type %d is not handled" % linktype)
    if ethertype != 0x0800 or len(l3) < 20 or l3[9] != 17:
        continue
    if struct.unpack(">H", l3[6:8])[0] & 0x3FFF:  # a fragment
        continue
    udp = l3[(l3[0] & 0x0F) * 4:]
    if len(udp) < 8:
        continue
    sport, dport, ulen = struct.unpack(">HHH", udp[0:6])
    msg = udp[8:ulen]
    if len(msg) < 34 or msg[:4] != b"PGWM":
        continue
    n += 1
    fields = []
    pos, end = 34, min(len(msg), 34 + struct.unpack(">H", msg[32:34])[0])
    tlv = {}
    while pos + 4 <= end:
        t, ln = struct.unpack(">HH", msg[pos:pos + 4])
        tlv[t] = msg[pos + 4:pos + 4 + ln]
        pos += 4 + ln
    if 1 in tlv:
        ns = tlv.get(2, b"").decode("ascii", "replace")
        fields.append("pod=%s/%s" % (ns, tlv[1].decode("ascii", "replace")))
    if len(tlv.get(4, b"")) == 4:
        fields.append("wanted=" + socket.inet_ntoa(tlv[4]))
    if len(tlv.get(5, b"")) == 5:
        fields.append("addr=%s/%d" % (socket.inet_ntoa(tlv[5][:4]), tlv[5][4]))
    if len(tlv.get(10, b"")) == 2:
        fields.append("error=%d" % struct.unpack(">H", tlv[10])[0])
    if 11 in tlv:
        fields.append("text=" + tlv[11].decode("ascii", "replace").replace(" ", "_"))
    print("%d %s:%d > %s:%d %s %s" % (n, socket.inet_ntoa(l3[12:16]), sport,
                                      socket.inet_ntoa(l3[16:20]), dport,
                                      names.get(msg[5], "type-0x%02x" % msg[5]), " ".join(fields)))
    if outdir:
        with open(os.path.join(outdir, "%d.bin" % n), "wb") as f:
            f.write(msg)
PY
}

# ---- VPN and transfer helpers (tests/ns/tcptool.py) ----

# t_need_packages CMD=PACKAGE...: installs (scripts/deps.sh) what is missing;
# skips the test (77) when that does not work.
t_need_packages() {
	local spec cmd pkg
	local -a want=()
	for spec in "$@"; do
		cmd=${spec%%=*}
		pkg=${spec#*=}
		command -v "$cmd" >/dev/null 2>&1 || want+=("$pkg")
	done
	((${#want[@]} == 0)) && return 0
	info "installing ${want[*]} (scripts/deps.sh)"
	if ! "$PODGW_SRC/scripts/deps.sh" "${want[@]}" >"$LAB_STATE_ROOT.deps.log" 2>&1; then
		tail -n 5 "$LAB_STATE_ROOT.deps.log" >&2 || true
		rm -f "$LAB_STATE_ROOT.deps.log"
		echo "SKIP: $T_NAME: could not install ${want[*]}"
		exit 77
	fi
	rm -f "$LAB_STATE_ROOT.deps.log"
	for spec in "$@"; do
		cmd=${spec%%=*}
		if ! command -v "$cmd" >/dev/null 2>&1; then
			echo "SKIP: $T_NAME: $cmd is still missing"
			exit 77
		fi
	done
}

T_PYTHON=$(command -v /usr/bin/python3 python3 2>/dev/null | head -n 1 || true)
T_TCPTOOL=$PODGW_SRC/tests/ns/tcptool.py

# t_tcp_serve POD IP PORT [FILE]: tcptool's server in the pod (background,
# bounded, killed by lab_down); sets LAB_PID. Each connection: what the
# client sent is counted and hashed, then FILE is sent back.
t_tcp_serve() {
	local pod=$1 ip=$2 port=$3 file=${4-}
	local ready=$LAB_STATE/$pod.tcp$port.ready
	local -a extra=()
	[[ -z $file ]] || extra=(--file "$file")
	lab_start_daemon "$pod" "tcp$port" "$ready" "$T_PYTHON" -u "$T_TCPTOOL" serve \
		--bind "$ip" --port "$port" --ready "$ready" --seconds 600 "${extra[@]}"
}

# t_tcp_send POD IP PORT [FILE [SECONDS]]: tcptool's client in the pod; prints
# "BYTES SHA256 PEER" (the server's view), "recv BYTES SHA256", "secs S".
# True when the server got exactly FILE.
t_tcp_send() {
	local pod=$1 ip=$2 port=$3 file=${4-} seconds=${5:-10}
	local -a extra=()
	[[ -z $file ]] || extra=(--file "$file")
	timeout --kill-after=2 "$((seconds + 5))" ip netns exec "$(lab_ns "$pod")" \
		"$T_PYTHON" "$T_TCPTOOL" send --to "$ip" --port "$port" --seconds "$seconds" "${extra[@]}"
}

# t_udp_serve POD IP PORT: tcptool's UDP echo in the pod (background,
# bounded, killed by lab_down); sets LAB_PID. Answers "PEER-IP PORT DATA".
t_udp_serve() {
	local pod=$1 ip=$2 port=$3
	local ready=$LAB_STATE/$pod.udp$port.ready
	lab_start_daemon "$pod" "udp$port" "$ready" "$T_PYTHON" -u "$T_TCPTOOL" udp-serve \
		--bind "$ip" --port "$port" --ready "$ready" --seconds 600
}

# t_udp_send POD IP PORT [SECONDS]: one datagram a second from the pod until
# the echo answers (at most SECONDS, 5); prints "PEER-IP PORT DATA" as the
# server saw it. True when the echo came back.
t_udp_send() {
	local pod=$1 ip=$2 port=$3 seconds=${4:-5}
	timeout --kill-after=2 "$((seconds + 5))" ip netns exec "$(lab_ns "$pod")" \
		"$T_PYTHON" "$T_TCPTOOL" udp-send --to "$ip" --port "$port" --seconds "$seconds"
}

# ---- IPv6 helpers ----

# t_ping6 POD DEST [COUNT]: t_ping over IPv6.
t_ping6() {
	local pod=$1 dest=$2 count=${3:-1}
	lab_exec "$pod" ping -6 -n -q -c "$count" -W 1 "$dest" >/dev/null 2>&1
}

# t_ping6_eventually POD DEST SECONDS: t_ping_eventually over IPv6.
t_ping6_eventually() { t_ping_eventually "$1" "$2" "$3" 6; }

# t_overlay_addr6 POD [IFACE]: the pod's first global IPv6 address on IFACE
# (vxlan0), without its length (none: empty).
t_overlay_addr6() {
	ip -n "$(lab_ns "$1")" -6 -o addr show dev "${2:-vxlan0}" scope global 2>/dev/null |
		awk '{ sub(/\/.*/, "", $4); print $4; exit }' || true
}

# t_gw_status GW: `gatewayd status` of the lab's gatewayd in pod GW.
t_gw_status() {
	"$GATEWAYD" status --status-socket "$LAB_STATE/$1.status.sock" 2>&1
}

# t_metric GW NAME: the value of metric NAME (no labels) on GW's /metrics,
# scraped from inside GW at ADDR (its pod address), port 9108.
t_metric() {
	local gw=$1 name=$2 addr host
	addr=$(lab_pod_addr "$gw")
	host=$addr
	[[ $addr != *:* ]] || host="[$addr]"
	ip netns exec "$(lab_ns "$gw")" curl -g -s -m 5 "http://$host:9108/metrics" 2>/dev/null |
		awk -v n="$name" '$1 == n { print $2; exit }' || true
}
