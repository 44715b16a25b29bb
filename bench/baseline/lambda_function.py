"""The alternative a team would otherwise deploy: a plain boto3 Lambda doing scaletag's event
path for the `default` template. A benchmark baseline only; never shipped.

Written the way such functions usually are: clients at module load, then per variant
DescribeScalableTargets, DescribeScalingPolicies, and the writes, one after another.
"""
import boto3

sagemaker = boto3.client("sagemaker")
autoscaling = boto3.client("application-autoscaling")

POLICY = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    "ScaleInCooldown": 300,
    "ScaleOutCooldown": 60,
    "DisableScaleIn": False,
}


def handler(event, context):
    detail = event["detail"]
    name = detail["EndpointName"]
    if detail.get("EndpointStatus") != "IN_SERVICE":
        return {"endpoint": name, "outcome": "skipped"}
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    if tags.get("autoscaling:template") != "default":
        return {"endpoint": name, "outcome": "skipped"}
    low, high = int(tags.get("autoscaling:min-capacity", 1)), int(tags.get("autoscaling:max-capacity", 4))
    writes = 0
    for variant in endpoint["ProductionVariants"]:
        rid = f"endpoint/{name}/variant/{variant['VariantName']}"
        key = dict(ServiceNamespace="sagemaker", ResourceId=rid,
                   ScalableDimension="sagemaker:variant:DesiredInstanceCount")
        targets = autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
        policies = autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]
        if not targets or (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) != (low, high):
            autoscaling.register_scalable_target(MinCapacity=low, MaxCapacity=high, **key)
            writes += 1
        current = [p for p in policies if p["PolicyName"] == "scaletag-default"]
        if not current or current[0].get("TargetTrackingScalingPolicyConfiguration") != POLICY:
            autoscaling.put_scaling_policy(
                PolicyName="scaletag-default", PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration=POLICY, **key)
            writes += 1
    return {"endpoint": name, "outcome": "applied" if writes else "unchanged", "writes": writes}
