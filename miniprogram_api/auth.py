"""Who is calling: bearer JWT → `Actor`, loaded once per request."""

from __future__ import annotations

from flask import current_app, g, request

from service.access.auth import TokenClaims, decode_token
from service.access.scoping import Actor, load_caller
from service.core.context import Context
from service.core.errors import Unauthenticated

EXTENSION = "mashangcha"


def context() -> Context:
    """The app's service context (settings, sessions, adapters)."""
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer …` header value; None for anything else."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _bearer_token() -> str | None:
    return bearer_token(request.headers.get("Authorization", ""))


def bearer_claims() -> TokenClaims:
    """The verified claims of the bearer token (401 without a valid one); the caller row
    itself is then checked by whoever loads it (`load_actor`, or a read that joins it)."""
    token = _bearer_token()
    if token is None:
        raise Unauthenticated()
    return decode_token(context(), token)


def optional_actor() -> Actor | None:
    """The caller if a valid token was sent; None for anonymous calls."""
    if "actor" in g:
        return g.actor  # type: ignore[no-any-return]
    token = _bearer_token()
    actor = None
    if token is not None:
        ctx = context()
        actor = load_caller(ctx, decode_token(ctx, token))
    g.actor = actor
    return actor


def current_actor() -> Actor:
    """The authenticated caller; 401 in the error shape otherwise."""
    actor = optional_actor()
    if actor is None:
        raise Unauthenticated()
    return actor
