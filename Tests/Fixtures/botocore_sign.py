#!/usr/bin/env python3
"""Signs requests with botocore's SigV4Auth (the referee for kiln's signer; tests only).

stdin: {"region", "service", "time": epoch seconds, "requests": [{"method", "url", "headers": {..}, "body", "accessKey", "secretKey", "token"}]}
stdout: [{"authorization": ..., "amzDate": ..., "token": ...}, ...]
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
now = datetime.datetime.fromtimestamp(spec["time"], tz=datetime.timezone.utc).replace(tzinfo=None)
results = []
for case in spec["requests"]:
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode(), headers=case["headers"])
    credentials = Credentials(case["accessKey"], case["secretKey"], case.get("token"))
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        SigV4Auth(credentials, spec["service"], spec["region"]).add_auth(request)
    results.append({
        "authorization": request.headers["Authorization"],
        "amzDate": request.headers["X-Amz-Date"],
        "token": request.headers.get("X-Amz-Security-Token"),
    })
json.dump(results, sys.stdout)
