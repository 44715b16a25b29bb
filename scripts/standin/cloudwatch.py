"""CloudWatch alarms over Smithy RPC v2 CBOR, the protocol moto 5.2.5 does not speak.

The Rust aws-sdk-cloudwatch (1.14x) sends every CloudWatch call as
`POST /service/GraniteServiceVersion20100801/operation/<Operation>` with `smithy-protocol:
rpc-v2-cbor`, `Content-Type: application/cbor`, `x-amzn-query-mode: true` and a CBOR body
(botocore 1.44 can too, but prefers awsJson1_0, which moto serves itself); the SigV4 service
`monitoring` brings them to moto's cloudwatch app, whose routes know only `/`. `wrap()` puts a WSGI layer in
front of that app (see __init__.py): it answers every request that the protocol claims and hands
every other request to moto unchanged. The alarms are moto's own (`Alarm` objects in moto's
cloudwatch backend, tags in its tagger), so moto's other protocols and /moto-api/reset see them.
The recorded operation name of such a request is the URL path's last segment.

Wire format (Smithy RPC v2 CBOR protocol specification; `aws.protocols#awsQueryCompatible`,
which the CloudWatch model carries):
* Success: HTTP 200, `smithy-protocol: rpc-v2-cbor`, `x-amzn-RequestId`. An operation whose
  output is a structure answers a CBOR map of it (TagResource, UntagResource: an empty map);
  one with no output at all (PutMetricAlarm, DeleteAlarms: Smithy's Unit) answers no body and
  no Content-Type, as the specification requires. Members are encoded by their botocore model
  type: timestamps as tag 1 over epoch seconds (a double, millisecond resolution), doubles as
  64-bit floats, integers as integers; members that are absent or not in the model are left out.
* Errors: the model's status for the error shape (its httpError: 400, or 404 for
  ResourceNotFound(Exception)), a CBOR map with `__type` = the absolute shape id
  (`com.amazonaws.cloudwatch#ValidationException`) and the message under the member name the
  model gives it (`message`; `Message` where the model spells it so, and for
  ResourceNotFoundException, whose message member the Rust SDK's newer model calls `Message`),
  plus the header `x-amzn-query-error: <awsQueryError code>;Sender` (`Receiver` for a server
  fault), from which the SDKs take the error code (e.g. `ValidationError`, `InvalidNextToken`,
  `ResourceNotFoundException`).
* Outside the model: a path or service name that is not CloudWatch's, or an operation the model
  lacks, is 404 `UnknownOperationException`; a body that is not a CBOR map is 400
  `SerializationException`; a CloudWatch operation (or member) served by nothing here is 501
  `NotImplemented`, which SDKs do not retry. These three `__type`s carry no namespace.

Operations (CloudWatch API Reference; validation from botocore's CloudWatch model: required
members, enums, lengths and ranges, as `1 validation error detected: Value null at 'alarmName'
failed to satisfy constraint: Member must not be null`, code ValidationError):
* PutMetricAlarm, for alarms on one metric: AlarmName, AlarmDescription, ActionsEnabled,
  AlarmActions, OKActions, InsufficientDataActions, MetricName, Namespace, Statistic,
  ExtendedStatistic, Dimensions, Period, Unit, EvaluationPeriods, DatapointsToAlarm, Threshold,
  ComparisonOperator, TreatMissingData, EvaluateLowSampleCountPercentile, Tags. Rules from the
  reference, each a ValidationError: MetricName, EvaluationPeriods, ComparisonOperator, Period
  and Threshold are needed ("MetricName must not be null" is AWS's wording, quoted in public
  reports; the rest follow it); exactly one of Statistic and ExtendedStatistic; Period 10, 20, 30
  or a multiple of 60; Period x EvaluationPeriods at most 604,800 s, and at most 86,400 s when
  Period < 3,600; DatapointsToAlarm at most EvaluationPeriods (our wording, assumed). A new alarm
  starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); an update overwrites the
  configuration, keeps the state, and ignores `Tags` (moto's own PutMetricAlarm starts in OK and
  resets the state). Metrics, ThresholdMetricId, EvaluationCriteria, EvaluationWindow,
  WarmUpConfiguration, EvaluationInterval, ActionConfiguration: 501.
* DescribeAlarms: AlarmNames, AlarmNamePrefix (not with AlarmNames: ValidationError), AlarmTypes
  (default: metric alarms only; composite alarms that moto holds are listed with their common
  fields; there are no log alarms), StateValue, ActionPrefix (on any of the three action lists),
  MaxRecords (default 50, assumed) and NextToken (an unknown token: InvalidNextToken). Alarms come
  in name order (assumed). MetricAlarms entries have the MetricAlarm shape, AlarmArn, StateValue,
  StateReason, the three timestamps included. ChildrenOfAlarmName, ParentsOfAlarmName: 501.
* DeleteAlarms: names that match no alarm are skipped without error (the reference: "If you
  specify any incorrect alarm names, the alarms you specify with correct names are still
  deleted"), though the model lists ResourceNotFound. An alarm's tags go with it.
* TagResource, UntagResource, ListTagsForResource on an alarm ARN
  (arn:aws:cloudwatch:<region>:<account>:alarm:<name>). An ARN that is no alarm of this account
  and region is ResourceNotFoundException (404; the message wording is ours). Tags on other
  CloudWatch resources are not served (same error).
"""

