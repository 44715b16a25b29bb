"""Runs scaletag locally, end to end, against a local moto server.

1. starts moto and creates a SageMaker endpoint tagged `autoscaling:template=default`;
2. runs the built `scaletag` binary as Lambda would, behind a local Lambda Runtime API;
3. delivers an event from events/ twice (the second shows steady state: no writes);
4. prints what Application Auto Scaling ends up holding.

Usage: scripts/demo [EVENT_FILE]   (default: events/in-service.rfc3339.json)

With a CloudTrail API-call event (events/ic-created.cloudtrail.json), the demo sets up an
inference component instead, tagged for scale to zero (`ic-invocations`, min-capacity 0), and
also prints the CloudWatch alarm that wakes it. With events/in-service.async.json it sets up an
asynchronous endpoint tagged to scale on its queue down to zero instances (`async-backlog`,
min-capacity 0), and prints its wake alarm too.
"""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

from lambda_local import (REGION, ROOT, RuntimeApi, create_endpoint, create_inference_component,
                          lambda_env, start_moto)


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

    component = event.get("detail-type") == "AWS API Call via CloudTrail"
    asynchronous = "async" in event_file.name
    if component:
        params = detail["requestParameters"]
        name = params["inferenceComponentName"]
        tags = [("autoscaling:template", "ic-invocations"), ("autoscaling:min-capacity", "0"),
                ("team", "ml-platform")]
        arn = create_inference_component(sm, endpoint_url, params["endpointName"], name, tags)
        event["detail"]["responseElements"]["inferenceComponentArn"] = arn
        print(f"moto on {endpoint_url}: inference component {name} on endpoint "
              f"{params['endpointName']} (managed instance scaling down to 0) tagged "
              + ", ".join(f"{k}={v}" for k, v in tags))
    elif asynchronous:
        tags = [("autoscaling:template", "async-backlog"), ("autoscaling:min-capacity", "0"),
                ("team", "ml-platform")]
        arn = create_endpoint(sm, name, variants, tags, "ml.g5.xlarge", asynchronous=True)
        event["detail"]["EndpointArn"] = arn
        print(f"moto on {endpoint_url}: asynchronous endpoint {name} ({', '.join(variants)}) "
              "tagged " + ", ".join(f"{k}={v}" for k, v in tags))
    else:
        tags = [("autoscaling:template", "default"), ("autoscaling:max-capacity", "6"),
                ("team", "ml-platform")]
        arn = create_endpoint(sm, name, variants, tags)
        if event.get("source") == "aws.sagemaker":
            event["detail"]["EndpointArn"] = arn
        print(f"moto on {endpoint_url}: endpoint {name} ({', '.join(variants)}) tagged "
              + ", ".join(f"{k}={v}" for k, v in tags))
    print(f"event: {event_file.relative_to(ROOT) if event_file.is_relative_to(ROOT) else event_file}\n")

    runtime = RuntimeApi()
    env = lambda_env(runtime.port, endpoint_url)
    binary = os.environ.get("SCALETAG_LAMBDA_BIN", str(ROOT / "target" / "debug" / "scaletag-lambda"))
    function = subprocess.Popen([binary], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    logs = []
    threading.Thread(target=lambda: logs.extend(function.stdout), daemon=True).start()
    try:
        for attempt, title in [(1, "first delivery"), (2, "same event again (steady state)")]:
            kind, body = runtime.invoke(f"demo-{attempt}", event)
            print(f"== {title}: {kind}")
            print(json.dumps(body, indent=2) if attempt == 1 or kind != "response"
                  else json.dumps({k: body[k] for k in ("endpoint", "inference_component", "outcome")
                                   if k in body}))
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
        held = {
            "ScalableTargets": [{k: t[k] for k in keep} for t in targets],
            "ScalingPolicies": [
                {k: p[k] for k in ("PolicyName", "ResourceId", "ScalableDimension", "PolicyType",
                                   "TargetTrackingScalingPolicyConfiguration",
                                   "StepScalingPolicyConfiguration", "PolicyARN") if k in p}
                for p in policies
            ],
        }
        if component or asynchronous:
            cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
            alarms = cloudwatch.describe_alarms(AlarmNamePrefix="scaletag-wake-")["MetricAlarms"]
            held["CloudWatch alarms (scale from zero)"] = [
                {k: a.get(k) for k in ("AlarmName", "Namespace", "MetricName", "Dimensions",
                                       "Statistic", "Period", "EvaluationPeriods",
                                       "DatapointsToAlarm", "ComparisonOperator", "Threshold",
                                       "TreatMissingData", "AlarmActions")}
                for a in alarms
            ]
        print(json.dumps(held, indent=2))
    finally:
        function.kill()
        runtime.server.shutdown()
        moto.stdin.close()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
