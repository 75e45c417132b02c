"""What every AutoOps service shares: health, metrics, body-size limit, bearer token, errors, and
``/docs`` / ``/redoc`` whose scripts and styles are served by the app itself (fastapi-offline), so
they work on a machine without network."""

from __future__ import annotations

import secrets

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from autoops.settings import settings

MAX_BODY_BYTES = 1_000_000  # a pasted log of ~10,000 lines; anything larger is refused with 413
TOKEN_ENV = "AUTOOPS_API_TOKEN"

_bearer = HTTPBearer(auto_error=False)


async def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Endpoints that change state need ``Authorization: Bearer $AUTOOPS_API_TOKEN`` when it is set."""
    expected = settings().api_token
    if not expected:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials, expected):
        raise HTTPException(401, f"this endpoint needs 'Authorization: Bearer <token>' matching ${TOKEN_ENV}",
                            headers={"WWW-Authenticate": "Bearer"})


class BodyLimit:
    """Refuse a request whose declared body is over ``max_bytes`` with a 413 that says so.

    Plain ASGI rather than ``@app.middleware("http")``, whose task per request halved the
    throughput of ``/simulate_build``; ``require_token`` is async for the same reason (FastAPI
    runs a sync dependency in a worker thread)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                detail = f"request body of {int(length)} bytes is over the limit of {self.max_bytes}"
                await JSONResponse({"detail": detail}, 413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(title: str, description: str, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPIOffline(title=title, description=description, version="0.1.0")
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        """Liveness: answers while the process serves requests."""
        return {"status": "ok", "service": title}

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of every agent in this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