import base64
import re
import uuid
from datetime import datetime, timezone

import cbor2

NAMESPACE = "com.amazonaws.cloudwatch"
SERVICE = "GraniteServiceVersion20100801"
_PATH = re.compile(r"^(?:/.*)?/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")
_SERVICE_NAMES = (SERVICE, f"{NAMESPACE}.{SERVICE}")

_model = None
_codes = None  # awsQueryError code (and shape name) -> error shape name


def model():
    global _model, _codes
    if _model is None:
        from moto.core.utils import get_service_model

        loaded = get_service_model("cloudwatch")
        codes = {}
        for name in loaded.shape_names:
            shape = loaded.shape_for(name)
            if shape.metadata.get("exception"):
                codes[name] = name
                code = (shape.metadata.get("error") or {}).get("code")
                if code:
                    codes.setdefault(code, name)
        _codes = codes
        _model = loaded
    return _model


class Error(Exception):
    """An error answer: a modeled shape (by shape name or awsQueryError code) or an unmodeled type."""

    def __init__(self, kind, message, status=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


def _validation(errors):
    n = len(errors)
    return Error(
        "ValidationException",
        f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors),
    )


def _not_served(what):
    return Error("NotImplemented", f"The stand-in does not serve {what} over Smithy RPC v2 CBOR", 501)


# --- the WSGI layer ---


def wrap(wsgi_app):
    """moto's cloudwatch app, with requests of the RPC v2 CBOR protocol answered here first."""

    def app(environ, start_response):
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and environ.get("HTTP_SMITHY_PROTOCOL", "").strip().lower() == "rpc-v2-cbor"
            and _PATH.match(environ.get("PATH_INFO", ""))
        ):
            return _serve(environ, start_response)
        return wsgi_app(environ, start_response)

    return app


def _serve(environ, start_response):
    from werkzeug.wrappers import Request, Response

    request = Request(environ)
    request_id = str(uuid.uuid4())
    headers = {"smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": request_id}
    try:
        status, body = _answer(request)
    except Error as e:
        status, body, extra = _error(e)
        headers.update(extra)
    if body is not None:
        headers["Content-Type"] = "application/cbor"
        data = cbor2.dumps(body)
    else:
        data = b""
    response = Response(data, status=status, headers=headers)
    if body is None:
        del response.headers["Content-Type"]  # werkzeug's default; the protocol wants none
    return response(environ, start_response)


