"""scaletag's benchmark: cold start, AWS round trips, latency, memory, size and a 500-endpoint
sweep, with a plain boto3 Lambda as the baseline, all through the same local Runtime API
stand-in and the same moto server. Prints one Markdown table (and the raw figures as JSON).

Usage: scripts/bench   (builds what it needs; see docs/performance.md)
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from lambda_local import REGION, ROOT, QuietServer, RuntimeApi, create_endpoint, lambda_env, start_moto  # noqa: E402

WRITES = {"RegisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy", "DeregisterScalableTarget"}


class Proxy:
    """Records every AWS call (operation, start, end) on its way to moto; can add latency and
    answer every n-th Application Auto Scaling call with a ThrottlingException."""

    def __init__(self, moto_port):
        self.calls, self.latency, self.throttle_every, self.seen, self.throttled = [], 0.0, None, 0, 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                # JSON protocols name the operation in X-Amz-Target; RPC v2 CBOR (CloudWatch)
                # at the end of the path.
                op = target.rsplit(".", 1)[-1] if target else self.path.rstrip("/").rsplit("/", 1)[-1]
                start = time.perf_counter()
                if proxy.latency:
                    time.sleep(proxy.latency)
                throttle = False
                with proxy.lock:
                    if proxy.throttle_every and target.startswith("AnyScaleFrontendService."):
                        proxy.seen += 1
                        throttle = proxy.seen % proxy.throttle_every == 0
                        proxy.throttled += throttle
                if throttle:
                    status, headers = 400, [("Content-Type", "application/x-amz-json-1.1")]
                    data = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", moto_port)
                    conn.request("POST", self.path, body, {k: v for k, v in self.headers.items()})
                    r = conn.getresponse()
                    status, headers, data = r.status, [(k, v) for k, v in r.getheaders()
                                                       if k.lower() not in ("content-length", "connection", "transfer-encoding")], r.read()
                    conn.close()
                with proxy.lock:
                    proxy.calls.append((op, start, time.perf_counter()))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


def depth(calls):
    """The longest chain of calls each starting after the previous ended: sequential round trips."""
    calls = sorted(calls, key=lambda c: c[1])
    d = []
    for i, (_, start, _) in enumerate(calls):
        d.append(1 + max([d[j] for j in range(i) if calls[j][2] <= start] or [0]))
    return max(d or [0])


class Function:
    def __init__(self, name, command, runtime, url, extra_env=None):
        self.name, self.command, self.runtime, self.url, self.extra = name, command, runtime, url, extra_env or {}
        self.proc = None

    def start(self):
        polled = len(self.runtime.next_polled)
        t0 = time.perf_counter()
        # As template.yaml sets it in Lambda: the TLS roots as one file (this machine's bundle).
        env = lambda_env(self.runtime.port, self.url, {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", **self.extra})
        self.proc = subprocess.Popen(self.command, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(self.runtime.next_polled) == polled:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            time.sleep(0.0002)
        return self.runtime.next_polled[polled] - t0

    def peak_rss_kb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def event(name, arn, status="IN_SERVICE"):
    e = json.loads((ROOT / "events" / "in-service.rfc3339.json").read_text())
    e["detail"].update(EndpointName=name, EndpointArn=arn, EndpointStatus=status)
    e["resources"] = [arn]
    return e


def invoke(runtime, payload, n=[0]):
    n[0] += 1
    rid = f"bench-{n[0]}"
    kind, body = runtime.invoke(rid, payload, timeout=900)
    if kind != "response":
        raise RuntimeError(f"invocation failed: {body}")
    return runtime.durations[rid], body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust", required=True, help="the scaletag bootstrap for this machine")
    ap.add_argument("--zips", nargs="*", default=[], help="cargo-lambda's deployment zips (sizes)")
    ap.add_argument("--starts", type=int, default=21)
    ap.add_argument("--sweep", type=int, default=500)
    ap.add_argument("--also", nargs="*", default=[], metavar="LABEL=PATH",
                    help="other builds of the bootstrap whose cold start is measured in the same run")
    args = ap.parse_args()

    moto, moto_port = start_moto()
    proxy = Proxy(moto_port)
    url = f"http://127.0.0.1:{proxy.port}"
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    sm = session.client("sagemaker", endpoint_url=f"http://127.0.0.1:{moto_port}")
    runtime = RuntimeApi(timeout_ms=900_000)
    python = str(ROOT / ".venv" / "bin" / "python")
    functions = {
        "scaletag (Rust)": [args.rust],
        "boto3 baseline (Python)": [python, str(ROOT / "bench" / "baseline" / "bootstrap.py")],
    }
    results = {}
    counter = [0]
    # The floor under any cold start measured this way: spawning a process that does nothing.
    floor = []
    for _ in range(args.starts):
        t0 = time.perf_counter()
        subprocess.run(["/bin/true"])
        floor.append(time.perf_counter() - t0)

    def endpoints(prefix, n, variants, tags=(("autoscaling:template", "default"),)):
        out = []
        for _ in range(n):
            counter[0] += 1
            name = f"{prefix}-{counter[0]}"
            out.append((name, create_endpoint(sm, name, [f"V{i}" for i in range(variants)], list(tags))))
        return out

    # Cold starts: process start to the first GET /next, every build and the baseline taking
    # turns, `--starts` rounds, so that what the machine is doing meanwhile falls on all alike.
    timed = dict(functions)
    timed.update(other.split("=", 1) for other in args.also)
    timed = {label: (command if isinstance(command, list) else [command]) for label, command in timed.items()}
    starts = {label: [] for label in timed}
    for _ in range(args.starts):
        for label, command in timed.items():
            f = Function(label, command, runtime, url)
            starts[label].append(f.start())
            f.stop()

    def summary(label):
        s = sorted(starts[label])
        return statistics.median(s) * 1000, s[int(len(s) * 0.9)] * 1000

    results["other builds"] = {}
    for other in args.also:
        label = other.split("=", 1)[0]
        median, p90 = summary(label)
        results["other builds"][label] = {"cold_start_ms": median, "cold_start_p90_ms": p90}

    for label, command in functions.items():
        r = results[label] = {}
        r["cold_start_ms"], r["cold_start_p90_ms"] = summary(label)

        f = Function(label, command, runtime, url)
        f.start()
        for variants in (1, 4):
            first, steady = [], []
            for name, arn in endpoints(f"b{variants}", 7, variants):
                d, _ = invoke(runtime, event(name, arn))
                first.append(d)
                proxy.take()
                d, body = invoke(runtime, event(name, arn))
                steady.append(d)
                assert body.get("outcome") == "unchanged", body
                proxy.take()
            r[f"first_attach_{variants}v_ms"] = statistics.median(first) * 1000
            r[f"steady_{variants}v_ms"] = statistics.median(steady) * 1000
            # Round trips, with 25 ms added to every call so that parallel calls overlap clearly.
            proxy.latency = 0.025
            (name, arn), = endpoints(f"d{variants}", 1, variants)
            proxy.take()
            invoke(runtime, event(name, arn))
            calls = proxy.take()
            r[f"first_attach_{variants}v_depth"] = depth(calls)
            r[f"first_attach_{variants}v_calls"] = len(calls)
            invoke(runtime, event(name, arn))
            calls = proxy.take()
            r[f"steady_{variants}v_depth"] = depth(calls)
            r[f"steady_{variants}v_calls"] = len(calls)
            r[f"steady_{variants}v_writes"] = sum(c[0] in WRITES for c in calls)
            proxy.latency = 0.0
        f.stop()

        # Memory: peak RSS of one process across 100 events (20 first attaches, 80 steady).
        f = Function(label, command, runtime, url)
        f.start()
        fleet = endpoints("m", 20, 2)
        for i in range(100):
            name, arn = fleet[i % 20]
            invoke(runtime, event(name, arn))
        r["peak_rss_mb"] = f.peak_rss_kb() / 1024
        f.stop()
        proxy.take()

    # The sweep: 500 endpoints (300 opted in, 100 opted out, 100 untagged), in the function.
    rust = results["scaletag (Rust)"]
    for prefix, n, tags in (("s-in", args.sweep * 3 // 5, (("autoscaling:template", "default"),)),
                            ("s-off", args.sweep // 5, (("autoscaling:template", "off"),)),
                            ("s-none", args.sweep // 5, (("team", "ml"),))):
        endpoints(prefix, n, 1, tags)
    sweep_event = {"version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
                   "time": "2026-11-28T10:00:00Z", "region": REGION, "resources": [], "detail": {}}
    f = Function("sweep", [args.rust], runtime, url)
    f.start()
    for label, throttle in (("first", None), ("steady", None), ("throttled", 5)):
        proxy.take()
        proxy.throttle_every, proxy.throttled, proxy.seen = throttle, 0, 0
        d, report = invoke(runtime, sweep_event)
        calls = proxy.take()
        n = report["endpoints"]
        rust[f"sweep_{label}_s"] = d
        rust[f"sweep_{label}_endpoints"] = n
        rust[f"sweep_{label}_calls_per_endpoint"] = len(calls) / max(n, 1)
        rust[f"sweep_{label}_writes"] = sum(c[0] in WRITES for c in calls)
        rust[f"sweep_{label}_throttled"] = proxy.throttled
        rust[f"sweep_{label}_counts"] = report["counts"]
    proxy.throttle_every = None
    f.stop()

    for z in args.zips:
        arch = "arm64" if "arm64" in z else "x86_64"
        with zipfile.ZipFile(z) as zf:
            rust[f"size_{arch}_kb"] = zf.getinfo("bootstrap").file_size / 1024
        rust[f"zip_{arch}_kb"] = Path(z).stat().st_size / 1024
    py = results["boto3 baseline (Python)"]
    import botocore
    py["size_note"] = f"boto3 {boto3.__version__} / botocore {botocore.__version__} (in Lambda's Python runtime)"

    results["spawn_floor_ms"] = statistics.median(floor) * 1000
    results["starts"] = args.starts
    print(json.dumps(results, indent=1, sort_keys=True))
    print()
    print(table(results))
    moto.stdin.close()


def table(results):
    rust, py = results["scaletag (Rust)"], results["boto3 baseline (Python)"]
    floor = results["spawn_floor_ms"]

    def ratio(a, b):
        return f"{b / a:.1f}×" if a else ""

    rows = [
        (f"cold start, process start → first /next (median of {results['starts']}, taking turns)", "ms", "cold_start_ms", 1),
        ("first attach, 1 variant", "ms", "first_attach_1v_ms", 1),
        ("steady state, 1 variant", "ms", "steady_1v_ms", 1),
        ("first attach, 4 variants", "ms", "first_attach_4v_ms", 1),
        ("steady state, 4 variants", "ms", "steady_4v_ms", 1),
        ("sequential AWS round trips, first attach of 4 variants", "", "first_attach_4v_depth", 0),
        ("sequential AWS round trips, steady state, 4 variants", "", "steady_4v_depth", 0),
        ("AWS calls, first attach of 4 variants", "", "first_attach_4v_calls", 0),
        ("AWS calls, steady state, 4 variants", "", "steady_4v_calls", 0),
        ("writes in steady state", "", "steady_4v_writes", 0),
        ("peak RSS across 100 events", "MB", "peak_rss_mb", 1),
    ]
    out = ["| measure | scaletag (Rust) | boto3 baseline (Python) | baseline ÷ scaletag |", "|---|---|---|---|"]
    for label, unit, key, digits in rows:
        a, b = rust.get(key), py.get(key)
        fmt = (lambda v: f"{v:.{digits}f} {unit}".strip())
        out.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |")
    out.append(f"| (for scale: spawning and reaping `/bin/true` the same way) | {floor:.1f} ms | | |")
    for label, r in results.get("other builds", {}).items():
        out.append(f"| cold start of build {label}, same run, taking turns (median; p90) | {r['cold_start_ms']:.1f} ms; "
                   f"{r['cold_start_p90_ms']:.1f} ms | | |")
    for arch in ("arm64", "x86_64"):
        if f"size_{arch}_kb" in rust:
            out.append(f"| stripped `bootstrap`, {arch} / its zip | {rust[f'size_{arch}_kb'] / 1024:.2f} MB / "
                       f"{rust[f'zip_{arch}_kb'] / 1024:.2f} MB | a 2 KB .py (boto3 comes with the runtime) | |")
    for label in ("first", "steady", "throttled"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(rust[f"sweep_{label}_counts"].items()))
        out.append(f"| sweep of {rust[f'sweep_{label}_endpoints']} endpoints, {label}"
                   f"{' (every 5th AAS call throttled: ' + str(rust['sweep_throttled_throttled']) + ' throttles)' if label == 'throttled' else ''}"
                   f" | {rust[f'sweep_{label}_s']:.1f} s, {rust[f'sweep_{label}_calls_per_endpoint']:.2f} calls/endpoint,"
                   f" {rust[f'sweep_{label}_writes']} writes; {counts} | | |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
