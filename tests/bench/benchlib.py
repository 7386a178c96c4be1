# SPDX-License-Identifier: MIT
"""benchlib.py: the Python half of scripts/bench.sh.

Subcommands (all output on stdout):
  probe DEST INTERVAL SECONDS STOPFILE
      ICMP echo to DEST (IPv4, or ICMPv6 when DEST is an IPv6 address)
      every INTERVAL s until SECONDS passed or STOPFILE
      exists, then at most 1 s for late replies. One line per event, flushed:
      "S SEQ TIME" sent, "E SEQ TIME ERRNO" not sent, "R SEQ TIME" answered
      (TIME: the wall clock, as bash's $EPOCHREALTIME).
  probe-stable FILE SINCE
      exit 0 when traffic flows: SINCE is 1 s past and every probe sent
      between 1 s and 0.3 s ago (at least 5) was answered.
  probe-summary FILE T_FAULT T_READY T_REPOINT
      "SENT LOST RECOVERY_MS AFTER_READY_MS AFTER_REPOINT_MS OUTAGE_MS"
      RECOVERY: T_FAULT to the first answer to a probe sent after the last
      lost one; AFTER_*: from T_READY / T_REPOINT ("-": not given) to it;
      OUTAGE: first lost probe sent to it. Nothing lost: all 0. Never back: "-".
  get FILE KEY...          values of a JSON object (the file's last line),
                           KEY as a.b.c; "null" when missing
  iperf FILE               "MBIT_S RETRANSMITS" of an iperf3 -J report
  ping FILE                the RTTs (ms) of ping's output, one a line
  report SAMPLES PARAMS NOTES JSON MD [--docs FILE]
      the figures: JSON, Markdown; with --docs also a docs page. SAMPLES:
      "KEY NUMBER" lines; PARAMS: "KEY VALUE" lines; NOTES: one a line.
      Exit 1 when a figure the run should have produced is missing.
  rereport IN_JSON JSON MD [--docs FILE]
      the same from the samples, parameters and notes kept in IN_JSON.
"""

import errno
import json
import math
import os
import re
import select
import socket
import statistics
import struct
import sys
import time


# ---- probes ----

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def cmd_probe(dest, interval, seconds, stopfile):
    interval, seconds = float(interval), float(seconds)
    v6 = ":" in dest
    if v6:
        # The kernel fills in ICMPv6 checksums and hands over no IP header.
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        req, rep = 128, 129
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req, rep = 8, 0
    ident = (os.getpid() * 7919) & 0xFFFF
    out = sys.stdout
    start = time.time()
    end = start + seconds
    next_send = start
    seq = 0
    outstanding = {}
    stop_at = None
    while True:
        now = time.time()
        if stop_at is None and (now >= end or os.path.exists(stopfile)):
            stop_at = now
        if stop_at is not None and (not outstanding or now >= stop_at + 1.0):
            break
        if stop_at is None and now >= next_send:
            seq += 1
            body = struct.pack("!d", now) + b"podgw-bench"
            hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq & 0xFFFF)
            pkt = struct.pack("!BBHHH", req, 0, 0 if v6 else checksum(hdr + body), ident,
                              seq & 0xFFFF) + body
            try:
                sock.sendto(pkt, (dest, 0))
                outstanding[seq & 0xFFFF] = seq
                out.write("S %d %.6f\n" % (seq, now))
            except OSError as e:
                out.write("E %d %.6f %s\n" % (seq, now, errno.errorcode.get(e.errno, str(e.errno))))
            out.flush()
            next_send += interval
            if next_send < now:
                next_send = now + interval
        wait = max(0.0, min(next_send, end) - time.time()) if stop_at is None else 0.05
        ready, _, _ = select.select([sock], [], [], wait)
        while ready:
            try:
                data = sock.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            ihl = 0 if v6 else (data[0] & 0x0F) * 4
            if len(data) >= ihl + 8:
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                if typ == rep and rid == ident and rseq in outstanding:
                    out.write("R %d %.6f\n" % (outstanding.pop(rseq), time.time()))
                    out.flush()
            ready, _, _ = select.select([sock], [], [], 0)
    return 0


