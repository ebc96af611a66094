"""统一社会信用代码 (unified social credit code, GB 32100-2015) validation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

# GB 32100-2015 alphabet: digits and capitals without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class CreditCodeCheck:
    """Outcome of checking a code: malformed codes are refused, bad checksums only warned."""

    code: str
    wellformed: bool
    checksum_ok: bool


def normalize(raw: str) -> str:
    """Upper-case and strip blanks, as codes are often typed or pasted."""
    return "".join(raw.split()).upper()


def check_char(first17: str) -> str:
    """The 18th character for the given first 17."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def check(raw: str) -> CreditCodeCheck:
    """Check length, alphabet and checksum of a credit code."""
    code = normalize(raw)
    wellformed = len(code) == 18 and all(ch in ALPHABET for ch in code)
    checksum_ok = wellformed and check_char(code[:17]) == code[17]
    return CreditCodeCheck(code=code, wellformed=wellformed, checksum_ok=checksum_ok)


def generate(region_code: str = "320412") -> str:
    """A random valid code (demo data and tests): 9 + 1 + region + organisation code."""
    org = "".join(secrets.choice(ALPHABET) for _ in range(9))
    first17 = "91" + region_code[:6] + org
    return first17 + check_char(first17)
