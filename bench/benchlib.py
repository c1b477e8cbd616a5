#!/usr/bin/env python3
"""Helpers for run.sh.

  benchlib.py workloads SEED.json      one line per workload: NAME<TAB>OPERATION<TAB>JSON body
  benchlib.py report RESULTS.jsonl     the Markdown table (workload | canopy … | moto … | ratio)

A body may hold "{{n}}", which workload.lua replaces with a token unique to the request.
"""
import json
import sys

ORDER = ["DescribeOrganization", "ListAccounts", "ListChildren", "DescribeAccount", "TagResource",
         "CreateOrganizationalUnit"]


def workloads(seed_path):
    s = json.load(open(seed_path))
    root, member = s["root_id"], s["account_ids"][-1]  # the last member sits in an OU
    rows = [
        ("DescribeOrganization", "DescribeOrganization", {}),
        ("ListAccounts", "ListAccounts", {"MaxResults": 20}),
        ("ListChildren", "ListChildren", {"ParentId": root, "ChildType": "ACCOUNT", "MaxResults": 20}),
        ("DescribeAccount", "DescribeAccount", {"AccountId": member}),
        # A fixed set of keys (the 50-tags quota is never reached); one value changes every request.
        ("TagResource", "TagResource", {"ResourceId": member, "Tags": [
            {"Key": "bench-counter", "Value": "{{n}}"}, {"Key": "bench-team", "Value": "platform"}]}),
        ("CreateOrganizationalUnit", "CreateOrganizationalUnit", {"ParentId": root, "Name": "bench-{{n}}"}),
    ]
    for name, op, body in rows:
        print(f"{name}\t{op}\t{json.dumps(body, separators=(',', ':'))}")


def ms(us):
    return f"{us / 1000:.2f} ms"


def cell(r):
    """(req/s, p50, p99, ok) for one result, or dashes when missing."""
    if r is None:
        return ("—", "—", "—", False)
    errs = r.get("non2xx", 0) + r.get("connect_err", 0) + r.get("read_err", 0) + r.get("write_err", 0) \
        + r.get("timeouts", 0)
    if r.get("probe_failed") or errs or r.get("requests", 0) == 0:
        why = r.get("probe_failed") or f"{errs} errors / {r.get('requests', 0)} requests"
        return (f"FAILED ({why})", "—", "—", False)
    return (f"{r['rps']:,.0f}", ms(r["p50_us"]), ms(r["p99_us"]), True)


def report(path):
    res = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            res[(r["workload"], r["server"])] = r
    names = [n for n in ORDER if any(k[0] == n for k in res)] + \
        sorted({k[0] for k in res} - set(ORDER))
    out = ["| workload | canopy req/s | canopy p50 | canopy p99 | moto req/s | moto p50 | moto p99 | ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        c, m = res.get((n, "canopy")), res.get((n, "moto"))
        cc, mc = cell(c), cell(m)
        ratio = f"{c['rps'] / m['rps']:,.0f}×" if cc[3] and mc[3] and m["rps"] > 0 else "—"
        out.append(f"| {n} | {cc[0]} | {cc[1]} | {cc[2]} | {mc[0]} | {mc[1]} | {mc[2]} | {ratio} |")
    print("\n".join(out))
    missed = []
    for n in names:
        c, m = res.get((n, "canopy")), res.get((n, "moto"))
        if not cell(c)[3]:
            missed.append(f"{n}: canopy failed" if c else f"{n}: canopy not run")
            continue
        if c["p99_us"] >= 5000:
            missed.append(f"{n}: canopy p99 {ms(c['p99_us'])} ≥ 5 ms")
        if cell(m)[3] and c["rps"] < 100 * m["rps"]:
            missed.append(f"{n}: {c['rps'] / m['rps']:.0f}× < 100× moto")
    print()
    print("Targets (Canopy ≥ 100× moto req/s, Canopy p99 < 5 ms): " +
          ("all met." if not missed else "missed — " + "; ".join(missed) + "."))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("workloads", "report"):
        sys.exit(__doc__)
    {"workloads": workloads, "report": report}[sys.argv[1]](sys.argv[2])
