"""The fleet sweep benchmark: a fleet the size of a large account, swept twice (the first sweep
backfills, the next finds it in shape), with the same latency added to every AWS call, through
the local Runtime API stand-in and the local moto server with its stand-in.

The fleet: 1,000 endpoints (500 opted in, 1 variant each; 245 tagged otherwise, 245 untagged;
10 host inference components) and 1,000 inference components on those 10 hosts, all opted in,
a quarter of them with `min-capacity 0`.

Each build given is measured on a fleet built afresh (moto reset in between), so that several
builds (before and after a change) are compared in one run on one machine. Prints the figures
as JSON, then a Markdown table: time, calls, calls per resource, writes, and calls by operation.

Usage: scripts/bench --fleet  (or: python bench/fleet.py --rust LABEL=PATH [LABEL=PATH ...])
"""
import argparse
import collections
import json
import sys
import time
import urllib.request
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from bench import WRITES, Function, Proxy  # noqa: E402
from lambda_local import REGION, RuntimeApi, start_moto  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"
TEMPLATE, MIN = "autoscaling:template", "autoscaling:min-capacity"
# Writes besides AAS's (bench.WRITES): the wake alarms and the status tag.
ALL_WRITES = WRITES | {"PutMetricAlarm", "DeleteAlarms", "AddTags"}


def build_fleet(moto_url, endpoints, components, hosts=10):
    """Creates the fleet straight on moto (no latency). Returns (endpoints, components)."""
    sm = boto3.client("sagemaker", endpoint_url=moto_url, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    sm.create_model(ModelName="fleet-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    opted_in = endpoints // 2
    plain = endpoints - opted_in - hosts
    for i in range(endpoints - hosts):
        name = f"fleet-ep-{i}"
        sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "fleet-model", "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}])
        if i < opted_in:
            tags = [(TEMPLATE, "default")]
        elif i < opted_in + plain // 2:
            tags = [("team", "ml")]
        else:
            tags = []
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config",
                           Tags=[{"Key": k, "Value": v} for k, v in tags])
    for h in range(hosts):
        host = f"fleet-host-{h}"
        sm.create_endpoint_config(EndpointConfigName=f"{host}-config", ExecutionRoleArn=ROLE, ProductionVariants=[{
            "VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1,
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 8},
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}])
        sm.create_endpoint(EndpointName=host, EndpointConfigName=f"{host}-config")
    for c in range(components):
        name = f"fleet-ic-{c}"
        tags = [(TEMPLATE, "ic-invocations"), (MIN, "0")] if c % 4 == 0 else [(TEMPLATE, "ic-concurrency")]
        sm.create_inference_component(
            InferenceComponentName=name, EndpointName=f"fleet-host-{c % hosts}", VariantName="AllTraffic",
            Specification={"ModelName": "fleet-model", "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 1024, "NumberOfAcceleratorDevicesRequired": 1}},
            RuntimeConfig={"CopyCount": 1}, Tags=[{"Key": k, "Value": v} for k, v in tags])
        request = urllib.request.Request(
            f"{moto_url}/moto-api/standin/inference-component-status", method="POST",
            data=json.dumps({"InferenceComponentName": name, "Status": "InService"}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request).read()
    return endpoints, components


def reset(moto_url):
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()


SWEEP = {"version": "0", "id": "fleet-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
         "time": "2026-12-05T10:00:00Z", "region": REGION, "resources": [], "detail": {}}


def measure(label, binary, runtime, proxy, url, resources, env):
    """Starts the function, sweeps twice; the figures of each sweep."""
    f = Function(label, [binary], runtime, url, env)
    f.start()
    out = {}
    try:
        for sweep in ("first", "next"):
            proxy.take()
            rid = f"{label}-{sweep}-{time.monotonic_ns()}"
            kind, report = runtime.invoke(rid, SWEEP, timeout=900)
            if kind != "response":
                raise RuntimeError(f"{label}: the {sweep} sweep failed: {report}")
            calls = proxy.take()
            ops = collections.Counter(c[0] for c in calls)
            out[sweep] = {
                "seconds": runtime.durations[rid],
                "calls": len(calls),
                "calls_per_resource": len(calls) / resources,
                "writes": sum(n for op, n in ops.items() if op in ALL_WRITES),
                "by_operation": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
                "counts": report.get("counts"),
                "endpoints": report.get("endpoints"),
                "inference_components": report.get("inference_components"),
                "not_reached": len(report.get("not_reached") or []),
            }
            print(f"{label}, {sweep} sweep: {out[sweep]['seconds']:.1f} s, {len(calls)} calls, "
                  f"{out[sweep]['writes']} writes, {report.get('counts')}", file=sys.stderr)
    finally:
        f.stop()
    return out


def table(results, latency_ms, resources):
    lines = [f"Fleet sweep, {latency_ms:.0f} ms added to every AWS call ({resources} resources):", "",
             "| build | sweep | time | AWS calls | calls per resource | writes | results |",
             "|---|---|---|---|---|---|---|"]
    for label, r in results.items():
        for sweep in ("first", "next"):
            s = r[sweep]
            counts = ", ".join(f"{k} {v}" for k, v in sorted((s["counts"] or {}).items()))
            lines.append(f"| {label} | {sweep} | {s['seconds']:.1f} s | {s['calls']} | "
                         f"{s['calls_per_resource']:.2f} | {s['writes']} | {counts} |")
    ops = sorted({op for r in results.values() for s in r.values() for op in s["by_operation"]})
    lines += ["", "Calls by operation, next sweep (steady state):", "",
              "| operation | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for op in sorted(ops, key=lambda o: -max(r["next"]["by_operation"].get(o, 0) for r in results.values())):
        lines.append(f"| {op} | " + " | ".join(str(r["next"]["by_operation"].get(op, 0)) for r in results.values()) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust", nargs="+", required=True, metavar="LABEL=PATH",
                    help="builds of the Lambda bootstrap to measure, each on a fresh fleet")
    ap.add_argument("--endpoints", type=int, default=1000)
    ap.add_argument("--components", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, help="SWEEP_CONCURRENCY for every build (default: each build's own)")
    args = ap.parse_args()
    builds = [b.split("=", 1) if "=" in b else (Path(b).parent.name, b) for b in args.rust]

    moto, moto_port = start_moto()
    moto_url = f"http://127.0.0.1:{moto_port}"
    proxy = Proxy(moto_port)
    url = f"http://127.0.0.1:{proxy.port}"
    runtime = RuntimeApi(timeout_ms=900_000)
    resources = args.endpoints + args.components
    results = {}
    try:
        for label, binary in builds:
            reset(moto_url)
            t0 = time.perf_counter()
            build_fleet(moto_url, args.endpoints, args.components)
            print(f"fleet of {resources} built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            proxy.latency = args.latency_ms / 1000
            env = {"SWEEP_CONCURRENCY": str(args.concurrency)} if args.concurrency else {}
            results[label] = measure(label, binary, runtime, proxy, url, resources, env)
            proxy.latency = 0.0
    finally:
        moto.stdin.close()
    print(json.dumps({"latency_ms": args.latency_ms, "resources": resources, "builds": results}, indent=1))
    print()
    print(table(results, args.latency_ms, resources))


if __name__ == "__main__":
    main()
