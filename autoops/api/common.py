"""What every AutoOps service shares: health, metrics, body-size limit, bearer token, errors, and
``/docs`` / ``/redoc`` whose scripts and styles are served by the app itself (fastapi-offline), so
they work on a machine without network.

Bad input is a 4xx that names the field, never a 500: bodies are counted as they stream (413),
JSON is parsed strictly (no NaN or Infinity, no lone surrogates, bounded nesting: 422), and a 422
never echoes a string or structure it was sent (only small numbers), so a pasted secret or a
megabyte of log does not come back in the error."""

from __future__ import annotations

import email.message
import json
import math
import re
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autoops.settings import settings

MAX_BODY_BYTES = 1_000_000  # a pasted log of ~10,000 lines; anything larger is refused with 413
MAX_JSON_DEPTH = 32  # no request model nests deeper than 4; a deeper body is refused before pydantic walks it
TOKEN_ENV = "AUTOOPS_API_TOKEN"

_bearer = HTTPBearer(auto_error=False)


async def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Endpoints that change state or cost compute need ``Authorization: Bearer $AUTOOPS_API_TOKEN`` when it is set."""
    expected = settings().api_token
    if not expected:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(401, f"this endpoint needs 'Authorization: Bearer <token>' matching ${TOKEN_ENV}",
                            headers={"WWW-Authenticate": "Bearer"})


# -- documented errors -----------------------------------------------------------------------------
class ErrorMessage(BaseModel):
    """Every error but 422 (whose ``detail`` is FastAPI's list of field errors)."""

    detail: str


_ERRORS = {
    401: f"${TOKEN_ENV} is set and the request has no 'Authorization: Bearer' header with it.",
    404: "The scenario is not a registered scenario name or Gymnasium id (`autoops env list`).",
    413: f"The body is over {MAX_BODY_BYTES:,} bytes (counted as it arrives, chunked or not).",
    429: "As many LLM generations as max_concurrent_generations (configs/responder.yaml) are running; retry after Retry-After seconds.",
    503: "The agent cannot answer now (the message says why and what to do).",
}


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the listed error codes with their meaning; a keyword ``e503="..."``
    replaces the default description of that code."""
    return {code: {"model": ErrorMessage, "description": descriptions.get(f"e{code}", _ERRORS[code])} for code in codes}


def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be an integer (not a boolean or a string)")
    return value


def json_int(**limits: int) -> Any:
    """An integer as JSON Schema has it, within ``limits`` (``ge=0, lt=32``): 3 and 3.0, never
    true or "3" (pydantic's int also takes true and "3"; its StrictInt refuses 3.0, which the
    schema allows). The limits come before the check so that the schema shows them as
    minimum/maximum."""
    return Annotated[int, Field(**limits), BeforeValidator(_json_integer)]


# -- body limit ------------------------------------------------------------------------------------
class BodyLimit:
    """Refuse a request body over ``max_bytes`` with a 413 that says so.

    The declared ``Content-Length`` is checked first; the bytes are also counted as they arrive,
    because a chunked body declares no length. The count raises the 413 from ``receive``, so a
    body is never held in memory past the limit, and a route that reads no body reads none.
    Plain ASGI rather than ``@app.middleware("http")``, whose task per request halved the
    throughput of ``/simulate_build``; ``require_token`` is async for the same reason (FastAPI
    runs a sync dependency in a worker thread)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self, declared: int | None = None) -> HTTPException:
        size = f"of {declared} bytes" if declared is not None else "(counted as it arrived)"
        return HTTPException(413, f"request body {size} is over the limit of {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await JSONResponse({"detail": self._too_large(int(length)).detail}, 413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, counting_receive, send)


# -- strict JSON -----------------------------------------------------------------------------------
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NonFinite:
    """What the parser makes of NaN, Infinity or a number too large for a float, to be refused."""

    def __init__(self, text: str):
        self.text = text


def _float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _invalid(loc: tuple, msg: str, kind: str = "json_invalid") -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": msg}])


def parse_json(body: bytes) -> Any:
    """``body`` parsed as RFC 8259 JSON, or a ``RequestValidationError`` naming where it is not:
    Python's parser takes NaN, Infinity and 1e999 as numbers (which then cannot be answered in
    JSON) and lone surrogates as text (which cannot be encoded): both are refused here."""
    try:
        # decoded here rather than by json.loads, which would also take UTF-16/32 and UTF-8-encoded surrogates
        value = json.loads(body.decode("utf-8"), parse_constant=_NonFinite, parse_float=_float)
    except json.JSONDecodeError as err:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", err.pos), "msg": "JSON decode error",
                                       "ctx": {"error": err.msg}}]) from None
    except UnicodeDecodeError:
        raise _invalid((), "the body is not UTF-8 text") from None
    except RecursionError:
        raise _invalid((), f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise _invalid((), "a number in the body has too many digits") from None
    stack: list[tuple[Any, tuple, int]] = [(value, (), 0)]
    while stack:
        item, loc, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _invalid((), f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, _NonFinite):
            raise _invalid(loc, f"{item.text} is not a JSON number (JSON numbers are finite)", "finite_number")
        if isinstance(item, str):
            if (bad := _SURROGATE.search(item)) is not None:
                raise _invalid(loc, f"text with a lone surrogate (\\u{ord(bad.group()):04x} at character {bad.start()}) "
                                    "is not valid Unicode", "string_unicode")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise _invalid(loc, "a key with a lone surrogate is not valid Unicode", "string_unicode")
                stack.append((child, (*loc, key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, (*loc, i), depth + 1) for i, child in enumerate(item))
    return value


def _is_json(content_type: str | None) -> bool:
    """FastAPI's own rule for a body it parses as JSON: no content type, or application/json or */*+json."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is checked by :func:`parse_json` before FastAPI parses it (with
    ``json.loads``, which accepts NaN). Every router of the services uses it (``route_class=``)."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            body = await request.body()
            if body and _is_json(request.headers.get("content-type")):
                parse_json(body)
            return await handler(request)

        return strict_handler


# -- error answers ---------------------------------------------------------------------------------
def _short(part: Any, limit: int = 40) -> Any:
    return part[:limit] + "..." if isinstance(part, str) and len(part) > limit else part


def _echoable(value: Any) -> bool:
    """Only small numbers, booleans and null are echoed back; a string may be a secret or a megabyte."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**63
    return isinstance(value, float) and math.isfinite(value)


def public_errors(errors: list[dict]) -> list[dict]:
    """FastAPI's field errors without the inputs they came from (except small numbers), locations
    cut to 40 characters a part (a dict key of the body is part of a location)."""
    out = []
    for error in errors:
        item = {"type": error["type"], "loc": [_short(part) for part in error["loc"]], "msg": _short(str(error["msg"]), 300)}
        if "input" in error and _echoable(error["input"]):
            item["input"] = error["input"]
        if error.get("ctx"):
            item["ctx"] = {key: value if _echoable(value) else _short(str(value), 100) for key, value in error["ctx"].items()}
        out.append(item)
    return out


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": public_errors(list(exc.errors()))}, 422)


def field_error(field: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's shape for a body field that parsed but cannot be used."""
    return _invalid((field,) if field else (), message, "value_error")


def _openapi_for_this_deployment(app: FastAPI):
    """``/openapi.json`` as the service behaves now: the bearer token and its 401 only while
    $AUTOOPS_API_TOKEN is set (read per request, like ``require_token``)."""
    schemas: dict[bool, dict] = {}

    def openapi() -> dict:
        protected = bool(settings().api_token)
        if protected not in schemas:
            app.openapi_schema = None
            schema = FastAPI.openapi(app)
            if not protected:
                schema = json.loads(json.dumps(schema))
                schema.get("components", {}).pop("securitySchemes", None)
                for operations in schema["paths"].values():
                    for operation in operations.values():
                        if operation.pop("security", None) is not None:
                            operation["responses"].pop("401", None)
            schemas[protected] = schema
        return schemas[protected]

    return openapi


def create_app(title: str, description: str, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPIOffline(title=title, description=description, version="0.1.0")
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.openapi = _openapi_for_this_deployment(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        """Liveness: answers while the process serves requests."""
        return {"status": "ok", "service": title}

    @app.get("/metrics", tags=["ops"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format."}})
    async def metrics() -> Response:
        """Prometheus metrics of every agent in this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
