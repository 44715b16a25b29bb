"""Tests of SageMaker inference components (scripts/standin/components.py), the control route
(control.py) and Application Auto Scaling for inference components (autoscaling.py), with boto3
against a server started with `standin.serve()` in this process. Every test uses its own names.

Run: .venv/bin/python -m unittest discover -s scripts/standin -p 'test_*.py'
"""

import json
import re
import sys
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import testing  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
SCALING = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 4}
ROUTING = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}

_server = None
_port = None


def setUpModule():
    global _server, _port
    _server, _port = testing.start()


def tearDownModule():
    _server.stop()


def client(service):
    return testing.client(_port, service)


def unique(prefix):
    return testing.unique(prefix)


def post(path, body):
    """(HTTP status, parsed JSON) of a POST to the server."""
    request = urllib.request.Request(f"http://127.0.0.1:{_port}{path}", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def set_status(name, status, **extra):
    return post("/moto-api/standin/inference-component-status",
                {"InferenceComponentName": name, "Status": status, **extra})


def ic_arn(name):
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}"


class ComponentCase(unittest.TestCase):
    """An endpoint made to host inference components, and a model for them."""

    def setUp(self):
        self.sm = client("sagemaker")
        self.model = unique("model")
        self.sm.create_model(ModelName=self.model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "image"})
        self.config, self.endpoint = unique("cfg"), unique("ep")
        self.sm.create_endpoint_config(
            EndpointConfigName=self.config,
            ExecutionRoleArn=ROLE,
            ProductionVariants=[self.host_variant("AllTraffic"), self.host_variant("Canary")],
        )
        self.endpoint_arn = self.sm.create_endpoint(EndpointName=self.endpoint, EndpointConfigName=self.config)["EndpointArn"]

    @staticmethod
    def host_variant(name):
        return {"VariantName": name, "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1,
                "ManagedInstanceScaling": SCALING, "RoutingConfig": ROUTING}

    def create(self, name=None, variant="AllTraffic", copies=1, **extra):
        name = name or unique("ic")
        params = {
            "InferenceComponentName": name,
            "EndpointName": self.endpoint,
            "VariantName": variant,
            "Specification": {
                "ModelName": self.model,
                "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024},
            },
            "RuntimeConfig": {"CopyCount": copies},
            **extra,
        }
        params = {k: v for k, v in params.items() if v is not None}
        self.assertEqual(self.sm.create_inference_component(**params)["InferenceComponentArn"], ic_arn(name))
        return name

    def assertValidation(self, ctx, *fragments):
        err = ctx.exception.response["Error"]
        self.assertEqual((err["Code"], ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]),
                         ("ValidationException", 400))
        for fragment in fragments:
            self.assertIn(fragment, err["Message"])


class HostingEndpoints(ComponentCase):
    def test_config_without_model_keeps_role_scaling_and_routing(self):
        described = self.sm.describe_endpoint_config(EndpointConfigName=self.config)
        self.assertEqual(described["ExecutionRoleArn"], ROLE)
        variant = described["ProductionVariants"][0]
        self.assertNotIn("ModelName", variant)
        self.assertEqual((variant["ManagedInstanceScaling"], variant["RoutingConfig"]), (SCALING, ROUTING))

    def test_endpoint_reports_managed_instance_scaling_per_variant(self):
        described = self.sm.describe_endpoint(EndpointName=self.endpoint)
        self.assertEqual(
            described["ProductionVariants"][0],
            {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1,
             "ManagedInstanceScaling": SCALING, "RoutingConfig": ROUTING},
        )

    def test_variants_with_a_model_still_need_an_existing_one(self):
        with self.assertRaises(ClientError) as ctx:
            self.sm.create_endpoint_config(
                EndpointConfigName=unique("cfg"),
                ProductionVariants=[{**self.host_variant("A"), "ModelName": "no-such-model"}],
            )
        self.assertValidation(ctx, "Could not find model")


