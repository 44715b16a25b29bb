"""Smoke-runs a built Lambda `bootstrap` the way Lambda would: the binary a release ships
(arm64 under qemu-user on any other machine), behind a local Lambda Runtime API, against a
local moto server with a tagged endpoint. Called by scripts/smoke, which builds it first.

Checks, each printed as it passes:
1. the file is an ELF executable for the architecture, and needs no newer glibc than the
   provided.al2023 runtime has (2.34);
2. it starts and logs `scaletag starting` with this checkout's version;
3. one IN_SERVICE event (events/in-service.rfc3339.json) gives `applied`, and Application Auto
   Scaling then holds the target (min 1, max 6: the `default` template with the
   max-capacity tag) and the target-tracking policy;
4. the same event again gives `unchanged`, with no AWS writes.
Ends with a `test result:` line, which scripts/test adds to its total.

Usage: smoke.py --arch arm64|x86_64 --version VERSION -- BOOTSTRAP [RUNNER...]
"""
import argparse
import json
import struct
import subprocess
import sys
import threading
import time

import boto3

from lambda_local import REGION, ROOT, RuntimeApi, create_endpoint, lambda_env, start_moto

ELF_MACHINE = {"arm64": 183, "x86_64": 62}   # EM_AARCH64, EM_X86_64
AL2023_GLIBC = (2, 34)


def glibc_needed(data):
    """The GLIBC_x.y versions an ELF64 little-endian file asks of its dynamic linker
    (the vernaux names of SHT_GNU_verneed), as tuples."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    versions = set()
    for _name, kind, _flags, _addr, offset, _size, link, info, _align, _entsize in sections:
        if kind != 0x6FFFFFFE:   # SHT_GNU_verneed
            continue
        strtab = sections[link][4]
        entry = offset
        for _ in range(info):
            _version, _cnt, _file, aux, nxt = struct.unpack_from("<HHIII", data, entry)
            vernaux = entry + aux
            for _ in range(_cnt):
                _hash, _flags, _other, name, vnext = struct.unpack_from("<IHHII", data, vernaux)
                text = data[strtab + name:data.index(b"\0", strtab + name)].decode()
                if text.startswith("GLIBC_") and text[6:7].isdigit():
                    versions.add(tuple(int(p) for p in text[6:].split(".")))
                vernaux += vnext
            entry += nxt
    return versions


class Smoke:
    def __init__(self, arch):
        self.arch, self.passed, self.failed = arch, 0, 0

    def check(self, ok, what, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--arch", choices=sorted(ELF_MACHINE), required=True)
    args.add_argument("--version", required=True)
    args.add_argument("bootstrap")
    args.add_argument("runner", nargs="*")
    opts = args.parse_args()
    smoke = Smoke(opts.arch)
    try:
        run(opts, smoke)
    finally:
        status = "ok" if smoke.failed == 0 else "FAILED"
        print(f"test result: {status}. {smoke.passed} passed; {smoke.failed} failed; 0 ignored "
              f"(smoke {opts.arch})")
    sys.exit(0 if smoke.failed == 0 else 1)


def run(opts, smoke):
    data = open(opts.bootstrap, "rb").read()
    is_elf = data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    machine, = struct.unpack_from("<H", data, 0x12) if is_elf else (None,)
    if not smoke.check(is_elf and machine == ELF_MACHINE[opts.arch],
                       f"{opts.bootstrap} is a 64-bit ELF for {opts.arch}",
                       f"ELF machine {machine}, expected {ELF_MACHINE[opts.arch]}"):
        return
    newest = max(glibc_needed(data), default=(2, 0))
    smoke.check(newest <= AL2023_GLIBC,
                f"needs glibc {'.'.join(map(str, newest))}, at most provided.al2023's 2.34",
                "Lambda's runtime would refuse to start it")

    moto, port = start_moto()
    endpoint_url = f"http://127.0.0.1:{port}"
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    event = json.loads((ROOT / "events" / "in-service.rfc3339.json").read_text())
    name = event["detail"]["EndpointName"]
    event["detail"]["EndpointArn"] = create_endpoint(
        session.client("sagemaker", endpoint_url=endpoint_url), name, ["AllTraffic"],
        [("autoscaling:template", "default"), ("autoscaling:max-capacity", "6")])
    runtime = RuntimeApi()
    function = subprocess.Popen([*opts.runner, opts.bootstrap],
                                env=lambda_env(runtime.port, endpoint_url),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    logs = []
    threading.Thread(target=lambda: logs.extend(function.stdout), daemon=True).start()
    try:
        kind, body = runtime.invoke("smoke-1", event, timeout=120)
        started = [json.loads(line) for line in logs if "scaletag starting" in line]
        version = started[0].get("fields", started[0]).get("version") if started else None
        smoke.check(version == opts.version, f"starts and logs its version {opts.version}",
                    f"start-up log: {started or logs[:5]}")
        smoke.check(kind == "response" and body.get("outcome") == "applied",
                    "first IN_SERVICE event: applied", json.dumps(body)[:500])
        aas = session.client("application-autoscaling", endpoint_url=endpoint_url)
        resource = f"endpoint/{name}/variant/AllTraffic"
        targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker",
                                                ResourceIds=[resource])["ScalableTargets"]
        smoke.check([(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 6)],
                    f"AAS holds {resource}, 1 to 6 instances", repr(targets))
        policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker",
                                                 ResourceId=resource)["ScalingPolicies"]
        smoke.check([p["PolicyType"] for p in policies] == ["TargetTrackingScaling"],
                    "and its target-tracking policy", repr(policies))
        writes_before = sum('"write":' in line for line in logs)
        kind, body = runtime.invoke("smoke-2", event, timeout=120)
        time.sleep(0.2)
        writes = sum('"write":' in line for line in logs) - writes_before
        smoke.check(kind == "response" and body.get("outcome") == "unchanged" and writes == 0,
                    "same event again: unchanged, no writes", f"{writes} writes, {json.dumps(body)[:300]}")
    finally:
        function.kill()
        runtime.server.shutdown()
        moto.stdin.close()
        moto.wait(timeout=10)
        if smoke.failed:
            print("function log:\n" + "".join(logs[-40:]))


if __name__ == "__main__":
    main()
