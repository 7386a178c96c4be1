#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for the Kubernetes API server, for a contract test of the
requests provisiond's kubernetes backend makes. It is not Kubernetes: it
records each request (method, path, headers, JSON body) as one JSON line
and answers POST .../pods like the API server does for the cases the test
needs: 201 with the pod echoed back, 409 AlreadyExists for a name it has
seen, 403 Forbidden with a Status message for namespace "forbidden".
Listens on 127.0.0.1 only; writes the port it got to PORT_FILE.

usage: kube-recorder.py RECORD_FILE PORT_FILE
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

record_path, port_path = sys.argv[1], sys.argv[2]
lock = threading.Lock()
names = set()


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with lock:
            with open(record_path, "a") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body}) + "\n")
            parts = self.path.split("/")
            if (len(parts) != 6 or parts[1:3] != ["api", "v1"] or parts[3] != "namespaces"
                    or parts[5] != "pods" or not isinstance(body, dict)):
                return self.answer(404, status(404, "NotFound", "the server could not find the requested resource"))
            if parts[4] == "forbidden":
                return self.answer(403, status(403, "Forbidden", 'pods is forbidden: User "system:serviceaccount:forbidden:provisiond" cannot create resource "pods"'))
            name = body.get("metadata", {}).get("name", "")
            key = (parts[4], name)
            if key in names:
                return self.answer(409, status(409, "AlreadyExists", f'pods "{name}" already exists'))
            names.add(key)
        pod = dict(body)
        pod.setdefault("metadata", {})["namespace"] = parts[4]
        pod["metadata"]["uid"] = "00000000-0000-0000-0000-%012d" % len(names)
        pod["status"] = {"phase": "Pending"}
        self.answer(201, pod)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_path + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_path + ".tmp", port_path)
server.serve_forever()
