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
* AAS (autoscaling.py): tags on scalable targets (RegisterScalableTarget `Tags` on creation
  only; TagResource, UntagResource, ListTagsForResource on the target's ARN, which moto already
  makes), and DeregisterScalableTarget deleting the target's scheduled actions (moto keeps
  them). Sources: Application Auto Scaling API Reference, RegisterScalableTarget, TagResource,
  UntagResource, ListTagsForResource, DeregisterScalableTarget; Application Auto Scaling User
  Guide, "Tagging support for Application Auto Scaling".

How it hooks in: moto's server builds one Flask app per service the first time a request for
that service arrives, through `create_backend_app(service)`. `backend_app_factory` below wraps
that function: before moto builds the app of a service listed in `_INSTALLERS`, it patches that
service's moto classes (once, under moto's dispatcher lock). Importing moto's SageMaker module
costs over a second, so patching at first use keeps the server's start as quick as plain moto's.
`serve()` runs moto's ThreadedMotoServer with this factory.
"""

import threading

_INSTALLERS = {
    "sagemaker": "standin.sagemaker",
    "applicationautoscaling": "standin.autoscaling",
}
_installed = set()
_lock = threading.Lock()


def install(service):
    """Patches moto for `service` (a moto backend name), once; other services are left alone."""
    module_name = _INSTALLERS.get(service)
    if module_name is None:
        return
    with _lock:
        if service in _installed:
            return
        import importlib

        importlib.import_module(module_name).install()
        _installed.add(service)


def backend_app_factory(service):
    """moto's `create_backend_app`, with this stand-in's patches applied first."""
    from moto.moto_server.werkzeug_app import create_backend_app

    install(service)
    return create_backend_app(service)


def serve(ip_address="127.0.0.1", port=0):
    """Starts moto's ThreadedMotoServer with the stand-in in it; returns the started server."""
    from moto.moto_server import threaded_moto_server

    # ThreadedMotoServer builds its DomainDispatcherApplication from this module-level name.
    assert hasattr(threaded_moto_server, "create_backend_app"), "moto's server layout changed"
    threaded_moto_server.create_backend_app = backend_app_factory
    server = threaded_moto_server.ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    server.start()
    return server
