"""The password rule, written once: every password a person sets (the first admin, an admin
setting or resetting one, the user changing their own) must pass `check`; the one-time
passwords of imports and resets come from `generate`.

Rule: at least 10 characters, at least two of letters / digits / symbols, not the username,
and not one of the passwords every guessing list starts with.
"""

from __future__ import annotations

import secrets

from service.core.errors import PermissionDenied, ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 128

# Lower-cased; compared case-insensitively. The demo's own password is here on purpose.
COMMON = frozenset(
    {
        "demo12345",
        "12345678",
        "123456789",
        "1234567890",
        "12345678910",
        "password",
        "password1",
        "password123",
        "password@123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword123",
        "p@ssw0rd123",
        "admin123",
        "admin1234",
        "admin12345",
        "admin@123",
        "admin123456",
        "administrator",
        "qwerty123",
        "qwertyuiop",
        "qwe123456",
        "1qaz2wsx",
        "1qaz2wsx3edc",
        "1q2w3e4r5t",
        "abc123456",
        "abcd123456",
        "a123456789",
        "aa123456789",
        "iloveyou1",
        "welcome123",
        "changeme123",
        "test123456",
        "root123456",
        "000000000",
        "111111111",
        "88888888",
        "666666666",
        "5201314520",
        "woaini1314",
    }
)

# One-time passwords: no look-alikes (0/O, 1/l/I), so they survive being read aloud or printed.
_LETTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "-_.!@#%+"
ONE_TIME_LENGTH = 14


class WeakPassword(ValidationFailed):
    code = "weak_password"
    message = "密码太弱"
    message_en = "Password too weak"


class PasswordChangeRequired(PermissionDenied):
    """The caller logged in with a one-time password: only changing it is allowed."""

    code = "password_change_required"
    message = "请先修改初始密码（POST /api/v1/auth/change-password）"
    message_en = "Change your one-time password first (POST /api/v1/auth/change-password)"


def problems(password: str, username: str | None = None) -> list[str]:
    """What is wrong with a password, one "中文 / English" line each; empty when it passes."""
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(f"至少 {MIN_LENGTH} 个字符 / at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"最多 {MAX_LENGTH} 个字符 / at most {MAX_LENGTH} characters")
    kinds = sum(
        (
            any(c.isalpha() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 2:
        found.append(
            "需包含字母、数字、符号中的至少两类 / "
            "at least two of letters, digits and symbols"
        )
    lowered = password.strip().lower()
    if username and lowered == username.strip().lower():
        found.append("不能与用户名相同 / must not be the username")
    if lowered in COMMON:
        found.append("是常见密码 / is a common password")
    return found


def check(password: str, username: str | None = None, *, field: str = "password") -> None:
    """Refuse a weak password (422 `weak_password`): one line in Chinese and English naming
    every reason, and the reasons under `errors[field]`."""
    found = problems(password, username)
    if found:
        zh = "；".join(line.split(" / ")[0] for line in found)
        en = "; ".join(line.split(" / ")[1] for line in found)
        raise WeakPassword(f"密码太弱：{zh}", f"Password too weak: {en}", errors={field: found})


def generate() -> str:
    """A strong random one-time password (about 80 bits) that passes `check`."""
    alphabet = _LETTERS + _DIGITS + _SYMBOLS
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(ONE_TIME_LENGTH))
        has = (
            any(c in _LETTERS for c in password),
            any(c in _DIGITS for c in password),
            any(c in _SYMBOLS for c in password),
        )
        # Not starting with a symbol: some spreadsheets would read "-…" or "+…" as a formula.
        if all(has) and password[0] not in _SYMBOLS:
            return password
