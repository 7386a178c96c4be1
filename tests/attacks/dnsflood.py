#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS traffic for the DNS attack tests (lab namespaces only).

  dnsflood.py serve ADDR READY SECONDS   an upstream on ADDR:53 that answers
                                         A queries under ok.example with
                                         203.0.113.80 and never answers any
                                         other name; READY is created once bound
  dnsflood.py flood SERVER COUNT ROUNDS GAP
                                         ROUNDS times, GAP seconds apart, COUNT
                                         queries for distinct names under
                                         nx.example, as fast as they go out
  dnsflood.py lookups SERVER COUNT WAIT  COUNT queries under ok.example, one
                                         after the other, each waiting up to
                                         WAIT seconds for its answer; prints
                                         "answered ASKED"
"""
import os
import random
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    return q + struct.pack(">HH", 1, 1)


def question_end(msg):
    i = 12
    while msg[i]:
        i += 1 + msg[i]
    return i + 5


def serve(addr, ready, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    open(ready, "w").close()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            msg, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(msg) < 17 or msg[2] & 0x80:
            continue
        qend = question_end(msg)
        name = []
        i = 12
        while msg[i]:
            name.append(msg[i + 1:i + 1 + msg[i]].decode(errors="replace").lower())
            i += 1 + msg[i]
        if not ".".join(name).endswith("ok.example"):
            continue  # unanswerable: the query stays outstanding at the forwarder
        head = msg[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("203.0.113.80")
        s.sendto(head + msg[12:qend] + rr, peer)


def flood(server, count, rounds, gap):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tag = random.randrange(1 << 30)
    for r in range(rounds):
        for n in range(count):
            name = f"q{r}-{n}-{tag}.nx.example"
            s.sendto(query(random.randrange(65536), name), (server, 53))
            if n % 100 == 99:
                time.sleep(0.01)  # the forwarder reads 64 a turn: no overflowing buffers
        time.sleep(gap)


def lookups(server, count, wait):
    answered = 0
    for n in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        qid = random.randrange(65536)
        s.sendto(query(qid, f"v{n}.ok.example"), (server, 53))
        end = time.monotonic() + wait
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = s.recv(4096)
            except socket.timeout:
                break
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                answered += 1
                break
        s.close()
    print(answered, count)


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "serve":
        serve(a[1], a[2], float(a[3]))
    elif len(a) == 5 and a[0] == "flood":
        flood(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif len(a) == 4 and a[0] == "lookups":
        lookups(a[1], int(a[2]), float(a[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
