#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tcptool.py: a tiny TCP sink/source and UDP echo for the namespace tests
(bounded in time).

  serve --bind IP --port N --ready FILE [--file F] [--seconds S]
      Accepts connections one after another for at most S seconds (300).
      Each connection: reads until the peer shuts its side down, answers
      "BYTES SHA256 PEER-IP\\n", then sends FILE (if given) and closes.
  send --to IP --port N [--file F] [--seconds S]
      Connects, sends FILE (nothing without one), shuts down its side,
      prints the server's answer line, then "recv BYTES SHA256" for what
      followed it, and "secs SECONDS" (the whole exchange). Exit 0 only
      when the answer's count and checksum match what was sent.
  udp-serve --bind IP --port N --ready FILE [--seconds S]
      Answers each datagram with "PEER-IP PORT DATA" for at most S seconds.
  udp-send --to IP --port N [--seconds S]
      Sends one datagram a second until an answer comes (at most S seconds,
      5), prints it; exit 0 only when the answer echoes what was sent.
IP may be IPv4 or IPv6 (literal addresses).
"""
import argparse
import hashlib
import socket
import sys
import time


def family(addr):
    """IPv6 when the address is one (the tests pass literal addresses)."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(a):
    ls = socket.socket(family(a.bind), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(8)
    open(a.ready, "w").close()
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        ls.settimeout(max(0.1, end - time.monotonic()))
        try:
            c, peer = ls.accept()
        except socket.timeout:
            break
        c.settimeout(60)
        try:
            h, n = hashlib.sha256(), 0
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                n += len(b)
            c.sendall(("%d %s %s\n" % (n, h.hexdigest(), peer[0])).encode())
            if a.file:
                with open(a.file, "rb") as f:
                    while True:
                        b = f.read(1 << 16)
                        if not b:
                            break
                        c.sendall(b)
            print("conn %s bytes %d sha256 %s" % (peer[0], n, h.hexdigest()), flush=True)
        except OSError as e:
            print("conn %s error %s" % (peer[0], e), flush=True)
        finally:
            c.close()


def send(a):
    start = time.monotonic()
    s = socket.create_connection((a.to, a.port), timeout=a.seconds)
    s.settimeout(a.seconds)
    h, n = hashlib.sha256(), 0
    if a.file:
        with open(a.file, "rb") as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    break
                h.update(b)
                n += len(b)
                s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    buf = b""
    while b"\n" not in buf:
        b = s.recv(4096)
        if not b:
            break
        buf += b
    line, _, rest = buf.partition(b"\n")
    rh, rn = hashlib.sha256(rest), len(rest)
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        rh.update(b)
        rn += len(b)
    s.close()
    secs = time.monotonic() - start
    print(line.decode(errors="replace"))
    print("recv %d %s" % (rn, rh.hexdigest()))
    print("secs %.3f" % secs)
    f = line.decode(errors="replace").split()
    ok = len(f) == 3 and f[0] == str(n) and f[1] == h.hexdigest()
    return 0 if ok else 1


def udp_serve(a):
    s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    open(a.ready, "w").close()
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        s.sendto(("%s %d " % (peer[0], a.port)).encode() + data, peer)
        print("datagram %s %d bytes" % (peer[0], len(data)), flush=True)


def udp_send(a):
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    s.connect((a.to, a.port))
    msg = ("probe-%d-%d" % (a.port, time.monotonic_ns())).encode()
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        s.send(msg)
        s.settimeout(min(1.0, max(0.1, end - time.monotonic())))
        try:
            data = s.recv(2048)
        except (socket.timeout, ConnectionRefusedError):
            continue
        print(data.decode(errors="replace"))
        return 0 if data.endswith(b" " + msg) else 1
    print("error no answer")
    return 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--file")
    s.add_argument("--seconds", type=float, default=300)
    c = sub.add_parser("send")
    c.add_argument("--to", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--file")
    c.add_argument("--seconds", type=float, default=60)
    u = sub.add_parser("udp-serve")
    u.add_argument("--bind", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--ready", required=True)
    u.add_argument("--seconds", type=float, default=300)
    v = sub.add_parser("udp-send")
    v.add_argument("--to", required=True)
    v.add_argument("--port", type=int, required=True)
    v.add_argument("--seconds", type=float, default=5)
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a)
        return 0
    if a.cmd == "udp-serve":
        udp_serve(a)
        return 0
    try:
        return udp_send(a) if a.cmd == "udp-send" else send(a)
    except OSError as e:
        print("error %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
