#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slow HTTP connections (slowloris) against a server on loopback.

  slowhttp.py hold HOST PORT SOURCE COUNT SECONDS
      opens COUNT connections from address SOURCE, each sending the start of
      a request's headers and then one more header line every 2 s, never
      finishing them, for SECONDS; prints "opened N" once all were tried
      and "held N" at the end (those the server had not closed).
  slowhttp.py idle HOST PORT SOURCE COUNT SECONDS
      the same with connections that send nothing at all (against a TLS
      server: a handshake that never starts).
"""
import socket
import sys
import time


def hold(host, port, source, count, seconds, idle=False):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.bind((source, 0))
            s.connect((host, port))
            if not idle:
                s.sendall(b"POST / HTTP/1.1\r\nHost: provisiond\r\n")
            socks.append(s)
        except OSError:
            s.close()
    print("opened", len(socks), flush=True)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and socks:
        time.sleep(2)
        n += 1
        alive = []
        for s in socks:
            try:
                if idle:
                    s.setblocking(False)
                    if s.recv(1) == b"":  # closed by the server
                        raise ConnectionResetError
                else:
                    s.sendall(b"X-Slow-%d: a\r\n" % n)
                alive.append(s)
            except BlockingIOError:
                alive.append(s)  # idle and still open
            except OSError:
                s.close()
        socks = alive
    # The server closes what it refused: a read sees EOF or a reset.
    held = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1)  # an answer or EOF: the server let go of it
        except BlockingIOError:
            held += 1
        except OSError:
            pass
        s.close()
    print("held", held, flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) != 6 or a[0] not in ("hold", "idle"):
        sys.exit(__doc__)
    hold(a[1], int(a[2]), a[3], int(a[4]), float(a[5]), idle=a[0] == "idle")