def _answer(request):
    match = _PATH.match(request.path)
    service, operation = match.group("service"), match.group("operation")
    if service not in _SERVICE_NAMES or operation not in model().operation_names:
        raise Error("UnknownOperationException", f"Unknown operation {service}.{operation}", 404)
    handler = _HANDLERS.get(operation)
    if handler is None:
        raise _not_served(operation)
    raw = request.get_data()
    try:
        params = cbor2.loads(raw) if raw else {}
    except Exception as e:  # cbor2 raises several types for malformed input
        raise Error("SerializationException", f"The request body is not valid CBOR: {e}", 400)
    if not isinstance(params, dict):
        raise Error("SerializationException", "The request body is not a CBOR map", 400)
    operation_model = model().operation_model(operation)
    errors = []
    _check(params, operation_model.input_shape, "", errors)
    if errors:
        raise _validation(errors)
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.exceptions import ServiceException

    backend = cloudwatch_backends[_account(request)][_region(request)]
    try:
        output = handler(backend, params)
    except ServiceException as e:  # moto's own checks, e.g. InvalidParameterValue
        raise Error(e.code, e.message)
    shape = operation_model.output_shape
    return 200, None if shape is None else _encode(output or {}, shape)


def _region(request):
    try:
        return request.headers["Authorization"].split(",")[0].split()[1].split("/")[2]
    except (KeyError, IndexError):
        return "us-east-1"


def _account(request):
    from moto.core.responses import BaseResponse

    response = BaseResponse()
    response.headers = request.headers
    response.querystring = {}
    return response.get_current_account()  # moto's rules: MOTO_ACCOUNT_ID, header, access key


def _error(e):
    """(status, CBOR map, headers) for an Error."""
    model()
    shape_name = _codes.get(e.kind)
    if shape_name is None:
        return e.status or 400, {"__type": e.kind, "message": e.message}, {}
    shape = model().shape_for(shape_name)
    error = shape.metadata.get("error") or {}
    members = {m.lower(): m for m in shape.members}
    key = members.get("message", "Message")
    status = error.get("httpStatusCode", 400)
    fault = "Sender" if error.get("senderFault") or status < 500 else "Receiver"
    code = error.get("code", shape_name)
    body = {"__type": f"{NAMESPACE}#{shape_name}", key: e.message}
    return status, body, {"x-amzn-query-error": f"{code};{fault}"}


# --- model-driven encoding and validation ---


