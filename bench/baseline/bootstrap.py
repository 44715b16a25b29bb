"""A minimal Lambda Runtime API client for the Python baseline, as the managed Python runtime
runs a handler: import the module (its init), then loop on /next."""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import lambda_function  # noqa: E402  (the function's init: boto3 import and clients)

api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(f"{api}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    try:
        body, path = json.dumps(lambda_function.handler(event, None)).encode(), "response"
    except Exception as e:  # reported as Lambda's runtime would
        body = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}).encode()
        path = "error"
    urllib.request.urlopen(urllib.request.Request(f"{api}/invocation/{request_id}/{path}", data=body, method="POST")).read()
