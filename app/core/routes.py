"""A route for the busiest requests, answered without FastAPI's per-request machinery.

FastAPI's handler solves an endpoint's dependencies, validates its parameters and
then validates and serialises what the endpoint returns against its
`response_model`, on every request. For the status link that cost about a fifth of
the request, more than the read itself; for the public form a fifth of the server's
CPU per report (docs/performance.md). `LeanRoute` is for an endpoint that needs
little of that. It takes:

- `request: Request`;
- its path's parameters, as text (`str`, no converter);
- its headers declared as `Annotated[str | None, Header()] = None`, read as FastAPI
  reads them (the first of that name, `_` as `-`);
- at most one body: a pydantic model, decoded and validated exactly as FastAPI does
  (the same content types, the same errors: `json_invalid` at its position, a 400
  for a body that cannot be decoded, the model's errors under `body`), by FastAPI's
  own `request_body_to_args`.

It returns a `Response` itself (`app.core.responses.model_response`): nothing
validates it a second time. The route is declared, matched, documented (its
signature, `response_model`, `responses`) and guarded by the middleware and error
handlers like any other. An endpoint that asks for more (a dependency, a query
parameter, a converted path parameter, a header of another type, a second body) is
refused when the route is made, not served without it.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.dependencies.utils import request_body_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from starlette.convertors import StringConvertor


class LeanRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        dependant = self.dependant
        problems = [
            field.name
            for field in dependant.path_params
            if field.field_info.annotation is not str
            or not isinstance(self.param_convertors.get(field.alias), StringConvertor)
        ]
        problems += [
            field.name
            for field in dependant.header_params
            if field.field_info.annotation != (str | None) or field.default is not None
        ]
        problems += [
            field.name
            for field in dependant.body_params
            if not (
                isinstance(field.field_info.annotation, type)
                and issubclass(field.field_info.annotation, BaseModel)
            )
        ]
        others = (
            dependant.dependencies
            or dependant.query_params
            or dependant.cookie_params
            or len(dependant.body_params) > 1
            or self._embed_body_fields
            or dependant.background_tasks_param_name
            or dependant.response_param_name
            or dependant.security_scopes_param_name
            or set(self.param_convertors) - {f.alias for f in dependant.path_params}
        )
        if problems or others:
            raise TypeError(
                f"{endpoint.__name__}: a LeanRoute's endpoint takes `request: Request`, its "
                "path's parameters as `str`, headers as `str | None = None` and at most "
                f"one body model, nothing else (not: {problems}; dependencies: "
                f"{len(dependant.dependencies)}, query parameters: "
                f"{len(dependant.query_params)}, bodies: {len(dependant.body_params)})"
            )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        request_name = self.dependant.request_param_name
        headers = [(field.name, field.alias) for field in self.dependant.header_params]
        bodies = list(self.dependant.body_params)

        async def handler(request: Request) -> Response:
            values: dict[str, Any] = dict(request.path_params)
            for name, alias in headers:
                values[name] = request.headers.get(alias)
            if bodies:
                body = await _json_body(request)
                validated, errors = await request_body_to_args(bodies, body, False)
                if errors:
                    raise RequestValidationError(
                        errors, body=None if body is PydanticUndefined else body
                    )
                values.update(validated)
            if request_name:
                values[request_name] = request
            response: Response = await endpoint(**values)
            return response

        return handler


async def _json_body(request: Request) -> Any:
    """The body as FastAPI's handler reads it: JSON if its content type says so, the
    bytes otherwise (which no model accepts), PydanticUndefined when empty."""
    raw = await request.body()
    if not raw:
        return PydanticUndefined
    content_type = request.headers.get("content-type")
    if not content_type or not _is_json(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ],
            body=error.doc,
        ) from error
    except Exception as error:  # not UTF-8, nested too deep, a number too long
        raise HTTPException(
            status_code=400, detail="There was an error parsing the body"
        ) from error


@lru_cache(maxsize=64)
def _is_json(content_type: str) -> bool:
    """`application/json` or `application/*+json`, parameters allowed, as FastAPI
    parses it (with the e-mail package's header parser: slow, hence the cache)."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")
