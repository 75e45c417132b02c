"""What every AutoOps service shares: health, metrics, body-size limit, bearer token, errors."""

from __future__ import annotations

import os
import secrets

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

MAX_BODY_BYTES = 1_000_000  # a pasted log of ~10,000 lines; anything larger is refused with 413
TOKEN_ENV = "AUTOOPS_API_TOKEN"

_bearer = HTTPBearer(auto_error=False)


def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Endpoints that change state need ``Authorization: Bearer $AUTOOPS_API_TOKEN`` when it is set."""
    expected = os.environ.get(TOKEN_ENV)
    if not expected:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials, expected):
        raise HTTPException(401, f"this endpoint needs 'Authorization: Bearer <token>' matching ${TOKEN_ENV}",
                            headers={"WWW-Authenticate": "Bearer"})


def create_app(title: str, description: str, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title=title, description=description, version="0.1.0")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse({"detail": f"request body of {length} bytes is over the limit of {max_body_bytes}"}, 413)
        return await call_next(request)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        """Liveness: answers while the process serves requests."""
        return {"status": "ok", "service": title}

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of every agent in this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
