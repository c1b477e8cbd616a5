"""What the boto3 end-to-end scripts share: a client per account, the assertions, the case runner.

The scripts run against a server that `run.sh` started (AWS_ENDPOINT_URL) in dev auth, where a
12-digit access key id is the account that calls (AWS_ACCESS_KEY_ID: the management account).
"""

import os
import sys
import traceback

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
MGMT = os.environ["AWS_ACCESS_KEY_ID"]

# One attempt: a retried call would hide the first answer.
CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})

# `expect_error`'s default: the Reason is not looked at.
ANY_REASON = object()


def client(account_id=MGMT, region="us-east-1"):
    """An Organizations client acting as `account_id`."""
    return boto3.client(
        "organizations",
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=account_id,
        aws_secret_access_key="x",
        config=CONFIG,
    )


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def expect_error(code, fn, *args, reason=ANY_REASON, message_has=None, **kwargs):
    """Calls `fn`, which must fail with the AWS error `code` (HTTP 400, with a message). `reason`:
    the Reason the answer must carry (None: none at all); `message_has`: text of the message."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        err = e.response["Error"]
        eq(err["Code"], code, f"error code (message {err.get('Message')!r})")
        assert err.get("Message"), f"{code} has a message"
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, f"HTTP status of {code}")
        if reason is not ANY_REASON:
            eq(e.response.get("Reason", err.get("Reason")), reason, f"Reason of {code}")
        if message_has is not None:
            assert message_has in err["Message"], f"{code} message {err['Message']!r} lacks {message_has!r}"
        return e
    raise AssertionError(f"expected {code}, the call succeeded")


def run_cases(label, namespace):
    """Runs the `test_*` functions of `namespace` in definition order, one PASS/FAIL line each (a
    failure is reported and the run goes on), writes "PASSED FAILED" to the file named by the
    first argument, if any, and returns the exit status."""
    cases = [v for k, v in list(namespace.items()) if k.startswith("test_") and callable(v)]
    results_file = sys.argv[1] if len(sys.argv) > 1 else None
    passed = failed = 0
    for case in cases:
        try:
            case()
        except Exception as e:  # noqa: BLE001 — every failure is reported, the run goes on
            failed += 1
            print(f"FAIL {label} {case.__name__}: {type(e).__name__}: {e}")
            traceback.print_exc(limit=3, file=sys.stderr)
        else:
            passed += 1
            print(f"PASS {label} {case.__name__}")
        sys.stdout.flush()
    if results_file:
        with open(results_file, "w") as f:
            f.write(f"{passed} {failed}\n")
    print(f"{label}: {passed} passed, {failed} failed")
    return 1 if failed else 0
