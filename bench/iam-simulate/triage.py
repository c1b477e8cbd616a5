#!/usr/bin/env python3
"""Shrink each disagreement to single statements and single condition entries.

Usage: triage.py cases.json canopy.json sim.json CANOPY_BIN > classes.txt
For every disagreeing layer, each statement is re-run alone (a one-level case: the statement
plus FullAWSAccess, so a Deny shows as ExplicitDeny and an Allow as Allow); statements on which
the tools still differ are split further into one condition entry each. The smallest differing
pieces are printed, grouped by (statement part, operator, key).
"""
import collections
import copy
import json
import subprocess
import sys
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MAP = {"Allowed": "Allow", "ImplicitlyDenied": "ImplicitDeny", "ExplicitlyDenied": "ExplicitDeny"}
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def stmts(p):
    s = p["Statement"]
    return s if isinstance(s, list) else [s]


def mini(case, layer, st, n):
    """A one-level case holding one statement (Deny statements get an Allow-all beside them)."""
    c = copy.deepcopy(case)
    cid = "%s-%s-%d" % (case["id"], layer, n)
    c["id"] = cid
    root = c["org"]["path"][0]["id"]
    acct = c["org"]["path"][-1]
    c["org"]["path"] = [c["org"]["path"][0], acct]
    if layer == "rcp":
        c["org"]["principal_path"] = c["org"]["principal_path"]
    doc = {"Version": "2012-10-17", "Statement": [st]}
    full_id = "p-FullAWSAccess" if layer == "scp" else "p-RCPFullAWSAccess"
    c["policies"] = {full_id: case["policies"][full_id], "p-x": {"type": case["policies"][full_id]["type"], "content": doc}}
    c["attachments"] = {root: [full_id, "p-x"] if (layer == "rcp" or st["Effect"] == "Deny") else ["p-x"],
                        acct["id"]: [full_id]}
    req = c["request"]
    sim = {"request": {"principal": req["principal"]["arn"], "action": req["action"],
                       "resource": {"resource": req["resource"], "accountId": req["resource_account"]},
                       "contextVariables": req["context"]},
           "identityPolicies": [{"name": "AllowAll", "policy": FULL}],
           "serviceControlPolicies": [], "resourceControlPolicies": []}
    if layer == "scp":
        sim["serviceControlPolicies"] = [{"orgIdentifier": root, "policies": [{"name": "p-x", "policy": doc}] if st["Effect"] == "Deny" else []},
                                         {"orgIdentifier": acct["id"], "policies": []}]
        if st["Effect"] == "Deny":
            sim["serviceControlPolicies"][0]["policies"].insert(0, {"name": "p-FullAWSAccess", "policy": FULL})
        else:
            sim["serviceControlPolicies"][0]["policies"] = [{"name": "p-x", "policy": doc}]
        sim["serviceControlPolicies"][1]["policies"] = [{"name": "p-FullAWSAccess", "policy": FULL}]
    else:
        sim["resourceControlPolicies"] = [{"orgIdentifier": root, "policies": [{"name": "p-x", "policy": doc}]},
                                          {"orgIdentifier": acct["id"], "policies": []}]
    wrapped = {"id": cid, "canopy": {"scp": c if layer == "scp" else None, "rcp": c if layer == "rcp" else None},
               "sim": sim}
    return wrapped


def run_both(items, canopy_bin):
    path = "/tmp/triage-cases.json"
    json.dump(items, open(path, "w"))
    out = subprocess.run([canopy_bin, path], capture_output=True, text=True, check=True).stdout
    canopy = {r["id"]: r for r in json.loads(out)}
    subprocess.run(["node", os.path.join(HERE, "run.mjs"), path, "/tmp/triage-sim.json"], check=True)
    sim = {r["id"]: r for r in json.load(open("/tmp/triage-sim.json"))}
    res = {}
    for it in items:
        layer = "scp" if it["canopy"]["scp"] else "rcp"
        s = sim[it["id"]]
        res[it["id"]] = (canopy[it["id"]][layer], MAP.get(s.get(layer), s.get("error")))
    return res


def main():
    cases = {c["id"]: c for c in json.load(open(sys.argv[1]))}
    canopy = {r["id"]: r for r in json.load(open(sys.argv[2]))}
    sim = {r["id"]: r for r in json.load(open(sys.argv[3]))}
    canopy_bin = sys.argv[4]
    items, meta = [], {}
    for cid, case in cases.items():
        for layer in ("scp", "rcp"):
            lc = case["canopy"][layer]
            if lc is None or "error" in sim[cid]:
                continue
            if canopy[cid][layer] == MAP.get(sim[cid][layer]):
                continue
            n = 0
            for pid, p in lc["policies"].items():
                if pid.endswith("FullAWSAccess"):
                    continue
                for st in stmts(p["content"]):
                    pieces = [st]
                    if st.get("Condition"):
                        bare = dict(st)
                        del bare["Condition"]
                        pieces.append(bare)
                    for op, kv in (st.get("Condition") or {}).items():
                        for k, v in kv.items():
                            s2 = dict(st)
                            s2["Condition"] = {op: {k: v}}
                            pieces.append(s2)
                    for piece in pieces:
                        w = mini(lc, layer, piece, n)
                        meta[w["id"]] = (cid, layer, piece)
                        items.append(w)
                        n += 1
    res = run_both(items, canopy_bin)
    groups = collections.defaultdict(list)
    explained = set()
    for iid, (a, b) in res.items():
        if a == b:
            continue
        cid, layer, piece = meta[iid]
        explained.add((cid, layer))
        conds = piece.get("Condition") or {}
        if len(conds) == 1 and len(next(iter(conds.values()))) == 1:
            op = next(iter(conds))
            key = next(iter(conds[op]))
            cls = ("condition", op, key.lower())
        elif conds:
            continue  # the single-condition pieces say more
        else:
            cls = ("no-condition", "Action" if "Action" in piece else "NotAction",
                   "Resource" if "Resource" in piece else "NotResource")
        groups[cls].append((cid, layer, a, b, piece))
    unexplained = sorted({(m[0], m[1]) for m in meta.values()} - explained)
    print("disagreeing layers: %d; not reproduced by any single statement: %d %s" % (
        len({(m[0], m[1]) for m in meta.values()}), len(unexplained), unexplained[:20]))
    for cls, xs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print("== %s: %d (cases: %s)" % (" / ".join(cls), len(xs), ", ".join(sorted({x[0] for x in xs})[:8])))
        for cid, layer, a, b, piece in xs[:3]:
            ctx = cases[cid]["canopy"][layer]["request"]
            print("   canopy=%s sim=%s action=%s resource=%s" % (a, b, ctx["action"], ctx["resource"]))
            print("   stmt=%s" % json.dumps(piece))
            print("   ctx=%s" % json.dumps(ctx["context"]))


if __name__ == "__main__":
    main()
