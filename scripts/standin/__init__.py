"""An AWS stand-in layered on moto 5.2.5, in the same process, where moto is lax or out of date.

moto answers most of what scaletag asks of SageMaker and Application Auto Scaling (AAS) well
enough. Where it does not, this package patches moto's own classes so that the answers follow
AWS: the state stays in moto's backends (so moto's /moto-api/reset clears it too), and every
answer that is not listed here is moto's, unchanged.

What it changes, and the AWS source each piece follows:

* SageMaker CreateEndpointConfig (sagemaker.py): instance types are checked against botocore's
  `ProductionVariantInstanceType` enum, read from the installed botocore service model, not
  against moto's old hard-coded list (moto rejects ml.g5, ml.g6, ml.inf2, ml.trn1, ml.trn2, ...).
  `ShadowProductionVariants` are kept and returned by DescribeEndpointConfig and, as
  ProductionVariantSummary entries, by DescribeEndpoint (moto drops them).
  Sources: SageMaker API Reference, CreateEndpointConfig, ProductionVariant,
  ProductionVariantSummary, DescribeEndpoint, DescribeEndpointConfig.
* SageMaker inference components (components.py): CreateInferenceComponent,
  DescribeInferenceComponent, ListInferenceComponents, UpdateInferenceComponentRuntimeConfig,
  DeleteInferenceComponent, tags on their ARNs, endpoint configs whose variants host ICs (no
  ModelName; ManagedInstanceScaling and RoutingConfig reported by DescribeEndpoint), and a
  control route that moves an IC's status (control.py: POST
  /moto-api/standin/inference-component-status). Sources: SageMaker API Reference for each
  operation; SageMaker Developer Guide, inference components and scale to zero.
* AAS (autoscaling.py): scalable dimensions, service namespaces and predefined metric types are
  checked against botocore's enums (moto's lists lack `sagemaker:inference-component:
  DesiredCopyCount`, `sagemaker:variant:DesiredProvisionedConcurrency`, the inference-component
  metric types, ...); DescribeScalingPolicies filters as AWS does; tags on scalable targets
  (RegisterScalableTarget `Tags` on creation only; TagResource, UntagResource,
  ListTagsForResource on the target's ARN, which moto already makes), and
  DeregisterScalableTarget deleting the target's scheduled actions (moto keeps them). Sources:
  Application Auto Scaling API Reference, RegisterScalableTarget, PutScalingPolicy,
  DescribeScalingPolicies, TagResource, UntagResource, ListTagsForResource,
  DeregisterScalableTarget; Application Auto Scaling User Guide, "Tagging support for
  Application Auto Scaling".
* The Resource Groups Tagging API (tagging.py): GetResources pages by `ResourcesPerPage`
  alone unless `TagsPerPage` is sent (moto limits every page to 100 tags), and lists the
  stand-in's inference components (`sagemaker:inference-component`) with moto's SageMaker
  resources. Sources: Resource Groups Tagging API Reference, GetResources and "Services that
  support the Resource Groups Tagging API".
* CloudWatch (cloudwatch.py): PutMetricAlarm, DescribeAlarms, DeleteAlarms, TagResource,
  UntagResource and ListTagsForResource over Smithy RPC v2 CBOR, the protocol of the Rust
  aws-sdk-cloudwatch 1.14x, which moto 5.2.5 does not parse. Alarms are kept
  in moto's cloudwatch backend. Sources: Smithy RPC v2 CBOR protocol specification; Smithy
  `awsQueryCompatible` trait; CloudWatch API Reference for each operation.

How it hooks in: moto's server builds one Flask app per service the first time a request for
that service arrives, through `create_backend_app(service)`. `backend_app_factory` below wraps
that function: before moto builds the app of a service listed in `_INSTALLERS`, it patches that
service's moto classes (once, under moto's dispatcher lock). Importing moto's SageMaker module
costs over a second, so patching at first use keeps the server's start as quick as plain moto's.
Services listed in `_WRAPPERS` also get a WSGI layer in front of the app moto built: CloudWatch's
answers the RPC v2 CBOR requests (moto's app has no route for their path), moto_api's answers the
stand-in's control route; all other requests reach moto's app unchanged.
`serve()` runs moto's ThreadedMotoServer with this factory.
"""

import threading

# Patched in this order: components.py wraps what sagemaker.py installed.
_INSTALLERS = {
    "sagemaker": ("standin.sagemaker", "standin.components"),
    "applicationautoscaling": ("standin.autoscaling",),
    "resourcegroupstaggingapi": ("standin.tagging",),
}
_WRAPPERS = {
    "cloudwatch": "standin.cloudwatch",
    "moto_api": "standin.control",
}
_installed = set()
_lock = threading.Lock()


def install(service):
    """Patches moto for `service` (a moto backend name), once; other services are left alone."""
    module_names = _INSTALLERS.get(service)
    if module_names is None:
        return
    with _lock:
        if service in _installed:
            return
        import importlib

        for module_name in module_names:
            importlib.import_module(module_name).install()
        _installed.add(service)


def backend_app_factory(service):
    """moto's `create_backend_app`, with this stand-in's patches applied first."""
    from moto.moto_server.werkzeug_app import create_backend_app

    install(service)
    app = create_backend_app(service)
    wrapper = _WRAPPERS.get(service)
    if wrapper is not None:
        import importlib

        app.wsgi_app = importlib.import_module(wrapper).wrap(app.wsgi_app)
    return app


def serve(ip_address="127.0.0.1", port=0):
    """Starts moto's ThreadedMotoServer with the stand-in in it; returns the started server."""
    from moto.moto_server import threaded_moto_server

    # ThreadedMotoServer builds its DomainDispatcherApplication from this module-level name.
    assert hasattr(threaded_moto_server, "create_backend_app"), "moto's server layout changed"
    threaded_moto_server.create_backend_app = backend_app_factory
    server = threaded_moto_server.ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    server.start()
    return server
