"""What the stand-in's own tests share (test_*.py): a server in the test's process, boto3
clients on it, names of their own."""

import logging
import uuid

import boto3

REGION = "us-east-1"


def start():
    """A stand-in server on a free port: (server, port). Stop it with `server.stop()`."""
    import standin

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = standin.serve()
    return server, server.get_host_and_port()[1]


def client(port, service, region=REGION):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
