#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the API server does around podgw's webhook, for the tests.

review.py wrap NAMESPACE OBJECT.json  > REVIEW.json
    the AdmissionReview v1 the API server sends for a Pod, or for the pod a
    Job / Deployment's controller makes from its template (generateName).
review.py apply REVIEW.json ANSWER.json > POD.json
    the pod the API server stores: the request's object with the answer's
    JSONPatch applied (RFC 6902 add, replace, remove, test); exit 1 with
    the answer's message when the pod was refused.
"""
import base64
import json
import sys
import uuid


def pod_of(obj):
    if obj.get("kind") == "Pod":
        return obj
    tmpl = obj["spec"]["template"]
    meta = dict(tmpl.get("metadata") or {})
    meta["generateName"] = obj["metadata"]["name"] + "-"
    meta["ownerReferences"] = [{"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                                "name": obj["metadata"]["name"], "uid": str(uuid.uuid4()),
                                "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl["spec"]}


def wrap(namespace, obj):
    pod = pod_of(obj)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()),
                        "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                        "namespace": namespace, "operation": "CREATE",
                        "userInfo": {"username": "system:serviceaccount:kube-system:job-controller"},
                        "object": pod, "oldObject": None, "dryRun": False,
                        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def walk(doc, path):
    parts = [unescape(t) for t in path.split("/")[1:]]
    for t in parts[:-1]:
        doc = doc[int(t)] if isinstance(doc, list) else doc[t]
    return doc, parts[-1]


def apply(doc, patch):
    for op in patch:
        parent, key = walk(doc, op["path"])
        verb = op["op"]
        if isinstance(parent, list):
            i = len(parent) if key == "-" else int(key)
            if verb == "add":
                if i > len(parent):
                    raise ValueError(f"{op['path']}: index out of range")
                parent.insert(i, op["value"])
            elif verb == "replace":
                parent[i] = op["value"]
            elif verb == "remove":
                del parent[i]
            elif verb == "test" and parent[i] != op["value"]:
                raise ValueError(f"{op['path']}: test failed")
        else:
            if verb == "add":
                parent[key] = op["value"]
            elif verb == "replace":
                if key not in parent:
                    raise ValueError(f"{op['path']}: replace of a missing member")
                parent[key] = op["value"]
            elif verb == "remove":
                del parent[key]
            elif verb == "test" and parent.get(key) != op["value"]:
                raise ValueError(f"{op['path']}: test failed")
        if verb not in ("add", "replace", "remove", "test"):
            raise ValueError(f"op {verb}: not expected from podgw")
    return doc


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "wrap":
        json.dump(wrap(sys.argv[2], json.load(open(sys.argv[3]))), sys.stdout)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "apply":
        req = json.load(open(sys.argv[2]))["request"]
        ans = json.load(open(sys.argv[3]))
        resp = ans["response"]
        if ans.get("apiVersion") != "admission.k8s.io/v1" or ans.get("kind") != "AdmissionReview":
            print("answer: not an AdmissionReview v1", file=sys.stderr)
            return 1
        if resp["uid"] != req["uid"]:
            print("answer: uid differs from the request's", file=sys.stderr)
            return 1
        if not resp["allowed"]:
            print(f"refused: {resp['status']['message']}", file=sys.stderr)
            return 1
        pod = req["object"]
        if "patch" in resp:
            if resp.get("patchType") != "JSONPatch":
                print("answer: patch without patchType JSONPatch", file=sys.stderr)
                return 1
            pod = apply(pod, json.loads(base64.b64decode(resp["patch"])))
        if not pod["metadata"].get("name"):
            pod["metadata"]["name"] = pod["metadata"].get("generateName", "pod-") + "x1y2z"
        pod["metadata"].setdefault("namespace", req["namespace"])
        json.dump(pod, sys.stdout, indent=1)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
