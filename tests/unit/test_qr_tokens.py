import math
import re

import pytest

from qr.tokens import format_short_id, is_wellformed_token, new_token, scan_url

# Characters WeChat allows in a mini-program `scene`, narrowed to the URL-safe base62 subset.
BASE62 = re.compile(r"[0-9A-Za-z]+")


def test_new_token_is_base62_and_fits_a_wechat_scene():
    token = new_token()
    assert len(token) == 22
    assert len(token) <= 32
    assert BASE62.fullmatch(token)


def test_new_token_carries_at_least_96_bits():
    assert len(new_token()) * math.log2(62) >= 96


def test_ten_thousand_tokens_do_not_collide():
    assert len({new_token() for _ in range(10_000)}) == 10_000


def test_new_tokens_are_wellformed():
    assert all(is_wellformed_token(new_token()) for _ in range(100))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 21,
        "a" * 23,
        "aaaaaaaaaaaaaaaaaaaa-_",
        "aaaaaaaaaaaaaaaaaaaaa\n",
        "aaaaaaaaaaaaaaaaaaaaaé",
        "１" * 22,  # full-width digits are digits to Python, not to a URL
    ],
)
def test_malformed_tokens_are_rejected(value):
    assert not is_wellformed_token(value)


@pytest.mark.parametrize("base", ["https://m.example.cn", "https://m.example.cn/"])
def test_scan_url_joins_base_and_token(base):
    assert scan_url(base, "abc123") == "https://m.example.cn/q/abc123"


def test_scan_url_keeps_a_base_path():
    assert scan_url("https://example.cn/msc/", "abc") == "https://example.cn/msc/q/abc"


@pytest.mark.parametrize(
    ("code_id", "expected"), [(0, "QR-000000"), (123, "QR-000123"), (1234567, "QR-1234567")]
)
def test_short_id_is_formatted_from_the_code_id(code_id, expected):
    assert format_short_id(code_id) == expected


def test_short_id_rejects_negative_ids():
    with pytest.raises(ValueError):
        format_short_id(-1)
