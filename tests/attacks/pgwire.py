#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pgwire: membership messages as an attacker (or a test) makes them, from
docs/membership.md alone (a second implementation of the wire format).

  pgwire.py join|renew|release|info --to IP [--port 8473] --name N [--namespace NS]
            [--mac MAC|random] [--pod-ip IP] [--wanted IP] [--key FILE]
            [--count N] [--names-from K] [--interval S] [--wait S]
            [--watch-file PATH] [--out FILE] [--mix KIND]
      sends COUNT requests, one at a time, each waiting up to --wait for its
      answer; --names-from K makes the names NAME-K, NAME-K+1, ...; prints
      one JSON line: sent, answered, grants, errors {code: n}, inode_changes
      (with --watch-file: how often PATH's inode changed across the run),
      info_replies, and the last answer's replica and leases (GRANT or
      INFO_REPLY), request_bytes and the largest answer's bytes, seconds.
      --mix KIND makes every second request a KIND (join, renew, ...).
      --out FILE writes the first request's bytes instead of sending anything.
  pgwire.py send FILE --to IP [--port P] [--wait S]
      sends FILE's bytes as one datagram; prints the answer as JSON.
  pgwire.py junk --to IP [--port P] --count N [--kind version|auth] [--size B]
      sends N junk datagrams as fast as it can (no more than N, within
      --seconds), while counting what comes back; prints JSON: sent,
      bytes_sent, answers, bytes_answered, seconds, largest_answer.

