"""Runs scaletag locally, end to end, against a local moto server.

1. starts moto and creates a SageMaker endpoint tagged `autoscaling:template=default`;
2. runs the built `scaletag` binary as Lambda would, behind a local Lambda Runtime API;
3. delivers an event from events/ twice (the second shows steady state: no writes);
4. prints what Application Auto Scaling ends up holding.

Usage: scripts/demo [EVENT_FILE]   (default: events/in-service.rfc3339.json)
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def start_moto():
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto-server.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    return proc, int(proc.stdout.readline())


def create_endpoint(sm, name, variants, tags):
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": v, "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
            for v in variants
        ],
    )
    return sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config",
        Tags=[{"Key": k, "Value": v} for k, v in tags],
    )["EndpointArn"]


class RuntimeApi:
    """The Lambda Runtime API, as much as a function needs: /next, /response, /error."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = {}
        self.done = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"{}", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                request_id, event = api.events.get()
                deadline = int(time.time() * 1000) + 60_000
                self.reply(200, json.dumps(event).encode(), [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     "arn:aws:lambda:us-east-1:123456789012:function:scaletag"),
                ])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.split("/")
                if "invocation" in parts:
                    request_id, kind = parts[-2], parts[-1]
                    with api.done:
                        api.results[request_id] = (kind, json.loads(body or b"null"))
                        api.done.notify_all()
                elif self.path.endswith("/init/error"):
                    with api.done:
                        api.results["init"] = ("error", json.loads(body or b"null"))
                        api.done.notify_all()
                self.reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, request_id, event, timeout=60):
        self.events.put((request_id, event))
        with self.done:
            self.done.wait_for(lambda: request_id in self.results or "init" in self.results, timeout)
        return self.results.get(request_id) or self.results.get("init")


def main():
    event_file = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "events" / "in-service.rfc3339.json"
    event = json.loads(event_file.read_text())
    detail = event.get("detail", {})
    name = detail.get("EndpointName", "churn-model")
    variants = ["Champion", "Challenger"] if "multi" in event_file.name else ["AllTraffic"]

    moto, port = start_moto()
    endpoint_url = f"http://127.0.0.1:{port}"
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    sm = session.client("sagemaker", endpoint_url=endpoint_url)
    aas = session.client("application-autoscaling", endpoint_url=endpoint_url)

    tags = [("autoscaling:template", "default"), ("autoscaling:max-capacity", "6"), ("team", "ml-platform")]
    arn = create_endpoint(sm, name, variants, tags)
    if event.get("source") == "aws.sagemaker":
        event["detail"]["EndpointArn"] = arn
    print(f"moto on {endpoint_url}: endpoint {name} ({', '.join(variants)}) tagged "
          + ", ".join(f"{k}={v}" for k, v in tags))
    print(f"event: {event_file.relative_to(ROOT) if event_file.is_relative_to(ROOT) else event_file}\n")

    runtime = RuntimeApi()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.port}",
        "AWS_LAMBDA_FUNCTION_NAME": "scaletag",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "demo",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/scaletag",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
    }
    function = subprocess.Popen([str(ROOT / "target" / "debug" / "scaletag-lambda")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    logs = []
    threading.Thread(target=lambda: logs.extend(function.stdout), daemon=True).start()
    try:
        for attempt, title in [(1, "first delivery"), (2, "same event again (steady state)")]:
            kind, body = runtime.invoke(f"demo-{attempt}", event)
            print(f"== {title}: {kind}")
            print(json.dumps(body, indent=2) if attempt == 1 or kind != "response"
                  else json.dumps({k: body[k] for k in ("endpoint", "outcome")}))
            print()
        time.sleep(0.2)
        writes = [json.loads(l) for l in logs if '"write":' in l]
        print(f"== function log: {len(writes)} AWS writes, one JSON line each")
        for w in writes:
            f = w.get("fields", w)
            print(f"  {f.get('write')} {f.get('resource_id')}")
        print()
        print("== what Application Auto Scaling holds now")
        targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        keep = ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")
        print(json.dumps({
            "ScalableTargets": [{k: t[k] for k in keep} for t in targets],
            "ScalingPolicies": [
                {k: p[k] for k in ("PolicyName", "ResourceId", "ScalableDimension", "PolicyType",
                                   "TargetTrackingScalingPolicyConfiguration")}
                for p in policies
            ],
        }, indent=2))
    finally:
        function.kill()
        runtime.server.shutdown()
        moto.stdin.close()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
