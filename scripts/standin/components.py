"""SageMaker inference components (ICs) and the endpoints that host them; moto 5.2.5 has neither.

Installed with the other SageMaker patches (after sagemaker.py, whose wrappers these wrap). The
ICs live in moto's SageMaker backend (`inference_components`, by name, per account and region),
so moto's /moto-api/reset clears them. Answers are serialized by moto from botocore's SageMaker
model, so every output has the model's shape and nothing more; errors are moto's SageMaker
ValidationError: HTTP 400, {"__type": "ValidationException", "Message": "..."}.

Sources: SageMaker API Reference, CreateInferenceComponent, DescribeInferenceComponent,
ListInferenceComponents, UpdateInferenceComponentRuntimeConfig, DeleteInferenceComponent,
InferenceComponentSummary, InferenceComponentRuntimeConfigSummary, AddTags, ListTags, DeleteTags,
ProductionVariant, ProductionVariantSummary, CreateEndpointConfig; SageMaker Developer Guide,
"Deploy models with inference components" and "Scale an endpoint to zero instances".

1. Endpoint configs for ICs. A production variant without `ModelName` is accepted (AWS allows it:
   such an endpoint hosts ICs instead of a model; moto answered HTTP 500). `ExecutionRoleArn` is
   kept and returned by DescribeEndpointConfig (moto dropped it); it is not required here: the
   API reference does not say that AWS requires it for a variant without a model.
   `ManagedInstanceScaling` {Status, MinInstanceCount, MaxInstanceCount} and `RoutingConfig` of a
   variant are returned by DescribeEndpointConfig (moto kept those) and now also in the variant's
   ProductionVariantSummary of DescribeEndpoint (production and shadow variants alike).
2. CreateInferenceComponent: `EndpointName` must name an existing endpoint and `VariantName` one
   of its variants; without `VariantName` the endpoint's only variant is taken (an endpoint with
   several variants needs it). An endpoint whose variant names a model cannot host ICs:
       ValidationException: Invalid request provided: Inference Components are not supported in
       this Endpoint. Please make sure this endpoint can deploy inference components.
   (AWS's wording, as quoted in public Terraform and Pulumi issues.) A `Specification.ModelName`
   must name an existing model. Names are unique per account and region. The answer is
   `InferenceComponentArn`, arn:aws:sagemaker:<region>:<account>:inference-component/<name>, with
   the name as given (moto keeps endpoint names as given in ARNs too). `Tags` are kept.
3. DescribeInferenceComponent: the DescribeInferenceComponentOutput shape; `Specification` as
   sent, except that `Container.Image` is reported as `Container.DeployedImage.SpecifiedImage`
   and `ResolvedImage` (the summary shape has no `Image`); `RuntimeConfig` {DesiredCopyCount,
   CurrentCopyCount}.
4. ListInferenceComponents: filters EndpointNameEquals, VariantNameEquals, StatusEquals,
   NameContains (a case-sensitive substring, as moto's ListEndpoints), CreationTime/
   LastModifiedTime Before/After; SortBy Name | CreationTime (default) | Status, SortOrder
   Ascending | Descending (default); MaxResults (default 10) and an opaque NextToken. Each entry is
   an InferenceComponentSummary.
5. UpdateInferenceComponentRuntimeConfig (what Application Auto Scaling calls): sets
   `DesiredCopyCount` to DesiredRuntimeConfig.CopyCount and the status to `Updating`.
6. DeleteInferenceComponent removes the IC at once (AWS shows `Deleting` for a while) with its tags.
7. Tags: moto's AddTags, ListTags and DeleteTags work on an IC's ARN. An ARN that names no
   resource, an IC or anything else, deleted or never made, is a ValidationException
   "Could not find <type> with name <name>" (AWS answers ValidationException too, as public
   reports of ListTags on deleted SageMaker resources show; the wording is moto's). moto itself
   answered HTTP 500 there, for a deleted endpoint as well; this applies to every resource type.
8. A missing IC (Describe, Update, Delete) is ValidationException
       Could not find inference component "arn:aws:sagemaker:...:inference-component/<name>".
   and a second IC of the same name is ValidationException
       Cannot create already existing inference component "arn:...".
   (AWS's wording for endpoints, carried over to ICs: assumed.)

Status. A new IC is `Creating` with CurrentCopyCount 0; after an update it is `Updating`. Nothing
moves it on by itself: tests and the demo move it with the stand-in's control route, outside
AWS's API (served by control.py beside moto's /moto-api):

    POST /moto-api/standin/inference-component-status
    {"InferenceComponentName": "<name>", "Status": "InService" | "Creating" | "Updating" |
     "Failed" | "Deleting", "FailureReason": "<text, optional, kept for Failed>",
     "Region": "<optional>", "AccountId": "<optional>"}

It answers 200 {"InferenceComponentArn", "InferenceComponentStatus"}; `InService` also sets
CurrentCopyCount to DesiredCopyCount. Without Region/AccountId every loaded SageMaker backend is
searched: no IC of that name is HTTP 404, the name in several regions or accounts is HTTP 409;
a status outside botocore's InferenceComponentStatus enum is HTTP 400 ({"message": "..."}).

Not covered: UpdateInferenceComponent, Specifications (plural: stored and described as sent),
LastDeploymentConfig, placement, whether AWS refuses updates while an IC is not InService, and any
link between an endpoint's deletion and its ICs.
"""