def read_probe(path):
    sent, answered = {}, {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 3:
                continue
            if p[0] in ("S", "E"):
                sent[int(p[1])] = float(p[2])
            elif p[0] == "R":
                answered[int(p[1])] = float(p[2])
    return sent, answered


def cmd_probe_stable(path, since):
    since = float(since)
    now = time.time()
    sent, answered = read_probe(path)
    window = [s for s, t in sent.items() if now - 1.0 <= t <= now - 0.3]
    if since > now - 1.0 or len(window) < 5:
        return 1
    return 0 if all(s in answered for s in window) else 1


def cmd_probe_summary(path, t_fault, t_ready, t_repoint):
    t_fault = float(t_fault)
    sent, answered = read_probe(path)
    seqs = sorted(s for s, t in sent.items() if t >= t_fault)
    lost = [s for s in seqs if s not in answered]
    if not lost:
        print("%d 0 0 0 0 0" % len(seqs))
        return 0
    back = [s for s in seqs if s > lost[-1] and s in answered]
    if not back:
        print("%d %d - - - -" % (len(seqs), len(lost)))
        return 0
    t_back = answered[back[0]]

    def since(t):
        return "-" if t in ("", "-") else "%.1f" % max(0.0, (t_back - float(t)) * 1000)

    print("%d %d %.1f %s %s %.1f" % (len(seqs), len(lost), (t_back - t_fault) * 1000,
                                     since(t_ready), since(t_repoint),
                                     (t_back - sent[lost[0]]) * 1000))
    return 0


# ---- small extractors ----

def last_json(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    if not lines:
        raise ValueError("%s: empty" % path)
    try:
        return json.loads(lines[-1])
    except ValueError:
        with open(path) as f:
            return json.load(f)


def cmd_get(path, *keys):
    try:
        obj = last_json(path)
    except (OSError, ValueError):
        obj = {}
    vals = []
    for key in keys:
        v = obj
        for part in key.split("."):
            if isinstance(v, list) and part.isdigit() and int(part) < len(v):
                v = v[int(part)]
            elif isinstance(v, dict) and part in v:
                v = v[part]
            else:
                v = None
                break
        if isinstance(v, bool):
            v = "true" if v else "false"
        vals.append("null" if v is None else str(v))
    print(" ".join(vals))
    return 0


def cmd_iperf(path):
    """MBIT_S RETRANSMITS CPU_MS_PER_GB: the CPU time of the iperf3 client
    and server together per GB received. Without IRQ time accounting (ticks
    only), the softirq work of the whole path, done mostly in their
    contexts, is charged to them: a per-byte cost that another tenant's
    load does not change the way it changes the throughput."""
    try:
        with open(path) as f:
            d = json.load(f)
        end = d["end"]
        rx = end["sum_received"]
        bps = rx["bits_per_second"]
        retr = end.get("sum_sent", {}).get("retransmits", 0)
        cpu = end.get("cpu_utilization_percent", {})
        per_gb = "null"
        if rx.get("bytes") and "host_total" in cpu and "remote_total" in cpu:
            cpu_s = (cpu["host_total"] + cpu["remote_total"]) / 100.0 * rx["seconds"]
            per_gb = "%.1f" % (cpu_s * 1000 / (rx["bytes"] / 1e9))
        print("%.1f %d %s" % (bps / 1e6, retr, per_gb))
    except (OSError, ValueError, KeyError, TypeError):
        print("null null null")
    return 0


def cmd_ping(path):
    with open(path) as f:
        for line in f:
            m = re.search(r"time=([0-9.]+) ms", line)
            if m:
                print(m.group(1))
    return 0


# ---- the report ----

def pct(vals, q):
    """Nearest-rank quantile (p99 of fewer than 100 values is the maximum)."""
    v = sorted(vals)
    if not v:
        return None
    k = max(1, math.ceil(q * len(v)))
    return v[k - 1]


def stats(vals):
    if not vals:
        return None
    return {"n": len(vals), "min": min(vals), "median": statistics.median(vals),
            "p99": pct(vals, 0.99), "max": max(vals),
            "mean": statistics.fmean(vals)}


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000 or digits == 0:
        return "{:,.0f}".format(v)
    return "{:.{d}f}".format(v, d=digits)


class Report:
    def __init__(self, samples, meta):
        self.s = samples
        self.meta = meta
        self.rows = []      # Markdown rows
        self.figures = {}   # JSON
        self.expected = []  # keys the run should have produced
        self.misses = []    # figures that missed their target
        self.missing = []   # expected figures without a value
        self.inconclusive = []  # ratios closer to their target than their uncertainty

    def vals(self, key):
        return self.s.get(key, [])

    def med(self, key):
        v = self.vals(key)
        return statistics.median(v) if v else None

    def section(self, title):
        self.rows.append(("section", title))

    def target_check(self, value, op, bound):
        if value is None:
            return None
        if op == "<=":
            return value <= bound
        if op == ">=":
            return value >= bound
        if op == "within":
            return abs(value - 1.0) <= bound
        raise ValueError(op)

    def fig(self, key, label, digits=1, target=None, ratio=None, expect=True, note=""):
        """A row from samples[key]. target: (op, bound, stat, text).
        ratio: text for the ratio column (already formatted)."""
        if expect:
            self.expected.append(key)
        st = stats(self.vals(key))
        status = ""
        if target and st:
            op, bound, which, text = target
            ok = self.target_check(st[which], op, bound)
            status = "meets" if ok else "**misses**"
            if not ok:
                self.misses.append("%s: %s %s (target %s)" % (label, which, fmt(st[which], digits), text))
        self.figures[key] = {"label": label, "stats": st, "target": target[3] if target else None,
                             "status": status or None, "ratio": ratio or None, "note": note or None,
                             "samples": self.vals(key)}
        if st is None and expect:
            self.missing.append(key)
        cells = [label, str(st["n"]) if st else "0",
                 fmt(st["min"], digits) if st else "–",
                 fmt(st["median"], digits) if st else "–",
                 fmt(st["p99"], digits) if st else "–",
                 "; ".join(x for x in (ratio, note) if x), target[3] if target else "", status]
        self.rows.append(("row", cells))

    def noise(self, *keys):
        """Relative uncertainty of a ratio of the medians of these series:
        for each, the half-width of the ~95 % confidence interval of its
        median (McGill's notch, 1.58 IQR / sqrt(n)) over the median,
        combined as independent errors."""
        total = 0.0
        for k in keys:
            v = self.vals(k)
            if len(v) < 3:
                return None
            q1, _, q3 = statistics.quantiles(v, n=4, method="inclusive")
            m = statistics.median(v)
            if not m:
                return None
            total += (1.58 * (q3 - q1) / math.sqrt(len(v)) / m) ** 2
        return math.sqrt(total)

    def judge(self, label, value, target, noise):
        """meets / misses, or inconclusive when the value is closer to the
        target's boundary than its uncertainty."""
        op, bound, _, text = target
        ok = self.target_check(value, op, bound)
        # How far the value is from the boundary, relative.
        if op == "within":
            gap = abs(abs(value - 1.0) - bound)
        else:
            gap = abs(value - bound) / bound
        if noise is not None and (gap <= noise or noise > NOISE_MAX):
            self.inconclusive.append("%s: %.3f, ±%.0f %% (target %s)"
                                     % (label, value, noise * 100, text))
            return "inconclusive"
        if ok:
            return "meets"
        self.misses.append("%s: %.3f (target %s%s)" % (
            label, value, text, "" if noise is None else "; ±%.0f %%" % (noise * 100)))
        return "**misses**"

    def ratio_fig(self, key, label, num, den, target=None, digits=3, expect=True, note=""):
        """A ratio of two medians, as its own row (value in the median column)."""
        a, b = self.med(num), self.med(den)
        value = a / b if a is not None and b else None
        if expect:
            self.expected.append(key)
        status = ""
        nz = self.noise(num, den)
        if nz is not None:
            note = ("±%.0f %%" % (nz * 100)) + ("; " + note if note else "")
        if target and value is not None:
            status = self.judge(label, value, target, nz)
        self.figures[key] = {"label": label, "value": value, "numerator": num,
                             "denominator": den, "target": target[3] if target else None,
                             "status": status or None, "spread": nz}
        if value is None and expect:
            self.missing.append(key)
        cells = [label, "", "", "%.3f" % value if value is not None else "–", "",
                 note, target[3] if target else "", status]
        self.rows.append(("row", cells))

    def ratio2_fig(self, key, label, a, b, c, d, target=None, expect=True, note=""):
        """(a/b) / (c/d) of medians, as its own row."""
        m = [self.med(k) for k in (a, b, c, d)]
        value = None
        if all(m) and m[2] / m[3]:
            value = (m[0] / m[1]) / (m[2] / m[3])
        if expect:
            self.expected.append(key)
        status = ""
        nz = self.noise(a, b, c, d)
        if nz is not None:
            note = ("±%.0f %%" % (nz * 100)) + ("; " + note if note else "")
        if target and value is not None:
            status = self.judge(label, value, target, nz)
        self.figures[key] = {"label": label, "value": value, "of": [a, b, c, d],
                             "target": target[3] if target else None, "status": status or None,
                             "spread": nz}
        if value is None and expect:
            self.missing.append(key)
        self.rows.append(("row", [label, "", "", "%.3f" % value if value is not None else "–", "",
                                  note, target[3] if target else "", status]))

    def markdown(self):
        head = ["figure", "n", "min", "median", "p99", "ratio / reference", "target", "status"]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * 3 + "---|" * 3]
        for kind, x in self.rows:
            if kind == "section":
                out.append("| **%s** |  |  |  |  |  |  |  |" % x)
            else:
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in x) + " |")
        return "\n".join(out)


