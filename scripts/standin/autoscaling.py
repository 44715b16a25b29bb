"""Application Auto Scaling (AAS), as AWS answers it, where moto 5.2.5 does not.

What moto 5.2.5 already does, and is kept: RegisterScalableTarget answers `ScalableTargetARN`
(arn:aws:application-autoscaling:<region>:<account>:scalable-target/<36 random lower-case
letters and digits>, made once when the target is created, so stable across re-registrations),
and DescribeScalableTargets lists it per target. Every other answer not named below stays
moto's, including its ValidationException "No scalable target found ..." where AWS answers
ObjectNotFoundException for a missing target.

What is added (sources: Application Auto Scaling API Reference, RegisterScalableTarget,
TagResource, UntagResource, ListTagsForResource, DeregisterScalableTarget; User Guide, "Tagging
support for Application Auto Scaling"):

1. Tags on scalable targets; moto has none (it ignores `Tags`, and answers HTTP 500 "not
   implemented" to the three tagging operations).
   * RegisterScalableTarget `Tags` (a map) tags the target when the call creates it. On a
     target that already exists AWS refuses the call, with nothing changed:
       ValidationException: The scalable target that you tried to tag already exists. To update
       tags on an existing scalable target, use the TagResource API.
     (AWS's wording, as quoted in public Terraform AWS provider bug reports of this error; the
     API reference only says to use TagResource for existing targets). An empty map is taken
     as no tags: whether AWS refuses `"Tags": {}` on an existing target is not documented.
   * TagResource (ResourceARN, Tags map) adds or replaces tags; UntagResource (ResourceARN,
     TagKeys) removes them (keys the target does not have are ignored: assumed, not documented
     for AAS); ListTagsForResource (ResourceARN) answers
     {"Tags": {...}}. An ARN that names no scalable target of this account and region, or that
     is malformed, is ResourceNotFoundException, shaped as botocore's model has it
     (message plus `ResourceName`, the ARN); the message wording is ours.
   * Tag keys must be 1 to 128 characters and values at most 256 (botocore TagKey, TagValue),
     else ValidationException. AWS's per-target tag limit (TooManyTagsException) is not modelled.
2. DeregisterScalableTarget deletes the target's scheduled actions (the API reference: it
   "deletes the scaling policies and the scheduled actions that are associated with it"); moto
   deletes neither. The target's tags and ARN go with it: the ARN is then unknown to the tagging
   operations. Its scaling policies are left as moto leaves them (a known difference, kept so
   that nothing else moves under the project's tests).

3. Enums from botocore's AAS model (API reference, RegisterScalableTarget, PutScalingPolicy,
   PredefinedMetricSpecification), not moto's hard-coded lists: `ScalableDimension` and
   `ServiceNamespace` (Register, Deregister, DescribeScalableTargets, PutScalingPolicy), and a
   target-tracking policy's `PredefinedMetricType`, which moto did not check at all. moto's list
   of dimensions lacked, among others, `sagemaker:inference-component:DesiredCopyCount` and
   `sagemaker:variant:DesiredProvisionedConcurrency`; botocore's MetricType has
   `SageMakerInferenceComponentInvocationsPerCopy` and
   `SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution`. A value outside an enum
   is a ValidationException in AWS's request-validation form ("1 validation error detected: Value
   'x' at 'scalableDimension' failed to satisfy constraint: Member must satisfy enum value set:
   [a, b, ...]"; for the metric type at
   'targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType').
   moto's further check that the dimension's namespace and resource type agree with
   ServiceNamespace and ResourceId ("Unsupported service namespace, resource type or scalable
   dimension") is kept, over botocore's dimensions: `inference-component/<name>` goes with
   `sagemaker:inference-component:DesiredCopyCount`. MinCapacity 0 was already accepted.
4. DescribeScalingPolicies (API reference): `ResourceId` and `ScalableDimension` select exactly
   (moto matched substrings: a policy of `inference-component/a` was listed for
   `inference-component/ab`), `PolicyNames` filters (moto ignored it), and a page holds at most
   `MaxResults` policies, 10 when it is not given ("The default value is 10"; moto: 100).
   Policies come in the order they were first put, with moto's NextToken. The answer's
   StepScalingPolicyConfiguration / TargetTrackingScalingPolicyConfiguration are the ones put
   (moto already kept them, e.g. AdjustmentType ChangeInCapacity, MetricAggregationType Maximum,
   Cooldown 60, StepAdjustments [{MetricIntervalLowerBound 0, ScalingAdjustment 1}]), and
   PutScalingPolicy already answered its PolicyARN (arn:aws:autoscaling:<region>:<account>:
   scalingPolicy:<uuid>:resource/<namespace>/<resource id>:policyName/<name>, AWS's form).
   Not covered: that the target is registered before a policy is put, whether the metric type
   suits the dimension, policy bodies beyond the metric type (all as moto).

5. Paging (API reference: DescribeScalableTargets and DescribeScheduledActions, MaxResults
   "Valid Range: Minimum value of 1. Maximum value of 50", 50 when not given;
   DescribeScalingPolicies, 1 to 10, 10 when not given): every listing follows NextToken to its
   last page and a MaxResults out of range is a ValidationException. moto's
   DescribeScalableTargets gives the last index of a page as its NextToken, so its third page
   repeats the second and a listing of more than 100 targets never ends (a client that stops on
   a repeated token sees only 100); moto's DescribeScheduledActions ignores paging.

Errors come out as moto's AAS errors do: HTTP 400, {"__type": "<Code>", "message": "..."}.
"""