import base64
import copy
from datetime import datetime, timezone

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import get_service_model, utcnow
from moto.sagemaker import models, responses
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import arn_formatter

NOT_SUPPORTED = (
    "Invalid request provided: Inference Components are not supported in this Endpoint. "
    "Please make sure this endpoint can deploy inference components."
)

# Filled by install() from the botocore model.
STATUSES = ()


class FakeInferenceComponent:
    """One IC; `tags` is moto's list of {Key, Value}, so moto's tagging code works on it."""

    def __init__(self, backend, name, endpoint, variant_name, specification, specifications,
                 runtime_config, tags):
        self.name = name
        self.arn = arn_formatter("inference-component", name, backend.account_id, backend.region_name)
        self.endpoint_name = endpoint.endpoint_name
        self.endpoint_arn = endpoint.arn
        self.variant_name = variant_name
        self.specification = copy.deepcopy(specification)
        self.specifications = copy.deepcopy(specifications)
        self.desired_copy_count = None if runtime_config is None else runtime_config.get("CopyCount")
        self.current_copy_count = 0
        self.status = "Creating"
        self.failure_reason = None
        self.tags = list(tags or [])
        self.creation_time = self.last_modified_time = utcnow()

    def runtime_config(self):
        if self.desired_copy_count is None:
            return None
        return {"DesiredCopyCount": self.desired_copy_count, "CurrentCopyCount": self.current_copy_count}

    def describe(self):
        out = {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "FailureReason": self.failure_reason,
            "Specification": _specification_summary(self.specification),
            "Specifications": [_specification_summary(s) for s in self.specifications or []] or None,
            "RuntimeConfig": self.runtime_config(),
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "InferenceComponentStatus": self.status,
        }
        return {k: v for k, v in out.items() if v is not None}

    def summary(self):
        return {
            "CreationTime": self.creation_time,
            "InferenceComponentArn": self.arn,
            "InferenceComponentName": self.name,
            "EndpointArn": self.endpoint_arn,
            "EndpointName": self.endpoint_name,
            "VariantName": self.variant_name,
            "InferenceComponentStatus": self.status,
            "LastModifiedTime": self.last_modified_time,
        }


def _specification_summary(spec):
    """InferenceComponentSpecification -> InferenceComponentSpecificationSummary."""
    if spec is None:
        return None
    summary = copy.deepcopy(spec)
    container = summary.get("Container")
    if container and "Image" in container:
        image = container.pop("Image")
        container["DeployedImage"] = {"SpecifiedImage": image, "ResolvedImage": image}
    return summary


def components(backend):
    """The ICs of one moto SageMaker backend, by name; made on first use, gone with a reset."""
    return backend.__dict__.setdefault("inference_components", {})


def _arn(backend, name):
    return arn_formatter("inference-component", name, backend.account_id, backend.region_name)


def _get(backend, name):
    component = components(backend).get(name)
    if component is None:
        raise ValidationError(message=f'Could not find inference component "{_arn(backend, name)}".')
    return component