def noise_text(rep, key):
    nz = rep.noise(key)
    return "" if nz is None else "median ±%.0f %%" % (nz * 100)


def ratio_text(rep, num, den, what):
    a, b = rep.med(num), rep.med(den)
    if a is None or not b:
        return ""
    return "%.3f× %s" % (a / b, what)


def ipv6_figures(rep, have):
    """IPv6 beside IPv4, 0 clients: the same tunnel (and no tunnel) to
    2001:db8::10, each with its v6/v4 ratio of medians."""
    pairs = [("podgw6", "podgw", "podgw tunnel + NAT"), ("direct6", "direct", "direct, no tunnel")]
    pairs = [x for x in pairs if x[0] in have]
    for d, dname in (("up", "upload crawler → internet"), ("down", "download internet → crawler")):
        for v6, v4, pname in pairs:
            key = "dp.0.%s.%s_mbps" % (v6, d)
            rep.fig(key, "0 clients, %s, %s, IPv6 (Mbit/s)" % (dname, pname), 0,
                    ratio=ratio_text(rep, key, "dp.0.%s.%s_mbps" % (v4, d), "IPv4"),
                    note=noise_text(rep, key))
            rep.ratio_fig("dp.0.%s.%s_v6_v4" % (d, v4), "0 clients, %s, %s: IPv6 / IPv4" % (d, pname),
                          key, "dp.0.%s.%s_mbps" % (v4, d))
    for v6, v4, pname in pairs:
        key = "dp.0.%s.rtt_ms" % v6
        rep.fig(key, "0 clients, ping RTT, %s, IPv6 (ms)" % pname, 3,
                ratio=ratio_text(rep, key, "dp.0.%s.rtt_ms" % v4, "IPv4 (medians)"))
        rep.ratio_fig("dp.0.rtt.%s_v6_v4" % v4, "0 clients, RTT median, %s: IPv6 / IPv4" % pname,
                      key, "dp.0.%s.rtt_ms" % v4)