import json

from moto.applicationautoscaling import models, responses
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.core.exceptions import JsonRESTError
from moto.core.utils import get_service_model

EXISTING_TARGET_TAGS = (
    "The scalable target that you tried to tag already exists. To update tags on an existing "
    "scalable target, use the TagResource API."
)


class ResourceNotFoundException(JsonRESTError):
    """botocore: ResourceNotFoundException {Message, ResourceName}."""

    def __init__(self, arn):
        message = f"No scalable target found for ARN: {arn}"
        super().__init__("ResourceNotFoundException", message)
        self.description = json.dumps(
            {"__type": "ResourceNotFoundException", "message": message, "ResourceName": arn}
        )


def _tags_of(target):
    tags = getattr(target, "tags", None)
    if tags is None:
        tags = target.tags = {}
    return tags


def _validate_tags(tags):
    if not isinstance(tags, dict):
        raise AWSValidationException("1 validation error detected: Value at 'tags' must be a map")
    errors = []
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            errors.append(
                f"Value '{key}' at 'tags' failed to satisfy constraint: Map keys must satisfy "
                "constraint: [Member must have length less than or equal to 128, Member must "
                "have length greater than or equal to 1]"
            )
        if value is None or len(value) > 256:
            errors.append(
                f"Value '{value}' at 'tags.{key}' failed to satisfy constraint: Member must "
                "have length less than or equal to 256"
            )
    if errors:
        n = len(errors)
        raise AWSValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors)
        )


def _target_by_arn(backend, arn):
    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise ResourceNotFoundException(arn)


_original_register = responses.ApplicationAutoScalingResponse.register_scalable_target
_original_deregister = models.ApplicationAutoscalingBackend.deregister_scalable_target


def _register_scalable_target(self):
    tags = self._get_param("Tags")
    backend = self.applicationautoscaling_backend
    resource_id = self._get_param("ResourceId")
    dimension = self._get_param("ScalableDimension")
    if tags:
        _validate_tags(tags)
        if backend._scalable_target_exists(resource_id, dimension):
            raise AWSValidationException(EXISTING_TARGET_TAGS)
    body = _original_register(self)
    if tags:
        _tags_of(backend.targets[dimension][resource_id]).update(tags)
    return body


def _tag_resource(self):
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    tags = self._get_param("Tags") or {}
    _validate_tags(tags)
    _tags_of(target).update(tags)
    return json.dumps({})


def _untag_resource(self):
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    keys = self._get_param("TagKeys") or []
    if len(keys) > 200:
        raise AWSValidationException(
            f"1 validation error detected: Value '{keys}' at 'tagKeys' failed to satisfy "
            "constraint: Member must have length less than or equal to 200"
        )
    tags = _tags_of(target)
    for key in keys:
        tags.pop(key, None)
    return json.dumps({})


def _list_tags_for_resource(self):
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    return json.dumps({"Tags": dict(_tags_of(target))})


def _deregister_scalable_target(self, namespace, r_id, dimension):
    # moto's: removes the target (its tags and ARN with it), or raises its ValidationException.
    _original_deregister(self, namespace, r_id, dimension)
    self.scheduled_actions = [
        a
        for a in self.scheduled_actions
        if not (
            a.service_namespace == namespace
            and a.resource_id == r_id
            and a.scalable_dimension == dimension
        )
    ]


# Filled by install() from the botocore model.
DIMENSIONS = NAMESPACES = METRIC_TYPES = ()


def _enum_error(value, path, allowed):
    return (
        f"Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def _raise_if(errors):
    if errors:
        n = len(errors)
        raise AWSValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors)
        )


def _validate_params(self):
    """Replaces moto's check of ScalableDimension and ServiceNamespace (its own enums)."""
    dimension = self._get_param("ScalableDimension")
    namespace = self._get_param("ServiceNamespace")
    errors = []
    if dimension is not None and dimension not in DIMENSIONS:
        errors.append(_enum_error(dimension, "scalableDimension", DIMENSIONS))
    if namespace is not None and namespace not in NAMESPACES:
        errors.append(_enum_error(namespace, "serviceNamespace", NAMESPACES))
    _raise_if(errors)