def _aware(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --- SageMakerResponse methods (moto's dispatcher calls the snake-cased operation name) ---


def _create_inference_component(self):
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    endpoint_name = self._get_param("EndpointName")
    variant_name = self._get_param("VariantName")
    specification = self._get_param("Specification")
    specifications = self._get_param("Specifications")
    runtime_config = self._get_param("RuntimeConfig")
    if name in components(backend):
        raise ValidationError(
            message=f'Cannot create already existing inference component "{_arn(backend, name)}".'
        )
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = models.FakeEndpoint.arn_formatter(endpoint_name, backend.account_id, backend.region_name)
        raise ValidationError(message=f'Could not find endpoint "{arn}".')
    variants = [v["VariantName"] for v in endpoint.production_variants]
    if variant_name is None:
        if len(variants) != 1:
            raise ValidationError(
                message=f'VariantName is required: endpoint "{endpoint.arn}" has {len(variants)} variants.'
            )
        variant_name = variants[0]
    if variant_name not in variants:
        raise ValidationError(
            message=f'The variant name(s) "{variant_name}" is/are not present within endpoint '
            f'configuration "{endpoint.endpoint_config_name}".'
        )
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if config is not None and any(v.get("ModelName") for v in config.production_variants):
        raise ValidationError(message=NOT_SUPPORTED)
    for spec in [specification, *(specifications or [])]:
        if spec and spec.get("ModelName"):
            backend.describe_model(spec["ModelName"])  # moto's "Could not find model ..."
    component = FakeInferenceComponent(
        backend, name, endpoint, variant_name, specification, specifications, runtime_config,
        self._get_param("Tags"),
    )
    components(backend)[name] = component
    return ActionResult({"InferenceComponentArn": component.arn})


def _describe_inference_component(self):
    component = _get(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    return ActionResult(component.describe())


def _list_inference_components(self):
    found = list(components(self.sagemaker_backend).values())
    for param, attribute in [
        ("EndpointNameEquals", "endpoint_name"),
        ("VariantNameEquals", "variant_name"),
        ("StatusEquals", "status"),
    ]:
        wanted = self._get_param(param)
        if wanted is not None:
            found = [c for c in found if getattr(c, attribute) == wanted]
    name_contains = self._get_param("NameContains")
    if name_contains:
        found = [c for c in found if name_contains in c.name]
    for param, attribute, before in [
        ("CreationTimeBefore", "creation_time", True),
        ("CreationTimeAfter", "creation_time", False),
        ("LastModifiedTimeBefore", "last_modified_time", True),
        ("LastModifiedTimeAfter", "last_modified_time", False),
    ]:
        bound = _aware(self._get_param(param))
        if bound is not None:
            if before:
                found = [c for c in found if _aware(getattr(c, attribute)) < bound]
            else:
                found = [c for c in found if _aware(getattr(c, attribute)) > bound]
    sort_by = self._get_param("SortBy") or "CreationTime"
    key = {"Name": lambda c: c.name, "Status": lambda c: c.status}.get(sort_by, lambda c: c.creation_time)
    found.sort(key=key, reverse=(self._get_param("SortOrder") or "Descending") == "Descending")
    start = _decode_token(self._get_param("NextToken"))
    max_results = self._get_param("MaxResults") or 10
    page = found[start : start + max_results]
    result = {"InferenceComponents": [c.summary() for c in page]}
    if start + max_results < len(found):
        result["NextToken"] = _encode_token(start + max_results)
    return ActionResult(result)


def _encode_token(offset):
    return base64.urlsafe_b64encode(f"standin-ic:{offset}".encode()).decode()


def _decode_token(token):
    if not token:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if prefix == "standin-ic" and int(offset) >= 0:
            return int(offset)
    except ValueError:
        pass
    raise ValidationError(message=f"Invalid pagination token: {token}")


def _update_inference_component_runtime_config(self):
    component = _get(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    desired = self._get_param("DesiredRuntimeConfig") or {}
    component.desired_copy_count = desired.get("CopyCount")
    component.status = "Updating"
    component.last_modified_time = utcnow()
    return ActionResult({"InferenceComponentArn": component.arn})


def _delete_inference_component(self):
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    _get(backend, name)
    del components(backend)[name]
    return EmptyResult()


# --- endpoint configs and endpoints that host ICs, and tags on IC ARNs ---

_original_validate_models = models.SageMakerModelBackend.validate_production_variants
_original_process_variants = models.FakeEndpoint._process_production_variants
_original_resource_from_arn = models.SageMakerModelBackend._get_resource_from_arn
_original_create_endpoint_config = None  # sagemaker.py's wrapper, taken at install()


def _validate_production_variants(self, production_variants):
    """moto's model check, for the variants that name a model (the others host ICs)."""
    _original_validate_models(self, [v for v in production_variants if v.get("ModelName") is not None])


def _create_endpoint_config(self):
    result = _original_create_endpoint_config(self)
    role = self._get_param("ExecutionRoleArn")
    if role is not None:
        # Comes out as "ExecutionRoleArn" in DescribeEndpointConfig (attributes are camel-cased).
        self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")].execution_role_arn = role
    return result


def _process_production_variants(self, production_variants):
    summaries = _original_process_variants(self, production_variants)
    for summary, variant in zip(summaries, production_variants):
        for key in ("ManagedInstanceScaling", "RoutingConfig"):
            if variant.get(key) is not None:
                summary[key] = copy.deepcopy(variant[key])
    return summaries


def _get_resource_from_arn(self, arn):
    resource_type, _, name = arn.split(":")[-1].partition("/")
    if resource_type == "inference-component":
        resource = components(self).get(name)
    else:
        try:
            resource = _original_resource_from_arn(self, arn)
        except (AttributeError, ValueError):  # a resource type moto does not know
            resource = None
    if resource is None:
        raise ValidationError(message=f"Could not find {resource_type} with name {name}")
    return resource


_original_iter_tagged_resources = models.SageMakerModelBackend.iter_tagged_resources


def _iter_tagged_resources(self):
    """moto's SageMaker resources for the Tagging API, and this stand-in's ICs (tagging.py)."""
    yield from _original_iter_tagged_resources(self)
    for component in components(self).values():
        yield TaggedResource(
            arn=component.arn,
            tags={t["Key"]: t["Value"] for t in component.tags},
            resource_type="sagemaker:inference-component",
        )


# --- the control route (called by control.py) ---


def set_status(body):
    """Moves an IC to `Status`; returns (HTTP status, JSON-able answer)."""
    from moto.sagemaker.models import sagemaker_backends

    name = body.get("InferenceComponentName")
    status = body.get("Status")
    if not isinstance(name, str) or status not in STATUSES:
        return 400, {"message": f"Expected InferenceComponentName and a Status out of {list(STATUSES)}"}
    found = []
    for account_id, by_region in list(sagemaker_backends.items()):
        if body.get("AccountId") not in (None, account_id):
            continue
        for region, backend in list(by_region.items()):
            if body.get("Region") not in (None, region):
                continue
            component = backend.__dict__.get("inference_components", {}).get(name)
            if component is not None:
                found.append(component)
    if not found:
        return 404, {"message": f"No inference component named {name}"}
    if len(found) > 1:
        return 409, {"message": f"Inference component {name} exists in several regions or accounts: "
                     "give Region and AccountId"}
    component = found[0]
    component.status = status
    component.last_modified_time = utcnow()
    if status == "InService" and component.desired_copy_count is not None:
        component.current_copy_count = component.desired_copy_count
    component.failure_reason = body.get("FailureReason") if status == "Failed" else None
    return 200, {"InferenceComponentArn": component.arn, "InferenceComponentStatus": status}


def install():
    global STATUSES, _original_create_endpoint_config
    STATUSES = tuple(get_service_model("sagemaker").shape_for("InferenceComponentStatus").enum)
    cls = responses.SageMakerResponse
    cls.create_inference_component = _create_inference_component
    cls.describe_inference_component = _describe_inference_component
    cls.list_inference_components = _list_inference_components
    cls.update_inference_component_runtime_config = _update_inference_component_runtime_config
    cls.delete_inference_component = _delete_inference_component
    _original_create_endpoint_config = cls.create_endpoint_config
    cls.create_endpoint_config = _create_endpoint_config
    models.SageMakerModelBackend.validate_production_variants = _validate_production_variants
    models.SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
    models.FakeEndpoint._process_production_variants = _process_production_variants
    models.SageMakerModelBackend.iter_tagged_resources = _iter_tagged_resources
