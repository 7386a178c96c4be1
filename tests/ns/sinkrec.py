#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A CloudEvents sink for tests, on 127.0.0.1 only.

  sinkrec.py record PORT FILE [--status N]   answers every POST with N (202),
                                             one JSON line per request in FILE:
                                             {"t", "path", "headers", "body"}
  sinkrec.py hang PORT                       accepts connections, never answers

Both exit by themselves after --lifetime seconds (120): a test that dies
cannot leave one behind for long.
"""
import argparse
import http.server
import json
import select
import socket
import sys
import threading
import time


def record(port, path, status, lifetime):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            line = {"t": time.time(), "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body}
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt, *args):
            sys.stderr.write("sinkrec: " + (fmt % args) + "\n")

    srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
    threading.Timer(lifetime, srv.shutdown).start()
    print("ready", flush=True)
    srv.serve_forever()


def hang(port, lifetime):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    held = []
    print("ready", flush=True)
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        if r:
            c, _ = s.accept()
            held.append(c)  # read nothing, answer nothing
    for c in held:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["record", "hang"])
    ap.add_argument("port", type=int)
    ap.add_argument("file", nargs="?")
    ap.add_argument("--status", type=int, default=202)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    if a.mode == "record":
        record(a.port, a.file, a.status, a.lifetime)
    else:
        hang(a.port, a.lifetime)


if __name__ == "__main__":
    main()
