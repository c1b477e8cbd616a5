#!/usr/bin/env python3
"""Compare Canopy's and iam-simulate's per-layer decisions over the same generated cases.

Usage: compare.py cases.json canopy.json sim.json > report.md
Layers compared: SCP for every case, RCP for cases that have RCP levels. iam-simulate's
overall result also folds in identity/resource-policy logic (cross-account needs a resource
policy), so the guardrail layers are compared one by one from its analysis.
"""
import collections
import json
import sys

MAP = {"Allowed": "Allow", "ImplicitlyDenied": "ImplicitDeny", "ExplicitlyDenied": "ExplicitDeny"}


def main():
    cases = {c["id"]: c for c in json.load(open(sys.argv[1]))}
    canopy = {r["id"]: r for r in json.load(open(sys.argv[2]))}
    sim = {r["id"]: r for r in json.load(open(sys.argv[3]))}
    n = len(cases)
    layers = agree = 0
    errors = []
    dis = []
    outcomes = collections.Counter()
    for cid, case in cases.items():
        c, s = canopy[cid], sim[cid]
        if "error" in s or any(isinstance(c[k], dict) for k in ("scp", "rcp")):
            errors.append((cid, c, s))
            continue
        if s.get("ignoredContextKeys"):
            errors.append((cid, c, {"ignoredContextKeys": s["ignoredContextKeys"]}))
        for layer in ("scp", "rcp"):
            if case["canopy"][layer] is None:
                continue
            layers += 1
            theirs = MAP.get(s[layer], s[layer])
            outcomes[(layer, c[layer])] += 1
            if c[layer] == theirs:
                agree += 1
            else:
                dis.append((cid, layer, c[layer], theirs))
    print("# Canopy vs iam-simulate: differential test\n")
    print(f"- cases: {n} ({sum(1 for c in cases.values() if c['canopy']['rcp'])} with RCP levels)")
    print(f"- layer decisions compared: {layers}; agree: {agree}; disagree: {len(dis)}")
    print(f"- cases either tool rejected or where iam-simulate ignored a context key: {len(errors)}")
    print("- Canopy outcome mix: " + ", ".join(f"{l.upper()} {d}: {k}" for (l, d), k in sorted(outcomes.items())))
    if errors:
        print("\n## Rejected or ignored-key cases\n")
        for cid, c, s in errors:
            print(f"- {cid}: canopy {json.dumps(c)}; iam-simulate {json.dumps(s)}")
    if dis:
        print("\n## Disagreements\n")
        by = collections.Counter((l, a, b) for _, l, a, b in dis)
        for (l, a, b), k in by.most_common():
            print(f"- {l.upper()}: Canopy {a} vs iam-simulate {b}: {k}")
        print()
        for cid, layer, a, b in dis:
            case = cases[cid]["canopy"][layer]
            print(f"### {cid} {layer.upper()}: Canopy {a}, iam-simulate {b}\n")
            print("```json")
            print(json.dumps({"request": case["request"], "attachments": case["attachments"],
                              "policies": {k: v["content"] for k, v in case["policies"].items()
                                           if not k.endswith("FullAWSAccess")}}, indent=1))
            print("```\n")
    return 0 if not dis else 1


if __name__ == "__main__":
    sys.exit(main())
