"""Log hygiene: QR tokens, receipt keys and signed URLs never reach the logs."""

from __future__ import annotations

import re

# A receipt key is an anonymous reporter's only credential: a log reader must not follow it.
_TOKEN_PATH = re.compile(r"(/(?:q|scan|receipts)/)[^/?\s]+")


def redact_path(path: str) -> str:
    """Replace the token in `/q/<token>` and `/api/v1/scan/<token>/...` paths, and the key
    in `/api/v1/receipts/<key>`."""
    return _TOKEN_PATH.sub(r"\1[token]", path)
