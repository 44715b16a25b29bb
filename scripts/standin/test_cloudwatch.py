"""Tests of CloudWatch over Smithy RPC v2 CBOR (scripts/standin/cloudwatch.py).

Requests are built by hand with cbor2, as the Rust aws-sdk-cloudwatch sends them (path, headers,
a SigV4 Authorization for the service `monitoring`), against a server started with
`standin.serve()` in this process, so the tests can also look into moto's cloudwatch backend.
A second client, botocore made to speak the same protocol, checks the framing independently.

Run: .venv/bin/python -m unittest discover -s scripts/standin -p 'test_*.py'
"""

import sys
import unittest
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from unittest import mock

import boto3
import cbor2
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import testing  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
POLICY = (
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0d2f9a4c-1111-2222-3333-444455556666:"
    "resource/sagemaker/inference-component/ic-a:policyName/scale-out-from-zero"
)

_server = None
_port = None


def setUpModule():
    global _server, _port
    _server, _port = testing.start()


def tearDownModule():
    _server.stop()


def call(operation, params=None, *, body=None, path=None, headers=None):
    """One RPC v2 CBOR request: (HTTP status, response headers, raw body)."""
    data = cbor2.dumps(params if params is not None else {}) if body is None else body
    request = urllib.request.Request(
        f"http://127.0.0.1:{_port}{path or f'/service/GraniteServiceVersion20100801/operation/{operation}'}",
        data=data,
        method="POST",
        headers={
            "smithy-protocol": "rpc-v2-cbor",
            "Content-Type": "application/cbor",
            "Accept": "application/cbor",
            "x-amzn-query-mode": "true",
            "X-Amz-Date": "20261129T120000Z",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261129/{REGION}/monitoring/aws4_request, "
            "SignedHeaders=accept;content-type;host;smithy-protocol;x-amz-date, Signature=0",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def ok(operation, params=None):
    status, headers, raw = call(operation, params)
    assert status == 200, (status, raw and cbor2.loads(raw))
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    return cbor2.loads(raw) if raw else None


def unique(prefix):
    return testing.unique(prefix)


def alarm_params(name, **extra):
    """The alarm of the scale-to-zero guide, as scaletag would put it."""
    return {
        "AlarmName": name,
        "AlarmDescription": "Wake inference component ic-a from zero copies",
        "ActionsEnabled": True,
        "AlarmActions": [POLICY],
        "OKActions": [],
        "InsufficientDataActions": [],
        "MetricName": "NoCapacityInvocationFailures",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": "ic-a"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Unit": "Count",
        "Tags": [{"Key": "managed-by", "Value": "scaletag"}],
        **extra,
    }


def alarm_arn(name):
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


class CborCase(unittest.TestCase):
    def assertError(self, answer, status, shape, query_code, message=None):
        code, headers, raw = answer
        self.assertEqual(code, status)
        self.assertEqual(headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(headers["Content-Type"], "application/cbor")
        body = cbor2.loads(raw)
        self.assertEqual(body["__type"], shape)
        if query_code is not None:
            self.assertEqual(headers["x-amzn-query-error"], f"{query_code};Sender")
        text = body.get("message", body.get("Message"))
        if message is not None:
            self.assertEqual(text, message)
        return text

    def describe(self, name):
        return ok("DescribeAlarms", {"AlarmNames": [name]})["MetricAlarms"]


class RoundTrip(CborCase):
    def test_put_describe_delete(self):
        name = unique("wake")
        status, headers, raw = call("PutMetricAlarm", alarm_params(name))
        # No output shape (Unit): no body and no Content-Type, as the protocol requires.
        self.assertEqual((status, raw), (200, b""))
        self.assertEqual(headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertIsNone(headers["Content-Type"])
        self.assertTrue(headers["x-amzn-RequestId"])

        status, headers, raw = call("DescribeAlarms", {"AlarmNames": [name]})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/cbor")
        self.assertIn(b"\xc1\xfb", raw, "timestamps are tag 1 over a double")
        body = cbor2.loads(raw)
        self.assertEqual(body["CompositeAlarms"], [])
        [alarm] = body["MetricAlarms"]
        sent = alarm_params(name)
        del sent["Tags"]
        for key, value in sent.items():
            self.assertEqual(alarm[key], value, key)
        self.assertIsInstance(alarm["Threshold"], float)
        self.assertEqual(alarm["AlarmArn"], alarm_arn(name))
        self.assertEqual(alarm["StateValue"], "INSUFFICIENT_DATA")
        self.assertEqual(alarm["StateReason"], "Unchecked: Initial alarm creation")
        for stamp in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp"):
            self.assertIsInstance(alarm[stamp], datetime, stamp)
            self.assertLess(abs((datetime.now(alarm[stamp].tzinfo) - alarm[stamp]).total_seconds()), 60)
        self.assertNotIn("Tags", alarm)

        self.assertEqual(ok("ListTagsForResource", {"ResourceARN": alarm_arn(name)}),
                         {"Tags": [{"Key": "managed-by", "Value": "scaletag"}]})

        status, headers, raw = call("DeleteAlarms", {"AlarmNames": [name]})
        self.assertEqual((status, raw), (200, b""))
        self.assertEqual(self.describe(name), [])
        # The alarm's tags went with it.
        self.assertError(call("ListTagsForResource", {"ResourceARN": alarm_arn(name)}), 404,
                         "com.amazonaws.cloudwatch#ResourceNotFoundException", "ResourceNotFoundException")

    def test_alarm_lives_in_motos_backend_and_motos_json_protocol_sees_it(self):
        from moto.cloudwatch.models import cloudwatch_backends

        name = unique("shared")
        ok("PutMetricAlarm", alarm_params(name))
        stored = cloudwatch_backends[ACCOUNT][REGION].alarms[name]
        self.assertEqual((stored.metric_name, stored.threshold), ("NoCapacityInvocationFailures", 1.0))
        # boto3 speaks awsJson1_0 to CloudWatch by default: that is moto's own path.
        cw = boto3.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{_port}", region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        self.assertEqual(cw.meta.service_model.resolved_protocol, "json")
        [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        self.assertEqual(alarm["AlarmActions"], [POLICY])

    def test_reset_clears_alarms(self):
        name = unique("reset")
        ok("PutMetricAlarm", alarm_params(name))
        request = urllib.request.Request(f"http://127.0.0.1:{_port}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request) as response:
            self.assertEqual(response.status, 200)
        self.assertEqual(self.describe(name), [])
        self.assertEqual(ok("DescribeAlarms")["MetricAlarms"], [])

    def test_an_update_overwrites_the_configuration_keeps_the_state_and_ignores_tags(self):
        from moto.cloudwatch.models import cloudwatch_backends

        name = unique("update")
        ok("PutMetricAlarm", alarm_params(name))
        cloudwatch_backends[ACCOUNT][REGION].alarms[name].state_value = "ALARM"
        ok("PutMetricAlarm", alarm_params(name, Threshold=5.0, ComparisonOperator="GreaterThanThreshold",
                                          Tags=[{"Key": "other", "Value": "x"}], AlarmDescription=None))
        [alarm] = self.describe(name)
        self.assertEqual((alarm["Threshold"], alarm["ComparisonOperator"]), (5.0, "GreaterThanThreshold"))
        self.assertNotIn("AlarmDescription", alarm)
        self.assertEqual(alarm["StateValue"], "ALARM")
        self.assertEqual(ok("ListTagsForResource", {"ResourceARN": alarm_arn(name)})["Tags"],
                         [{"Key": "managed-by", "Value": "scaletag"}])

    def test_extended_statistic_alarm(self):
        name = unique("p99")
        params = alarm_params(name, ExtendedStatistic="p99", EvaluateLowSampleCountPercentile="ignore")
        del params["Statistic"]
        ok("PutMetricAlarm", params)
        [alarm] = self.describe(name)
        self.assertEqual((alarm["ExtendedStatistic"], alarm["EvaluateLowSampleCountPercentile"]), ("p99", "ignore"))
        self.assertNotIn("Statistic", alarm)


class Describe(CborCase):
    def setUp(self):
        self.prefix = unique("page")
        self.names = [f"{self.prefix}-{i}" for i in (3, 1, 2)]
        for name in self.names:
            ok("PutMetricAlarm", alarm_params(name))

    def test_prefix_and_pages_in_name_order(self):
        seen, token = [], None
        while True:
            params = {"AlarmNamePrefix": self.prefix, "MaxRecords": 2}
            if token:
                params["NextToken"] = token
            page = ok("DescribeAlarms", params)
            self.assertLessEqual(len(page["MetricAlarms"]), 2)
            seen += [a["AlarmName"] for a in page["MetricAlarms"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, sorted(self.names))

    def test_filters(self):
        names = ok("DescribeAlarms", {"AlarmNames": [self.names[0], "absent"]})["MetricAlarms"]
        self.assertEqual([a["AlarmName"] for a in names], [self.names[0]])
        by_state = ok("DescribeAlarms", {"AlarmNamePrefix": self.prefix, "StateValue": "OK"})
        self.assertEqual(by_state["MetricAlarms"], [])
        by_action = ok("DescribeAlarms", {"AlarmNamePrefix": self.prefix, "ActionPrefix": POLICY[:40]})
        self.assertEqual(len(by_action["MetricAlarms"]), 3)
        composite_only = ok("DescribeAlarms", {"AlarmNamePrefix": self.prefix, "AlarmTypes": ["CompositeAlarm"]})
        self.assertEqual((composite_only["MetricAlarms"], composite_only["CompositeAlarms"]), ([], []))

    def test_names_and_prefix_together_are_refused(self):
        self.assertError(call("DescribeAlarms", {"AlarmNames": [self.names[0]], "AlarmNamePrefix": self.prefix}),
                         400, "com.amazonaws.cloudwatch#ValidationException", "ValidationError")

    def test_unknown_token_is_invalid_next_token(self):
        self.assertError(call("DescribeAlarms", {"NextToken": "not-a-token"}), 400,
                         "com.amazonaws.cloudwatch#InvalidNextToken", "InvalidNextToken")


class DeleteAndTags(CborCase):
    def test_missing_names_are_skipped_and_the_rest_deleted(self):
        name = unique("gone")
        ok("PutMetricAlarm", alarm_params(name))
        status, _, raw = call("DeleteAlarms", {"AlarmNames": ["never-made", name]})
        self.assertEqual((status, raw), (200, b""))
        self.assertEqual(self.describe(name), [])

    def test_tag_untag_list(self):
        name = unique("tags")
        ok("PutMetricAlarm", alarm_params(name))
        arn = alarm_arn(name)
        status, headers, raw = call("TagResource", {"ResourceARN": arn, "Tags": [
            {"Key": "managed-by", "Value": "me"}, {"Key": "team", "Value": "ml"}]})
        # An output structure without members: an empty CBOR map.
        self.assertEqual((status, raw, headers["Content-Type"]), (200, b"\xa0", "application/cbor"))
        tags = ok("ListTagsForResource", {"ResourceARN": arn})["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("managed-by", "me"), ("team", "ml")])
        self.assertEqual(ok("UntagResource", {"ResourceARN": arn, "TagKeys": ["team", "absent"]}), {})
        self.assertEqual(ok("ListTagsForResource", {"ResourceARN": arn})["Tags"], [{"Key": "managed-by", "Value": "me"}])

    def test_tagging_an_arn_that_is_no_alarm_is_resource_not_found(self):
        arn = alarm_arn(unique("absent"))
        for operation, params in [
            ("TagResource", {"ResourceARN": arn, "Tags": [{"Key": "a", "Value": "b"}]}),
            ("UntagResource", {"ResourceARN": arn, "TagKeys": ["a"]}),
            ("ListTagsForResource", {"ResourceARN": arn}),
        ]:
            with self.subTest(operation=operation):
                # The error shape's message member is `Message` (the Rust SDK's model).
                self.assertError(call(operation, params), 404, "com.amazonaws.cloudwatch#ResourceNotFoundException",
                                 "ResourceNotFoundException", f"The resource {arn} does not exist.")


class Validation(CborCase):
    def test_missing_required_member(self):
        params = alarm_params("x")
        del params["AlarmName"]
        self.assertError(call("PutMetricAlarm", params), 400, "com.amazonaws.cloudwatch#ValidationException",
                         "ValidationError", "1 validation error detected: Value null at 'alarmName' failed to "
                         "satisfy constraint: Member must not be null")
        body = cbor2.loads(call("DeleteAlarms", {})[2])
        self.assertIn("Value null at 'alarmNames'", body["message"])

    def test_model_constraints_are_all_reported(self):
        params = alarm_params(unique("bad"), ComparisonOperator="Bigger", EvaluationPeriods=0,
                              Dimensions=[{"Name": "InferenceComponentName"}])
        message = self.assertError(call("PutMetricAlarm", params), 400,
                                   "com.amazonaws.cloudwatch#ValidationException", "ValidationError")
        self.assertTrue(message.startswith("3 validation errors detected: "), message)
        self.assertIn("Value '0' at 'evaluationPeriods' failed to satisfy constraint: Member must have value "
                      "greater than or equal to 1", message)
        self.assertIn("Value 'Bigger' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy "
                      "enum value set: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, ", message)
        self.assertIn("Value null at 'dimensions.1.member.value' failed to satisfy constraint: Member must not be null",
                      message)

    def test_documented_rules_of_a_metric_alarm(self):
        cases = {
            "no metric": ({"MetricName": None}, "MetricName must not be null"),
            "no period": ({"Period": None}, "Period must not be null"),
            "odd period": ({"Period": 90}, "Period must be 10, 20, 30 or a multiple of 60"),
            "two statistics": ({"ExtendedStatistic": "p99"}, "Exactly one of Statistic and ExtendedStatistic"),
            "over a day": ({"Period": 60, "EvaluationPeriods": 1441}, "must not exceed 86400 seconds"),
            "over a week": ({"Period": 3600, "EvaluationPeriods": 169}, "must not exceed 604800 seconds"),
            "M over N": ({"DatapointsToAlarm": 2}, "DatapointsToAlarm must be less than or equal to EvaluationPeriods"),
        }
        for label, (change, fragment) in cases.items():
            with self.subTest(label):
                name = unique("rule")
                params = {k: v for k, v in {**alarm_params(name), **change}.items() if v is not None}
                message = self.assertError(call("PutMetricAlarm", params), 400,
                                           "com.amazonaws.cloudwatch#ValidationException", "ValidationError")
                self.assertIn(fragment, message)
                self.assertEqual(self.describe(name), [], "nothing is stored")

    def test_high_resolution_and_long_periods_are_accepted(self):
        for period, evaluations in [(10, 1), (30, 2880), (3600, 168), (86400, 7)]:
            with self.subTest(period=period):
                name = unique("ok")
                ok("PutMetricAlarm", alarm_params(name, Period=period, EvaluationPeriods=evaluations, DatapointsToAlarm=1))
                self.assertEqual(self.describe(name)[0]["Period"], period)


class Protocol(CborCase):
    def test_operations_outside_the_model_or_the_stand_in(self):
        self.assertError(call("Frobnicate"), 404, "UnknownOperationException", None)
        self.assertError(call("DescribeAlarms", path="/service/OtherService/operation/DescribeAlarms"), 404,
                         "UnknownOperationException", None)
        self.assertError(call("PutMetricData", {"Namespace": "x", "MetricData": []}), 501, "NotImplemented", None)
        metric_math = alarm_params(unique("math"), Metrics=[{"Id": "m1", "Expression": "1"}])
        self.assertError(call("PutMetricAlarm", metric_math), 501, "NotImplemented", None)

    def test_a_body_that_is_not_a_cbor_map(self):
        self.assertError(call("DescribeAlarms", body=b"\xff\x00"), 400, "SerializationException", None)
        self.assertError(call("DescribeAlarms", body=cbor2.dumps([1])), 400, "SerializationException", None)

    def test_absolute_service_name_and_path_prefix_are_accepted(self):
        for path in ("/service/com.amazonaws.cloudwatch.GraniteServiceVersion20100801/operation/DescribeAlarms",
                     "/v1/service/GraniteServiceVersion20100801/operation/DescribeAlarms"):
            with self.subTest(path=path):
                status, _, raw = call("DescribeAlarms", path=path)
                self.assertEqual(status, 200)
                self.assertIn("MetricAlarms", cbor2.loads(raw))

    def test_empty_request_body_is_an_empty_input(self):
        status, _, raw = call("DescribeAlarms", body=b"")
        self.assertEqual(status, 200)
        self.assertIn("MetricAlarms", cbor2.loads(raw))

    def test_indefinite_length_containers_are_read(self):
        name = unique("indef")
        ok("PutMetricAlarm", alarm_params(name))
        # {_ "AlarmNames": [_ name]} with indefinite-length map and array.
        body = b"\xbf" + cbor2.dumps("AlarmNames") + b"\x9f" + cbor2.dumps(name) + b"\xff\xff"
        status, _, raw = call("DescribeAlarms", body=body)
        self.assertEqual([a["AlarmName"] for a in cbor2.loads(raw)["MetricAlarms"]], [name])


class BotocoreAsSecondClient(unittest.TestCase):
    """botocore's own RPC v2 CBOR serializer and parser against the stand-in."""

    @classmethod
    def setUpClass(cls):
        # botocore prefers awsJson1_0 for CloudWatch; make this client speak CBOR.
        with mock.patch("botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ("smithy-rpc-v2-cbor",)):
            cls.cw = boto3.session.Session().client(
                "cloudwatch", endpoint_url=f"http://127.0.0.1:{_port}", region_name=REGION,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
        assert cls.cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"

    def test_round_trip_and_error_codes(self):
        name = unique("boto")
        params = alarm_params(name)
        self.cw.put_metric_alarm(**params)
        [alarm] = self.cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        self.assertEqual((alarm["Threshold"], alarm["StateValue"]), (1.0, "INSUFFICIENT_DATA"))
        self.assertEqual(alarm["Dimensions"], params["Dimensions"])
        self.assertEqual(alarm["AlarmConfigurationUpdatedTimestamp"].microsecond % 1000, 0, "millisecond resolution")
        with self.assertRaises(ClientError) as ctx:
            self.cw.put_metric_alarm(**alarm_params(name, Period=61))
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ValidationError")  # from x-amzn-query-error
        self.cw.delete_alarms(AlarmNames=[name])
        with self.assertRaises(self.cw.exceptions.ResourceNotFoundException):
            self.cw.list_tags_for_resource(ResourceARN=alarm_arn(name))


if __name__ == "__main__":
    unittest.main()
