"""Log hygiene: QR tokens and signed URLs never reach the logs."""

from __future__ import annotations

import re

_TOKEN_PATH = re.compile(r"(/(?:q|scan)/)[^/?\s]+")


def redact_path(path: str) -> str:
    """Replace the token in `/q/<token>` and `/api/v1/scan/<token>/...` paths."""
    return _TOKEN_PATH.sub(r"\1[token]", path)