The protocol version is PODGW_WIRE_VERSION (2; 1 for a build before version
2, where requests carry no POD_IP), the time is the wall clock.
"""
import argparse
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time

TYPES = {"join": 1, "renew": 2, "release": 3, "info": 4}
GRANT, RELEASED, INFO_REPLY, ERROR = 0x81, 0x83, 0x84, 0xFF


def key_of(path):
    if not path:
        return None
    return hashlib.blake2b(open(path, "rb").read(), digest_size=32).digest()


def tlv(t, v):
    return struct.pack(">HH", t, len(v)) + v


def message(kind, a, name, key, version):
    body = tlv(1, name.encode()) + tlv(2, a.namespace.encode())
    if kind in ("join", "renew"):
        if a.mac == "random":
            mac = bytearray(os.urandom(6))
            mac[0] = (mac[0] & 0xFC) | 2
            body += tlv(3, bytes(mac))
        else:
            body += tlv(3, bytes.fromhex(a.mac.replace(":", "")))
    if kind == "join" and a.wanted:
        body += tlv(4, socket.inet_aton(a.wanted))
    if version >= 2:
        body += tlv(12, socket.inet_aton(a.pod_ip))
    flags = 1 if key else 0
    head = b"PGWM" + struct.pack(">BBHQ", version, TYPES[kind], flags, int(time.time()))
    head += os.urandom(16) + struct.pack(">H", len(body))
    msg = head + body
    if key:
        msg += hmac.new(key, msg, hashlib.sha512).digest()[:32]
    return msg


def parse_answer(buf):
    out = {"bytes": len(buf)}
    if len(buf) < 34 or buf[:4] != b"PGWM":
        out["type"] = "junk"
        return out
    out["version"], out["type"] = buf[4], buf[5]
    off, end = 34, min(len(buf), 34 + struct.unpack(">H", buf[32:34])[0])
    while off + 4 <= end:
        t, n = struct.unpack(">HH", buf[off:off + 4])
        v = buf[off + 4:off + 4 + n]
        if t == 10 and n == 2:
            out["error"] = struct.unpack(">H", v)[0]
        elif t == 11:
            out["text"] = v.decode("ascii", "replace")
        elif t == 5 and n == 5:
            out["addr"] = socket.inet_ntoa(v[:4])
        elif t == 13:
            out["replica"] = v.decode("ascii", "replace")
        elif t == 14 and n == 4:
            out["leases"] = struct.unpack(">I", v)[0]
        off += 4 + n
    return out


def recv_answer(s, wait):
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        try:
            return parse_answer(s.recv(4096))
        except ConnectionRefusedError:
            continue


def inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def cmd_request(a):
    key = key_of(a.key)
    version = int(os.environ.get("PODGW_WIRE_VERSION", "2"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.to, a.port))
    if not a.pod_ip:
        a.pod_ip = s.getsockname()[0]
    if a.out:
        open(a.out, "wb").write(message(a.kind, a, a.name, key, version))
        return
    res = {"sent": 0, "answered": 0, "grants": 0, "info_replies": 0, "errors": {}, "addrs": [],
           "inode_changes": 0, "request_bytes": 0, "largest_answer": 0}
    last = inode(a.watch_file) if a.watch_file else None
    start = time.monotonic()
    for i in range(a.count):
        name = a.name if a.names_from is None else "%s-%d" % (a.name, a.names_from + i)
        msg = message(a.mix if a.mix and i % 2 else a.kind, a, name, key, version)
        res["request_bytes"] = max(res["request_bytes"], len(msg))
        try:
            s.send(msg)
        except ConnectionRefusedError:
            pass
        res["sent"] += 1
        ans = recv_answer(s, a.wait)
        if ans:
            res["answered"] += 1
            res["largest_answer"] = max(res["largest_answer"], ans["bytes"])
            for k in ("replica", "leases"):
                if k in ans:
                    res[k] = ans[k]
            if ans.get("type") == INFO_REPLY:
                res["info_replies"] += 1
            if ans.get("type") == GRANT:
                res["grants"] += 1
                if ans.get("addr") and len(res["addrs"]) < 8:
                    res["addrs"].append(ans["addr"])
            elif ans.get("type") == ERROR:
                code = str(ans.get("error"))
                res["errors"][code] = res["errors"].get(code, 0) + 1
                res["last_error_text"] = ans.get("text", "")
        if a.watch_file:
            now = inode(a.watch_file)
            if now != last:
                res["inode_changes"] += 1
                last = now
        if a.interval:
            time.sleep(a.interval)
    res["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(res))


def cmd_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.to, a.port))
    s.send(open(a.file, "rb").read())
    print(json.dumps(recv_answer(s, a.wait) or {"type": "none"}))


def cmd_junk(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.connect((a.to, a.port))
    s.setblocking(False)
    if a.kind == "version":
        # bytes 0-31 of a version 9 JOIN: the least a gateway might answer
        pkt = b"PGWM" + struct.pack(">BBHQ", 9, 1, 0, int(time.time())) + os.urandom(16)
        pkt += b"\0" * max(0, a.size - len(pkt))
    else:
        # an untagged JOIN with a bad tag flag set: an authentication failure
        class A:
            namespace, mac, wanted, pod_ip = "default", "02:00:00:00:00:01", None, \
                s.getsockname()[0]
        pkt = bytearray(message("join", A, "junk", None, 2))
        pkt[7] |= 1
        pkt += os.urandom(32)
        pkt = bytes(pkt)
    res = {"sent": 0, "bytes_sent": 0, "answers": 0, "bytes_answered": 0, "largest_answer": 0}
    start = time.monotonic()

    def drain():
        while True:
            try:
                buf = s.recv(4096)
            except (BlockingIOError, ConnectionRefusedError):
                return
            res["answers"] += 1
            res["bytes_answered"] += len(buf)
            res["largest_answer"] = max(res["largest_answer"], len(buf))

    while res["sent"] < a.count and time.monotonic() - start < a.seconds:
        try:
            s.send(pkt)
            res["sent"] += 1
            res["bytes_sent"] += len(pkt)
        except (BlockingIOError, ConnectionRefusedError):
            select.select([], [s], [], 0.01)
        drain()
    res["seconds"] = round(time.monotonic() - start, 3)
    end = time.monotonic() + 1
    while time.monotonic() < end:
        select.select([s], [], [], 0.1)
        drain()
    res["request_bytes"] = len(pkt)
    print(json.dumps(res))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for kind in TYPES:
        r = sub.add_parser(kind)
        r.set_defaults(func=cmd_request, kind=kind)
        r.add_argument("--to", required=True)
        r.add_argument("--port", type=int, default=8473)
        r.add_argument("--name", required=True)
        r.add_argument("--namespace", default="default")
        r.add_argument("--mac", default="02:aa:00:00:00:01")
        r.add_argument("--pod-ip")
        r.add_argument("--wanted")
        r.add_argument("--key")
        r.add_argument("--count", type=int, default=1)
        r.add_argument("--names-from", type=int)
        r.add_argument("--interval", type=float, default=0)
        r.add_argument("--wait", type=float, default=1.0)
        r.add_argument("--watch-file")
        r.add_argument("--out")
        r.add_argument("--mix", choices=list(TYPES))
    r = sub.add_parser("send")
    r.set_defaults(func=cmd_send)
    r.add_argument("file")
    r.add_argument("--to", required=True)
    r.add_argument("--port", type=int, default=8473)
    r.add_argument("--wait", type=float, default=2.0)
    r = sub.add_parser("junk")
    r.set_defaults(func=cmd_junk)
    r.add_argument("--to", required=True)
    r.add_argument("--port", type=int, default=8473)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--kind", choices=["version", "auth"], default="version")
    r.add_argument("--size", type=int, default=32)
    r.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()
    if a.count > 100000 if hasattr(a, "count") else False:
        sys.exit("pgwire: --count is at most 100000")
    a.func(a)


if __name__ == "__main__":
    main()
