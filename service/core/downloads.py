"""How a downloaded file is named: the one Content-Disposition every download carries,
answered by the app itself or by object storage through a presigned link."""

from __future__ import annotations

import re
from urllib.parse import quote

# Characters no file name may carry on Windows, macOS or Linux, and control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(name: str, ascii_name: str, *, inline: bool = False) -> str:
    """A Content-Disposition naming the file (RFC 6266): `filename*=UTF-8''…` with the full
    name (Chinese too), and `filename="…"` with an ASCII fallback for older clients."""
    name = _UNSAFE.sub("_", name).strip(" .") or ascii_name
    fallback = _NOT_ASCII_NAME.sub("_", ascii_name).strip("._") or "download"
    # RFC 5987 attr-chars stay as they are; everything else is percent-encoded UTF-8.
    encoded = quote(name, safe="!#$&+-.^_`|~")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