def _epoch(value):
    if isinstance(value, (int, float)):
        return float(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return round(value.timestamp(), 3)


def _encode(value, shape):
    kind = shape.type_name
    if kind == "structure":
        return {
            name: _encode(member, shape.members[name])
            for name, member in value.items()
            if member is not None and name in shape.members
        }
    if kind == "list":
        return [_encode(item, shape.member) for item in value]
    if kind == "map":
        return {key: _encode(item, shape.value) for key, item in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(1, _epoch(value))
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def _member_path(path, name):
    name = name[0].lower() + name[1:]
    return f"{path}.{name}" if path else name


def _check(value, shape, path, errors):
    """Appends the model constraints `value` breaks, in AWS's request-validation wording."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must be a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(
                    f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member in value.items():
            if member is not None and name in shape.members:
                _check(member, shape.members[name], _member_path(path, name), errors)
        return
    if kind in ("list", "map"):
        if not isinstance(value, list if kind == "list" else dict):
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must be a {kind}")
            return
        _length(value, len(value), meta, path, errors)
        if kind == "list":
            for i, item in enumerate(value, start=1):
                if item is not None:
                    _check(item, shape.member, f"{path}.{i}.member", errors)
        else:
            for key, item in value.items():
                _check(key, shape.key, f"{path}.key", errors)
                if item is not None:
                    _check(item, shape.value, f"{path}.{key}", errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a string")
            return
        if shape.enum and value not in shape.enum:
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy "
                f"enum value set: [{', '.join(shape.enum)}]"
            )
        _length(value, len(value), meta, path, errors)
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value, re.DOTALL):
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {pattern}"
            )
        return
    if kind in ("integer", "long", "short", "byte", "double", "float"):
        number = (int,) if kind in ("integer", "long", "short", "byte") else (int, float)
        if isinstance(value, bool) or not isinstance(value, number):
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a number")
            return
        if "min" in meta and value < meta["min"]:
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                f"greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value "
                f"less than or equal to {meta['max']}"
            )
        return
    if kind == "boolean" and not isinstance(value, bool):
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a boolean")
    if kind == "timestamp" and not isinstance(value, (datetime, int, float)):
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a timestamp")


def _length(value, length, meta, path, errors):
    if "min" in meta and length < meta["min"]:
        errors.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have length "
            f"greater than or equal to {meta['min']}"
        )
    if "max" in meta and length > meta["max"]:
        errors.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have length "
            f"less than or equal to {meta['max']}"
        )


# --- operations ---

_UNSERVED_ALARM_MEMBERS = (
    "Metrics", "ThresholdMetricId", "EvaluationCriteria", "EvaluationWindow",
    "WarmUpConfiguration", "EvaluationInterval", "ActionConfiguration",
)


def _alarm_rules(p):
    """PutMetricAlarm's documented rules for an alarm on one metric (ValidationError)."""
    for name in ("MetricName", "EvaluationPeriods", "ComparisonOperator", "Period", "Threshold"):
        if p.get(name) is None:
            raise Error("ValidationException", f"{name} must not be null")
    if (p.get("Statistic") is None) == (p.get("ExtendedStatistic") is None):
        raise Error(
            "ValidationException",
            "Exactly one of Statistic and ExtendedStatistic must be specified with MetricName",
        )
    period, evaluations = p["Period"], p["EvaluationPeriods"]
    if period not in (10, 20, 30) and period % 60:
        raise Error("ValidationException", "Period must be 10, 20, 30 or a multiple of 60")
    limit = 86400 if period < 3600 else 604800
    if period * evaluations > limit:
        raise Error(
            "ValidationException",
            f"Period multiplied by EvaluationPeriods must not exceed {limit} seconds"
            + (" for a period of less than one hour" if limit == 86400 else ""),
        )
    if p.get("DatapointsToAlarm") is not None and p["DatapointsToAlarm"] > evaluations:
        raise Error("ValidationException", "DatapointsToAlarm must be less than or equal to EvaluationPeriods")


def put_metric_alarm(backend, p):
    unserved = [m for m in _UNSERVED_ALARM_MEMBERS if p.get(m) is not None]
    if unserved:
        raise _not_served(f"PutMetricAlarm with {', '.join(unserved)}")
    _alarm_rules(p)
    name = p["AlarmName"]
    previous = backend.alarms.get(name)
    backend.put_metric_alarm(
        name=name,
        namespace=p.get("Namespace"),
        metric_name=p["MetricName"],
        comparison_operator=p["ComparisonOperator"],
        evaluation_periods=p["EvaluationPeriods"],
        period=p["Period"],
        threshold=float(p["Threshold"]),
        statistic=p.get("Statistic"),
        extended_statistic=p.get("ExtendedStatistic"),
        description=p.get("AlarmDescription"),
        dimensions=p.get("Dimensions") or [],
        alarm_actions=p.get("AlarmActions") or [],
        ok_actions=p.get("OKActions") or [],
        insufficient_data_actions=p.get("InsufficientDataActions") or [],
        datapoints_to_alarm=p.get("DatapointsToAlarm"),
        unit=p.get("Unit"),
        actions_enabled=p.get("ActionsEnabled"),
        treat_missing_data=p.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
        tags=p.get("Tags") if previous is None else None,
    )
    alarm = backend.alarms[name]
    if previous is None:
        alarm.state_value = "INSUFFICIENT_DATA"
        alarm.state_updated_timestamp = alarm.configuration_updated_timestamp
        alarm.state_transitioned_timestamp = alarm.configuration_updated_timestamp
    else:
        for attribute in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
            setattr(alarm, attribute, getattr(previous, attribute))
        alarm.state_transitioned_timestamp = getattr(
            previous, "state_transitioned_timestamp", previous.state_updated_timestamp
        )


def _common(alarm):
    return {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.alarm_arn,
        "AlarmDescription": alarm.description,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp,
        "ActionsEnabled": alarm.actions_enabled,
        "OKActions": alarm.ok_actions or [],
        "AlarmActions": alarm.alarm_actions or [],
        "InsufficientDataActions": alarm.insufficient_data_actions or [],
        "StateValue": alarm.state_value,
        "StateReason": alarm.state_reason,
        "StateReasonData": None if alarm.state_reason_data == "{}" else alarm.state_reason_data,
        "StateUpdatedTimestamp": alarm.state_updated_timestamp,
        "StateTransitionedTimestamp": getattr(alarm, "state_transitioned_timestamp", alarm.state_updated_timestamp),
    }


def _metric_alarm(alarm):
    return {
        **_common(alarm),
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "Statistic": alarm.statistic,
        "ExtendedStatistic": alarm.extended_statistic,
        "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
        "Period": alarm.period,
        "Unit": alarm.unit,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "Threshold": alarm.threshold,
        "ComparisonOperator": alarm.comparison_operator,
        "TreatMissingData": alarm.treat_missing_data,
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile,
    }


def _composite_alarm(alarm):
    return {**_common(alarm), "AlarmRule": alarm.rule}


def _token(offset):
    return base64.urlsafe_b64encode(f"standin-alarms:{offset}".encode()).decode()


def _offset(token):
    if token is None:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if prefix == "standin-alarms" and int(offset) >= 0:
            return int(offset)
    except ValueError:
        pass
    raise Error("InvalidNextToken", "The service returned an invalid NextToken.")


def describe_alarms(backend, p):
    for unserved in ("ChildrenOfAlarmName", "ParentsOfAlarmName"):
        if p.get(unserved) is not None:
            raise _not_served(f"DescribeAlarms with {unserved}")
    names, prefix = p.get("AlarmNames"), p.get("AlarmNamePrefix")
    if names and prefix is not None:
        raise Error("ValidationException", "AlarmNamePrefix and AlarmNames cannot be specified together")
    alarms = sorted(backend.alarms.values(), key=lambda a: a.name)
    if names:
        alarms = [a for a in alarms if a.name in names]
    if prefix is not None:
        alarms = [a for a in alarms if a.name.startswith(prefix)]
    if p.get("StateValue") is not None:
        alarms = [a for a in alarms if a.state_value == p["StateValue"]]
    if p.get("ActionPrefix") is not None:
        alarms = [
            a for a in alarms
            if any(
                action.startswith(p["ActionPrefix"])
                for action in (a.alarm_actions or []) + (a.ok_actions or []) + (a.insufficient_data_actions or [])
            )
        ]
    types = p.get("AlarmTypes") or ["MetricAlarm"]
    items = [("MetricAlarms", a) for a in alarms if a.rule is None and "MetricAlarm" in types]
    items += [("CompositeAlarms", a) for a in alarms if a.rule is not None and "CompositeAlarm" in types]
    start = _offset(p.get("NextToken"))
    size = p.get("MaxRecords") or 50
    out = {"MetricAlarms": [], "CompositeAlarms": []}
    if "LogAlarm" in types:
        out["LogAlarms"] = []
    for key, alarm in items[start : start + size]:
        out[key].append(_metric_alarm(alarm) if key == "MetricAlarms" else _composite_alarm(alarm))
    if start + size < len(items):
        out["NextToken"] = _token(start + size)
    return out


def delete_alarms(backend, p):
    for name in p["AlarmNames"]:
        alarm = backend.alarms.pop(name, None)
        if alarm is not None:
            backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)


def _alarm_arn(backend, arn):
    if not any(alarm.alarm_arn == arn for alarm in backend.alarms.values()):
        raise Error("ResourceNotFoundException", f"The resource {arn} does not exist.")
    return arn


def tag_resource(backend, p):
    backend.tagger.tag_resource(_alarm_arn(backend, p["ResourceARN"]), p["Tags"])
    return {}


def untag_resource(backend, p):
    backend.tagger.untag_resource_using_names(_alarm_arn(backend, p["ResourceARN"]), p["TagKeys"])
    return {}


def list_tags_for_resource(backend, p):
    tags = backend.tagger.get_tag_dict_for_resource(_alarm_arn(backend, p["ResourceARN"]))
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


_HANDLERS = {
    "PutMetricAlarm": put_metric_alarm,
    "DescribeAlarms": describe_alarms,
    "DeleteAlarms": delete_alarms,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
