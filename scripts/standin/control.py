"""The stand-in's control route, beside moto's own /moto-api (not part of any AWS API).

    POST /moto-api/standin/inference-component-status   (JSON in, JSON out)

moves a SageMaker inference component to another status; components.py documents the body and
the answers. `wrap()` puts it in front of moto's moto_api app (see __init__.py); every other
/moto-api request, /moto-api/reset included, goes to moto unchanged. moto's SageMaker code is
loaded only when the route is called, so the server starts as quickly as before.
"""

import json

ROUTE = "/moto-api/standin/inference-component-status"


def wrap(wsgi_app):
    def app(environ, start_response):
        if environ.get("PATH_INFO") != ROUTE:
            return wsgi_app(environ, start_response)
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        if request.method != "POST":
            status, body = 405, {"message": f"{ROUTE} takes POST"}
        else:
            try:
                payload = json.loads(request.get_data() or b"{}")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                status, body = 400, {"message": "The body must be a JSON object"}
            else:
                from . import install

                install("sagemaker")
                from . import components

                status, body = components.set_status(payload)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    return app
