#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS from inside a lab pod, without dig.

  dnstool.py resolve NAME...       the C library's lookup (resolv.conf,
                                   search list): prints "NAME ADDRESS" or
                                   "NAME FAILED reason"; exit 1 if any failed
  dnstool.py tcp SERVER NAME       one A query over TCP to SERVER port 53:
                                   prints the first address of the answer
"""
import random
import socket
import struct
import sys


def resolve(names):
    failed = 0
    for name in names:
        try:
            print(name, socket.gethostbyname(name))
        except OSError as e:
            print(name, "FAILED", e)
            failed = 1
    return failed


def tcp_query(server, name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    q += struct.pack(">HH", 1, 1)
    with socket.create_connection((server, 53), timeout=5) as s:
        s.sendall(struct.pack(">H", len(q)) + q)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    msg = data[2:]
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid or flags & 0xF:
        print("FAILED id %d rcode %d" % (rid, flags & 0xF))
        return 1
    pos = 12 + len(q) - 12  # the question is echoed as sent
    for _ in range(an):
        while msg[pos] and msg[pos] & 0xC0 != 0xC0:
            pos += 1 + msg[pos]
        pos += 2 if msg[pos] & 0xC0 == 0xC0 else 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            print(socket.inet_ntoa(msg[pos:pos + 4]))
            return 0
        pos += rdlen
    print("FAILED no address")
    return 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "resolve":
        sys.exit(resolve(sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "tcp":
        sys.exit(tcp_query(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