def _target_params_are_valid(namespace, r_id, dimension):
    """moto's models._target_params_are_valid, over botocore's enums."""
    valid = namespace in NAMESPACES
    if dimension is not None:
        try:
            d_namespace, d_resource_type, _ = dimension.split(":")
            if d_resource_type in [r.value for r in models.ResourceTypeExceptionValueSet]:
                resource_type = d_resource_type
            else:
                resource_type = models._get_resource_type_from_resource_id(r_id)
            valid = valid and dimension in DIMENSIONS and d_namespace == namespace
            valid = valid and resource_type == d_resource_type
        except (ValueError, IndexError):
            valid = False
    if not valid:
        raise AWSValidationException("Unsupported service namespace, resource type or scalable dimension")
    return True


_original_put_scaling_policy = responses.ApplicationAutoScalingResponse.put_scaling_policy


def _put_scaling_policy(self):
    self._validate_params()
    config = self._get_param("TargetTrackingScalingPolicyConfiguration") or {}
    metric_type = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    if metric_type is not None and metric_type not in METRIC_TYPES:
        _raise_if([
            _enum_error(
                metric_type,
                "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
                METRIC_TYPES,
            )
        ])
    return _original_put_scaling_policy(self)


def _describe_scaling_policies(self):
    self._validate_params()
    namespace = self._get_param("ServiceNamespace")
    resource_id = self._get_param("ResourceId")
    dimension = self._get_param("ScalableDimension")
    names = self._get_param("PolicyNames")
    policies = [
        p
        for p in self.applicationautoscaling_backend.policies.values()
        if p.service_namespace == namespace
        and (resource_id is None or p.resource_id == resource_id)
        and (dimension is None or p.scalable_dimension == dimension)
        and (not names or p.policy_name in names)
    ]
    page, token = _page(self, policies, 10)
    return json.dumps({
        "ScalingPolicies": [responses._build_policy(p) for p in page],
        "NextToken": token,
    })


def _page(self, items, most):
    """One page of `items` and the token of the next (None after the last), as the request's
    NextToken and MaxResults ask: at most `most` a page, `most` when MaxResults is not given
    (DescribeScalableTargets and DescribeScheduledActions: 1 to 50; DescribeScalingPolicies:
    1 to 10)."""
    try:
        start = int(self._get_param("NextToken") or 0)
    except ValueError:
        raise AWSValidationException("Invalid NextToken")
    size = self._get_int_param("MaxResults")
    if size is not None and not 1 <= size <= most:
        bound = "greater than or equal to 1" if size < 1 else f"less than or equal to {most}"
        raise AWSValidationException(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    end = start + (size or most)
    return items[start:end], (str(end) if end < len(items) else None)


def _describe_scalable_targets(self):
    """moto's, with paging that works: moto's NextToken is always the last index of the page
    it gave, so its third page repeats its second."""
    self._validate_params()
    targets = self.applicationautoscaling_backend.describe_scalable_targets(
        self._get_param("ServiceNamespace"),
        self._get_param("ResourceIds"),
        self._get_param("ScalableDimension"),
    )
    page, token = _page(self, targets, 50)
    return json.dumps({"ScalableTargets": [responses._build_target(t) for t in page], "NextToken": token})


def _describe_scheduled_actions(self):
    """moto's, a page at a time (moto answers every action at once, whatever MaxResults)."""
    actions = self.applicationautoscaling_backend.describe_scheduled_actions(
        scheduled_action_names=self._get_param("ScheduledActionNames"),
        service_namespace=self._get_param("ServiceNamespace"),
        resource_id=self._get_param("ResourceId"),
        scalable_dimension=self._get_param("ScalableDimension"),
    )
    page, token = _page(self, actions, 50)
    return json.dumps({
        "ScheduledActions": [responses._build_scheduled_action(a) for a in page],
        "NextToken": token,
    })


def install():
    global DIMENSIONS, NAMESPACES, METRIC_TYPES
    model = get_service_model("application-autoscaling")
    DIMENSIONS = tuple(model.shape_for("ScalableDimension").enum)
    NAMESPACES = tuple(model.shape_for("ServiceNamespace").enum)
    METRIC_TYPES = tuple(model.shape_for("MetricType").enum)
    models._target_params_are_valid = _target_params_are_valid
    cls = responses.ApplicationAutoScalingResponse
    cls._validate_params = _validate_params
    cls.put_scaling_policy = _put_scaling_policy
    cls.describe_scaling_policies = _describe_scaling_policies
    cls.describe_scalable_targets = _describe_scalable_targets
    cls.describe_scheduled_actions = _describe_scheduled_actions
    cls.register_scalable_target = _register_scalable_target
    # moto's dispatcher calls the method named after the X-Amz-Target operation, snake-cased.
    cls.tag_resource = _tag_resource
    cls.untag_resource = _untag_resource
    cls.list_tags_for_resource = _list_tags_for_resource
    models.ApplicationAutoscalingBackend.deregister_scalable_target = _deregister_scalable_target
