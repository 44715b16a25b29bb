"""SageMaker, as AWS answers it, where moto 5.2.5 does not.

1. Instance types (SageMaker API Reference: CreateEndpointConfig, ProductionVariant). AWS takes
   every value of the `ProductionVariantInstanceType` enum for a variant's `InstanceType` and
   rejects any other value before doing anything else, with a ValidationException in AWS's
   usual request-validation form:
       1 validation error detected: Value 'ml.x9.huge' at
       'productionVariants.1.member.instanceType' failed to satisfy constraint: Member must
       satisfy enum value set: [ml.t2.medium, ml.t2.large, ...]
   (the member path counts from 1; with several bad values: "N validation errors detected: a; b").
   moto checks against a hard-coded list of 66 older types, so it rejects ml.g5, ml.g6, ml.inf2,
   ml.trn1, ml.trn2 and many more. Here the enum is read from the botocore service model that is
   installed (the one moto's own serializer loads; moto adds no SageMaker extras to it), so the
   stand-in moves with the pinned botocore. DescribeEndpointConfig returns the type as given
   (moto already stores it unchanged).
2. Shadow variants (SageMaker API Reference: CreateEndpointConfig `ShadowProductionVariants`,
   DescribeEndpointConfig, DescribeEndpoint, ProductionVariantSummary). AWS keeps the
   `ShadowProductionVariants` of an endpoint config: DescribeEndpointConfig returns them as sent,
   and DescribeEndpoint of an endpoint created from that config returns
   `ShadowProductionVariants` as ProductionVariantSummary entries (VariantName, weights,
   instance counts, serverless config), like its `ProductionVariants`. moto ignores the field.
   Shadow variants get the same instance-type check, must name an existing model (as moto
   checks for production variants), and, per the CreateEndpointConfig reference ("If you use
   this field, you can only specify one variant for ProductionVariants and one variant for
   ShadowProductionVariants"), come one production and one shadow variant; otherwise a
   ValidationException (that message's wording is ours: AWS's exact text is not documented).
   The summaries are made by moto's own code for ProductionVariants, so both lists look alike
   (moto, like here, leaves out DeployedImages and the weights when no InitialVariantWeight was
   given, where AWS would report a weight of 1.0).

3. AddTags overwrites (SageMaker API Reference, AddTags: "Adds or overwrites one or more
   tags for the specified SageMaker resource"). moto appends, so a key tagged twice is listed
   twice with both values; here a tag whose key the resource already has replaces its value, in
   place, and new keys are appended, as AWS lists them.

4. Asynchronous endpoints (SageMaker API Reference: DescribeEndpoint `AsyncInferenceConfig`,
   "Returns the description of an endpoint configuration created using the
   CreateEndpointConfig API"). An endpoint created from a config with `AsyncInferenceConfig`
   returns that config's `AsyncInferenceConfig` in DescribeEndpoint; moto keeps it on the
   config (DescribeEndpointConfig returns it) but leaves it out of DescribeEndpoint. An endpoint
   whose config has none returns none.

Not covered: moto 5.2.5 has no UpdateEndpoint at all (it answers HTTP 500 "not implemented"),
so there is nothing to carry shadow variants through; UpdateEndpointWeightsAndCapacities stays
moto's and knows production variants only.

Errors are raised as moto's own SageMaker ValidationError, so they come out exactly as moto's:
HTTP 400, {"__type": "ValidationException", "Message": "..."}.
"""

import copy

from moto.core.utils import get_service_model
from moto.sagemaker import models, responses
from moto.sagemaker.exceptions import ValidationError

# Filled by install() from the botocore model.
INSTANCE_TYPES = ()
_INSTANCE_TYPE_SET = frozenset()


def load_instance_types():
    """Every value of botocore's ProductionVariantInstanceType enum, in the model's order."""
    shape = get_service_model("sagemaker").shape_for("ProductionVariantInstanceType")
    values = tuple(shape.enum)
    if not values:
        raise RuntimeError("botocore's ProductionVariantInstanceType enum is empty")
    return values