def build(rep, p):
    n_clients = p["clients"]
    ms_le = lambda bound, which="median": ("<=", bound, which, "%s ≤ %s ms" % (which, fmt(bound, 0)))  # noqa: E731
    kib_le = lambda mib, bound: ("<=", bound, "max", "≤ %s MiB" % mib)  # noqa: E731

    if "startup" in p["sections"]:
        rep.section("1. Start-up (N = %d)" % p["n_start"])
        rep.fig("startup.gw_ready_ms", "gatewayd exec → ready file (ms)", 2, ms_le(30))
        rep.fig("startup.first_join_ms", "first JOIN right after ready: request → GRANT (ms)", 2,
                note="answered: %d of %d" % (len(rep.vals("startup.first_join_ms")),
                                             len(rep.vals("startup.gw_ready_ms"))))
        rep.fig("startup.gw_stop_ms", "gatewayd SIGTERM → exit, link and table removed (ms)", 2)
        rep.fig("startup.init_ms", "`clientd init` exec → exit 0 (ms)", 2, ms_le(20),
                note="failed: %d" % len(rep.vals("startup.init_failed")))
        rep.fig("startup.true_ms", "reference: exec → exit of /bin/true (ms)", 2)
        rep.fig("startup.netns_exec_ms", "reference: `ip netns exec NS true`, not in the figures above (ms)", 2)
        rep.fig("startup.nft_list_ms", "reference: `nft list tables` (no commit) (ms)", 2)
        rep.fig("startup.nft_commit_ms", "reference: `nft -f` with one commit (add + delete a table) (ms)", 2,
                ratio=ratio_text(rep, "startup.nft_commit_ms", "startup.nft_list_ms", "`nft list tables`"))

    if "failover" in p["sections"]:
        rep.section("2. Failover, a probe every %s ms through the tunnel (%d each)"
                    % (fmt(p["probe_ms"], 0), p["fail_reps"]))
        names = {"replace": "gateway pod replaced at once (new netns, new IP, hosts re-pointed)",
                 "kill": "gatewayd SIGKILL, restarted at once (same IP)",
                 "term": "gatewayd SIGTERM, restarted at once (same IP)"}
        kinds = str(p.get("fail_kinds", "replace kill term")).split()
        for kind in kinds:
            m = re.match(r"replace_(\d+)s$", kind)
            if m:
                names[kind] = "gateway pod replaced, the new pod %s s after the old one went" % m.group(1)
            rep.fig("fo.%s.recovery_ms" % kind, "%s: fault → first answered probe (ms)" % names[kind], 0)
            rep.fig("fo.%s.after_ready_ms" % kind, "%s: new gatewayd ready → first answered probe (ms)"
                    % kind, 0, ms_le(1000, "max"))
            if kind.startswith("replace"):
                rep.fig("fo.%s.after_repoint_ms" % kind,
                        "%s: hosts re-pointed → first answered probe (ms)" % kind, 0)
            rep.fig("fo.%s.ready_ms" % kind, "%s: fault → new gatewayd ready (ms)" % kind, 0)
            rep.fig("fo.%s.lost" % kind, "%s: probes lost" % kind, 0)

    if "memory" in p["sections"] or "join" in p["sections"]:
        rep.section("3. Memory (KiB)")

        def split(prefix, what="VmRSS", anon="_rssanon", file="_rssfile"):
            a, f = rep.med(prefix + anon), rep.med(prefix + file)
            return "" if a is None else "%s = anon %s + file %s (medians)" % (what, fmt(a, 0), fmt(f, 0))

        # VmRSS counts every shared-library page the process maps in full;
        # PSS divides each page among the processes that map it (here: the
        # whole machine's), and anonymous memory is the process's own.
        for prefix, what in (("mem.gw_idle", "gatewayd %s idle"),
                             ("mem.gw_leased", "gatewayd %%s with %d leases" % n_clients),
                             ("mem.clientd", "`clientd run` %s, steady state")):
            mib = 1.5 if prefix == "mem.clientd" else 3
            rep.fig(prefix + "_rss", what % "VmRSS", 0, kib_le(mib, mib * 1024), note=split(prefix))
            rep.fig(prefix + "_hwm", what % "VmHWM", 0, kib_le(mib, mib * 1024))
            rep.fig(prefix + "_rssanon", what % "RssAnon (its own pages)", 0)
            rep.fig(prefix + "_pss", what % "PSS (shared pages divided among their users on this machine)",
                    0, note=split(prefix, "PSS", "_pssanon", "_pssfile"))
        rep.fig("mem.sleep_rss", "reference: VmRSS of `sleep` (dynamically linked, glibc)", 0)
        rep.fig("mem.sleep_rssanon", "reference: RssAnon of `sleep`", 0)
        rep.fig("mem.sleep_pss", "reference: PSS of `sleep`", 0)

        rep.section("4. Join rate: %d simulated clients (join-flood), one gatewayd" % n_clients)
        rep.fig("join.elapsed_ms", "%d JOINs, 64 in flight: first JOIN → last GRANT (ms)" % n_clients,
                0, ms_le(1000))
        rep.fig("join.rate", "joins/s", 0)
        rep.fig("join.p99_ms", "JOIN → GRANT p99 within a run (ms)", 2)
        rep.fig("join.failed", "joins failed or unanswered", 0)
        rep.fig("join.burst_elapsed_ms", "%d JOINs all in flight at once (ms)" % n_clients, 0,
                note="resent after 250 ms: %s" % fmt(rep.med("join.burst_resent"), 0))

    if "datapath" in p["sections"]:
        rep.section("5. Data path: crawler → 203.0.113.10 and 2001:db8::10 (iperf3 TCP %d s × %d, ping × %d)"
                    % (p["iperf_s"], p["iperf_reps"], p["ping_count"]))
        paths = [("podgw", "podgw tunnel + NAT"), ("hand", "hand-built vxlan + masquerade"),
                 ("rules", "hand-built + a copy of podgw's nft rules"),
                 ("direct", "direct, no tunnel")]
        have = {0: str(p.get("dp_paths_0", "podgw hand rules direct")).split(),
                n_clients: str(p.get("dp_paths_n", "podgw hand rules direct")).split()}
        for c in (0, n_clients):
            cpaths = [x for x in paths if x[0] in have[c]]
            for d, dname in (("up", "upload crawler → internet"), ("down", "download internet → crawler")):
                for path, pname in cpaths:
                    key = "dp.%d.%s.%s_mbps" % (c, path, d)
                    r = ""
                    if path in ("podgw", "rules"):
                        r = ratio_text(rep, key, "dp.%d.hand.%s_mbps" % (c, d), "hand-built")
                    elif path == "hand":
                        r = ratio_text(rep, key, "dp.%d.direct.%s_mbps" % (c, d), "direct")
                    rep.fig(key, "%d clients, %s, %s (Mbit/s)" % (c, dname, pname), 0, ratio=r,
                            note=noise_text(rep, key))
                rep.ratio_fig("dp.%d.%s.podgw_hand" % (c, d), "%d clients, %s: podgw / hand-built" % (c, d),
                              "dp.%d.podgw.%s_mbps" % (c, d), "dp.%d.hand.%s_mbps" % (c, d),
                              (">=", 0.97, None, "≥ 0.97 (within 3 %)"))
                for path, pname in cpaths:
                    key = "dp.%d.%s.%s_cpu" % (c, path, d)
                    r = ""
                    if path in ("podgw", "rules"):
                        r = ratio_text(rep, key, "dp.%d.hand.%s_cpu" % (c, d), "hand-built")
                    elif path == "hand" and "direct" in have[c]:
                        r = ratio_text(rep, key, "dp.%d.direct.%s_cpu" % (c, d), "direct")
                    rep.fig(key, "%d clients, %s, %s: CPU ms per GB (iperf3 client + server)"
                            % (c, d, pname), 0, ratio=r, note=noise_text(rep, key))
                rep.ratio_fig("dp.%d.%s.cpu_podgw_hand" % (c, d),
                              "%d clients, %s: CPU per GB, podgw / hand-built" % (c, d),
                              "dp.%d.podgw.%s_cpu" % (c, d), "dp.%d.hand.%s_cpu" % (c, d),
                              ("<=", 1.03, None, "≤ 1.03 (within 3 %)"))
                if "rules" in have[c]:
                    rep.ratio_fig("dp.%d.%s.podgw_rules" % (c, d),
                                  "%d clients, %s: podgw / hand-built with podgw's rules" % (c, d),
                                  "dp.%d.podgw.%s_mbps" % (c, d), "dp.%d.rules.%s_mbps" % (c, d),
                                  note="≈ 1 means: the gap to hand-built is the rules")
                if "direct" in have[c]:
                    rep.ratio_fig("dp.%d.%s.tunnel_direct" % (c, d),
                                  "%d clients, %s: podgw tunnel / direct" % (c, d),
                                  "dp.%d.podgw.%s_mbps" % (c, d), "dp.%d.direct.%s_mbps" % (c, d))
            for path, pname in cpaths:
                key = "dp.%d.%s.rtt_ms" % (c, path)
                r = ""
                if path in ("podgw", "rules"):
                    r = ratio_text(rep, key, "dp.%d.hand.rtt_ms" % c, "hand-built (medians)")
                elif path == "hand":
                    r = ratio_text(rep, key, "dp.%d.direct.rtt_ms" % c, "direct")
                rep.fig(key, "%d clients, ping RTT, %s (ms)" % (c, pname), 3, ratio=r)
            rep.ratio_fig("dp.%d.rtt.podgw_hand" % c, "%d clients, RTT median: podgw / hand-built" % c,
                          "dp.%d.podgw.rtt_ms" % c, "dp.%d.hand.rtt_ms" % c,
                          ("<=", 1.03, None, "≤ 1.03 (within 3 %)"))
            if "rules" in have[c]:
                rep.ratio_fig("dp.%d.rtt.podgw_rules" % c,
                              "%d clients, RTT median: podgw / hand-built with podgw's rules" % c,
                              "dp.%d.podgw.rtt_ms" % c, "dp.%d.rules.rtt_ms" % c,
                              note="≈ 1 means: the gap to hand-built is the rules")
        if "podgw6" in have[0]:
            ipv6_figures(rep, have[0])
        rep.fig("dp.set_clients", "elements in the gateway's clients set during the %d-client runs"
                % n_clients, 0)
        for d in ("up", "down"):
            rep.ratio_fig("dp.flat.%s" % d, "podgw %s throughput, %d clients / 0 clients" % (d, n_clients),
                          "dp.%d.podgw.%s_mbps" % (n_clients, d), "dp.0.podgw.%s_mbps" % d,
                          note="raw: the machine's drift between the rounds included")
            rep.ratio2_fig("dp.flat.%s_vs_hand" % d,
                           "podgw / hand-built %s throughput, %d clients ÷ 0 clients" % (d, n_clients),
                           "dp.%d.podgw.%s_mbps" % (n_clients, d),
                           "dp.%d.hand.%s_mbps" % (n_clients, d), "dp.0.podgw.%s_mbps" % d,
                           "dp.0.hand.%s_mbps" % d, ("within", 0.03, None, "1 ± 0.03 (flat)"),
                           note="the drift cancels: paths interleaved in each round")
        for d in ("up", "down"):
            rep.ratio2_fig("dp.flat.%s_cpu_vs_hand" % d,
                           "podgw %s CPU per GB against hand-built, %d clients ÷ 0 clients" % (d, n_clients),
                           "dp.%d.podgw.%s_cpu" % (n_clients, d), "dp.%d.hand.%s_cpu" % (n_clients, d),
                           "dp.0.podgw.%s_cpu" % d, "dp.0.hand.%s_cpu" % d,
                           ("within", 0.03, None, "1 ± 0.03 (flat)"))
        rep.ratio_fig("dp.flat.rtt", "podgw RTT median, %d clients / 0 clients" % n_clients,
                      "dp.%d.podgw.rtt_ms" % n_clients, "dp.0.podgw.rtt_ms",
                      note="raw: the machine's drift between the rounds included")
        rep.ratio2_fig("dp.flat.rtt_vs_hand", "podgw / hand-built RTT median, %d clients ÷ 0 clients"
                       % n_clients,
                       "dp.%d.podgw.rtt_ms" % n_clients, "dp.%d.hand.rtt_ms" % n_clients,
                       "dp.0.podgw.rtt_ms", "dp.0.hand.rtt_ms", ("within", 0.03, None, "1 ± 0.03 (flat)"))

    if "cpu" in p["sections"]:
        rep.section("6. CPU time of gatewayd per 1,000 keepalives (ms)")
        rep.fig("cpu.flood_cpu", "join-flood RENEW rounds (%d × %d clients): utime+stime"
                % (p["renew_rounds"], n_clients), 1, note="10 ms ticks")
        rep.fig("cpu.flood_run", "join-flood RENEW rounds: on-CPU (schedstat)", 2)
        rep.fig("cpu.sidecar_gw_cpu", "%d real `clientd run` sidecars, %d s: utime+stime"
                % (p["sidecars"], p["sidecar_s"]), 1,
                note="keepalives counted: %s; 10 ms ticks" % fmt(sum(rep.vals("cpu.sidecar_keepalives")), 0))
        rep.fig("cpu.sidecar_gw_run", "%d real sidecars: on-CPU (schedstat), one figure per %s s window"
                % (p["sidecars"], fmt(p["sidecar_s"] / p.get("sidecar_win", 1), 0)), 2)
        rep.fig("cpu.gw_idle_run_per_s", "reference: gatewayd on-CPU per second with no client (ms/s)", 3)
        rep.fig("cpu.sidecar_gw_net", "%d real sidecars: on-CPU minus the no-client rate" % p["sidecars"], 2)
        rep.fig("cpu.clientd_run", "the sidecars' own on-CPU per 1,000 of their keepalives", 2)
        rep.fig("cpu.proj_sidecar_pct", "projection: gatewayd CPU (% of one CPU) for 1,000 sidecars at "
                "4 keepalives/s, from the real-sidecar figure", 1)
        rep.fig("cpu.proj_flood_pct", "projection: the same from the join-flood figure", 1)

    if "explore" in p["sections"]:
        rep.section("7. Explore: settings vs. tunnel throughput (download, iperf3 %d s × %d; no C change)"
                    % (p["iperf_s"], p["explore_reps"]))
        for name, text in p["explore"]:
            for path, pname in (("hand", "hand-built tunnel"), ("podgw", "podgw tunnel"),
                                ("direct", "direct")):
                key = "ex.%s.%s.down_mbps" % (name, path)
                if not rep.vals(key) and path == "podgw" and name in p.get("explore_no_podgw", []):
                    continue
                r = ""
                if path != "direct":
                    r = ratio_text(rep, key, "ex.%s.direct.down_mbps" % name, "direct")
                    base = rep.med("ex.base.%s.down_mbps" % path)
                    if name != "base" and base and rep.med(key):
                        r += "; %.2f× baseline" % (rep.med(key) / base)
                cpu = rep.med("ex.%s.%s.down_cpu" % (name, path))
                note = noise_text(rep, key)
                if cpu is not None:
                    note += "; CPU %s ms/GB" % fmt(cpu, 0)
                rep.fig(key, "%s: %s (Mbit/s)" % (text, pname), 0, ratio=r, note=note)


