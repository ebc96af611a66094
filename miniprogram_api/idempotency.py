"""Every write honours `Idempotency-Key`: one wrapper around every write view (SPEC §3).

A POST, PUT, PATCH or DELETE sent with the header is remembered per caller, route and key,
with a fingerprint of the request (path, query and body). A retry with the same key and the
same request gets the first answer again (status, JSON body, `Location`, `ETag`, …) with
`Idempotent-Replayed: true`, and changes nothing; the same key with another request is a
422. The key's record commits with the write itself (`service.core.db.commit_hook`), so a
failed write leaves no record, and an error answer is not remembered (a retry may succeed).
A twin sent while the first is still in flight waits for its answer, briefly, else 409.

Two kinds of routes are left out, by name: those whose use case remembers its own outcome
(`BY_USE_CASE`, unchanged) and those a replay makes no sense for (`NOT_REPLAYED`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, request

from miniprogram_api.auth import context, optional_actor
from miniprogram_api.writes import client_key
from service.core import idempotency
from service.core.db import commit_hook
from service.core.errors import DomainError
from service.core.idempotency import ANONYMOUS, Answer, IdempotencyKey, KeyTaken, Recorder

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPLAYED_HEADER = "Idempotent-Replayed"
# The answer's headers a replay repeats; the rest (request id, security headers, rate-limit
# figures) belong to each response.
KEPT_HEADERS = ("Content-Type", "Location", "Content-Disposition", "ETag")

# Writes whose use case remembers its own outcome under the key (kept as they were).
BY_USE_CASE = frozenset(
    {
        "hazards.Hazards",
        "hazards.HazardAssign",
        "hazards.HazardPlan",
        "hazards.HazardSubmitFix",
        "hazards.HazardVerify",
        "hazards.HazardReject",
        "hazards.HazardReopen",
        "hazards.HazardExtend",
        "scan.ScanReport",
        "tasks.TaskSubmit",
    }
)

# Writes a replay makes no sense for, and why: the key is ignored there.
NOT_REPLAYED: dict[str, str] = {
    "auth.PasswordLogin": "a login issues a fresh token (and counts failures)",
    "auth.WeChatLogin": "a login issues a fresh token",
    "auth.DevLogin": "a login issues a fresh token",
    "auth.Refresh": "a refresh issues a fresh token",
    "auth.ChangePassword": "a password check; a retry after success must fail",
    "media.MediaUpload": "uploads are de-duplicated by their sha256 already",
    "scan.ScanMedia": "uploads are de-duplicated by their sha256 already",
}


def mode(endpoint: str | None) -> str:
    """How a write route treats the key: "replayed", "by use case" or "not replayed"."""
    if endpoint in BY_USE_CASE:
        return "by use case"
    if endpoint in NOT_REPLAYED:
        return "not replayed"
    return "replayed"


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `/points/<int:point_id>` → `/points/{point_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def replayed_paths(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every write the wrapper remembers, for the documentation."""
    return {
        (method, openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & WRITE_METHODS
        if mode(rule.endpoint) == "replayed"
    }


def install(app: Flask) -> None:
    """Wrap every write view of the app (call after registering the blueprints)."""
    writes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if (rule.methods or set()) & WRITE_METHODS and mode(rule.endpoint) == "replayed"
    }
    for endpoint in writes:
        app.view_functions[endpoint] = _remembered(app.view_functions[endpoint])


def _remembered(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in WRITE_METHODS:
            return view(*args, **kwargs)
        key = client_key()
        if key is None:
            return view(*args, **kwargs)
        return _run_once(_request_key(key), view, args, kwargs)

    return wrapper


def _request_key(key: str) -> IdempotencyKey:
    actor = optional_actor()
    actor_key = ANONYMOUS if actor is None else f"user:{actor.user_id}"
    route = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
    parts = [request.method.encode(), request.path.encode(), request.query_string, _body()]
    return idempotency.request_key(actor_key, key, route, parts)


def _body() -> bytes:
    """The request body's fingerprint: the raw bytes, or for a form its fields and files'
    contents (a browser resending a form picks a new multipart boundary)."""
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return request.get_data(cache=True)
    digest = hashlib.sha256()
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"{name}={value}\n".encode())
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        digest.update(f"{name}:{upload.filename}:".encode())
        digest.update(hashlib.sha256(upload.stream.read()).digest())
        upload.stream.seek(0)
    return digest.hexdigest().encode()


def _run_once(
    idem: IdempotencyKey, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]
) -> Response:
    ctx = context()
    stored = idempotency.find(ctx, idem)
    if stored is not None:
        return _replay(stored)
    recorder = Recorder(idem)
    try:
        with commit_hook(recorder):
            response = current_app.make_response(view(*args, **kwargs))
    except KeyTaken:
        return _replay_twin(idem, None)
    except DomainError as error:
        if recorder.recorded:
            idempotency.forget(ctx, idem)
            raise
        return _replay_twin(idem, error)
    except Exception:
        if recorder.recorded:
            idempotency.forget(ctx, idem)
        raise
    if response.status_code >= 400:
        if recorder.recorded:
            idempotency.forget(ctx, idem)
        return response
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    idempotency.answer(ctx, idem, Answer(response.status_code, response.get_data(), headers))
    return response


def _replay_twin(idem: IdempotencyKey, error: DomainError | None) -> Response:
    """A write that failed, or lost the race on the key, while a twin with the same key went
    through: the twin's answer, when there is one; else the write's own error."""
    stored = idempotency.find(context(), idem)
    if stored is not None:
        return _replay(stored)
    if error is not None:
        raise error
    raise idempotency.IdempotencyInProgress()


def _replay(stored: Answer) -> Response:
    response = Response(stored.body, status=stored.status, headers=stored.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response