class Components(ComponentCase):
    def test_create_and_describe(self):
        name = self.create(copies=2, Tags=[{"Key": "autoscaling:template", "Value": "default"}],
                           Specification={"ModelName": self.model, "Container": {"Image": "repo/image:1"}})
        described = self.sm.describe_inference_component(InferenceComponentName=name)
        described.pop("ResponseMetadata")
        created, modified = described.pop("CreationTime"), described.pop("LastModifiedTime")
        self.assertEqual(created, modified)
        self.assertEqual(described, {
            "InferenceComponentName": name,
            "InferenceComponentArn": ic_arn(name),
            "EndpointName": self.endpoint,
            "EndpointArn": self.endpoint_arn,
            "VariantName": "AllTraffic",
            "Specification": {"ModelName": self.model, "Container": {
                "DeployedImage": {"SpecifiedImage": "repo/image:1", "ResolvedImage": "repo/image:1"}}},
            "RuntimeConfig": {"DesiredCopyCount": 2, "CurrentCopyCount": 0},
            "InferenceComponentStatus": "Creating",
        })
        self.assertEqual(self.sm.list_tags(ResourceArn=ic_arn(name))["Tags"],
                         [{"Key": "autoscaling:template", "Value": "default"}])

    def test_the_only_variant_is_taken_when_none_is_named(self):
        config, endpoint = unique("cfg"), unique("ep")
        self.sm.create_endpoint_config(EndpointConfigName=config, ExecutionRoleArn=ROLE,
                                       ProductionVariants=[self.host_variant("Solo")])
        self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        name = unique("ic")
        self.sm.create_inference_component(InferenceComponentName=name, EndpointName=endpoint,
                                           Specification={"ModelName": self.model}, RuntimeConfig={"CopyCount": 1})
        self.assertEqual(self.sm.describe_inference_component(InferenceComponentName=name)["VariantName"], "Solo")
        with self.assertRaises(ClientError) as ctx:  # this endpoint has two variants
            self.create(variant=None)
        self.assertValidation(ctx, "VariantName is required")

    def test_create_is_refused_as_aws_refuses_it(self):
        taken = self.create()
        cases = [
            ({"EndpointName": "no-such-endpoint"}, 'Could not find endpoint "arn:aws:sagemaker:'),
            ({"VariantName": "Nope"}, 'The variant name(s) "Nope" is/are not present'),
            ({"InferenceComponentName": taken}, f'Cannot create already existing inference component "{ic_arn(taken)}".'),
            ({"Specification": {"ModelName": "no-such-model"}}, "Could not find model"),
        ]
        for change, fragment in cases:
            with self.subTest(change=change), self.assertRaises(ClientError) as ctx:
                params = {"InferenceComponentName": unique("ic"), "EndpointName": self.endpoint,
                          "VariantName": "AllTraffic", "RuntimeConfig": {"CopyCount": 1}, **change}
                self.sm.create_inference_component(**params)
            self.assertValidation(ctx, fragment)

    def test_an_endpoint_that_serves_a_model_cannot_host_components(self):
        config, endpoint = unique("cfg"), unique("ep")
        self.sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": self.model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
        self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        with self.assertRaises(ClientError) as ctx:
            self.sm.create_inference_component(InferenceComponentName=unique("ic"), EndpointName=endpoint,
                                               VariantName="AllTraffic", RuntimeConfig={"CopyCount": 1})
        self.assertValidation(ctx, "Invalid request provided: Inference Components are not supported in this "
                                   "Endpoint. Please make sure this endpoint can deploy inference components.")

    def test_missing_component(self):
        name = unique("absent")
        calls = [
            lambda: self.sm.describe_inference_component(InferenceComponentName=name),
            lambda: self.sm.update_inference_component_runtime_config(
                InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 1}),
            lambda: self.sm.delete_inference_component(InferenceComponentName=name),
        ]
        for call in calls:
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertValidation(ctx, f'Could not find inference component "{ic_arn(name)}".')

    def test_update_runtime_config_then_in_service(self):
        name = self.create(copies=1)
        self.assertEqual(set_status(name, "InService")[0], 200)
        arn = self.sm.update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 0})["InferenceComponentArn"]
        self.assertEqual(arn, ic_arn(name))
        described = self.sm.describe_inference_component(InferenceComponentName=name)
        self.assertEqual(described["InferenceComponentStatus"], "Updating")
        self.assertEqual(described["RuntimeConfig"], {"DesiredCopyCount": 0, "CurrentCopyCount": 1})
        self.assertGreater(described["LastModifiedTime"], described["CreationTime"])
        set_status(name, "InService")
        described = self.sm.describe_inference_component(InferenceComponentName=name)
        self.assertEqual(described["RuntimeConfig"], {"DesiredCopyCount": 0, "CurrentCopyCount": 0})

    def test_delete_drops_the_component_and_its_tags(self):
        name = self.create(Tags=[{"Key": "a", "Value": "1"}])
        self.sm.delete_inference_component(InferenceComponentName=name)
        with self.assertRaises(ClientError) as ctx:
            self.sm.describe_inference_component(InferenceComponentName=name)
        self.assertValidation(ctx, "Could not find inference component")
        for call in (lambda: self.sm.list_tags(ResourceArn=ic_arn(name)),
                     lambda: self.sm.add_tags(ResourceArn=ic_arn(name), Tags=[{"Key": "b", "Value": "2"}]),
                     lambda: self.sm.delete_tags(ResourceArn=ic_arn(name), TagKeys=["a"])):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertValidation(ctx, f"Could not find inference-component with name {name}")
        # A name used again is a new component, without the old tags.
        self.create(name=name)
        self.assertEqual(self.sm.list_tags(ResourceArn=ic_arn(name))["Tags"], [])

    def test_a_deleted_endpoint_answers_list_tags_the_same_way(self):
        self.sm.delete_endpoint(EndpointName=self.endpoint)
        with self.assertRaises(ClientError) as ctx:
            self.sm.list_tags(ResourceArn=self.endpoint_arn)
        self.assertValidation(ctx, f"Could not find endpoint with name {self.endpoint}")

    def test_add_and_delete_tags_on_the_arn(self):
        name = self.create()
        self.sm.add_tags(ResourceArn=ic_arn(name), Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.sm.delete_tags(ResourceArn=ic_arn(name), TagKeys=["a"])
        self.assertEqual(self.sm.list_tags(ResourceArn=ic_arn(name))["Tags"], [{"Key": "b", "Value": "2"}])

    def test_reset_clears_components(self):
        name = self.create()
        self.assertEqual(post("/moto-api/reset", {})[0], 200)
        with self.assertRaises(ClientError):
            self.sm.describe_inference_component(InferenceComponentName=name)

    def test_wire_shape_of_the_error_is_moto_sagemakers(self):
        request = urllib.request.Request(
            f"http://127.0.0.1:{_port}/",
            data=json.dumps({"InferenceComponentName": "absent"}).encode(),
            method="POST",
            headers={"X-Amz-Target": "SageMaker.DescribeInferenceComponent",
                     "Content-Type": "application/x-amz-json-1.1",
                     "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261129/{REGION}/sagemaker/aws4_request, "
                                      "SignedHeaders=host;x-amz-target, Signature=0"})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(request)
        self.assertEqual(ctx.exception.code, 400)
        body = json.loads(ctx.exception.read())
        self.assertEqual(body["__type"], "ValidationException")
        self.assertTrue(body["Message"].startswith('Could not find inference component "'))


class ListComponents(ComponentCase):
    def setUp(self):
        super().setUp()
        self.tag = uuid.uuid4().hex[:8]
        self.a = self.create(f"alpha-{self.tag}")
        self.b = self.create(f"beta-{self.tag}", variant="Canary")
        self.c = self.create(f"gamma-{self.tag}")
        set_status(self.c, "InService")

    def names(self, **params):
        found = self.sm.list_inference_components(**params)["InferenceComponents"]
        return [c["InferenceComponentName"] for c in found]

    def test_filters(self):
        self.assertEqual(sorted(self.names(EndpointNameEquals=self.endpoint)), [self.a, self.b, self.c])
        self.assertEqual(sorted(self.names(EndpointNameEquals=self.endpoint, VariantNameEquals="AllTraffic")),
                         [self.a, self.c])
        self.assertEqual(self.names(EndpointNameEquals=self.endpoint, StatusEquals="InService"), [self.c])
        self.assertEqual(self.names(NameContains=f"beta-{self.tag}"), [self.b])
        self.assertEqual(self.names(EndpointNameEquals="no-such-endpoint"), [])

    def test_summary_shape(self):
        [summary] = self.sm.list_inference_components(NameContains=self.c)["InferenceComponents"]
        self.assertEqual(set(summary), {"CreationTime", "InferenceComponentArn", "InferenceComponentName",
                                        "EndpointArn", "EndpointName", "VariantName", "InferenceComponentStatus",
                                        "LastModifiedTime"})
        self.assertEqual((summary["InferenceComponentArn"], summary["EndpointArn"], summary["InferenceComponentStatus"]),
                         (ic_arn(self.c), self.endpoint_arn, "InService"))

    def test_sorting_and_pages(self):
        self.assertEqual(self.names(EndpointNameEquals=self.endpoint, SortBy="Name", SortOrder="Ascending"),
                         [self.a, self.b, self.c])
        # Default: newest first.
        self.assertEqual(self.names(EndpointNameEquals=self.endpoint), [self.c, self.b, self.a])
        seen, token = [], None
        while True:
            params = {"EndpointNameEquals": self.endpoint, "SortBy": "Name", "MaxResults": 2}
            if token:
                params["NextToken"] = token
            page = self.sm.list_inference_components(**params)
            self.assertLessEqual(len(page["InferenceComponents"]), 2)
            seen += [c["InferenceComponentName"] for c in page["InferenceComponents"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, [self.c, self.b, self.a])


class ControlRoute(ComponentCase):
    def test_statuses(self):
        name = self.create(copies=3)
        self.assertEqual(set_status(name, "InService"),
                         (200, {"InferenceComponentArn": ic_arn(name), "InferenceComponentStatus": "InService"}))
        described = self.sm.describe_inference_component(InferenceComponentName=name)
        self.assertEqual(described["RuntimeConfig"], {"DesiredCopyCount": 3, "CurrentCopyCount": 3})
        set_status(name, "Failed", FailureReason="Out of capacity")
        described = self.sm.describe_inference_component(InferenceComponentName=name)
        self.assertEqual((described["InferenceComponentStatus"], described["FailureReason"]), ("Failed", "Out of capacity"))
        set_status(name, "InService")
        self.assertNotIn("FailureReason", self.sm.describe_inference_component(InferenceComponentName=name))

    def test_bad_requests(self):
        name = self.create()
        self.assertEqual(set_status(unique("absent"), "InService")[0], 404)
        self.assertEqual(set_status(name, "Sleeping")[0], 400)
        self.assertEqual(set_status(name, "InService", Region="eu-west-1")[0], 404)
        self.assertEqual(post("/moto-api/standin/inference-component-status", ["not", "an", "object"])[0], 400)
        request = urllib.request.Request(f"http://127.0.0.1:{_port}/moto-api/standin/inference-component-status")
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(request)
        self.assertEqual(ctx.exception.code, 405)

    def test_the_same_name_in_two_regions_needs_a_region(self):
        name = unique("twin")
        self.create(name=name)
        west = boto3.client("sagemaker", endpoint_url=f"http://127.0.0.1:{_port}", region_name="us-west-2",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
        config, endpoint = unique("cfg"), unique("ep")
        west.create_endpoint_config(EndpointConfigName=config, ExecutionRoleArn=ROLE,
                                    ProductionVariants=[self.host_variant("AllTraffic")])
        west.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        west.create_inference_component(InferenceComponentName=name, EndpointName=endpoint,
                                        VariantName="AllTraffic", RuntimeConfig={"CopyCount": 1})
        self.assertEqual(set_status(name, "InService")[0], 409)
        self.assertEqual(set_status(name, "InService", Region="us-west-2", AccountId=ACCOUNT)[0], 200)
        self.assertEqual(west.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"],
                         "InService")
        self.assertEqual(self.sm.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"],
                         "Creating")


class AutoScalingForComponents(unittest.TestCase):
    def setUp(self):
        self.aas = client("application-autoscaling")
        self.resource = f"inference-component/{unique('ic')}"

    def register(self, resource=None, **extra):
        return self.aas.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource or self.resource, ScalableDimension=IC_DIMENSION,
            MinCapacity=0, MaxCapacity=4, **extra)

    def put(self, name, resource=None, **config):
        return self.aas.put_scaling_policy(
            PolicyName=name, ServiceNamespace="sagemaker", ResourceId=resource or self.resource,
            ScalableDimension=IC_DIMENSION, **config)

    def policies(self, **params):
        return self.aas.describe_scaling_policies(ServiceNamespace="sagemaker", **params)

    def assertValidation(self, ctx, *fragments):
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ValidationException")
        for fragment in fragments:
            self.assertIn(fragment, ctx.exception.response["Error"]["Message"])

    def test_target_with_min_capacity_zero(self):
        self.register()
        [target] = self.aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[self.resource])["ScalableTargets"]
        self.assertEqual((target["ScalableDimension"], target["MinCapacity"], target["MaxCapacity"]), (IC_DIMENSION, 0, 4))

    def test_step_policy_of_the_scale_to_zero_guide(self):
        self.register()
        step = {"AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum", "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
        arn = self.put("scale-out-from-zero", PolicyType="StepScaling", StepScalingPolicyConfiguration=step)["PolicyARN"]
        self.assertRegex(arn, r"^arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:[0-9a-f-]{36}:"
                              + re.escape(f"resource/sagemaker/{self.resource}:policyName/scale-out-from-zero") + "$")
        [policy] = self.policies(ResourceId=self.resource)["ScalingPolicies"]
        self.assertEqual((policy["PolicyARN"], policy["PolicyType"], policy["StepScalingPolicyConfiguration"]),
                         (arn, "StepScaling", step))

    def test_inference_component_metric_types_are_accepted(self):
        self.register()
        for metric in ("SageMakerInferenceComponentInvocationsPerCopy",
                       "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"):
            with self.subTest(metric=metric):
                config = {"TargetValue": 4.0, "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                          "ScaleInCooldown": 300, "ScaleOutCooldown": 60}
                self.put(metric, PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration=config)
                [policy] = self.policies(ResourceId=self.resource, PolicyNames=[metric])["ScalingPolicies"]
                self.assertEqual(policy["TargetTrackingScalingPolicyConfiguration"], config)

    def test_unknown_metric_type_and_dimension_are_refused(self):
        with self.assertRaises(ClientError) as ctx:
            self.put("bad", PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 1.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerCopiesPerDay"}})
        self.assertValidation(
            ctx, "1 validation error detected: Value 'SageMakerCopiesPerDay' at "
            "'targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType' failed to "
            "satisfy constraint: Member must satisfy enum value set: [", "SageMakerInferenceComponentInvocationsPerCopy")
        with self.assertRaises(ClientError) as ctx:
            self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=self.resource,
                                              ScalableDimension="sagemaker:inference-component:Copies",
                                              MinCapacity=0, MaxCapacity=1)
        self.assertValidation(ctx, "Value 'sagemaker:inference-component:Copies' at 'scalableDimension' failed to "
                                   "satisfy constraint: Member must satisfy enum value set: [ecs:service:DesiredCount, ")
        with self.assertRaises(ClientError) as ctx:  # the dimension does not fit the resource id
            self.aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/e/variant/v",
                                              ScalableDimension=IC_DIMENSION, MinCapacity=0, MaxCapacity=1)
        self.assertValidation(ctx, "Unsupported service namespace, resource type or scalable dimension")

    def test_provisioned_concurrency_dimension_is_accepted(self):
        # botocore's ScalableDimension enum has it; moto's own list did not.
        resource = f"endpoint/{unique('sls')}/variant/A"
        arn = self.aas.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource,
            ScalableDimension="sagemaker:variant:DesiredProvisionedConcurrency", MinCapacity=1, MaxCapacity=2,
        )["ScalableTargetARN"]
        self.assertTrue(arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/"))

    def test_describe_scaling_policies_selects_exactly(self):
        longer = self.resource + "x"
        for resource in (self.resource, longer):
            self.register(resource)
            self.put("step", resource, PolicyType="StepScaling", StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})
        self.put("other", PolicyType="StepScaling", StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})
        found = self.policies(ResourceId=longer)["ScalingPolicies"]
        self.assertEqual([(p["ResourceId"], p["PolicyName"]) for p in found], [(longer, "step")])
        found = self.policies(ResourceId=self.resource, PolicyNames=["other"])["ScalingPolicies"]
        self.assertEqual([p["PolicyName"] for p in found], ["other"])

    def test_describe_scaling_policies_pages_by_ten(self):
        self.register()
        names = [f"p{i:02d}" for i in range(12)]
        for name in names:
            self.put(name, PolicyType="StepScaling", StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})
        first = self.policies(ResourceId=self.resource)
        self.assertEqual(len(first["ScalingPolicies"]), 10)
        second = self.policies(ResourceId=self.resource, NextToken=first["NextToken"])
        self.assertNotIn("NextToken", second)
        self.assertEqual([p["PolicyName"] for p in first["ScalingPolicies"] + second["ScalingPolicies"]], names)


if __name__ == "__main__":
    unittest.main()
