"""QR tokens: the opaque random payload printed in every code, and its URL."""

import re
import secrets
import string

# Base62 only: allowed in a WeChat mini-program `scene` (<= 32 chars) and URL-safe as is.
ALPHABET = string.digits + string.ascii_letters
TOKEN_LENGTH = 22  # 22 * log2(62) ≈ 131 bits, comfortably above the 96 bits required
_TOKEN_RE = re.compile(rf"[0-9A-Za-z]{{{TOKEN_LENGTH}}}")


def new_token() -> str:
    """Return a fresh cryptographically random token of 22 base62 characters."""
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def is_wellformed_token(value: str) -> bool:
    """Tell whether a value has the shape of a token (says nothing about whether it exists)."""
    return isinstance(value, str) and _TOKEN_RE.fullmatch(value) is not None


def scan_url(public_base_url: str, token: str) -> str:
    """Return the URL a camera app opens for a token: `<base>/q/<token>`."""
    return f"{public_base_url.rstrip('/')}/q/{token}"


def format_short_id(code_id: int) -> str:
    """Return the printed short id (编号) of a QR code, e.g. "QR-000123".

    It is built from the database id, never from the token, so a photo of the
    printed number does not leak the token.
    """
    if code_id < 0:
        raise ValueError("code_id must not be negative")
    return f"QR-{code_id:06d}"
