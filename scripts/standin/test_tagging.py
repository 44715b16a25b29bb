"""Tests of the Resource Groups Tagging API's GetResources (scripts/standin/tagging.py), with
boto3 against a server started with `standin.serve()` in this process. Each test tags its
resources with a key of its own and filters on it, so tests do not see each other's.

Run: .venv/bin/python -m unittest discover -s scripts/standin -p 'test_*.py'
"""

import sys
import unittest
from pathlib import Path

from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import testing  # noqa: E402

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
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


class GetResources(unittest.TestCase):
    def setUp(self):
        self.sm, self.tagging = client("sagemaker"), client("resourcegroupstaggingapi")
        self.key = unique("suite")
        self.model = unique("model")
        self.sm.create_model(ModelName=self.model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "image"})
        self.config = unique("cfg")
        self.sm.create_endpoint_config(EndpointConfigName=self.config, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": self.model, "InstanceType": "ml.g5.xlarge",
             "InitialInstanceCount": 1}])

    def endpoint(self, tags):
        name = unique("ep")
        return self.sm.create_endpoint(EndpointName=name, EndpointConfigName=self.config,
                                       Tags=[{"Key": k, "Value": v} for k, v in tags])["EndpointArn"]

    def pages(self, **params):
        pages, token = [], None
        while True:
            out = self.tagging.get_resources(TagFilters=[{"Key": self.key}],
                                             **params, **({"PaginationToken": token} if token else {}))
            pages.append(out["ResourceTagMappingList"])
            token = out.get("PaginationToken")
            if not token:
                return pages

    def test_resources_per_page_alone_sets_the_page_size_whatever_the_tags(self):
        arns = {self.endpoint([(self.key, "1"), ("team", "ml"), ("stage", "prod")]) for _ in range(150)}
        pages = self.pages(ResourceTypeFilters=["sagemaker:endpoint"], ResourcesPerPage=100)
        self.assertEqual([len(p) for p in pages], [100, 50])
        self.assertEqual({m["ResourceARN"] for p in pages for m in p}, arns)
        self.assertEqual(pages[0][0]["Tags"], [{"Key": self.key, "Value": "1"}, {"Key": "team", "Value": "ml"},
                                               {"Key": "stage", "Value": "prod"}])

    def test_tags_per_page_limits_a_page_to_that_many_tags(self):
        for _ in range(40):
            self.endpoint([(self.key, "1"), ("team", "ml"), ("stage", "prod")])
        pages = self.pages(TagsPerPage=100)
        self.assertEqual([len(p) for p in pages], [33, 7])

    def test_page_sizes_out_of_range_are_refused(self):
        for params in ({"ResourcesPerPage": 101}, {"ResourcesPerPage": 0}, {"TagsPerPage": 99}):
            with self.subTest(params), self.assertRaises(ClientError) as ctx:
                self.tagging.get_resources(**params)
            self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidParameterException")

    def test_inference_components_are_listed_with_their_tags_by_type(self):
        host = unique("cfg")
        self.sm.create_endpoint_config(EndpointConfigName=host, ExecutionRoleArn=ROLE, ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1,
             "ManagedInstanceScaling": SCALING, "RoutingConfig": ROUTING}])
        endpoint = unique("ep")
        endpoint_arn = self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=host,
                                               Tags=[{"Key": self.key, "Value": "host"}])["EndpointArn"]

        def component(tags):
            return self.sm.create_inference_component(
                InferenceComponentName=unique("ic"), EndpointName=endpoint, VariantName="AllTraffic",
                Specification={"ModelName": self.model, "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}},
                RuntimeConfig={"CopyCount": 1}, Tags=[{"Key": k, "Value": v} for k, v in tags],
            )["InferenceComponentArn"]

        tagged = component([(self.key, "ic"), ("autoscaling:template", "default")])
        untagged = component([])
        ics = self.pages(ResourceTypeFilters=["sagemaker:inference-component"])
        self.assertEqual(ics, [[{"ResourceARN": tagged, "Tags": [{"Key": self.key, "Value": "ic"},
                                                                  {"Key": "autoscaling:template", "Value": "default"}]}]])
        both = self.pages(ResourceTypeFilters=["sagemaker:endpoint", "sagemaker:inference-component"])
        self.assertEqual({m["ResourceARN"] for p in both for m in p}, {tagged, endpoint_arn})
        self.sm.add_tags(ResourceArn=untagged, Tags=[{"Key": self.key, "Value": "later"}])
        both = self.pages(ResourceTypeFilters=["sagemaker"])
        self.assertEqual({m["ResourceARN"] for p in both for m in p}, {tagged, untagged, endpoint_arn})


if __name__ == "__main__":
    unittest.main()
