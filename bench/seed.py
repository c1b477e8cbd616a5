#!/usr/bin/env python3
"""Seeds one server with the benchmark organization through boto3, identically for Canopy and moto.

1 organization (all features), N OUs under the root, M member accounts created with
CreateAccount (waited for until SUCCEEDED). ROOT_ACCOUNTS of them stay in the root so that
ListChildren(root, ACCOUNT) returns the same 20 children (19 members + the management account)
on both servers (moto ignores MaxResults there); the others are moved round-robin into the OUs.

Usage: seed.py ENDPOINT OUT.json [--ous 10] [--accounts 200] [--root-accounts 19]
Writes {"root_id", "ou_ids", "account_ids", "management_account_id"} to OUT.json.
"""
import argparse
import json
import sys
import time

import boto3
from botocore.config import Config

MANAGEMENT = "123456789012"  # moto's default account; Canopy treats a 12-digit key id as the account


def client(endpoint):
    return boto3.client(
        "organizations",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=MANAGEMENT,
        aws_secret_access_key="bench-secret",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("out")
    ap.add_argument("--ous", type=int, default=10)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--root-accounts", type=int, default=19)
    a = ap.parse_args()
    org = client(a.endpoint)
    t0 = time.perf_counter()

    o = org.create_organization(FeatureSet="ALL")["Organization"]
    if o["MasterAccountId"] != MANAGEMENT:
        sys.exit(f"seed: management account is {o['MasterAccountId']}, expected {MANAGEMENT}")
    root_id = org.list_roots()["Roots"][0]["Id"]
    ou_ids = [
        org.create_organizational_unit(ParentId=root_id, Name=f"bench-ou-{i:02d}")["OrganizationalUnit"]["Id"]
        for i in range(a.ous)
    ]

    account_ids = []
    for i in range(a.accounts):
        st = org.create_account(Email=f"bench-{i:05d}@example.com", AccountName=f"bench-{i:05d}")[
            "CreateAccountStatus"
        ]
        deadline = time.monotonic() + 30
        while st["State"] == "IN_PROGRESS":
            if time.monotonic() > deadline:
                sys.exit(f"seed: account {i} still IN_PROGRESS after 30 s")
            time.sleep(0.01)
            st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
        if st["State"] != "SUCCEEDED":
            sys.exit(f"seed: account {i} creation {st['State']}: {st.get('FailureReason')}")
        account_ids.append(st["AccountId"])

    for i, acct in enumerate(account_ids[a.root_accounts:]):
        if ou_ids:
            org.move_account(AccountId=acct, SourceParentId=root_id, DestinationParentId=ou_ids[i % len(ou_ids)])

    # Sanity: both servers must now hold the same shape.
    n = 0
    for page in org.get_paginator("list_accounts").paginate():
        n += len(page["Accounts"])
    if n != a.accounts + 1:
        sys.exit(f"seed: ListAccounts sees {n} accounts, expected {a.accounts + 1}")

    with open(a.out, "w") as f:
        json.dump(
            {"root_id": root_id, "ou_ids": ou_ids, "account_ids": account_ids, "management_account_id": MANAGEMENT},
            f,
        )
    print(f"seeded {a.endpoint}: 1 org, {len(ou_ids)} OUs, {len(account_ids)} accounts "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
