"""A route for the busiest read, answered without FastAPI's per-request machinery.

FastAPI's handler solves an endpoint's dependencies and validates its parameters on
every request; for the status link that cost about a fifth of the request, more
than the read itself (docs/performance.md). `PathOnlyRoute` is for an endpoint that
needs nothing of that: it takes the request and its path's parameters as text, and
checks them itself. Its handler calls it with exactly those. The route is declared,
matched, documented (its signature, `response_model`, `responses`) and guarded by the
middleware and error handlers like any other; an endpoint that asks for more
(a dependency, a query parameter, a body, a converted path parameter) is refused when
the route is made, not served without it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor


class PathOnlyRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        parameters = inspect.signature(endpoint).parameters
        path_names = set(self.param_convertors)
        problems = [
            name
            for name, parameter in parameters.items()
            if not (
                (name == "request" and parameter.annotation in (Request, "Request"))
                or (
                    name in path_names
                    and parameter.annotation in (str, "str")
                    and isinstance(self.param_convertors[name], StringConvertor)
                )
            )
        ]
        if problems or self.dependant.dependencies or path_names - set(parameters):
            raise TypeError(
                f"{endpoint.__name__}: a PathOnlyRoute's endpoint takes `request: Request` "
                f"and its path's parameters as `str`, nothing else (not: {problems}; "
                f"dependencies: {len(self.dependant.dependencies)})"
            )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            response: Response = await endpoint(request=request, **request.path_params)
            return response

        return handler