def _enum_error(value, path):
    return (
        f"Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(INSTANCE_TYPES)}]"
    )


def _validation_message(errors):
    n = len(errors)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors)


def _instance_type_errors(variants, member):
    errors = []
    for i, variant in enumerate(variants or [], start=1):
        instance_type = (variant or {}).get("InstanceType")
        if instance_type is not None and instance_type not in _INSTANCE_TYPE_SET:
            errors.append(_enum_error(instance_type, f"{member}.{i}.member.instanceType"))
    return errors


def _validate_instance_type(self, instance_type):
    """Replaces FakeEndpointConfig.validate_instance_type (moto's 66-type list): the same check
    on every path that builds an endpoint config, CloudFormation included."""
    if instance_type not in _INSTANCE_TYPE_SET:
        raise ValidationError(message=_validation_message([_enum_error(instance_type, "instanceType")]))


_original_create_endpoint_config = responses.SageMakerResponse.create_endpoint_config
_original_create_endpoint = models.SageMakerModelBackend.create_endpoint


def _create_endpoint_config(self):
    production = self._get_param("ProductionVariants") or []
    shadow = self._get_param("ShadowProductionVariants")
    errors = _instance_type_errors(production, "productionVariants")
    errors += _instance_type_errors(shadow, "shadowProductionVariants")
    if errors:
        raise ValidationError(message=_validation_message(errors))
    if shadow is not None:
        if len(production) != 1 or len(shadow) != 1:
            raise ValidationError(
                message="An endpoint configuration with ShadowProductionVariants must have exactly "
                "one variant in ProductionVariants and one in ShadowProductionVariants; got "
                f"{len(production)} and {len(shadow)}."
            )
        # The checks moto makes of production variants: InstanceType or ServerlessConfig, a
        # valid serverless memory size, and a model that exists.
        object.__new__(models.FakeEndpointConfig).validate_production_variants(shadow)
        self.sagemaker_backend.validate_production_variants(shadow)
    result = _original_create_endpoint_config(self)
    if shadow is not None:
        config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
        # FakeEndpointConfig's response object is built from its attributes: this one comes
        # out as "ShadowProductionVariants" in DescribeEndpointConfig.
        config.shadow_production_variants = copy.deepcopy(shadow)
    return result


def _create_endpoint(self, endpoint_name, endpoint_config_name, tags):
    endpoint = _original_create_endpoint(self, endpoint_name, endpoint_config_name, tags)
    config = self.endpoint_configs.get(endpoint_config_name)
    queue = getattr(config, "async_inference_config", None)
    if queue:
        # Comes out as "AsyncInferenceConfig" in DescribeEndpoint.
        endpoint.async_inference_config = copy.deepcopy(queue)
    shadow = getattr(config, "shadow_production_variants", None)
    if shadow:
        # moto's own ProductionVariant -> ProductionVariantSummary conversion; comes out as
        # "ShadowProductionVariants" in DescribeEndpoint.
        endpoint.shadow_production_variants = endpoint._process_production_variants(
            copy.deepcopy(shadow)
        )
    return endpoint


def _add_tags(self, arn, tags):
    """AddTags that overwrites the value of a key the resource already has (see 3. above)."""
    resource = self._get_resource_from_arn(arn)
    for tag in tags:
        for have in resource.tags:
            if have["Key"] == tag["Key"]:
                have["Value"] = tag.get("Value", "")
                break
        else:
            resource.tags.append(dict(tag))
    return resource.tags


def install():
    global INSTANCE_TYPES, _INSTANCE_TYPE_SET
    INSTANCE_TYPES = load_instance_types()
    _INSTANCE_TYPE_SET = frozenset(INSTANCE_TYPES)
    models.FakeEndpointConfig.validate_instance_type = _validate_instance_type
    responses.SageMakerResponse.create_endpoint_config = _create_endpoint_config
    models.SageMakerModelBackend.create_endpoint = _create_endpoint
    models.SageMakerModelBackend.add_tags = _add_tags
