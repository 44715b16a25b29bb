"""Local stand-ins shared by the demo and the benchmark: a moto server, a SageMaker endpoint
made in it, and the Lambda Runtime API a function process talks to.
"""
import json
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def start_moto():
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto-server.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    return proc, int(proc.stdout.readline())


def create_endpoint(sm, name, variants, tags, instance_type="ml.m5.large", asynchronous=False):
    """A model, an endpoint config and an endpoint with `tags`; with `asynchronous`, the config
    has AsyncInferenceConfig (an asynchronous endpoint, which may scale to zero instances)."""
    queue = {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": f"s3://{name}-out/results"}}}
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": v, "ModelName": f"{name}-model", "InstanceType": instance_type,
             "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
            for v in variants
        ],
        **(queue if asynchronous else {}),
    )
    return sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config",
        Tags=[{"Key": k, "Value": v} for k, v in tags],
    )["EndpointArn"]


def create_inference_component(sm, endpoint_url, endpoint, name, tags):
    """An endpoint that hosts inference components (managed instance scaling down to 0), and
    one IC on it with `tags`, moved to InService through the stand-in's control route."""
    import urllib.request

    sm.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        ProductionVariants=[{
            "VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1,
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 4},
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
        }],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:1"},
    )
    arn = sm.create_inference_component(
        InferenceComponentName=name, EndpointName=endpoint, VariantName="AllTraffic",
        Specification={"ModelName": f"{name}-model", "ComputeResourceRequirements": {
            "MinMemoryRequiredInMb": 1024, "NumberOfAcceleratorDevicesRequired": 1}},
        RuntimeConfig={"CopyCount": 1},
        Tags=[{"Key": k, "Value": v} for k, v in tags],
    )["InferenceComponentArn"]
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/standin/inference-component-status", method="POST",
        data=json.dumps({"InferenceComponentName": name, "Status": "InService"}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    return arn


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that says nothing of a connection its peer closed (a function
    stopped while it polled), and everything else as usual."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeApi:
    """The Lambda Runtime API, as much as a function needs: /next, /response, /error."""

    def __init__(self, timeout_ms=60_000):
        self.events = queue.Queue()
        self.timeout_ms = timeout_ms
        self.next_polled = []  # when each GET /next arrived (perf_counter)
        self.served = {}
        self.durations = {}
        self.results = {}
        self.done = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

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
                api.next_polled.append(time.perf_counter())
                request_id, event = api.events.get()
                api.served[request_id] = time.perf_counter()
                deadline = int(time.time() * 1000) + api.timeout_ms
                try:
                    self.reply(200, json.dumps(event).encode(), [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", request_id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                        ("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:scaletag"),
                    ])
                except OSError:
                    # That function process is gone (a benchmark stops them): hand it on.
                    api.events.put((request_id, event))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.split("/")
                if "invocation" in parts:
                    request_id, kind = parts[-2], parts[-1]
                    if request_id in api.served:
                        api.durations[request_id] = time.perf_counter() - api.served[request_id]
                    with api.done:
                        api.results[request_id] = (kind, json.loads(body or b"null"))
                        api.done.notify_all()
                elif self.path.endswith("/init/error"):
                    with api.done:
                        api.results["init"] = ("error", json.loads(body or b"null"))
                        api.done.notify_all()
                self.reply(202)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, request_id, event, timeout=60):
        self.events.put((request_id, event))
        with self.done:
            self.done.wait_for(lambda: request_id in self.results or "init" in self.results, timeout)
        return self.results.get(request_id) or self.results.get("init")




def lambda_env(runtime_port, endpoint_url, extra=None):
    """The environment Lambda gives a function, pointed at local stand-ins."""
    import os
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
        "AWS_LAMBDA_FUNCTION_NAME": "scaletag",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/scaletag",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
    }
    env.update(extra or {})
    return env
