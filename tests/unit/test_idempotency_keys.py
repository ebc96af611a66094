"""Anonymous Idempotency-Keys: bound to nobody, stored hashed, their answer sealed."""

from __future__ import annotations

import hashlib

from service.core.idempotency import IdempotencyKey


def _key(raw: str) -> IdempotencyKey:
    return IdempotencyKey.anonymous(raw, "POST", "/api/v1/scan/t/hazards", b'{"a":1}')


def test_an_anonymous_key_names_no_caller_and_keeps_only_the_keys_hash():
    key = _key("client-key-1")
    assert key.actor_key == "anon"
    assert key.key == hashlib.sha256(b"client-key-1").hexdigest()
    assert "client-key-1" not in repr(key)


def test_the_receipt_is_sealed_and_opens_only_with_the_clients_key():
    extra = {"receipt_key": "IQ1LQSoksfiJPSW9R9Q6u9Lz"}
    stored = _key("client-key-1").seal(extra)
    assert "IQ1LQSoksfiJPSW9R9Q6u9Lz" not in str(stored)
    assert _key("client-key-1").unseal(stored) == extra
    try:
        opened = _key("client-key-2").unseal(stored)
    except ValueError:  # not even JSON
        opened = None
    assert opened != extra


def test_keys_of_signed_in_callers_store_their_answer_as_it_is():
    key = IdempotencyKey.of("user:7", "k", "POST", "/api/v1/hazards", b"{}")
    assert key.seal({"x": 1}) == {"x": 1} and key.unseal({"x": 1}) == {"x": 1}
