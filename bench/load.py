#!/usr/bin/env python3
"""Bulk-loads an organization through the awsJson1.1 API with parallel keep-alive connections,
then does a warm read pass (ListAccounts and ListOrganizationalUnitsForParent over everything).

Usage: load.py URL [--accounts 10000] [--ous 2000] [--workers 16]
The caller is the management account 123456789012 (dev auth: the access key id is the account).
Exits non-zero on the first failed request, with its answer.
"""
import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

KEY = "123456789012"
AUTH = (f"AWS4-HMAC-SHA256 Credential={KEY}/20261129/us-east-1/organizations/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}")
local = threading.local()


def call(url, op, body):
    u = urlparse(url)
    for attempt in range(2):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.request("POST", "/", json.dumps(body), {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSOrganizationsV20161128.{op}",
                "X-Amz-Date": "20261129T000000Z",
                "Authorization": AUTH,
            })
            r = conn.getresponse()
            data = r.read()
            break
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            local.conn = None
            if attempt:
                raise
    if r.status != 200:
        raise SystemExit(f"load: {op} {body} -> HTTP {r.status}: {data[:300]!r}")
    return json.loads(data or b"{}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--ous", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=16)
    a = ap.parse_args()
    url = a.url

    t0 = time.perf_counter()
    call(url, "CreateOrganization", {"FeatureSet": "ALL"})
    root = call(url, "ListRoots", {})["Roots"][0]["Id"]
    with ThreadPoolExecutor(a.workers) as ex:
        # 2,000 OUs: 20 top-level ones, the rest spread below them (two levels deep).
        top = min(20, a.ous)
        tops = list(ex.map(lambda i: call(url, "CreateOrganizationalUnit",
                                          {"ParentId": root, "Name": f"top-{i:03d}"})["OrganizationalUnit"]["Id"],
                           range(top)))
        subs = list(ex.map(lambda i: call(url, "CreateOrganizationalUnit",
                                          {"ParentId": tops[i % top], "Name": f"ou-{i:05d}"})["OrganizationalUnit"]["Id"],
                           range(a.ous - top)))
        t1 = time.perf_counter()
        print(f"load: {a.ous} OUs in {t1 - t0:.1f} s", file=sys.stderr)
        sts = list(ex.map(lambda i: call(url, "CreateAccount", {"Email": f"acct-{i:06d}@example.com",
                                                               "AccountName": f"acct-{i:06d}"})["CreateAccountStatus"],
                          range(a.accounts)))
        t2 = time.perf_counter()
        print(f"load: {a.accounts} CreateAccount requests in {t2 - t1:.1f} s "
              f"({a.accounts / (t2 - t1):,.0f}/s)", file=sys.stderr)

    # Wait until every creation has finished, then a warm read pass over everything.
    deadline = time.monotonic() + 120
    while True:
        n, token, states = 0, None, {}
        while True:
            body = {"MaxResults": 20, **({"NextToken": token} if token else {})}
            page = call(url, "ListAccounts", body)
            n += len(page["Accounts"])
            for acc in page["Accounts"]:
                states[acc.get("Status")] = states.get(acc.get("Status"), 0) + 1
            token = page.get("NextToken")
            if not token:
                break
        if n >= a.accounts + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    ous = 0
    for parent in [root, *tops, *subs[:50]]:
        token = None
        while True:
            body = {"ParentId": parent, "MaxResults": 20, **({"NextToken": token} if token else {})}
            page = call(url, "ListOrganizationalUnitsForParent", body)
            ous += len(page["OrganizationalUnits"])
            token = page.get("NextToken")
            if not token:
                break
    print(f"load: warm pass saw {n} accounts {states} and {ous} OUs in {time.perf_counter() - t2:.1f} s",
          file=sys.stderr)
    if n != a.accounts + 1:
        raise SystemExit(f"load: ListAccounts sees {n} accounts, expected {a.accounts + 1}")
    if ous != a.ous:
        raise SystemExit(f"load: the OU listing sees {ous} OUs, expected {a.ous}")


if __name__ == "__main__":
    main()
