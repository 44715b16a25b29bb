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

Errors come out as moto's AAS errors do: HTTP 400, {"__type": "<Code>", "message": "..."}.
"""

import json

from moto.applicationautoscaling import models, responses
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.core.exceptions import JsonRESTError

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


def install():
    cls = responses.ApplicationAutoScalingResponse
    cls.register_scalable_target = _register_scalable_target
    # moto's dispatcher calls the method named after the X-Amz-Target operation, snake-cased.
    cls.tag_resource = _tag_resource
    cls.untag_resource = _untag_resource
    cls.list_tags_for_resource = _list_tags_for_resource
    models.ApplicationAutoscalingBackend.deregister_scalable_target = _deregister_scalable_target