# Beyond this relative uncertainty a ratio says nothing about a 3 % target.
NOISE_MAX = 0.25
ANALYSIS_MARK = "<!-- analysis: written by hand, kept by scripts/bench.sh --docs -->"


def read_params(path):
    """Lines "KEY VALUE..."; repeated keys make lists (explore, explore_no_podgw)."""
    p = {"explore": [], "explore_no_podgw": [], "sections": []}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            if key == "explore":
                name, _, text = value.partition(" ")
                p["explore"].append([name, text])
            elif key == "explore_no_podgw":
                p["explore_no_podgw"].append(value)
            elif key == "sections":
                p["sections"] = value.split()
            else:
                try:
                    p[key] = int(value)
                except ValueError:
                    try:
                        p[key] = float(value)
                    except ValueError:
                        p[key] = value
    return p


def machine():
    m = {"nproc": len(os.sched_getaffinity(0)), "kernel": os.uname().release, "cpu": "?", "os": "?"}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    m["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return m


def cmd_report(samples_path, params_path, notes_path, json_path, md_path, *rest):
    samples = {}
    with open(samples_path) as f:
        for line in f:
            p = line.split()
            if len(p) != 2:
                continue
            try:
                samples.setdefault(p[0], []).append(float(p[1]))
            except ValueError:
                continue
    # Derived: 1,000 sidecars send 4,000 keepalives a second; X ms per
    # 1,000 keepalives is then 4X ms per second, 0.4X % of one CPU.
    for src, dst in (("cpu.sidecar_gw_run", "cpu.proj_sidecar_pct"), ("cpu.flood_run", "cpu.proj_flood_pct")):
        if src in samples:
            samples[dst] = [v * 0.4 for v in samples[src]]
    params = read_params(params_path)
    notes = []
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            notes = [line.strip() for line in f if line.strip()]
    meta = {"machine": machine(), "params": params, "notes": notes}
    return write_report(samples, meta, json_path, md_path, rest)


def cmd_rereport(in_json, json_path, md_path, *rest):
    """The report again from an earlier JSON (its samples, parameters and
    notes): after a change of the layout, without measuring again."""
    with open(in_json) as f:
        d = json.load(f)
    return write_report(d["samples"], d["meta"], json_path, md_path, rest)


def write_report(samples, meta, json_path, md_path, rest):
    docs = rest[rest.index("--docs") + 1] if "--docs" in rest else None
    params, notes = meta["params"], meta["notes"]
    rep = Report(samples, meta)
    build(rep, params)
    table = rep.markdown()
    m = meta["machine"]
    head = [
        "Machine: %s, %s CPUs (`nproc`), Linux %s (`uname -r`), %s; %s." % (
            m["cpu"], m["nproc"], m["kernel"], m["os"], params.get("iperf3", "iperf3 ?")),
        "Run: %s, %s mode, %s s; load average before %s, after %s." % (
            params.get("started", "?"), "smoke" if params.get("smoke") else "full",
            params.get("elapsed_s", "?"), params.get("load_before", "?"), params.get("load_after", "?")),
        "Sections: %s." % params.get("section_times", "?"),
        "",
        "Medians over repetitions; p99 is nearest-rank (the maximum when n < 100). Ratios are of "
        "medians measured in the same run, paths interleaved; ± is the uncertainty of a median "
        "(half-width of its ~95 % confidence interval, 1.58·IQR/√n, relative; combined for a ratio). "
        "A ratio closer to its target's boundary than that, or uncertain by more than ±25 %, is "
        "\"inconclusive\": this machine cannot resolve it. Targets are reported, never asserted.",
    ]
    tail = []
    if rep.misses:
        tail += ["", "Missed targets:", ""] + ["- " + x for x in rep.misses]
    if rep.inconclusive:
        tail += ["", "Inconclusive on this machine (closer to the target than the uncertainty):", ""]
        tail += ["- " + x for x in rep.inconclusive]
    if notes:
        tail += ["", "Notes from the run:", ""] + ["- " + x for x in notes]
    md = "\n".join(head) + "\n\n" + table + "\n" + "\n".join(tail) + "\n"
    with open(md_path, "w") as f:
        f.write(md)
    with open(json_path, "w") as f:
        json.dump({"meta": meta, "figures": rep.figures, "misses": rep.misses,
                   "inconclusive": rep.inconclusive, "missing": rep.missing,
                   "table_markdown": table, "samples": samples}, f, indent=1)
    if docs:
        # Text after the marker is written by hand and kept.
        kept = ""
        if os.path.exists(docs):
            with open(docs) as f:
                old = f.read()
            if ANALYSIS_MARK in old:
                kept = old[old.index(ANALYSIS_MARK):]
        with open(docs, "w") as f:
            f.write("# Benchmarks\n\n"
                    "The latest figures of `sudo scripts/bench.sh` (it writes them to "
                    "`build/bench.md` and `build/bench.json` as well). The runner builds its own "
                    "namespace lab (scripts/lab-lib.sh), measures, and reports against the targets; "
                    "it asserts nothing about them. `sudo scripts/bench.sh --smoke` is the short "
                    "version that `meson test` runs (bench-smoke: every figure produced).\n\n" + md
                    + ("\n" + kept if kept else ""))
    print(md)
    if rep.missing:
        print("bench: figures not produced: " + ", ".join(rep.missing), file=sys.stderr)
        return 1
    return 0


def main(argv):
    cmds = {"probe": cmd_probe, "probe-stable": cmd_probe_stable, "probe-summary": cmd_probe_summary,
            "get": cmd_get, "iperf": cmd_iperf, "ping": cmd_ping, "report": cmd_report,
            "rereport": cmd_rereport}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
